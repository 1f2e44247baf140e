# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The archive's rules: exactly once, layout, crash recovery, verification, retention, locking.

The checks here read the archive with their own code (gzip, json, hashlib, datetime), not with the code under test:
the archive's time parsing and formatting are tested as such (test_parse_time_forms), never used to compute what
a check expects.
"""

from __future__ import annotations

import datetime
import errno
import fcntl
import gzip
import hashlib
import json
import os
import subprocess
import sys
import textwrap
from collections import Counter

import pytest

from ansible_collections.opswat.itot.plugins.module_utils import _archive, _archive_fs, _archive_verify, _entries
from ansible_collections.opswat.itot.plugins.module_utils._archive import (
    ArchiveError,
    ArchiveRequest,
    write_archive,
)
from ansible_collections.opswat.itot.plugins.module_utils._timeparse import parse_time_ms

HOUR = 3600 * 1000
MINUTE = 60 * 1000
T0 = 1795903200000  # 2026-11-28T22:00:00Z
MANIFEST_KEYS = ['file', 'sha256', 'entries', 'first', 'last', 'action', 'prev', 'at']
ZERO = '0' * 64


EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def iso(ms):
    """Epoch ms as the archive writes them (2026-11-28T22:00:00.000Z), computed here, not by the code under test."""
    if ms is None:
        return None
    when = EPOCH + datetime.timedelta(milliseconds=ms)
    return when.strftime('%Y-%m-%dT%H:%M:%S.') + '%03dZ' % (ms % 1000)


def time_ms(value):
    """The epoch ms of a timestamp iso() wrote; None for anything else (the undated entries of these tests)."""
    try:
        when = datetime.datetime.strptime(value, '%Y-%m-%dT%H:%M:%S.%fZ').replace(tzinfo=datetime.timezone.utc)
    except (TypeError, ValueError):
        return None
    delta = when - EPOCH
    return delta.days * 86400000 + delta.seconds * 1000 + delta.microseconds // 1000


def test_own_time_helpers():
    assert iso(T0) == '2026-11-28T22:00:00.000Z' and iso(0) == '1970-01-01T00:00:00.000Z'
    assert iso(T0 + 1) == '2026-11-28T22:00:00.001Z' and time_ms(iso(T0 + 999)) == T0 + 999
    assert time_ms('yesterday-ish') is None and time_ms(None) is None


def entry(moment, n, event='login', **extra):
    item = {'timestamp': iso(moment) if isinstance(moment, int) else moment, 'event': event, 'details': 'event %d' % n,
            'admin_name': 'Ann', 'admin_email': 'ann@example.com'}
    item.update(extra)
    return item


def canonical(item):
    return json.dumps(item, sort_keys=True, separators=(',', ':'), ensure_ascii=False)


def snapshot(root):
    """Every path under root with its kind, mode, mtime and bytes: equal snapshots mean nothing was touched."""
    seen = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            info = os.lstat(path)
            data = None
            if os.path.isfile(path):
                with open(path, 'rb') as stream:
                    data = stream.read()
            seen[os.path.relpath(path, root)] = (info.st_mode, info.st_mtime_ns, info.st_size, data)
    return seen


def check_archive(cat_dir):
    """Validate a category folder independently; returns the Counter of archived entries (canonical JSON)."""
    with open(os.path.join(cat_dir, 'manifest.jsonl'), 'rb') as stream:
        raw = stream.read()
    assert raw.endswith(b'\n')
    lines = raw[:-1].split(b'\n')
    prev = ZERO
    live = {}
    for line in lines:
        record = json.loads(line.decode('utf-8'))
        assert list(record) == MANIFEST_KEYS
        assert record['prev'] == prev
        prev = hashlib.sha256(line).hexdigest()
        if record['action'] == 'add':
            assert record['file'] not in live
            live[record['file']] = record
        else:
            assert record['action'] == 'remove'
            assert live.pop(record['file'])['sha256'] == record['sha256']
    with open(os.path.join(cat_dir, 'state.json')) as stream:
        state = json.load(stream)
    assert state['manifest_lines'] == len(lines)
    assert state['manifest_head'] == prev
    on_disk = set()
    for folder, _dirs, files in os.walk(cat_dir):
        for name in files:
            assert not name.startswith('.tmp-'), 'temp file left: %s' % name
            if name.endswith('.jsonl.gz'):
                on_disk.add(os.path.relpath(os.path.join(folder, name), cat_dir))
    assert not os.path.exists(os.path.join(cat_dir, '.pending.json'))
    assert on_disk == set(live)
    found = Counter()
    for name, record in live.items():
        with open(os.path.join(cat_dir, name), 'rb') as stream:
            data = stream.read()
        assert hashlib.sha256(data).hexdigest() == record['sha256']
        text = gzip.decompress(data).decode('utf-8')
        assert text.endswith('\n')
        items = [json.loads(line) for line in text[:-1].split('\n')]
        assert len(items) == record['entries']
        times = [time_ms(item.get('timestamp')) for item in items]
        if name.startswith('undated/'):
            assert record['first'] is None and record['last'] is None
            assert all(moment is None for moment in times)
        else:
            assert times == sorted(times)
            assert iso(times[0]) == record['first'] and iso(times[-1]) == record['last']
            day = name.split('/')[:3]
            assert all(iso(moment)[:10] == '-'.join(day) for moment in times)
            category = os.path.basename(cat_dir)
            assert os.path.basename(name).startswith('%s-%s-%s' % (category, stamp(times[0]), stamp(times[-1])))
        found.update(canonical(item) for item in items)
    return found


def stamp(ms):
    text = iso(ms)
    return '%s%s%sT%s%s%s%sZ' % (text[0:4], text[5:7], text[8:10], text[11:13], text[14:16], text[17:19], text[20:23])


def write(root, batch, **kwargs):
    kwargs.setdefault('now', T0 + 48 * HOUR)
    return write_archive(ArchiveRequest(str(root), kwargs.pop('category', 'admin'), batch, **kwargs))


# --- time parsing -------------------------------------------------------------------------------------------

@pytest.mark.parametrize('value, expected', [
    ('2026-11-29T07:00:00Z', '2026-11-29T07:00:00.000Z'),
    ('2026-11-29T07:00:00.279Z', '2026-11-29T07:00:00.279Z'),
    ('2026-11-29T07:00:00.2Z', '2026-11-29T07:00:00.200Z'),
    ('2026-11-29T07:00:00.123456789Z', '2026-11-29T07:00:00.123Z'),
    ('2026-11-29T07:00:00', '2026-11-29T07:00:00.000Z'),
    ('2026-11-29 07:00:00', '2026-11-29T07:00:00.000Z'),
    ('2026-11-29T09:00:00+02:00', '2026-11-29T07:00:00.000Z'),
    ('2026-11-29T01:30:00-0530', '2026-11-29T07:00:00.000Z'),
    ('2026-11-29T07:00Z', '2026-11-29T07:00:00.000Z'),
    ('2026-11-29', '2026-11-29T00:00:00.000Z'),
    ('Sun, 29 Nov 2026 07:00:00 GMT', '2026-11-29T07:00:00.000Z'),
    ('29 Nov 2026 07:00:00 GMT', '2026-11-29T07:00:00.000Z'),
    ('Sun, 29 Nov 2026 08:00:00 +0100', '2026-11-29T07:00:00.000Z'),
    (1795935600, '2026-11-29T07:00:00.000Z'),
    (1795935600000, '2026-11-29T07:00:00.000Z'),
    (1795935600.5, '2026-11-29T07:00:00.500Z'),
    ('1795935600', '2026-11-29T07:00:00.000Z'),
    ('1795935600123', '2026-11-29T07:00:00.123Z'),
    (' 1795935600000 ', '2026-11-29T07:00:00.000Z'),
    (99999999999, '5138-11-16T09:46:39.000Z'),  # just below 1e11: seconds
    (100000000000, '1973-03-03T09:46:40.000Z'),  # 1e11: milliseconds
])
def test_parse_time_forms(value, expected):
    assert iso(parse_time_ms(value)) == expected


@pytest.mark.parametrize('value', [None, '', 'garbage', True, False, [], {}, '2026-13-01T00:00:00Z', '2026-02-30T00:00:00Z',
                                   '2026-11-29T25:00:00Z', 'Sun, 29 Foo 2026 07:00:00 GMT', float('nan'), float('inf'),
                                   '2026-11-29T07:00:00+25:00', 10 ** 20])
def test_parse_time_rejects(value):
    assert parse_time_ms(value) is None


def test_identity_ignores_key_order_and_line_keeps_it():
    one = {'timestamp': '2026-11-29T07:00:00Z', 'event': 'login', 'details': 'caf\u00e9 \u2028 x'}
    two = {'details': 'caf\u00e9 \u2028 x', 'event': 'login', 'timestamp': '2026-11-29T07:00:00Z'}
    assert _entries.entry_identity(one) == _entries.entry_identity(two)
    assert _entries.entry_identity(one) == hashlib.sha256(canonical(one).encode('utf-8')).hexdigest()
    assert _entries.entry_line(one) == ('{"timestamp":"2026-11-29T07:00:00Z","event":"login","details":"caf\u00e9 \u2028 x"}\n').encode('utf-8')
    assert _entries.entry_line(two).startswith(b'{"details"')


def test_gzip_is_deterministic_without_name_or_mtime():
    data = b'{"a":1}\n' * 50
    first = _archive_fs.gzip_bytes(data)
    assert first == _archive_fs.gzip_bytes(data)
    assert first[3] & 0x08 == 0  # FNAME flag not set
    assert first[4:8] == b'\x00\x00\x00\x00'  # mtime 0
    assert gzip.decompress(first) == data


# --- paths --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize('value', ['relative/path', 'x', '', '/var/log/../etc', '/var/log/itot/..', '../itot', None, '/a/\x00b'])
def test_bad_dir_is_refused_naming_the_option(tmp_path, value):
    with pytest.raises(ArchiveError) as caught:
        write_archive(ArchiveRequest(value, 'admin', [entry(T0, 1)]))
    assert caught.value.message.startswith('dir must be an absolute path without')
    assert repr(value) in caught.value.message
    with pytest.raises(ArchiveError):
        _archive.read_cursor(value, 'admin')


def test_bad_category_overlap_retention_window(tmp_path):
    with pytest.raises(ArchiveError, match='category must be one of'):
        write(tmp_path, [], category='users')
    with pytest.raises(ArchiveError, match='overlap'):
        write(tmp_path, [], overlap=-1)
    with pytest.raises(ArchiveError, match='retention_days'):
        write(tmp_path, [], retention_days=-1)
    with pytest.raises(ArchiveError, match='window_start_ms'):
        write(tmp_path, [], window_start_ms=T0 + 1, window_end_ms=T0)
    assert not os.path.exists(str(tmp_path / 'admin'))


# --- layout and exactly once --------------------------------------------------------------------------------

def test_first_write_layout_day_split_and_order(tmp_path):
    late_evening = T0 + 2 * HOUR - 1  # 2026-11-28T23:59:59.999Z
    batch = [entry(T0 + 2 * HOUR + 5, 3), entry(late_evening, 2), entry(T0, 1), entry(T0 + 2 * HOUR, 4)]
    result = write(tmp_path, batch)
    assert result['changed'] and result['verified']
    assert result['entries_written'] == 4 and result['entries_skipped'] == 0
    names = sorted(item['file'] for item in result['files'])
    assert names == ['2026/11/28/admin-20261128T220000000Z-20261128T235959999Z.jsonl.gz',
                     '2026/11/29/admin-20261129T000000000Z-20261129T000000005Z.jsonl.gz']
    cat_dir = str(tmp_path / 'admin')
    assert check_archive(cat_dir) == Counter(canonical(item) for item in batch)
    with open(os.path.join(cat_dir, names[1]), 'rb') as stream:
        lines = gzip.decompress(stream.read()).decode('utf-8').split('\n')
    assert lines == [json.dumps(batch[3], separators=(',', ':')), json.dumps(batch[0], separators=(',', ':')), '']
    assert result['cursor_ms'] == T0 + 2 * HOUR + 5
    assert result['cursor'] == '2026-11-29T00:00:00.005Z'
    with open(os.path.join(cat_dir, 'manifest.jsonl')) as stream:
        first_line = json.loads(stream.readline())
    assert first_line['prev'] == ZERO and first_line['at'] == iso(T0 + 48 * HOUR)


def test_state_file_format(tmp_path):
    batch = [entry(T0 + i * MINUTE, i) for i in range(10)] + [entry('not a time', 99)]
    write(tmp_path, batch, overlap=180)
    with open(str(tmp_path / 'admin' / 'state.json')) as stream:
        state = json.load(stream)
    assert state['version'] == 1 and state['category'] == 'admin'
    assert state['cursor_ms'] == T0 + 9 * MINUTE
    assert state['cursor'] == iso(T0 + 9 * MINUTE)
    assert state['overlap_from_ms'] == T0 + 6 * MINUTE
    expected = dict((hashlib.sha256(canonical(item).encode('utf-8')).hexdigest(), [1, T0 + i * MINUTE])
                    for i, item in enumerate(batch[:10]) if i >= 6)
    assert state['overlap_ids'] == expected
    assert state['undated_ids'] == {hashlib.sha256(canonical(batch[10]).encode('utf-8')).hexdigest(): 1}


def test_second_run_with_nothing_new_touches_nothing(tmp_path):
    batch = [entry(T0 + i * MINUTE, i) for i in range(30)] + [entry('??', 1)]
    write(tmp_path, batch, overlap=600)
    before = snapshot(str(tmp_path))
    result = write(tmp_path, batch[-12:], overlap=600, now=T0 + 49 * HOUR)
    assert result['changed'] is False
    assert result['entries_written'] == 0 and result['entries_skipped'] == 12
    assert result['files'] == [] and result['verified'] is True
    assert snapshot(str(tmp_path)) == before
    # An empty batch is no different.
    assert write(tmp_path, [], overlap=600)['changed'] is False
    assert snapshot(str(tmp_path)) == before


def test_duplicates_in_one_batch_are_both_kept_and_not_rewritten(tmp_path):
    twin = entry(T0, 1)
    result = write(tmp_path, [twin, dict(twin), entry(T0 + 1000, 2)])
    assert result['entries_written'] == 3
    again = write(tmp_path, [twin, dict(twin), entry(T0 + 1000, 2)])
    assert again['changed'] is False and again['entries_skipped'] == 3
    assert check_archive(str(tmp_path / 'admin'))[canonical(twin)] == 2


def test_host_with_one_copy_gets_the_second(tmp_path):
    twin = entry(T0, 1)
    write(tmp_path, [twin])
    result = write(tmp_path, [twin, dict(twin)])
    assert result['entries_written'] == 1 and result['entries_skipped'] == 1
    # Same first/last as the first file: the name gets -2.
    assert result['files'][0]['file'] == '2026/11/28/admin-20261128T220000000Z-20261128T220000000Z-2.jsonl.gz'
    assert check_archive(str(tmp_path / 'admin'))[canonical(twin)] == 2
    third = write(tmp_path, [twin, dict(twin), dict(twin)])
    assert third['files'][0]['file'].endswith('-3.jsonl.gz')
    assert check_archive(str(tmp_path / 'admin'))[canonical(twin)] == 3


def test_late_entry_inside_the_overlap_is_written_once(tmp_path):
    first = [entry(T0 + i * MINUTE, i) for i in range(10)]
    write(tmp_path, first, overlap=300)
    late = entry(T0 + 7 * MINUTE + 30000, 100)  # 2.5 min behind the cursor, inside the 5 min overlap
    second = first[5:] + [late, entry(T0 + 11 * MINUTE, 11)]
    result = write(tmp_path, second, overlap=300)
    assert result['entries_written'] == 2 and result['entries_skipped'] == 5
    third = write(tmp_path, second + [entry(T0 + 12 * MINUTE, 12)], overlap=300)
    assert third['entries_written'] == 1
    assert check_archive(str(tmp_path / 'admin')) == Counter(canonical(item) for item in first + [late, entry(T0 + 11 * MINUTE, 11),
                                                                                                  entry(T0 + 12 * MINUTE, 12)])


def test_entry_older_than_the_overlap_counts_as_archived(tmp_path):
    write(tmp_path, [entry(T0 + i * MINUTE, i) for i in range(10)], overlap=120)
    too_late = entry(T0 + 2 * MINUTE + 1, 50)  # 7 min behind the cursor, overlap is 2 min
    result = write(tmp_path, [too_late], overlap=120)
    assert result['entries_written'] == 0 and result['entries_skipped'] == 1 and result['changed'] is False


def test_an_entry_exactly_at_the_overlap_start_is_new_unless_held(tmp_path):
    first = [entry(T0 + i * MINUTE, i) for i in range(10)]
    write(tmp_path, first, overlap=300)  # cursor 9 min, overlap from 4 min: the entry at 4 min is held
    edge = T0 + 4 * MINUTE
    late = entry(edge, 100)  # late, stamped exactly at cursor - overlap
    twin = dict(first[4])  # a second identical event at that same millisecond
    result = write(tmp_path, first[4:] + [late, twin], overlap=300)
    assert result['entries_written'] == 2 and result['entries_skipped'] == 6
    assert check_archive(str(tmp_path / 'admin')) == Counter(canonical(item) for item in first + [late, first[4]])
    # And just before the overlap's start an entry counts as archived.
    result = write(tmp_path, [entry(edge - 1, 101)], overlap=300)
    assert result['entries_written'] == 0 and result['entries_skipped'] == 1


def test_growing_the_overlap_does_not_double(tmp_path):
    batch = [entry(T0 + i * MINUTE, i) for i in range(20)]
    write(tmp_path, batch, overlap=60)
    # The host only knows identities for the last minute; a re-read of 10 minutes must not write again.
    result = write(tmp_path, batch[10:], overlap=600)
    assert result['entries_written'] == 0 and result['entries_skipped'] == 10
    result = write(tmp_path, batch[10:] + [entry(T0 + 20 * MINUTE, 20)], overlap=600)
    assert result['entries_written'] == 1
    # The run that wrote moved the cursor; the identities it kept still reach back only to the old overlap's start.
    # The next 10-minute re-read must skip what lies between, not take it for new.
    again = write(tmp_path, batch[10:] + [entry(T0 + 20 * MINUTE, 20)], overlap=600)
    assert again['entries_written'] == 0 and again['entries_skipped'] == 11 and again['changed'] is False
    assert check_archive(str(tmp_path / 'admin')) == Counter(canonical(item) for item in batch + [entry(T0 + 20 * MINUTE, 20)])


def test_undated_entries_are_kept_once_each(tmp_path):
    odd = entry('yesterday-ish', 1)
    missing = {'event': 'config', 'details': 'no timestamp at all'}
    result = write(tmp_path, [odd, dict(odd), missing, entry(T0, 2)])
    undated = [item for item in result['files'] if item['file'].startswith('undated/')]
    assert len(undated) == 1 and undated[0]['entries'] == 3 and undated[0]['first'] is None
    content = b''.join(json.dumps(item, separators=(',', ':')).encode('utf-8') + b'\n' for item in [odd, odd, missing])
    assert undated[0]['file'] == 'undated/admin-undated-%s.jsonl.gz' % hashlib.sha256(content).hexdigest()[:16]
    again = write(tmp_path, [odd, dict(odd), missing, entry(T0, 2)])
    assert again['changed'] is False and again['entries_skipped'] == 4
    third = write(tmp_path, [odd, dict(odd), dict(odd)])
    assert third['entries_written'] == 1
    found = check_archive(str(tmp_path / 'admin'))
    assert found[canonical(odd)] == 3 and found[canonical(missing)] == 1
    assert _archive.read_cursor(str(tmp_path), 'admin')['cursor_ms'] == T0


def test_unicode_line_separators_survive(tmp_path):
    tricky = entry(T0, 1, details='line\u2028para\u2029next\x85 end \u00fc "q" \\ \n')
    write(tmp_path, [tricky])
    assert check_archive(str(tmp_path / 'admin')) == Counter([canonical(tricky)])
    name = os.path.join(str(tmp_path / 'admin'), '2026/11/28/admin-20261128T220000000Z-20261128T220000000Z.jsonl.gz')
    assert _archive_fs.read_archive_file(name) == [tricky]


def fake_api(stream, start, end, run):
    """What the API returns for [start, end] at a given run: the entries arrived by then, sorted by time (stable)."""
    picked = [(moment, n, item) for n, (moment, arrives, item) in enumerate(stream) if arrives <= run and start <= moment <= end]
    return [item for _moment, _n, item in sorted(picked, key=lambda x: (x[0], x[1]))]


def test_exactly_once_over_many_runs_with_late_entries_and_two_hosts(tmp_path):
    overlap = 300
    stream = []  # (time, run from which the API returns it, entry)
    for i in range(400):
        moment = T0 + 30 * MINUTE + i * 7000  # crosses midnight
        stream.append((moment, 0, entry(moment, i)))
        if i % 37 == 0:
            stream.append((moment, 0, entry(moment, i)))  # an identical twin: a second event
        if i % 53 == 0:
            stream.append((moment, 0, entry(moment, i, event='failed_auth')))  # same time, other event
    run_ends = [T0 + 30 * MINUTE + k * 8 * MINUTE for k in range(1, 8)]
    for k, end in enumerate(run_ends[:-1], 1):
        # Late arrivals: stamped 1-4 minutes before a window's end, visible only from the next run on.
        for j in range(1, 5):
            moment = end - j * MINUTE + 123
            stream.append((moment, k, entry(moment, 1000 + 10 * k + j, event='config')))
    hosts = {'a': str(tmp_path / 'a'), 'b': str(tmp_path / 'b')}
    initial = T0 + 30 * MINUTE
    for run, end in enumerate(run_ends):
        active = ['a'] if run < 3 else ['a', 'b']  # host b joins at the fourth run
        cursors = [_archive.read_cursor(hosts[name], 'admin')['cursor_ms'] for name in active]
        start = min(initial if cursor is None else cursor - overlap * 1000 for cursor in cursors)
        batch = fake_api(stream, start, end, run)
        for name in active:
            write_archive(ArchiveRequest(hosts[name], 'admin', batch, overlap=overlap, window_start_ms=start, window_end_ms=end, now=end))
    expected = Counter(canonical(item) for moment, _arrives, item in stream if moment <= run_ends[-1])
    assert check_archive(os.path.join(hosts['a'], 'admin')) == expected
    assert check_archive(os.path.join(hosts['b'], 'admin')) == expected
    # Nothing new: neither host changes.
    cursor = min(_archive.read_cursor(path, 'admin')['cursor_ms'] for path in hosts.values())
    batch = fake_api(stream, cursor - overlap * 1000, run_ends[-1], 99)
    for path in hosts.values():
        assert write_archive(ArchiveRequest(path, 'admin', batch, overlap=overlap, now=run_ends[-1]))['changed'] is False


def test_gap_between_cursor_and_window_is_warned(tmp_path):
    write(tmp_path, [entry(T0, 1)])
    result = write(tmp_path, [entry(T0 + HOUR, 2)], window_start_ms=T0 + 30 * MINUTE, window_end_ms=T0 + HOUR)
    assert result['entries_written'] == 1
    assert len(result['warnings']) == 1 and 'not archived here' in result['warnings'][0]
    result = write(tmp_path, [entry(T0 + HOUR, 2)], window_start_ms=T0 + HOUR - 300000, window_end_ms=T0 + 2 * HOUR)
    assert result['warnings'] == []


def test_a_later_slice_of_one_read_is_no_gap(tmp_path):
    # The role reads a category in slices and archives each in turn: the second slice starts after the newest entry
    # of the first, but the read it continues began before the cursor (read_from_ms), so nothing was skipped.
    write(tmp_path, [entry(T0, 1)], window_start_ms=T0 - HOUR, window_end_ms=T0 + HOUR, read_from_ms=T0 - HOUR)
    result = write(tmp_path, [entry(T0 + 2 * HOUR, 2)], window_start_ms=T0 + HOUR, window_end_ms=T0 + 3 * HOUR,
                   read_from_ms=T0 - HOUR)
    assert result['entries_written'] == 1 and result['warnings'] == []
    # A read that began after the cursor did skip entries: warned, whatever the slice.
    result = write(tmp_path, [entry(T0 + 5 * HOUR, 3)], window_start_ms=T0 + 5 * HOUR, window_end_ms=T0 + 6 * HOUR,
                   read_from_ms=T0 + 4 * HOUR)
    assert len(result['warnings']) == 1 and 'the entries given start at 2026-11-29T02:00:00.000Z' in result['warnings'][0]


def test_a_read_from_the_watermark_is_no_gap(tmp_path):
    # A quiet category: the cursor is old, the controller's watermark says every entry up to it was given already,
    # so a read starting at the watermark minus the overlap skipped nothing.
    write(tmp_path, [entry(T0, 1)], window_start_ms=T0 - HOUR, window_end_ms=T0 + HOUR)
    result = write(tmp_path, [entry(T0 + 10 * HOUR, 2)], window_start_ms=T0 + 9 * HOUR, window_end_ms=T0 + 11 * HOUR,
                   watermark_ms=T0 + 9 * HOUR + 300000)
    assert result['entries_written'] == 1 and result['warnings'] == []
    # A read that starts after the watermark too is still warned.
    result = write(tmp_path, [], window_start_ms=T0 + 13 * HOUR, window_end_ms=T0 + 14 * HOUR, watermark_ms=T0 + 11 * HOUR)
    assert len(result['warnings']) == 1 and 'not archived here' in result['warnings'][0]


# --- check mode and diff ------------------------------------------------------------------------------------

def test_check_mode_on_a_missing_folder_creates_nothing(tmp_path):
    root = tmp_path / 'archive'
    result = write(root, [entry(T0, 1), entry('x', 2)], check_mode=True)
    assert not os.path.exists(str(root))
    assert result['changed'] is True and result['entries_written'] == 2
    assert [item['file'] for item in result['files']][0] == '2026/11/28/admin-20261128T220000000Z-20261128T220000000Z.jsonl.gz'
    real = write(root, [entry(T0, 1), entry('x', 2)])
    assert real['files'] == result['files']
    assert real['diff_lines'] == result['diff_lines']
    assert real['diff_lines'][0] == ('add 2026/11/28/admin-20261128T220000000Z-20261128T220000000Z.jsonl.gz '
                                     '(1 entry, 2026-11-28T22:00:00.000Z .. 2026-11-28T22:00:00.000Z)')
    assert real['diff_lines'][1].endswith('(1 entry, undated)')


def test_check_mode_on_an_existing_archive_writes_nothing(tmp_path):
    write(tmp_path, [entry(T0, 1)])
    before = snapshot(str(tmp_path))
    result = write(tmp_path, [entry(T0, 1), entry(T0 + 40 * HOUR, 2)], check_mode=True, retention_days=1, now=T0 + 50 * HOUR)
    assert result['changed'] is True and result['entries_written'] == 1 and result['entries_skipped'] == 1
    assert [item['file'] for item in result['removed']] == ['2026/11/28/admin-20261128T220000000Z-20261128T220000000Z.jsonl.gz']
    assert result['verified'] is True
    assert snapshot(str(tmp_path)) == before
    nothing = write(tmp_path, [entry(T0, 1)], check_mode=True)
    assert nothing['changed'] is False and nothing['files'] == []


def test_check_mode_with_a_pending_write_does_not_complete_it(tmp_path):
    write(tmp_path, [entry(T0, 1)])
    with pytest.raises(Crash):
        write(tmp_path, [entry(T0 + MINUTE, 2)], hook=crash_at('rename:1'))
    before = snapshot(str(tmp_path))
    result = write(tmp_path, [entry(T0 + MINUTE, 2), entry(T0 + 2 * MINUTE, 3)], check_mode=True)
    assert snapshot(str(tmp_path)) == before
    assert result['recovered'] is True and result['changed'] is True
    assert result['entries_written'] == 1 and result['cursor_ms'] == T0 + 2 * MINUTE


# --- crashes ------------------------------------------------------------------------------------------------

class Crash(Exception):
    pass


def crash_at(step):
    def hook(current):
        if current == step:
            raise Crash(step)
    return hook


def crash_scenario(root):
    """Run 1 on an old day; run 2 adds two days + undated and expires run 1's file (retention 5 days)."""
    old = [entry(T0 - 10 * 24 * HOUR + i * MINUTE, i) for i in range(3)]
    write(root, old, now=T0 - 9 * 24 * HOUR)
    new = [entry(T0 + i * 20 * MINUTE, 10 + i) for i in range(12)] + [entry('bad time', 50)]
    return old, new


CRASH_STEPS = ['temp:1', 'temp:2', 'temp:3', 'pending', 'rename:1', 'rename:2', 'rename:3', 'remove:1', 'files', 'manifest', 'state',
               'done']


def test_crash_steps_are_the_ones_the_writer_reports(tmp_path):
    _old, new = crash_scenario(str(tmp_path))
    steps = []
    write(tmp_path, new, retention_days=5, hook=steps.append)
    assert steps == CRASH_STEPS


def check_after_recovery(root, new, result):
    extra = [entry(T0 + 5 * HOUR, 90)]
    final = Counter(canonical(item) for item in new + extra)
    assert check_archive(os.path.join(root, 'admin')) == final
    assert _archive.read_cursor(root, 'admin')['cursor_ms'] == T0 + 5 * HOUR
    with open(os.path.join(root, 'admin', 'manifest.jsonl')) as stream:
        records = [json.loads(line) for line in stream]
    removed = [record['file'] for record in records if record['action'] == 'remove']
    assert removed == [records[0]['file']] == ['2026/11/18/admin-20261118T220000000Z-20261118T220200000Z.jsonl.gz']


@pytest.mark.parametrize('step', CRASH_STEPS)
def test_crash_at_each_step_is_rolled_forward(tmp_path, step):
    root = str(tmp_path)
    _old, new = crash_scenario(root)
    with pytest.raises(Crash):
        write(root, new, retention_days=5, hook=crash_at(step))
    pending = os.path.exists(os.path.join(root, 'admin', '.pending.json'))
    assert pending == (step not in ('temp:1', 'temp:2', 'temp:3', 'done'))
    result = write(root, new + [entry(T0 + 5 * HOUR, 90)], retention_days=5)
    assert result['recovered'] is pending
    if step.startswith('temp:'):
        assert len(result['temps_removed']) == int(step[-1])
        assert result['entries_written'] == 14  # nothing of run 2 was kept: all again, plus the new one
    else:
        assert result['entries_written'] == 1 and result['entries_skipped'] == len(new)
    check_after_recovery(root, new, result)


def test_crash_during_recovery_is_rolled_forward_too(tmp_path):
    root = str(tmp_path)
    _old, new = crash_scenario(root)
    with pytest.raises(Crash):
        write(root, new, retention_days=5, hook=crash_at('rename:1'))
    with pytest.raises(Crash):
        write(root, [], retention_days=5, hook=crash_at('manifest'))
    result = write(root, new + [entry(T0 + 5 * HOUR, 90)], retention_days=5)
    assert result['recovered'] is True
    check_after_recovery(root, new, result)


def test_manifest_lines_partly_appended_are_not_doubled(tmp_path):
    root = str(tmp_path)
    _old, new = crash_scenario(root)
    with pytest.raises(Crash):
        write(root, new, retention_days=5, hook=crash_at('remove:1'))
    cat_dir = os.path.join(root, 'admin')
    with open(os.path.join(cat_dir, '.pending.json')) as stream:
        wanted = json.load(stream)['manifest']
    # A crash in the middle of the append: two whole lines and half of the third are on disk.
    with open(os.path.join(cat_dir, 'manifest.jsonl'), 'ab') as stream:
        stream.write((wanted[0] + '\n' + wanted[1] + '\n' + wanted[2][:40]).encode('utf-8'))
    result = write(root, new + [entry(T0 + 5 * HOUR, 90)], retention_days=5)
    check_after_recovery(root, new, result)


def test_leftover_temps_without_pending_leave_the_cursor_where_it_was(tmp_path):
    root = str(tmp_path)
    write(root, [entry(T0, 1)])
    with pytest.raises(Crash):
        write(root, [entry(T0 + HOUR, 2)], hook=crash_at('temp:1'))
    assert _archive.read_cursor(root, 'admin')['cursor_ms'] == T0
    info = _archive.read_cursor(root, 'admin')
    assert info['pending'] is False and info['changed'] is False


KILL_CHILD = textwrap.dedent('''
    import importlib.util, json, os, signal, sys
    # the folder that holds ansible_collections/, so that _archive's import of _timeparse resolves
    sys.path.insert(0, sys.argv[1].rsplit('/ansible_collections/', 1)[0])
    spec = importlib.util.spec_from_file_location('archive_under_test', sys.argv[1])
    archive = importlib.util.module_from_spec(spec)
    sys.modules['archive_under_test'] = archive
    spec.loader.exec_module(archive)
    with open(sys.argv[2]) as stream:
        job = json.load(stream)
    def hook(step):
        if step == job['kill_at']:
            os.kill(os.getpid(), signal.SIGKILL)
    for _run in range(job.get('repeat', 1)):
        for batch in job['batches']:
            archive.write_archive(archive.ArchiveRequest(job['root'], job['category'], batch, retention_days=job.get('retention_days', 0),
                                                         now=job.get('now'), hook=hook, lock_timeout=120))
''')


def run_child(tmp_path, name, job):
    script = tmp_path / ('%s.py' % name)
    script.write_text(KILL_CHILD)
    job_file = tmp_path / ('%s.json' % name)
    job_file.write_text(json.dumps(job))
    return subprocess.Popen([sys.executable, str(script), _archive.__file__, str(job_file)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.parametrize('step', CRASH_STEPS)
def test_sigkill_at_each_step_is_rolled_forward(tmp_path, step):
    root = str(tmp_path / 'archive')
    _old, new = crash_scenario(root)
    child = run_child(tmp_path, 'kill', {'root': root, 'category': 'admin', 'batches': [new], 'retention_days': 5,
                                         'now': T0 + 48 * HOUR, 'kill_at': step})
    _out, err = child.communicate(timeout=60)
    assert child.returncode == -9, err.decode('utf-8', 'replace')
    result = write(root, new + [entry(T0 + 5 * HOUR, 90)], retention_days=5)
    check_after_recovery(root, new, result)


# --- a full disk --------------------------------------------------------------------------------------------

class FullDisk:
    """The archive code's view of a disk with `room` bytes left: file writes past it fail with ENOSPC, part written.

    It stands in for ``os`` inside _archive_fs (fdopen'ed streams and os.write are counted), so nothing else is touched.
    """

    def __init__(self, room=None):
        self.room = room
        self.writes = []

    def take(self, size):
        self.writes.append(size)
        if self.room is None:
            return size
        granted = min(size, self.room)
        self.room -= granted
        return granted

    def __getattr__(self, name):
        return getattr(os, name)

    def fdopen(self, fd, mode='r', *args):
        return _CountedStream(self, os.fdopen(fd, mode, *args))

    def write(self, fd, data):
        granted = self.take(len(data))
        if granted == 0 and len(data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return os.write(fd, bytes(data[:granted]))


class _CountedStream:
    def __init__(self, disk, raw):
        self.disk = disk
        self.raw = raw

    def write(self, data):
        granted = self.disk.take(len(data))
        self.raw.write(data[:granted])
        if granted < len(data):
            self.raw.flush()
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return granted

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.raw.close()

    def __getattr__(self, name):
        return getattr(self.raw, name)


def files_of(root):
    return dict((path, value) for path, value in snapshot(root).items() if not os.path.isdir(os.path.join(root, path)))


def full_disk_points(tmp_path, monkeypatch):
    """Each room that makes the write of crash_scenario's run 2 fail at another byte: at and just before each write."""
    root = str(tmp_path / 'probe')
    _old, new = crash_scenario(root)
    disk = FullDisk()
    monkeypatch.setattr(_archive_fs, 'os', disk)
    write(root, new, retention_days=5)
    monkeypatch.undo()
    points = []
    total = 0
    for size in disk.writes:
        points += [total, total + size // 2]
        total += size
    return points


def test_a_full_disk_fails_clearly_keeps_nothing_partial_and_the_next_run_completes(tmp_path, monkeypatch):
    points = full_disk_points(tmp_path, monkeypatch)
    assert len(points) >= 12  # 3 archive files, .pending.json, manifest.jsonl, state.json
    outcomes = Counter()
    for number, room in enumerate(points):
        root = str(tmp_path / ('disk%d' % number))
        cat_dir = os.path.join(root, 'admin')
        _old, new = crash_scenario(root)
        before = files_of(root)
        monkeypatch.setattr(_archive_fs, 'os', FullDisk(room))
        with pytest.raises(ArchiveError) as caught:
            write(root, new, retention_days=5)
        monkeypatch.undo()
        message = caught.value.message
        assert cat_dir in message and 'No space left on device (ENOSPC)' in message, message
        after = files_of(root)
        assert not [path for path in after if os.path.basename(path).startswith('.tmp-')], (room, sorted(after))
        assert after[os.path.join('admin', 'state.json')] == before[os.path.join('admin', 'state.json')], room
        if os.path.exists(os.path.join(cat_dir, '.pending.json')):
            outcomes['pending'] += 1
            assert message.startswith('cannot complete the write recorded in %s/.pending.json (' % cat_dir), message
            assert message.endswith('the cursor in state.json was not advanced, and the next run completes the write')
            with open(os.path.join(cat_dir, 'manifest.jsonl'), 'rb') as stream:
                manifest = stream.read()
            old_manifest = before[os.path.join('admin', 'manifest.jsonl')][3]
            assert manifest == old_manifest or (manifest.startswith(old_manifest) and manifest.count(b'\n') == 5), room
            # While the disk is still full, the recovery fails the same clear way and keeps the pending write.
            if 'writing state.json' in message:
                monkeypatch.setattr(_archive_fs, 'os', FullDisk(0))
                with pytest.raises(ArchiveError, match='writing state.json'):
                    write(root, new, retention_days=5)
                monkeypatch.undo()
        else:
            outcomes['nothing kept'] += 1
            assert message.startswith('cannot write ') and message.endswith(
                ': No space left on device (ENOSPC); nothing of this run was kept (its temporary files were deleted) '
                'and the cursor was not advanced'), message
            assert after == before, room
        pending = os.path.exists(os.path.join(cat_dir, '.pending.json'))
        result = write(root, new + [entry(T0 + 5 * HOUR, 90)], retention_days=5)
        assert result['recovered'] is pending
        check_after_recovery(root, new, result)
    assert outcomes['pending'] and outcomes['nothing kept'], outcomes


# --- concurrency --------------------------------------------------------------------------------------------

def test_two_processes_writing_at_once(tmp_path):
    root = str(tmp_path / 'archive')
    stream = []
    for i in range(300):
        stream.append(entry(T0 + i * 10000, i, event='noncompliant'))
        if i % 17 == 0:
            stream.append(entry(T0 + i * 10000, i, event='noncompliant'))
    times = [time_ms(item['timestamp']) for item in stream]
    batches = []
    for k in range(16):
        low, high = T0 + (20 * k - 40) * 10000, T0 + (20 * k + 19) * 10000
        batches.append([item for item, moment in zip(stream, times) if low <= moment <= high])
    job = {'root': root, 'category': 'device', 'batches': batches, 'now': T0 + 48 * HOUR, 'kill_at': None}
    children = [run_child(tmp_path, 'child%d' % n, job) for n in range(2)]
    for child in children:
        _out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err.decode('utf-8', 'replace')
    assert check_archive(os.path.join(root, 'device')) == Counter(canonical(item) for item in stream)


def test_lock_timeout(tmp_path):
    write(tmp_path, [entry(T0, 1)])
    fd = os.open(str(tmp_path / 'admin' / '.lock'), os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(ArchiveError, match='timed out after 0.2s waiting for the lock'):
            write(tmp_path, [entry(T0 + 1, 2)], lock_timeout=0.2)
    finally:
        os.close(fd)
    assert write(tmp_path, [entry(T0 + 1, 2)])['entries_written'] == 1


# --- verification -------------------------------------------------------------------------------------------

def two_runs(root):
    write(root, [entry(T0 + i * MINUTE, i) for i in range(5)])
    result = write(root, [entry(T0 + 3 * HOUR + i * MINUTE, 10 + i) for i in range(5)])
    cat_dir = os.path.join(str(root), 'admin')
    first = os.path.join(cat_dir, '2026/11/28/admin-20261128T220000000Z-20261128T220400000Z.jsonl.gz')
    return cat_dir, first, result


def problems_of(root, **kwargs):
    with pytest.raises(ArchiveError) as caught:
        write(root, kwargs.pop('batch', []), **kwargs)
    return caught.value


def test_verify_catches_a_tampered_file(tmp_path):
    cat_dir, first, _result = two_runs(tmp_path)
    items = _archive_fs.read_archive_file(first)
    items[0]['details'] = 'rewritten'
    os.chmod(first, 0o644)
    with open(first, 'wb') as stream:
        stream.write(gzip.compress(b''.join(json.dumps(item).encode('utf-8') + b'\n' for item in items)))
    error = problems_of(tmp_path)
    assert cat_dir in error.message and 'tampered: 2026/11/28/admin-20261128T220000000Z-20261128T220400000Z.jsonl.gz' in error.message
    assert [problem['kind'] for problem in error.problems] == ['tampered']
    # verify=false skips the re-hash (the chain is still fine, so the run goes through).
    assert write(tmp_path, [], verify=False)['verified'] is False


def test_verify_catches_a_missing_and_an_extra_file(tmp_path):
    cat_dir, first, _result = two_runs(tmp_path)
    os.rename(first, os.path.join(cat_dir, '2026/11/28/admin-copy.jsonl.gz'))
    error = problems_of(tmp_path)
    kinds = sorted((problem['kind'], problem['file']) for problem in error.problems)
    assert kinds == [('extra', '2026/11/28/admin-copy.jsonl.gz'),
                     ('missing', '2026/11/28/admin-20261128T220000000Z-20261128T220400000Z.jsonl.gz')]
    assert 'missing: 2026/11/28/admin-2026' in error.message and 'extra: 2026/11/28/admin-copy.jsonl.gz' in error.message


def test_verify_catches_an_edited_manifest_line(tmp_path):
    cat_dir, first, _result = two_runs(tmp_path)
    path = os.path.join(cat_dir, 'manifest.jsonl')
    with open(path, 'rb') as stream:
        lines = stream.read().split(b'\n')
    lines[0] = lines[0].replace(b'"entries":5', b'"entries":4')
    with open(path, 'wb') as stream:
        stream.write(b'\n'.join(lines))
    before = snapshot(str(tmp_path))
    error = problems_of(tmp_path, batch=[entry(T0 + 5 * HOUR, 99)])
    assert 'chain broken at line 2' in error.message and cat_dir in error.message
    assert snapshot(str(tmp_path)) == before  # checked before writing: nothing appended to a broken chain


def test_verify_catches_an_edited_or_dropped_last_line(tmp_path):
    cat_dir, first, _result = two_runs(tmp_path)
    path = os.path.join(cat_dir, 'manifest.jsonl')
    with open(path, 'rb') as stream:
        original = stream.read()
    lines = original.split(b'\n')
    lines[1] = lines[1].replace(b'"entries":5', b'"entries":6')
    with open(path, 'wb') as stream:
        stream.write(b'\n'.join(lines))
    error = problems_of(tmp_path, batch=[entry(T0 + 5 * HOUR, 99)])
    assert 'state.json records 2 lines' in error.message
    with open(path, 'wb') as stream:
        stream.write(lines[0] + b'\n')
    error = problems_of(tmp_path)
    assert 'manifest.jsonl has 1 lines' in error.message
    assert 'extra: 2026/11/29/' in error.message
    with open(path, 'wb') as stream:
        stream.write(original)
    assert write(tmp_path, [])['verified'] is True


def test_verify_catches_a_bad_first_prev_and_a_missing_state(tmp_path):
    cat_dir, first, _result = two_runs(tmp_path)
    os.unlink(os.path.join(cat_dir, 'state.json'))
    error = problems_of(tmp_path, batch=[entry(T0, 0)])
    assert 'state.json is missing but manifest.jsonl has 2 lines' in error.message
    assert _archive_verify.verify_archive(cat_dir, [b'{"file":"x","action":"add","prev":"1"}'], None)[0]['detail'].startswith(
        'chain broken at line 1')


# --- retention ----------------------------------------------------------------------------------------------

def test_retention_removes_old_files_and_records_it(tmp_path):
    old = [entry(T0 - 40 * 24 * HOUR + i, i) for i in range(3)]
    recent = [entry(T0 + i, 10 + i) for i in range(2)]
    write(tmp_path, old + [entry('undated', 7)], now=T0 - 39 * 24 * HOUR)
    result = write(tmp_path, recent, retention_days=30, now=T0 + HOUR)
    cat_dir = str(tmp_path / 'admin')
    assert [item['file'] for item in result['removed']] == ['2026/10/19/admin-20261019T220000000Z-20261019T220000002Z.jsonl.gz']
    assert result['removed'][0]['entries'] == 3
    assert result['diff_lines'][-1].startswith('remove 2026/10/19/admin-20261019T220000000Z-20261019T220000002Z.jsonl.gz (3 entries')
    with open(os.path.join(cat_dir, 'manifest.jsonl')) as stream:
        records = [json.loads(line) for line in stream]
    added = records[0]
    removed = records[-1]
    assert removed['action'] == 'remove'
    assert [removed[key] for key in ('file', 'sha256', 'entries', 'first', 'last')] == \
        [added[key] for key in ('file', 'sha256', 'entries', 'first', 'last')]
    assert removed['at'] == iso(T0 + HOUR)
    assert check_archive(cat_dir) == Counter(canonical(item) for item in recent + [entry('undated', 7)])
    again = write(tmp_path, recent, retention_days=30, now=T0 + 2 * HOUR)
    assert again['changed'] is False and again['removed'] == []
    # Removing the old file does not make its entries new again.
    assert write(tmp_path, old + recent, retention_days=30, now=T0 + 2 * HOUR)['entries_written'] == 0


def test_retention_zero_keeps_everything(tmp_path):
    write(tmp_path, [entry(T0 - 4000 * 24 * HOUR, 1)], now=T0)
    assert write(tmp_path, [], retention_days=0, now=T0 + 365 * 24 * HOUR)['removed'] == []


# --- info ---------------------------------------------------------------------------------------------------

def test_info_reads_the_cursor_without_writing(tmp_path):
    root = str(tmp_path / 'none')
    info = _archive.read_cursor(root, 'webhook')
    assert info['cursor_ms'] is None and info['cursor'] is None and not os.path.exists(root)
    write(tmp_path, [entry(T0, 1)], category='webhook')
    before = snapshot(str(tmp_path))
    info = _archive.read_cursor(str(tmp_path), 'webhook')
    assert info['cursor_ms'] == T0 and info['cursor'] == '2026-11-28T22:00:00.000Z'
    assert info['manifest_lines'] == 1
    assert snapshot(str(tmp_path)) == before


# --- where the archive's reading began (covered_from_ms) --------------------------------------------------------

def state_of(root, category='admin'):
    with open(os.path.join(str(root), category, 'state.json')) as stream:
        return json.load(stream)


def test_the_first_run_with_a_window_records_where_its_reading_began(tmp_path):
    # read_from (the start of the category's first slice) wins over this slice's own start.
    result = write(tmp_path, [entry(T0 + HOUR, 1)], window_start_ms=T0, window_end_ms=T0 + 2 * HOUR, read_from_ms=T0 - 5 * HOUR)
    assert result['changed'] is True
    assert state_of(tmp_path)['covered_from_ms'] == T0 - 5 * HOUR
    # Later runs keep it, whatever their windows.
    write(tmp_path, [entry(T0 + 3 * HOUR, 2)], window_start_ms=T0 + 2 * HOUR, window_end_ms=T0 + 4 * HOUR)
    assert state_of(tmp_path)['covered_from_ms'] == T0 - 5 * HOUR
    assert state_of(tmp_path)['cursor_ms'] == T0 + 3 * HOUR


def test_a_quiet_first_run_writes_the_state_with_its_coverage_once(tmp_path):
    """No entry in the first window: state.json is written all the same (a change); later quiet runs change nothing."""
    result = write(tmp_path, [], window_start_ms=T0, window_end_ms=T0 + HOUR)
    assert result['changed'] is True and result['entries_written'] == 0
    assert any(iso(T0) in line for line in result['diff_lines'])
    state = state_of(tmp_path)
    assert state['covered_from_ms'] == T0 and state['cursor_ms'] is None
    assert state['manifest_lines'] == 0 and state['manifest_head'] == ZERO
    assert not os.path.exists(str(tmp_path / 'admin' / 'manifest.jsonl'))
    before = snapshot(str(tmp_path))
    again = write(tmp_path, [], window_start_ms=T0 + HOUR, window_end_ms=T0 + 2 * HOUR)
    assert again['changed'] is False and again['diff_lines'] == [] and again['verified'] is True
    assert snapshot(str(tmp_path)) == before
    # Entries later: the coverage start stays where the reading began.
    write(tmp_path, [entry(T0 + 150 * MINUTE, 1)], window_start_ms=T0 + 2 * HOUR, window_end_ms=T0 + 3 * HOUR)
    assert state_of(tmp_path)['covered_from_ms'] == T0
    assert Counter(check_archive(str(tmp_path / 'admin'))) == Counter([canonical(entry(T0 + 150 * MINUTE, 1))])


def test_check_mode_of_a_quiet_first_run_says_it_would_change(tmp_path):
    result = write(tmp_path, [], window_start_ms=T0, window_end_ms=T0 + HOUR, check_mode=True)
    assert result['changed'] is True and not os.path.exists(str(tmp_path / 'admin'))


def test_a_run_without_a_window_records_no_coverage(tmp_path):
    write(tmp_path, [entry(T0, 1)])
    assert state_of(tmp_path)['covered_from_ms'] is None
    # Nor does a later run with a window: the archive already held entries before it.
    write(tmp_path, [entry(T0 + HOUR, 2)], window_start_ms=T0 + 30 * MINUTE, window_end_ms=T0 + 2 * HOUR)
    assert state_of(tmp_path)['covered_from_ms'] is None


def test_an_archive_made_before_coverage_records_loads_and_gains_none(tmp_path):
    write(tmp_path, [entry(T0, 1)], window_start_ms=T0 - HOUR, window_end_ms=T0 + HOUR)
    path = str(tmp_path / 'admin' / 'state.json')
    old = state_of(tmp_path)
    del old['covered_from_ms']  # state.json as the previous version wrote it
    with open(path, 'w') as stream:
        json.dump(old, stream)
    result = write(tmp_path, [entry(T0 + 2 * HOUR, 2)], window_start_ms=T0 + HOUR, window_end_ms=T0 + 3 * HOUR)
    assert result['changed'] is True and result['entries_written'] == 1
    assert state_of(tmp_path)['covered_from_ms'] is None
    assert _archive.read_cursor(str(tmp_path), 'admin')['cursor_ms'] == T0 + 2 * HOUR


def test_next_state_keeps_or_sets_covered_from():
    from ansible_collections.opswat.itot.plugins.module_utils._archive_chain import empty_state
    from ansible_collections.opswat.itot.plugins.module_utils._archive_select import Selection, next_state
    one = Selection(dated=[(T0, 0, entry(T0, 1), 'id-1')])
    fresh = {'version': 1, 'category': 'admin'}  # an old or empty state: no covered_from_ms key at all
    assert next_state(fresh, one, 300, T0 - HOUR)['covered_from_ms'] == T0 - HOUR
    assert next_state(fresh, Selection(), 300, T0 - HOUR)['covered_from_ms'] == T0 - HOUR
    assert next_state(fresh, one, 300)['covered_from_ms'] is None  # no window
    kept = dict(fresh, covered_from_ms=T0 - 9 * HOUR, cursor_ms=T0, manifest_lines=1)
    assert next_state(kept, one, 300, T0 - HOUR)['covered_from_ms'] == T0 - 9 * HOUR
    old = dict(fresh, cursor_ms=T0, manifest_lines=3)  # holds entries, made before coverage records
    assert next_state(old, one, 300, T0 - HOUR)['covered_from_ms'] is None
    assert empty_state('admin')['covered_from_ms'] is None
