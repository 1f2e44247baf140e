# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Issue 13 items 1 and 2 through the modules' main(): the failure a planted archive gives, the stray-time count."""

from __future__ import annotations

import json
import os

from ansible.module_utils import basic

from ansible_collections.opswat.itot.plugins.modules import itot_archive, itot_archive_report
from ansible_collections.opswat.itot.tests.unit.plugins.module_runner import run_module

ENTRY = {'timestamp': '2026-11-29T07:00:00.000Z', 'event': 'login', 'admin_name': 'Ann'}
STRAY = {'timestamp': '2099-01-01T00:00:00Z', 'event': 'login', 'admin_name': 'Bob'}
WINDOW = {'window_start_ms': 1795935000000, 'window_end_ms': 1795936000000}


def test_a_stray_time_is_counted_and_warned_once(monkeypatch, tmp_path):
    warnings = []
    monkeypatch.setattr(basic.AnsibleModule, 'warn', lambda self, text: warnings.append(text))
    ok, result = run_module(monkeypatch, itot_archive.main, dict(WINDOW, dir=str(tmp_path), category='admin',
                                                                 entries=[ENTRY, STRAY, dict(STRAY, event='logout')]))
    assert ok and result['outside_window'] == 2 and result['entries_written'] == 3
    assert result['cursor'] == '2026-11-29T07:00:00.000Z'
    assert len(warnings) == 1 and warnings[0].startswith('2 entries stamped outside the window read')
    ok, query = run_module(monkeypatch, itot_archive.main, {'dir': str(tmp_path), 'category': 'admin', 'state': 'query'})
    assert ok and query['outside_window'] == 0 and query['cursor'] == '2026-11-29T07:00:00.000Z'


def test_a_planted_pending_write_fails_the_host_naming_the_path(monkeypatch, tmp_path):
    outside = tmp_path / 'other'
    outside.mkdir()
    (outside / 'keep.conf').write_text('keep')
    ok, _result = run_module(monkeypatch, itot_archive.main, {'dir': str(tmp_path / 'itot'), 'category': 'admin', 'entries': [ENTRY]})
    cat = tmp_path / 'itot' / 'admin'
    (cat / '.pending.json').write_text(json.dumps({'files': [], 'remove': ['../../other/keep.conf'], 'manifest': [],
                                                   'state': {'version': 1}}))
    ok, result = run_module(monkeypatch, itot_archive.main, {'dir': str(tmp_path / 'itot'), 'category': 'admin', 'mode': '0600'})
    assert not ok
    assert result['msg'] == ("refusing %s/.pending.json: it names '../../other/keep.conf': it has a '..' component (only archive "
                             "files inside %s are allowed); nothing was renamed, deleted or changed" % (cat, cat))
    assert (outside / 'keep.conf').read_text() == 'keep'


def test_the_report_in_check_mode_does_not_hang_on_a_fifo_lock(monkeypatch, tmp_path):
    ok, _result = run_module(monkeypatch, itot_archive.main, {'dir': str(tmp_path), 'category': 'admin', 'entries': [ENTRY]})
    lock = tmp_path / 'admin' / '.lock'
    os.unlink(str(lock))
    os.mkfifo(str(lock))
    ok, result = run_module(monkeypatch, itot_archive_report.main, {'dir': str(tmp_path), 'categories': ['admin'],
                                                                    'lock_timeout': 1}, check=True)
    assert not ok and result['msg'] == 'refusing %s: it is not a regular file; nothing was renamed, deleted or changed' % lock
    ok, result = run_module(monkeypatch, itot_archive.main, {'dir': str(tmp_path), 'category': 'admin', 'entries': [ENTRY],
                                                             'lock_timeout': 1}, check=True)
    assert not ok and result['msg'] == 'refusing %s: it is not a regular file; nothing was renamed, deleted or changed' % lock
