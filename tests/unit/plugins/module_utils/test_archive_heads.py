# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Chain heads recorded off the host (issue 13, item 3): head computation, the extension check, retention's
remove lines, the heads file, and the per-day comparison between hosts."""

from __future__ import annotations

import hashlib
import json
import os

import pytest

from ansible_collections.opswat.itot.plugins.module_utils import _archive_heads as heads
from ansible_collections.opswat.itot.plugins.module_utils._archive import ArchiveRequest, write_archive
from ansible_collections.opswat.itot.plugins.module_utils._archive_chain import chain_records, line_hash, read_manifest, state_bytes
from ansible_collections.opswat.itot.plugins.module_utils._errors import ArchiveError
from ansible_collections.opswat.itot.plugins.module_utils._report_analysis import HeadCheck, build_report

HOUR = 3600 * 1000
DAY = 24 * HOUR
T0 = 1795903200000  # 2026-11-28T22:00:00Z
NOW = T0 + 48 * HOUR


def entries(start, count, step=HOUR):
    return [{'timestamp': start + n * step, 'event': 'login', 'n': n} for n in range(count)]


def run(root, batch, **kwargs):
    kwargs.setdefault('now', NOW)
    return write_archive(ArchiveRequest(str(root), 'admin', batch, **kwargs))


def head(result):
    return {'lines': result['manifest_lines'], 'sha256': result['manifest_head']}


def load_state(cat):
    with open(os.path.join(cat, 'state.json')) as stream:
        return json.load(stream)


def save(cat, lines, state):
    with open(os.path.join(cat, 'manifest.jsonl'), 'wb') as stream:
        stream.write(b''.join(line + b'\n' for line in lines))
    state = dict(state, manifest_lines=len(lines), manifest_head=line_hash(lines[-1]) if lines else '0' * 64)
    with open(os.path.join(cat, 'state.json'), 'wb') as stream:
        stream.write(state_bytes(state))


# --- a head -------------------------------------------------------------------------------------------------

def test_the_head_is_the_line_count_and_the_hash_of_the_last_line():
    assert heads.head_of([]) == {'lines': 0, 'sha256': '0' * 64}
    assert heads.head_of([b'a', b'b']) == {'lines': 2, 'sha256': hashlib.sha256(b'b').hexdigest()}


@pytest.mark.parametrize('bad', [{'lines': -1, 'sha256': '0' * 64}, {'lines': 1}, {'lines': True, 'sha256': '0' * 64},
                                 {'lines': 1, 'sha256': 'xyz'}, ['lines']])
def test_a_malformed_head_is_refused(bad):
    with pytest.raises(ArchiveError, match='known_head must be'):
        heads.check_head(bad)


def test_extension():
    lines = [b'one', b'two', b'three']
    at_two = {'lines': 2, 'sha256': hashlib.sha256(b'two').hexdigest(), 'recorded': '2026-11-29T00:00:00.000Z'}
    assert heads.extension_problems(lines, at_two) == []
    assert heads.extension_problems(lines[:2], at_two) == []
    assert heads.extension_problems(lines, None) == []
    assert heads.extension_problems([], {'lines': 0, 'sha256': '0' * 64}) == []
    [short] = heads.extension_problems(lines[:1], at_two)
    assert short['line'] == 2 and 'manifest line 2, the head' in short['detail'] and 'fewer than 2' in short['detail']
    assert '2026-11-29' in short['detail']
    [edited] = heads.extension_problems([b'one', b'TWO', b'three'], at_two)
    assert edited['line'] == 2 and 'manifest line 2 hashes to' in edited['detail'] and 'rewritten' in edited['detail']


# --- through write_archive: the three tamper cases ------------------------------------------------------------

def honest(tmp_path, retention_days=0):
    first = run(tmp_path, entries(T0, 3))
    second = run(tmp_path, entries(T0 + 3 * HOUR, 3), retention_days=retention_days, known_head=head(first))
    return os.path.join(str(tmp_path), 'admin'), head(second)


def test_an_honest_run_extends_the_head_and_advances_it(tmp_path):
    cat, recorded = honest(tmp_path)
    third = run(tmp_path, entries(T0 + 6 * HOUR, 2), known_head=recorded)
    assert third['manifest_lines'] > recorded['lines']
    assert third['days'] == {'2026-11-28': {'entries': 2, 'first': '2026-11-28T22:00:00.000Z', 'last': '2026-11-28T23:00:00.000Z'},
                             '2026-11-29': {'entries': 6, 'first': '2026-11-29T00:00:00.000Z', 'last': '2026-11-29T05:00:00.000Z'}}


def test_truncation_with_state_rolled_back_passes_state_json_but_not_the_head(tmp_path):
    cat, recorded = honest(tmp_path)
    before = load_state(cat)
    lines = read_manifest(cat)
    dropped = json.loads(lines[-1])
    os.unlink(os.path.join(cat, dropped['file']))
    save(cat, lines[:-1], before)
    run(tmp_path, [])  # state.json anchors the shortened chain: without a head this passes
    with pytest.raises(ArchiveError) as err:
        run(tmp_path, [], known_head=recorded)
    assert 'manifest line %d, the head recorded off the host, is missing' % recorded['lines'] in err.value.message
    assert err.value.problems[0]['line'] == recorded['lines']


def test_a_rewritten_file_rehashed_and_rechained_fails_the_head(tmp_path):
    cat, recorded = honest(tmp_path)
    lines = read_manifest(cat)
    records = [json.loads(line) for line in lines]
    victim = records[0]
    with open(os.path.join(cat, victim['file']), 'ab') as stream:
        stream.write(b'\x00')
    with open(os.path.join(cat, victim['file']), 'rb') as stream:
        victim['sha256'] = hashlib.sha256(stream.read()).hexdigest()
    rechained = chain_records(records, '0' * 64, records[0]['at'])
    save(cat, rechained, load_state(cat))
    run(tmp_path, [])  # consistent on the host
    with pytest.raises(ArchiveError) as err:
        run(tmp_path, [], known_head=recorded)
    assert 'manifest line %d hashes to' % recorded['lines'] in err.value.message


def fake_remove(cat, record_of, **changes):
    lines = read_manifest(cat)
    added = [json.loads(line) for line in lines if json.loads(line)['action'] == 'add']
    record = dict(record_of(added), action='remove', **changes)
    lines = lines + chain_records([record], line_hash(lines[-1]), '2026-11-30T00:00:00.000Z')
    os.unlink(os.path.join(cat, record['file']))
    save(cat, lines, load_state(cat))
    return len(lines)


def test_a_chained_remove_line_while_retention_is_zero_fails_naming_the_line(tmp_path):
    cat, recorded = honest(tmp_path)
    number = fake_remove(cat, lambda added: added[0])
    run(tmp_path, [])  # the chain and state.json agree
    with pytest.raises(ArchiveError) as err:
        run(tmp_path, [], known_head=recorded)
    assert 'manifest line %d removes' % number in err.value.message and 'retention_days is 0' in err.value.message
    assert err.value.problems[0]['kind'] == 'remove' and err.value.problems[0]['line'] == number


def test_a_remove_of_a_file_younger_than_the_retention_fails(tmp_path):
    cat, recorded = honest(tmp_path)
    number = fake_remove(cat, lambda added: added[-1])
    with pytest.raises(ArchiveError, match='manifest line %d removes .* younger than retention_days \\(30\\)' % number):
        run(tmp_path, [], retention_days=30, known_head=recorded)


def test_a_remove_with_a_forged_time_fails(tmp_path):
    cat, recorded = honest(tmp_path)
    number = fake_remove(cat, lambda added: added[-1], last='2000-01-01T00:00:00.000Z')
    with pytest.raises(ArchiveError, match='manifest line %d removes .* not the one it was added with' % number):
        run(tmp_path, [], retention_days=1, known_head=recorded)


def test_retention_removes_pass_and_old_ones_are_not_checked_again(tmp_path):
    first = run(tmp_path, entries(T0, 3))
    expired = run(tmp_path, [], retention_days=1, now=NOW + 5 * DAY, known_head=head(first))
    assert expired['removed'] and expired['manifest_lines'] > first['manifest_lines']
    # The retention is raised later: the removals before the recorded head stay accepted.
    run(tmp_path, [], retention_days=400, now=NOW + 5 * DAY, known_head=head(expired))
    # With nothing recorded yet, every remove line is checked against the retention as set now.
    with pytest.raises(ArchiveError, match='retention_days is 0'):
        run(tmp_path, [], now=NOW + 5 * DAY, known_head={'lines': 0, 'sha256': '0' * 64})


def test_the_report_checks_the_heads_and_reports_them(tmp_path):
    cat, recorded = honest(tmp_path)
    report = build_report(str(tmp_path), ['admin', 'device'], T0, NOW, NOW, heads=HeadCheck({'admin': recorded}, 0, NOW))
    assert report['heads'] == {'admin': recorded, 'device': {'lines': 0, 'sha256': '0' * 64}}
    fake_remove(cat, lambda added: added[0])
    build_report(str(tmp_path), ['admin'], T0, NOW, NOW)  # without heads, the host's own anchor agrees
    with pytest.raises(ArchiveError, match='retention_days is 0'):
        build_report(str(tmp_path), ['admin'], T0, NOW, NOW, heads=HeadCheck({'admin': recorded}, 0, NOW))
    with pytest.raises(ArchiveError, match='fewer than'):
        build_report(str(tmp_path), ['device'], T0, NOW, NOW, heads=HeadCheck({'device': recorded}, 0, NOW))


# --- the heads file -----------------------------------------------------------------------------------------

def test_the_heads_file_is_merged_atomically_and_keeps_the_first_time_a_head_was_seen(tmp_path):
    path = str(tmp_path / 'itot-heads.json')
    key_a = heads.heads_key('a', '/var/log/itot', 'admin')
    key_b = heads.heads_key('b', '/var/log/itot', 'admin')
    assert heads.load_heads(path) == []
    assert heads.record_heads(path, [dict(key_a, lines=3, sha256='1' * 64, recorded='t1')])
    assert heads.record_heads(path, [dict(key_b, lines=2, sha256='2' * 64, recorded='t1')])
    assert not heads.record_heads(path, [dict(key_a, lines=3, sha256='1' * 64, recorded='t2')])
    assert heads.record_heads(path, [dict(key_a, lines=4, sha256='3' * 64, recorded='t3')])
    loaded = heads.load_heads(path)
    assert heads.find_head(loaded, key_a) == {'lines': 4, 'sha256': '3' * 64, 'recorded': 't3'}
    assert heads.find_head(loaded, key_b) == {'lines': 2, 'sha256': '2' * 64, 'recorded': 't1'}
    assert heads.find_head(loaded, heads.heads_key('a', '/other', 'admin')) is None
    assert [name for name in os.listdir(str(tmp_path)) if name.startswith('.itot-heads-')] == []
    assert json.loads(open(path).read())['heads'][0]['tenant'] == 'default'


@pytest.mark.parametrize('content, message', [(b'{', 'not valid JSON'), (b'{"version": 2, "heads": []}', 'not a version 1'),
                                              (b'[]', 'not a version 1')])
def test_a_broken_heads_file_fails_naming_it(tmp_path, content, message):
    path = tmp_path / 'itot-heads.json'
    path.write_bytes(content)
    with pytest.raises(ArchiveError, match=message) as err:
        heads.load_heads(str(path))
    assert str(path) in err.value.message


# --- hosts compared day by day ------------------------------------------------------------------------------

def day(entries_, first='T00', last='T23'):
    return {'entries': entries_, 'first': '%s:00:00.000Z' % first, 'last': '%s:00:00.000Z' % last}


def days(*values, start=1):
    return dict(('2026-11-%02d' % (start + n), value) for n, value in enumerate(values) if value is not None)


def test_the_host_that_differs_from_the_majority_is_named():
    named = heads.day_disagreements({'a': {'g': days(day(5), day(7), day(9))}, 'b': {'g': days(day(5), day(7), day(9))},
                                     'c': {'g': days(day(5), day(6), day(9))}})
    assert list(named) == ['c']
    assert named['c'] == ['g on 2026-11-02: c holds 6 entries, T00:00:00.000Z .. T23:00:00.000Z, a, b hold 7 entries, '
                          'T00:00:00.000Z .. T23:00:00.000Z']


def test_a_day_missing_inside_a_hosts_range_counts_and_two_hosts_without_majority_are_both_named():
    named = heads.day_disagreements({'a': {'g': days(day(5), day(7), day(9))}, 'b': {'g': days(day(5), None, day(9))}})
    assert sorted(named) == ['a', 'b'] and 'b holds nothing' in named['b'][0] and 'no majority' in named['a'][0]


def test_a_host_added_later_is_not_flagged_for_days_it_never_had_nor_its_partial_first_day():
    full = {'g': days(day(5), day(7), day(9), day(4))}
    later = {'g': days(day(3, first='T12'), day(4), start=3)}
    assert heads.day_disagreements({'a': full, 'b': full, 'c': later}) == {}
    # ... and other groups (another category, other filters) are not compared with each other
    assert heads.day_disagreements({'a': {'g': days(day(5), day(7))}, 'b': {'h': days(day(1), day(2))}}) == {}


def test_a_watermark_belongs_to_the_head_it_was_recorded_with(tmp_path):
    path = str(tmp_path / 'itot-heads.json')
    key = heads.heads_key('a', '/var/log/itot', 'device')
    mark1 = {'from_ms': 1, 'to_ms': 10, 'filters': 'f' * 64}
    mark2 = {'from_ms': 1, 'to_ms': 20, 'filters': 'f' * 64}
    assert heads.record_heads(path, [dict(key, lines=3, sha256='1' * 64, recorded='t1', watermark=mark1)])
    # The same head, the watermark moved on: recorded, the head's first time kept.
    assert heads.record_heads(path, [dict(key, lines=3, sha256='1' * 64, recorded='t2', watermark=mark2)])
    assert heads.find_head(heads.load_heads(path), key) == {'lines': 3, 'sha256': '1' * 64, 'recorded': 't1', 'watermark': mark2}
    # The same head and watermark, or the same head without one: nothing to write, the watermark kept.
    assert not heads.record_heads(path, [dict(key, lines=3, sha256='1' * 64, recorded='t3', watermark=mark2)])
    assert not heads.record_heads(path, [dict(key, lines=3, sha256='1' * 64, recorded='t3', watermark=None)])
    assert heads.find_head(heads.load_heads(path), key)['watermark'] == mark2
    # A new head recorded without a watermark (the module used on its own): the old watermark is dropped.
    assert heads.record_heads(path, [dict(key, lines=4, sha256='2' * 64, recorded='t4', watermark=None)])
    assert heads.find_head(heads.load_heads(path), key) == {'lines': 4, 'sha256': '2' * 64, 'recorded': 't4'}
    assert 'watermark' not in open(path).read()
