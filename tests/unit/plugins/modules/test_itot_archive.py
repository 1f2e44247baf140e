# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""opswat.itot.itot_archive through its main(): options, answers, check and diff mode, file attributes."""

from __future__ import annotations

import errno
import grp
import gzip
import json
import os
import pwd
import signal
import stat

import pytest
from ansible.module_utils import basic

from ansible_collections.opswat.itot.plugins.module_utils import _archive_fs, _archive_lock
from ansible_collections.opswat.itot.plugins.modules import itot_archive
from ansible_collections.opswat.itot.tests.unit.plugins.module_runner import run_module


def run(monkeypatch, args, check=False, diff=False):
    return run_module(monkeypatch, itot_archive.main, args, check=check, diff=diff)


LOGS = [
    {'timestamp': '2026-11-28T23:59:59.500Z', 'event': 'noncompliant', 'details': 'a', 'device_id': 'd1', 'device_name': 'pc-1',
     'device_username': 'u', 'device_group': 'g'},
    {'timestamp': '2026-11-29T00:00:01Z', 'event': 'compliant', 'details': 'b', 'device_id': 'd1', 'device_name': 'pc-1',
     'device_username': 'u', 'device_group': 'g'},
    {'timestamp': 'Sun, 29 Nov 2026 00:10:00 GMT', 'event': 'added', 'details': 'c', 'device_id': 'd2', 'device_name': 'pc-2',
     'device_username': 'v', 'device_group': 'g'},
]
FILES = ['2026/11/28/device-20261128T235959500Z-20261128T235959500Z.jsonl.gz',
         '2026/11/29/device-20261129T000001000Z-20261129T001000000Z.jsonl.gz']


def test_query_on_a_host_without_archive(monkeypatch, tmp_path):
    ok, result = run(monkeypatch, {'dir': str(tmp_path / 'itot'), 'category': 'device', 'state': 'query'})
    assert ok and result['changed'] is False
    assert result['cursor_ms'] is None and result['cursor'] is None
    assert not os.path.exists(str(tmp_path / 'itot'))


def test_write_then_nothing_new(monkeypatch, tmp_path):
    args = {'dir': str(tmp_path), 'category': 'device', 'entries': LOGS, 'window_start_ms': 1795910000000, 'window_end_ms': 1795912000000}
    ok, result = run(monkeypatch, args)
    assert ok and result['changed'] is True and result['verified'] is True
    assert [item['file'] for item in result['files']] == FILES
    assert [item['entries'] for item in result['files']] == [1, 2]
    assert result['entries_written'] == 3 and result['entries_skipped'] == 0
    assert result['cursor'] == '2026-11-29T00:10:00.000Z' and result['cursor_ms'] == 1795911000000
    assert set(result) >= {'changed', 'files', 'removed', 'entries_written', 'entries_skipped', 'cursor_ms', 'cursor', 'verified'}
    assert 'diff' not in result and 'diff_lines' not in result and 'warnings' not in result
    with open(str(tmp_path / 'device' / FILES[1]), 'rb') as stream:
        lines = gzip.decompress(stream.read()).decode('utf-8').split('\n')
    assert lines == [json.dumps(LOGS[1], separators=(',', ':')), json.dumps(LOGS[2], separators=(',', ':')), '']
    ok, info = run(monkeypatch, {'dir': str(tmp_path), 'category': 'device', 'state': 'query'})
    assert ok and info['cursor_ms'] == 1795911000000 and info['changed'] is False
    ok, again = run(monkeypatch, args)
    assert ok and again['changed'] is False and again['entries_skipped'] == 3 and again['files'] == []


def test_the_result_shows_the_entries_argument_as_a_count(monkeypatch, tmp_path):
    # With many hosts and large slices, a copy of every entry in every host's result is what the controller's memory
    # grew with; and the entries stay out of the host's syslog.
    args = {'dir': str(tmp_path), 'category': 'device', 'entries': LOGS, 'window_start_ms': 1795910000000, 'window_end_ms': 1795912000000}
    logged = []
    monkeypatch.setattr(basic.AnsibleModule, 'log', lambda self, msg, log_args=None: logged.append(msg))
    ok, result = run(monkeypatch, args)
    assert ok and result['invocation']['module_args']['entries'] == '(3 entries)'
    assert result['invocation']['module_args']['dir'] == str(tmp_path)
    assert logged == []
    ok, result = run(monkeypatch, dict(args, dir=str(tmp_path / 'x' / '..' / 'y')))
    assert not ok and result['invocation']['module_args']['entries'] == '(3 entries)'


def test_check_and_diff_mode(monkeypatch, tmp_path):
    root = tmp_path / 'itot'
    args = {'dir': str(root), 'category': 'device', 'entries': LOGS}
    ok, result = run(monkeypatch, args, check=True, diff=True)
    assert ok and result['changed'] is True
    assert not os.path.exists(str(root))
    assert [item['file'] for item in result['files']] == FILES
    diff = result['diff']
    assert diff['before'] == '' and diff['before_header'] == diff['after_header'] == str(root / 'device')
    assert diff['after'].splitlines() == [
        'add %s (1 entry, 2026-11-28T23:59:59.500Z .. 2026-11-28T23:59:59.500Z)' % FILES[0],
        'add %s (2 entries, 2026-11-29T00:00:01.000Z .. 2026-11-29T00:10:00.000Z)' % FILES[1],
    ]
    ok, real = run(monkeypatch, args, diff=True)
    assert ok and real['diff'] == diff and real['files'] == result['files']
    ok, again = run(monkeypatch, args, diff=True)
    assert ok and again['changed'] is False and again['diff']['after'] == ''


@pytest.mark.parametrize('value', ['relative/itot', 'itot', '/var/log/../itot', '/var/log/itot/..'])
def test_bad_dir(monkeypatch, tmp_path, value):
    ok, result = run(monkeypatch, {'dir': value, 'category': 'admin', 'entries': []})
    assert not ok
    assert result['msg'].startswith("dir must be an absolute path without '..' components")
    assert repr(value) in result['msg']
    ok, result = run(monkeypatch, {'dir': value, 'category': 'admin', 'state': 'query'})
    assert not ok and result['msg'].startswith('dir must be')


def test_bad_category_is_refused_by_the_argument_spec(monkeypatch, tmp_path):
    ok, result = run(monkeypatch, {'dir': str(tmp_path), 'category': 'users'})
    assert not ok and 'category' in result['msg'] and 'users' in result['msg']


def test_modes_and_ownership(monkeypatch, tmp_path):
    user = pwd.getpwuid(os.getuid()).pw_name
    group = grp.getgrgid(os.getgid()).gr_name
    root = tmp_path / 'itot'
    args = {'dir': str(root), 'category': 'device', 'entries': LOGS, 'owner': user, 'group': group, 'mode': '0640', 'dir_mode': '0750'}
    ok, result = run(monkeypatch, args)
    assert ok and result['changed'] is True

    def mode(*parts):
        return stat.S_IMODE(os.stat(os.path.join(str(root), *parts)).st_mode)

    assert mode() == 0o750 and mode('device') == 0o750 and mode('device', '2026', '11', '29') == 0o750
    assert mode('device', FILES[0]) == 0o640 and mode('device', 'manifest.jsonl') == 0o640
    assert mode('device', 'state.json') == 0o640 and mode('device', '.lock') == 0o640
    ok, again = run(monkeypatch, args)
    assert ok and again['changed'] is False
    # Another mode is applied to the folders and the bookkeeping files (archive files are never rewritten).
    ok, changed = run(monkeypatch, dict(args, mode='0600', dir_mode='0700'))
    assert ok and changed['changed'] is True and changed['files'] == []
    assert mode('device') == 0o700 and mode('device', 'manifest.jsonl') == 0o600 and mode('device', 'state.json') == 0o600
    assert mode('device', FILES[0]) == 0o640


def test_verification_failure_names_the_folder_and_file(monkeypatch, tmp_path):
    args = {'dir': str(tmp_path), 'category': 'device', 'entries': LOGS}
    run(monkeypatch, args)
    os.unlink(str(tmp_path / 'device' / FILES[0]))
    ok, result = run(monkeypatch, args)
    assert not ok
    assert result['msg'] == 'archive verification failed in %s: missing: %s' % (tmp_path / 'device', FILES[0])
    assert result['problems'] == [{'kind': 'missing', 'file': FILES[0], 'line': None, 'detail': 'missing: %s' % FILES[0]}]
    ok, result = run(monkeypatch, dict(args, verify=False))
    assert ok and result['verified'] is False


def test_gap_warning_reaches_the_module(monkeypatch, tmp_path):
    run(monkeypatch, {'dir': str(tmp_path), 'category': 'device', 'entries': LOGS})
    warnings = []
    monkeypatch.setattr(basic.AnsibleModule, 'warn', lambda self, text: warnings.append(text))
    ok, result = run(monkeypatch, {'dir': str(tmp_path), 'category': 'device', 'entries': [], 'window_start_ms': 1795911000001,
                                   'window_end_ms': 1795912000000})
    assert ok and result['changed'] is False
    assert len(warnings) == 1 and 'not archived here' in warnings[0]


def test_a_full_disk_fails_naming_the_folder_the_file_and_the_reason(monkeypatch, tmp_path):
    real = _archive_fs.write_temp
    calls = []

    def second_write_fails(folder, data, attrs):
        calls.append(folder)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(folder, data, attrs)

    monkeypatch.setattr(_archive_fs, 'write_temp', second_write_fails)
    ok, result = run(monkeypatch, {'dir': str(tmp_path), 'category': 'device', 'entries': LOGS})
    assert not ok
    assert result['msg'] == ('cannot write %s in %s: No space left on device (ENOSPC); nothing of this run was kept (its temporary '
                             'files were deleted) and the cursor was not advanced' % (FILES[1], tmp_path / 'device'))
    left = [name for _folder, _dirs, names in os.walk(str(tmp_path)) for name in names]
    assert left == ['.lock'], 'the first archive file was written, then left behind: %s' % left
    ok, info = run(monkeypatch, {'dir': str(tmp_path), 'category': 'device', 'state': 'query'})
    assert ok and info['cursor_ms'] is None and info['pending'] is False
    monkeypatch.setattr(_archive_fs, 'write_temp', real)
    ok, result = run(monkeypatch, {'dir': str(tmp_path), 'category': 'device', 'entries': LOGS})
    assert ok and [item['file'] for item in result['files']] == FILES and result['temps_removed'] == []


def test_other_os_errors_name_the_folder_and_the_reason(monkeypatch, tmp_path):
    def read_only(self):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), self.path)

    monkeypatch.setattr(_archive_lock.ArchiveLock, '__enter__', read_only)
    ok, result = run(monkeypatch, {'dir': str(tmp_path), 'category': 'admin', 'entries': []})
    assert not ok
    assert result['msg'] == 'cannot update the archive in %s (%s): Read-only file system (EROFS)' % (
        tmp_path / 'admin', tmp_path / 'admin' / '.lock')


@pytest.mark.parametrize('value, category, kills_at', [
    (None, 'device', None),
    ('', 'device', None),
    ('manifest', 'device', 'manifest'),
    ('rename:2', 'admin', 'rename:2'),
    ('device:rename:1', 'device', 'rename:1'),
    ('device:rename:1', 'admin', None),
])
def test_the_kill_test_aid_is_off_unless_asked_for(monkeypatch, value, category, kills_at):
    if value is None:
        monkeypatch.delenv('OPSWAT_ITOT_TEST_KILL_AT', raising=False)
    else:
        monkeypatch.setenv('OPSWAT_ITOT_TEST_KILL_AT', value)
    killed = []
    monkeypatch.setattr(itot_archive.os, 'kill', lambda pid, sig: killed.append((pid, sig)))
    hook = itot_archive.kill_hook_for_tests(category)
    if kills_at is None:
        assert hook is None
        return
    for step in ['temp:1', 'temp:2', 'pending', 'rename:1', 'rename:2', 'files', 'manifest', 'state', 'done']:
        hook(step)
        assert killed == ([(os.getpid(), signal.SIGKILL)] if step == kills_at or killed else []), step
    assert len(killed) == 1
