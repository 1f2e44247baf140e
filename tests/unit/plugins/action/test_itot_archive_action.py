# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json
from unittest.mock import MagicMock

import pytest
from ansible.playbook.task import Task

from ansible_collections.opswat.itot.plugins.action import itot_archive as action_module
from ansible_collections.opswat.itot.plugins.action.itot_archive import ActionModule
from ansible_collections.opswat.itot.plugins.module_utils._archive_heads import find_head, heads_key, load_heads, record_heads

ENTRIES = [{'timestamp': '2026-11-29T00:00:0%dZ' % i, 'event': 'added'} for i in range(3)]


def make_action(args, answer=None):
    task = Task()
    task.action = 'opswat.itot.itot_archive'
    task.args = args
    action = ActionModule(task, MagicMock(), MagicMock(check_mode=False), loader=None, templar=None,
                          shared_loader_obj=None)
    calls = []

    def execute_module(module_name=None, module_args=None, task_vars=None):
        calls.append((module_name, module_args))
        return dict(answer or {'changed': True, 'entries_written': len(module_args.get('entries') or [])})

    action._execute_module = execute_module
    return task, action, calls


def test_the_module_gets_the_entries_and_the_task_keeps_only_their_count():
    task, action, calls = make_action({'dir': '/srv/itot', 'category': 'device', 'entries': ENTRIES})
    result = action.run(task_vars={})
    assert calls == [('opswat.itot.itot_archive', {'dir': '/srv/itot', 'category': 'device', 'entries': ENTRIES})]
    assert result['changed'] is True and result['entries_written'] == 3
    # What the worker sends back to the controller with the result (task.dump_attrs()) holds no entry.
    assert task.args == {'dir': '/srv/itot', 'category': 'device', 'entries': '(3 entries)'}
    assert 'added' not in repr(task.dump_attrs())


def test_tasks_without_entries_are_left_alone():
    task, action, calls = make_action({'dir': '/srv/itot', 'category': 'admin', 'state': 'query'})
    action.run(task_vars={})
    assert calls == [('opswat.itot.itot_archive', {'dir': '/srv/itot', 'category': 'admin', 'state': 'query'})]
    assert task.args == {'dir': '/srv/itot', 'category': 'admin', 'state': 'query'}


MARK = {'from_ms': 1795000000000, 'to_ms': 1795939200000, 'filters': 'e' * 64}
HEAD = {'changed': False, 'manifest_lines': 4, 'manifest_head': '4' * 64, 'cursor_ms': 1795000000000}


def test_the_query_returns_the_host_s_record_with_its_watermark(tmp_path):
    path = str(tmp_path / 'itot-heads.json')
    record_heads(path, [dict(heads_key('h1', '/srv/itot', 'device', 'site-a'), lines=4, sha256='4' * 64, recorded='t1',
                             watermark=MARK)])
    task, action, calls = make_action({'dir': '/srv/itot', 'category': 'device', 'state': 'query', 'tenant': 'site-a',
                                       'heads_file': path}, HEAD)
    result = action.run(task_vars={'inventory_hostname': 'h1'})
    assert result['recorded_head'] == {'lines': 4, 'sha256': '4' * 64, 'recorded': 't1', 'watermark': MARK}
    assert 'known_head' not in calls[0][1] and 'head_recorded' not in result
    # Another host, or no file: no record, and the query still answers.
    task, action, calls = make_action({'dir': '/srv/itot', 'category': 'device', 'state': 'query', 'tenant': 'site-a',
                                       'heads_file': str(tmp_path / 'none.json')}, HEAD)
    assert action.run(task_vars={'inventory_hostname': 'h1'})['recorded_head'] is None


def test_the_verify_step_records_the_watermark_with_the_new_head(tmp_path):
    path = str(tmp_path / 'itot-heads.json')
    args = {'dir': '/srv/itot', 'category': 'device', 'heads_file': path, 'record_watermark': MARK}
    task, action, calls = make_action(args, HEAD)
    result = action.run(task_vars={'inventory_hostname': 'h1'})
    assert result['head_recorded'] is True and not result.get('failed')
    assert calls[0][1]['known_head'] == {'lines': 0, 'sha256': '0' * 64}  # the watermark is not the module's business
    assert find_head(load_heads(path), heads_key('h1', '/srv/itot', 'device')) == {
        'lines': 4, 'sha256': '4' * 64, 'recorded': json.load(open(path))['heads'][0]['recorded'], 'watermark': MARK}
    # The next run checks the head without the watermark in it.
    task, action, calls = make_action(args, HEAD)
    action.run(task_vars={'inventory_hostname': 'h1'})
    assert set(calls[0][1]['known_head']) == {'lines', 'sha256', 'recorded'}


def test_a_failed_run_or_check_mode_records_no_watermark(tmp_path):
    path = str(tmp_path / 'itot-heads.json')
    args = {'dir': '/srv/itot', 'category': 'device', 'heads_file': path, 'record_watermark': MARK}
    task, action, calls = make_action(args, dict(HEAD, failed=True, msg='tampered'))
    assert action.run(task_vars={'inventory_hostname': 'h1'})['failed'] is True
    assert load_heads(path) == []
    task, action, calls = make_action(args, HEAD)
    action._play_context.check_mode = True
    task.check_mode = True
    action.run(task_vars={'inventory_hostname': 'h1'})
    assert load_heads(path) == []


def test_a_malformed_watermark_fails_before_the_module_runs(tmp_path):
    path = str(tmp_path / 'itot-heads.json')
    for bad in ({'from_ms': 5, 'to_ms': 4, 'filters': 'e' * 64}, {'from_ms': 1, 'to_ms': 4}, 'soon',
                {'from_ms': True, 'to_ms': 4, 'filters': 'e' * 64}, dict(MARK, extra=1)):
        task, action, calls = make_action({'dir': '/srv/itot', 'category': 'device', 'heads_file': path,
                                           'record_watermark': bad}, HEAD)
        result = action.run(task_vars={'inventory_hostname': 'h1'})
        assert result['failed'] is True and 'record_watermark must be' in result['msg'] and calls == []


def answers(*items):
    """A module answer for categories: one item per category (each like HEAD unless given)."""
    return {'changed': False, 'categories': [dict(HEAD, **item) for item in items]}


def test_a_query_of_several_categories_returns_each_category_s_record(tmp_path):
    path = str(tmp_path / 'itot-heads.json')
    record_heads(path, [dict(heads_key('h1', '/srv/itot', 'device', 'site-a'), lines=4, sha256='4' * 64, recorded='t1',
                             watermark=MARK),
                        dict(heads_key('h2', '/srv/itot', 'admin', 'site-a'), lines=9, sha256='9' * 64, recorded='t2')])
    task, action, calls = make_action({'dir': '/srv/itot', 'categories': ['device', 'admin'], 'state': 'query',
                                       'tenant': 'site-a', 'heads_file': path},
                                      answers({'category': 'device'}, {'category': 'admin'}))
    result = action.run(task_vars={'inventory_hostname': 'h1'})
    device, admin = result['categories']
    assert device['recorded_head'] == {'lines': 4, 'sha256': '4' * 64, 'recorded': 't1', 'watermark': MARK}
    assert admin['recorded_head'] is None  # h2's admin record is not h1's
    assert len(calls) == 1 and 'known_heads' not in calls[0][1] and 'head_recorded' not in device


def test_a_verify_run_of_several_categories_records_each_head_and_watermark_in_one_write(tmp_path, monkeypatch):
    path = str(tmp_path / 'itot-heads.json')
    record_heads(path, [dict(heads_key('h1', '/srv/itot', 'admin'), lines=2, sha256='2' * 64, recorded='t0')])
    writes = []
    monkeypatch.setattr(action_module, 'record_heads', lambda file, heads: writes.append(heads) or record_heads(file, heads))
    other = dict(MARK, to_ms=MARK['to_ms'] + 1)
    args = {'dir': '/srv/itot', 'categories': ['device', 'admin'], 'heads_file': path,
            'record_watermark': {'device': MARK, 'admin': other}}
    answer = answers({'category': 'device'}, {'category': 'admin', 'manifest_lines': 3, 'manifest_head': '3' * 64})
    task, action, calls = make_action(args, answer)
    result = action.run(task_vars={'inventory_hostname': 'h1'})
    assert not result.get('failed') and len(calls) == 1 and len(writes) == 1
    # Each category's module run checks the manifest against its own record (none yet for device).
    assert calls[0][1]['known_heads'] == {'device': {'lines': 0, 'sha256': '0' * 64},
                                          'admin': {'lines': 2, 'sha256': '2' * 64, 'recorded': 't0'}}
    heads = load_heads(path)
    assert find_head(heads, heads_key('h1', '/srv/itot', 'device'))['watermark'] == MARK
    assert find_head(heads, heads_key('h1', '/srv/itot', 'admin'))['watermark'] == other
    assert [(item['head'], item['head_recorded']) for item in result['categories']] == [
        ({'lines': 4, 'sha256': '4' * 64}, True), ({'lines': 3, 'sha256': '3' * 64}, True)]
    # The same heads and watermarks again: nothing recorded; a new watermark for admin only: admin's alone.
    for marks, recorded in (({'device': MARK, 'admin': other}, [False, False]), ({'device': MARK, 'admin': MARK}, [False, True])):
        task, action, calls = make_action(dict(args, record_watermark=marks), answer)
        result = action.run(task_vars={'inventory_hostname': 'h1'})
        assert [item['head_recorded'] for item in result['categories']] == recorded


def test_a_failed_category_records_no_head_and_the_others_do(tmp_path):
    path = str(tmp_path / 'itot-heads.json')
    answer = dict(answers({'category': 'device', 'failed': True, 'msg': 'tampered'}, {'category': 'admin'}), failed=True,
                  msg='category device: tampered')
    task, action, calls = make_action({'dir': '/srv/itot', 'categories': ['device', 'admin'], 'heads_file': path,
                                       'record_watermark': {'device': MARK, 'admin': MARK}}, answer)
    result = action.run(task_vars={'inventory_hostname': 'h1'})
    assert result['failed'] is True and result['msg'] == 'host h1, category device: tampered'
    assert find_head(load_heads(path), heads_key('h1', '/srv/itot', 'device')) is None
    assert find_head(load_heads(path), heads_key('h1', '/srv/itot', 'admin'))['watermark'] == MARK
    assert [item['head_recorded'] for item in result['categories']] == [False, True]


@pytest.mark.parametrize('marks', ['soon', ['device'], {'device': {'from_ms': 5, 'to_ms': 4, 'filters': 'e' * 64}}])
def test_malformed_watermarks_of_several_categories_fail_before_the_module_runs(tmp_path, marks):
    task, action, calls = make_action({'dir': '/srv/itot', 'categories': ['device', 'admin'],
                                       'heads_file': str(tmp_path / 'itot-heads.json'), 'record_watermark': marks},
                                      answers({'category': 'device'}, {'category': 'admin'}))
    result = action.run(task_vars={'inventory_hostname': 'h1'})
    assert result['failed'] is True and 'record_watermark' in result['msg'] and calls == []


def test_a_heads_file_that_cannot_be_written_is_named_after_the_failed_category(tmp_path):
    path = str(tmp_path / 'missing-folder' / 'itot-heads.json')
    answer = dict(answers({'category': 'device', 'failed': True, 'msg': 'tampered'}, {'category': 'admin'}), failed=True,
                  msg='category device: tampered')
    task, action, calls = make_action({'dir': '/srv/itot', 'categories': ['device', 'admin'], 'heads_file': path}, answer)
    result = action.run(task_vars={'inventory_hostname': 'h1'})
    assert result['failed'] is True
    assert result['msg'].startswith('host h1, category device: tampered; host h1, category admin: the archive is verified, '
                                    'but its head could not be recorded in the heads file %s: ' % path), result['msg']
    assert [item['head_recorded'] for item in result['categories']] == [False, False]
