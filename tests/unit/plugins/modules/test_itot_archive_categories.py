# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""opswat.itot.itot_archive with categories: several categories queried or verified in one run, each answered as if
it had been run alone, a failed category failing the run without stopping the others."""

from __future__ import annotations

import os

import pytest

from ansible_collections.opswat.itot.plugins.modules import itot_archive
from ansible_collections.opswat.itot.tests.unit.plugins.module_runner import run_module

DEVICE = [
    {'timestamp': '2026-11-28T23:59:59.500Z', 'event': 'noncompliant', 'details': 'a', 'device_id': 'd1'},
    {'timestamp': '2026-11-29T00:10:00Z', 'event': 'added', 'details': 'c', 'device_id': 'd2'},
]
ADMIN = [{'timestamp': '2026-11-29T08:00:00.250Z', 'event': 'login', 'details': 'x', 'admin_name': 'A'}]
DEVICE_FILES = ['2026/11/28/device-20261128T235959500Z-20261128T235959500Z.jsonl.gz',
                '2026/11/29/device-20261129T001000000Z-20261129T001000000Z.jsonl.gz']
ADMIN_FILE = '2026/11/29/admin-20261129T080000250Z-20261129T080000250Z.jsonl.gz'


def run(monkeypatch, args, check=False, diff=False):
    return run_module(monkeypatch, itot_archive.main, args, check=check, diff=diff)


@pytest.fixture
def archive(monkeypatch, tmp_path):
    """An archive root with device (2 entries, 2 files) and admin (1 entry); webhook has none."""
    for category, entries in (('device', DEVICE), ('admin', ADMIN)):
        ok, result = run(monkeypatch, {'dir': str(tmp_path), 'category': category, 'entries': entries})
        assert ok and result['entries_written'] == len(entries)
    return tmp_path


def test_a_query_of_several_categories_answers_each_in_order(monkeypatch, archive):
    ok, result = run(monkeypatch, {'dir': str(archive), 'categories': ['webhook', 'device', 'admin'], 'state': 'query'})
    assert ok and result['changed'] is False
    assert [item['category'] for item in result['categories']] == ['webhook', 'device', 'admin']
    webhook, device, admin = result['categories']
    # The newest entry of each category (epoch ms of 2026-11-29T00:10:00Z and 2026-11-29T08:00:00.250Z).
    assert (webhook['cursor_ms'], device['cursor_ms'], admin['cursor_ms']) == (None, 1795911000000, 1795939200250)
    assert device['manifest_lines'] == 2 and admin['manifest_lines'] == 1 and webhook['manifest_lines'] == 0
    assert device['category_dir'] == str(archive / 'device')
    for item in result['categories']:  # each as the category's own query answers
        ok, alone = run(monkeypatch, {'dir': str(archive), 'category': item['category'], 'state': 'query'})
        alone.pop('invocation')
        assert ok and item == dict(alone, category=item['category'])
    assert not os.path.exists(str(archive / 'webhook'))


def test_a_verify_run_of_several_categories_fails_naming_the_one_tampered_and_verifies_the_others(monkeypatch, archive):
    ok, result = run(monkeypatch, {'dir': str(archive), 'categories': ['device', 'admin']})
    assert ok and [item['verified'] for item in result['categories']] == [True, True]
    assert result['categories'][1]['days'] == {'2026-11-29': {'entries': 1, 'first': '2026-11-29T08:00:00.250Z',
                                                              'last': '2026-11-29T08:00:00.250Z'}}
    os.unlink(str(archive / 'device' / DEVICE_FILES[0]))
    ok, result = run(monkeypatch, {'dir': str(archive), 'categories': ['device', 'admin']})
    assert not ok
    assert result['msg'] == 'category device: archive verification failed in %s: missing: %s' % (
        archive / 'device', DEVICE_FILES[0])
    device, admin = result['categories']
    assert device['failed'] is True and device['problems'][0]['kind'] == 'missing'
    assert admin['category'] == 'admin' and admin['verified'] is True and 'failed' not in admin


def test_check_and_diff_mode_name_each_category_s_removals_and_remove_nothing(monkeypatch, archive):
    args = {'dir': str(archive), 'categories': ['device', 'admin'], 'retention_days': 1}
    ok, result = run(monkeypatch, args, check=True, diff=True)
    assert ok and result['changed'] is True
    assert [diff['after_header'] for diff in result['diff']] == [str(archive / 'device'), str(archive / 'admin')]
    assert ['remove' in line and name in line for diff, names in zip(result['diff'], [DEVICE_FILES, [ADMIN_FILE]])
            for line, name in zip(diff['after'].splitlines(), names)] == [True, True, True]
    assert sorted(os.listdir(str(archive / 'device' / '2026' / '11' / '29'))) == [os.path.basename(DEVICE_FILES[1])]
    assert [[item['file'] for item in entry['removed']] for entry in result['categories']] == [DEVICE_FILES, [ADMIN_FILE]]


@pytest.mark.parametrize('extra, named', [
    ({'entries': DEVICE}, 'entries'),
    ({'window_start_ms': 1, 'window_end_ms': 2}, 'window_start_ms, window_end_ms'),
    ({'read_from_ms': 1}, 'read_from_ms'),
    ({'watermark_ms': 1}, 'watermark_ms'),
    ({'known_head': {'lines': 0, 'sha256': '0' * 64}}, 'known_head'),
])
def test_what_belongs_to_one_category_is_refused_with_categories(monkeypatch, tmp_path, extra, named):
    ok, result = run(monkeypatch, dict({'dir': str(tmp_path), 'categories': ['device', 'admin']}, **extra))
    assert not ok
    assert result['msg'] == ('categories: %s cannot be given with categories (a run of several categories only queries '
                             'or verifies; give category to archive entries)' % named)
    assert os.listdir(str(tmp_path)) == []


@pytest.mark.parametrize('args, words', [
    ({'categories': ['device', 'device']}, ["['device', 'device']", 'each category once']),
    ({'categories': []}, ['[]', 'at least one']),
    ({'categories': ['device', 'users']}, ['categories', 'users']),
    ({'categories': ['device'], 'category': 'admin'}, ['mutually exclusive', 'category', 'categories']),
    ({}, ['one of the following is required', 'category', 'categories']),
])
def test_bad_categories_are_refused_before_anything_is_read(monkeypatch, tmp_path, args, words):
    ok, result = run(monkeypatch, dict({'dir': str(tmp_path), 'state': 'query'}, **args))
    assert not ok and all(word in result['msg'] for word in words), result['msg']


def test_each_category_is_checked_against_its_own_known_head(monkeypatch, archive):
    ok, result = run(monkeypatch, {'dir': str(archive), 'categories': ['device', 'admin'], 'state': 'query'})
    heads = dict((item['category'], {'lines': item['manifest_lines'], 'sha256': item['manifest_head']})
                 for item in result['categories'])
    ok, result = run(monkeypatch, {'dir': str(archive), 'categories': ['device', 'admin'], 'known_heads': heads})
    assert ok, result['msg']
    # The admin manifest (one line) does not extend a head of three lines; device's own head still holds.
    ok, result = run(monkeypatch, {'dir': str(archive), 'categories': ['device', 'admin'],
                                   'known_heads': dict(heads, admin={'lines': 3, 'sha256': heads['admin']['sha256']})})
    assert not ok and result['msg'].startswith('category admin: ') and 'device' not in result['msg']
    device, admin = result['categories']
    assert 'failed' not in device and admin['failed'] is True and [p['kind'] for p in admin['problems']] == ['head']
