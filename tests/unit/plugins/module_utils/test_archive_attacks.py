# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Issue 13, items 1 and 2: an archive folder written by someone else, and entries stamped outside their window.

Each attack plants files or links in a category folder the way an account that may write it (the role's owner/group)
could, runs the archive code (as root when the tests run as root, the way the role runs it), and checks that it
failed naming the path and what was wrong, and that nothing outside the archive changed (a sentinel tree, hashed and
stat'ed before and after).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import stat

import pytest

from ansible_collections.opswat.itot.plugins.module_utils._archive import ArchiveError, ArchiveRequest, read_cursor, write_archive
from ansible_collections.opswat.itot.plugins.module_utils._archive_lock import ArchiveLock
from ansible_collections.opswat.itot.plugins.module_utils._report_analysis import read_period
from ansible_collections.opswat.itot.tests.unit.plugins.module_utils.test_archive import HOUR, MINUTE, T0, check_archive, entry, iso

NOW = T0 + 48 * HOUR
DAY1 = '2026/11/28'


def tree(root):
    """Every path under root (and root) with its kind, mode, owner, size, mtime, bytes' sha256 or link target."""
    seen = {}
    for folder, dirs, files in os.walk(root):
        for path in [folder] + [os.path.join(folder, name) for name in dirs + files]:
            info = os.lstat(path)
            content = None
            if stat.S_ISLNK(info.st_mode):
                content = os.readlink(path)
            elif stat.S_ISREG(info.st_mode):
                with open(path, 'rb') as stream:
                    content = hashlib.sha256(stream.read()).hexdigest()
            seen[os.path.relpath(path, root)] = (info.st_mode, info.st_uid, info.st_gid, info.st_size, info.st_mtime_ns, content)
    return seen


@pytest.fixture
def site(tmp_path):
    """An honest archive (admin, two entries of 2026-11-28) beside a sentinel tree that nothing may touch."""
    outside = tmp_path / 'outside'
    (outside / 'rootonly').mkdir(parents=True)
    (outside / 'keep.conf').write_text('keep me\n')
    (outside / 'rootonly' / 'secret').write_text('root only\n')
    os.chmod(str(outside / 'rootonly' / 'secret'), 0o600)
    os.chmod(str(outside / 'rootonly'), 0o700)
    root = tmp_path / 'archive'
    write_archive(ArchiveRequest(str(root), 'admin', [entry(T0, 1), entry(T0 + MINUTE, 2)], now=NOW))

    class Site:
        pass

    site = Site()
    site.root, site.cat, site.outside = str(root), str(root / 'admin'), str(outside)
    site.before = tree(str(outside))
    return site


def unchanged(site):
    assert tree(site.outside) == site.before


def attack(site, batch=(), **kwargs):
    """A write run over the planted folder: the ArchiveError it must fail with."""
    kwargs.setdefault('now', NOW)
    with pytest.raises(ArchiveError) as caught:
        write_archive(ArchiveRequest(site.root, 'admin', list(batch), **kwargs))
    unchanged(site)
    return caught.value.message


def plant_pending(site, files=(), remove=()):
    with open(os.path.join(site.cat, '.pending.json'), 'w') as stream:
        json.dump({'version': 1, 'files': list(files), 'remove': list(remove), 'manifest': [],
                   'state': {'version': 1, 'category': 'admin'}}, stream)


# --- item 1: paths read from .pending.json -------------------------------------------------------------------

def test_issue_reproduction_pending_writes_into_a_root_only_folder_and_deletes_outside(site):
    # The issue's .pending.json: a temp of the attacker's, moved into a root-only folder, and a file deleted outside.
    payload = os.path.join(site.cat, '.payload')
    with open(payload, 'w') as stream:
        stream.write('#!/bin/sh\n')
    plant_pending(site, files=[{'temp': '.payload', 'file': '../../outside/rootonly/evil.sh'}], remove=['../../outside/keep.conf'])
    message = attack(site)
    assert message.startswith('refusing %s/.pending.json: ' % site.cat), message
    assert "'../../outside/rootonly/evil.sh'" in message and "'..' component" in message
    assert os.path.exists(payload) and not os.path.exists(os.path.join(site.outside, 'rootonly', 'evil.sh'))


@pytest.mark.parametrize('remove, why', [
    ('../../outside/keep.conf', "'..' component"),
    ('/ABS/outside/keep.conf', 'absolute path'),
    ('2026/../../../outside/keep.conf', "'..' component"),
    ('state.json', 'not an archive file'),
    ('manifest.jsonl', 'not an archive file'),
    ('2026//11/x.jsonl.gz', "empty or '.' component"),
])
def test_pending_removal_outside_the_archive_is_refused(site, remove, why):
    remove = remove.replace('/ABS/outside', site.outside)
    plant_pending(site, remove=[remove])
    before = tree(site.cat)
    message = attack(site)
    assert message.startswith('refusing %s/.pending.json: it names %r: ' % (site.cat, remove)) and why in message, message
    assert message.endswith('nothing was renamed, deleted or changed')
    assert tree(site.cat) == before


@pytest.mark.parametrize('final, temp, why', [
    ('/ABS/outside/rootonly/evil.jsonl.gz', DAY1 + '/.tmp-a', 'absolute path'),
    (DAY1 + '/admin-x.jsonl.gz', '../../outside/rootonly/secret', "'..' component"),
    (DAY1 + '/admin-x.jsonl.gz', '/ABS/outside/rootonly/secret', 'absolute path'),
    (DAY1 + '/admin-x.jsonl.gz', 'undated/.tmp-a', 'is not a .tmp-* file in the folder of'),
    (DAY1 + '/admin-x.jsonl.gz', DAY1 + '/payload', 'is not a .tmp-* file in the folder of'),
    (DAY1 + '/evil.sh', DAY1 + '/.tmp-a', 'not an archive file'),
])
def test_pending_file_and_temp_must_stay_in_their_day_folder(site, final, temp, why):
    final = final.replace('/ABS/outside', site.outside)
    temp = temp.replace('/ABS/outside', site.outside)
    with open(os.path.join(site.cat, DAY1, '.tmp-a'), 'w') as stream:
        stream.write('planted')
    plant_pending(site, files=[{'file': final, 'temp': temp}])
    before = tree(site.cat)
    message = attack(site)
    assert message.startswith('refusing %s/.pending.json: ' % site.cat) and why in message, message
    assert tree(site.cat) == before


@pytest.mark.parametrize('how, why', [
    ('symlink', 'it is not a regular file (a temp file must be one)'),
    ('hardlink', 'it has 2 hard links (a temp file has one)'),
])
def test_a_temp_that_is_a_link_to_a_root_only_file_is_not_moved_in(site, how, why):
    secret = os.path.join(site.outside, 'rootonly', 'secret')
    temp = os.path.join(site.cat, DAY1, '.tmp-evil')
    (os.symlink if how == 'symlink' else os.link)(secret, temp)
    site.before = tree(site.outside)  # a hard link counts on the secret's inode
    plant_pending(site, files=[{'file': DAY1 + '/admin-evil.jsonl.gz', 'temp': DAY1 + '/.tmp-evil'}])
    message = attack(site)
    assert message == 'refusing %s: %s; nothing was renamed, deleted or changed' % (temp, why), message
    assert not os.path.lexists(os.path.join(site.cat, DAY1, 'admin-evil.jsonl.gz'))


def test_a_pending_write_through_a_linked_day_folder_is_refused(site):
    os.makedirs(os.path.join(site.cat, '2026', '12'))
    os.symlink(os.path.join(site.outside, 'rootonly'), os.path.join(site.cat, '2026', '12', '01'))
    plant_pending(site, files=[{'file': '2026/12/01/admin-x.jsonl.gz', 'temp': '2026/12/01/.tmp-x'}])
    message = attack(site)
    assert message == ('refusing %s/2026/12/01: it is a symbolic link (the archive follows no links); nothing was renamed, '
                       'deleted or changed' % site.cat)


def test_an_honest_pending_write_is_still_completed(site):
    # The guards refuse the planted paths only: a real interrupted write (crash tests cover every step) completes.
    def crash(step):
        if step == 'pending':
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_archive(ArchiveRequest(site.root, 'admin', [entry(T0 + 2 * MINUTE, 3)], now=NOW, hook=crash))
    result = write_archive(ArchiveRequest(site.root, 'admin', [], now=NOW))
    assert result['recovered'] is True and result['verified'] is True
    assert len(check_archive(site.cat)) == 3


# --- item 1: paths read from manifest.jsonl, and retention ----------------------------------------------------

def chain_a_line(site, record):
    """Append a correctly chained manifest line and re-anchor state.json, as someone who may write both can."""
    path = os.path.join(site.cat, 'manifest.jsonl')
    with open(path, 'rb') as stream:
        lines = stream.read().split(b'\n')[:-1]
    record = dict(record, prev=hashlib.sha256(lines[-1]).hexdigest(), at=iso(T0))
    line = json.dumps(record, separators=(',', ':')).encode('utf-8')
    with open(path, 'ab') as stream:
        stream.write(line + b'\n')
    state_path = os.path.join(site.cat, 'state.json')
    with open(state_path) as stream:
        state = json.load(stream)
    state.update(manifest_lines=len(lines) + 1, manifest_head=hashlib.sha256(line).hexdigest())
    with open(state_path, 'w') as stream:
        json.dump(state, stream)
    return len(lines) + 1


@pytest.mark.parametrize('name, why', [
    ('/ABS/outside/keep.conf', 'it is an absolute path'),
    ('../../outside/keep.conf', "it has a '..' component"),
    ('state.json', 'it is not an archive file'),
])
def test_issue_reproduction_retention_never_deletes_what_a_manifest_line_names_outside(site, name, why):
    name = name.replace('/ABS/outside', site.outside)
    number = chain_a_line(site, {'file': name, 'sha256': '0' * 64, 'entries': 1, 'first': iso(0), 'last': iso(0),
                                 'action': 'add'})
    message = attack(site, retention_days=30)
    assert message.startswith('archive verification failed in %s: ' % site.cat), message
    assert 'manifest line %d names %r: %s' % (number, name, why) in message and 'it is not a file of this archive' in message
    assert os.path.exists(os.path.join(site.cat, 'state.json'))


def test_the_report_refuses_a_manifest_line_naming_a_path_outside(site):
    chain_a_line(site, {'file': '../../outside/keep.conf', 'sha256': '0' * 64, 'entries': 1, 'first': iso(T0),
                        'last': iso(T0), 'action': 'add'})
    with pytest.raises(ArchiveError, match=r"names '\.\./\.\./outside/keep\.conf': it has a '\.\.' component"):
        read_period(site.root, 'admin', T0 - HOUR, T0 + HOUR, lock_timeout=1)
    unchanged(site)


# --- item 1: links and special files --------------------------------------------------------------------------

@pytest.mark.parametrize('name', ['.lock', 'manifest.jsonl', 'state.json', '.pending.json'])
@pytest.mark.parametrize('target', ['keep.conf', 'rootonly/new-file'])
def test_a_linked_archive_file_is_refused_and_its_target_untouched(site, name, target):
    path = os.path.join(site.cat, name)
    if os.path.exists(path):
        os.unlink(path)
    os.symlink(os.path.join(site.outside, target), path)
    for check_mode in (False, True):
        message = attack(site, [entry(T0 + HOUR, 5)], check_mode=check_mode, lock_timeout=1,
                         apply_attrs=lambda p, is_dir: os.chmod(p, 0o777) or True)
        assert message == 'refusing %s: it is a symbolic link (the archive follows no links); nothing was renamed, deleted or ' \
                          'changed' % path, message
    assert not os.path.exists(os.path.join(site.outside, 'rootonly', 'new-file'))


def test_issue_reproduction_a_dangling_manifest_link_in_a_fresh_folder(site):
    cat = os.path.join(site.root, 'device')
    os.makedirs(cat)
    os.symlink(os.path.join(site.outside, 'rootonly', 'manifest.jsonl'), os.path.join(cat, 'manifest.jsonl'))
    with pytest.raises(ArchiveError, match='refusing %s/manifest.jsonl: it is a symbolic link' % cat):
        write_archive(ArchiveRequest(site.root, 'device', [entry(T0, 1)], now=NOW))
    unchanged(site)


@pytest.mark.parametrize('link', ['2026', '2026/11', '2026/11/29'])
def test_issue_reproduction_a_linked_year_month_or_day_folder(site, link):
    # The year folder planted as a link to a root-only folder: the root run made folders (owned by the archive's
    # owner) and a file in it.  Now the write is refused before anything is written there.
    path = os.path.join(site.cat, link)
    if os.path.isdir(path):
        os.rename(path, path + '.moved')
    os.makedirs(os.path.dirname(path), exist_ok=True)
    os.symlink(os.path.join(site.outside, 'rootonly'), path)
    created = []
    message = attack(site, [entry(T0 + 10 * HOUR, 5)], apply_attrs=lambda p, is_dir: created.append(p) or False)
    assert 'refusing %s: it is a symbolic link (the archive follows no links)' % path in message, message
    assert message.endswith('nothing of this run was kept (its temporary files were deleted) and the cursor was not advanced')
    assert not [p for p in created if os.path.realpath(p).startswith(site.outside)]
    assert read_cursor(site.root, 'admin')['cursor_ms'] == T0 + MINUTE


def test_a_linked_category_folder_is_refused_before_any_chown(site):
    os.rename(site.cat, site.cat + '.moved')
    os.symlink(os.path.join(site.outside, 'rootonly'), site.cat)
    for check_mode in (False, True):
        message = attack(site, [entry(T0, 1)], check_mode=check_mode, apply_attrs=lambda p, is_dir: os.chmod(p, 0o777) or True)
        assert message.startswith('refusing %s: it is a symbolic link' % site.cat), message
    with pytest.raises(ArchiveError, match='refusing %s: it is a symbolic link' % site.cat):
        read_cursor(site.root, 'admin')
    with pytest.raises(ArchiveError, match='refusing %s: it is a symbolic link' % site.cat):
        read_period(site.root, 'admin', T0, T0 + HOUR, lock_timeout=1)
    unchanged(site)


def test_an_archive_file_replaced_by_a_link_is_a_verification_problem_and_not_read(site):
    name = [n for n in os.listdir(os.path.join(site.cat, DAY1)) if n.endswith('.jsonl.gz')][0]
    path = os.path.join(site.cat, DAY1, name)
    os.unlink(path)
    os.symlink(os.path.join(site.outside, 'rootonly', 'secret'), path)
    message = attack(site)
    assert 'tampered: refusing %s: it is a symbolic link' % path in message, message
    with pytest.raises(ArchiveError, match='refusing %s: it is a symbolic link' % path):
        read_period(site.root, 'admin', T0 - HOUR, T0 + HOUR, lock_timeout=1)


def test_a_planted_temp_link_is_removed_as_a_link_only(site):
    os.symlink(os.path.join(site.outside, 'keep.conf'), os.path.join(site.cat, DAY1, '.tmp-planted'))
    result = write_archive(ArchiveRequest(site.root, 'admin', [], now=NOW))
    assert result['temps_removed'] == [DAY1 + '/.tmp-planted']
    unchanged(site)


@contextlib.contextmanager
def deadline(seconds):
    """Fail instead of hanging (a FIFO opened for reading blocks until a writer comes)."""
    def expired(signum, frame):
        raise AssertionError('still blocked after %ds' % seconds)

    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.mark.parametrize('name', ['.lock', 'manifest.jsonl', 'state.json', '.pending.json'])
def test_issue_reproduction_a_fifo_does_not_hang_check_mode_the_report_or_a_run(site, name):
    path = os.path.join(site.cat, name)
    if os.path.exists(path):
        os.unlink(path)
    os.mkfifo(path)
    expected = 'refusing %s: it is not a regular file; nothing was renamed, deleted or changed' % path
    with deadline(20):
        for check_mode in (True, False):
            assert attack(site, [entry(T0 + HOUR, 5)], check_mode=check_mode, lock_timeout=1) == expected
        with pytest.raises(ArchiveError) as caught:
            read_period(site.root, 'admin', T0 - HOUR, T0 + HOUR, lock_timeout=1)
        if name == '.pending.json':  # the report stops at any pending write, before reading it
            assert caught.value.message.startswith('%s holds an interrupted write' % site.cat)
        else:
            assert caught.value.message == expected
        if name == 'state.json':  # state: query reads state.json only
            with pytest.raises(ArchiveError) as caught:
                read_cursor(site.root, 'admin')
            assert caught.value.message == expected
    unchanged(site)


def test_the_lock_refuses_a_fifo_for_a_shared_and_an_exclusive_lock(tmp_path):
    os.mkfifo(str(tmp_path / '.lock'))
    with deadline(20):
        for exclusive in (False, True):
            with pytest.raises(ArchiveError, match='is not a regular file'):
                with ArchiveLock(str(tmp_path), exclusive=exclusive, timeout=1):
                    pass


# --- item 2: no stray time moves the cursor -------------------------------------------------------------------

STRAY = '2099-01-01T00:00:00.000Z'


def stray(n):
    return entry(STRAY, n, event='stray')


def test_issue_reproduction_a_stray_time_is_archived_counted_warned_and_does_not_move_the_cursor(tmp_path):
    window = dict(window_start_ms=T0, window_end_ms=T0 + HOUR, now=T0 + HOUR)
    result = write_archive(ArchiveRequest(str(tmp_path), 'admin', [entry(T0 + MINUTE, 1), stray(2)], **window))
    assert result['entries_written'] == 2 and result['outside_window'] == 1
    assert result['cursor_ms'] == T0 + MINUTE
    assert [item['file'].split('/')[:3] for item in result['files']] == [['2026', '11', '28'], ['2099', '01', '01']]
    assert len(result['warnings']) == 1 and 'stamped outside the window read' in result['warnings'][0]
    assert '2099-01-01T00:00:00.000Z' in result['warnings'][0] and '1 new, 0 already held' in result['warnings'][0]
    # Read again (the overlap), the stray entry is not archived twice; it is counted and warned again.
    again = write_archive(ArchiveRequest(str(tmp_path), 'admin', [entry(T0 + MINUTE, 1), stray(2)], **window))
    assert again['changed'] is False and again['entries_skipped'] == 2 and again['outside_window'] == 1
    assert '0 new, 1 already held' in again['warnings'][0]
    # The next window (cursor - overlap to now: what archive_plan plans from this cursor, see
    # tests/unit/plugins/filter/test_archive_plan_cursors.py) still reads and archives new entries.
    later = write_archive(ArchiveRequest(str(tmp_path), 'admin', [entry(T0 + MINUTE, 1), entry(T0 + 90 * MINUTE, 3)],
                                         window_start_ms=T0 + MINUTE - 300000, window_end_ms=T0 + 2 * HOUR, now=T0 + 2 * HOUR))
    assert later['entries_written'] == 1 and later['cursor_ms'] == T0 + 90 * MINUTE and later['outside_window'] == 0
    assert later['warnings'] == []
    assert sum(check_archive(os.path.join(str(tmp_path), 'admin')).values()) == 3


def test_an_entry_stamped_before_the_window_is_archived_once_not_dropped(tmp_path):
    write_archive(ArchiveRequest(str(tmp_path), 'admin', [entry(T0 + HOUR, 1)], now=NOW))
    old = entry(T0 - 30 * 24 * HOUR, 2)  # before the window and before the host's overlap: once taken as archived
    window = dict(window_start_ms=T0 + HOUR - 300000, window_end_ms=T0 + 2 * HOUR, now=NOW)
    result = write_archive(ArchiveRequest(str(tmp_path), 'admin', [old, entry(T0 + HOUR, 1)], **window))
    assert result['entries_written'] == 1 and result['outside_window'] == 1 and result['cursor_ms'] == T0 + HOUR
    again = write_archive(ArchiveRequest(str(tmp_path), 'admin', [old], **window))
    assert again['changed'] is False and again['entries_skipped'] == 1
    with open(os.path.join(str(tmp_path), 'admin', 'state.json')) as stream:
        assert len(json.load(stream)['outside_ids']) == 1


def test_entries_inside_the_window_at_both_ends_are_not_outside(tmp_path):
    result = write_archive(ArchiveRequest(str(tmp_path), 'admin', [entry(T0, 1), entry(T0 + HOUR, 2)],
                                          window_start_ms=T0, window_end_ms=T0 + HOUR, now=NOW))
    assert result['outside_window'] == 0 and result['warnings'] == [] and result['cursor_ms'] == T0 + HOUR


def test_check_mode_counts_the_stray_entries_too(tmp_path):
    result = write_archive(ArchiveRequest(str(tmp_path), 'admin', [stray(1)], window_start_ms=T0, window_end_ms=T0 + HOUR,
                                          now=NOW, check_mode=True))
    assert result['outside_window'] == 1 and result['entries_written'] == 1 and result['cursor_ms'] is None
    assert not os.path.exists(str(tmp_path / 'admin'))


def test_a_cursor_already_in_the_future_is_reported_by_the_module(tmp_path):
    # An archive an earlier version let a stray time move (no window given: the module cannot tell).
    write_archive(ArchiveRequest(str(tmp_path), 'admin', [stray(1)], now=NOW))
    assert read_cursor(str(tmp_path), 'admin')['cursor'] == '2099-01-01T00:00:00.000Z'
    result = write_archive(ArchiveRequest(str(tmp_path), 'admin', [entry(T0, 2)], window_start_ms=T0 - HOUR,
                                          window_end_ms=T0 + HOUR, now=NOW))
    assert len(result['warnings']) == 1 and 'is after the end of the window read' in result['warnings'][0]
    assert 'NOT archived here' in result['warnings'][0] and os.path.join(str(tmp_path), 'admin', 'state.json') in result['warnings'][0]
