# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from unittest.mock import MagicMock

from ansible.playbook.task import Task

from ansible_collections.opswat.itot.plugins.action.itot_archive import ActionModule

ENTRIES = [{'timestamp': '2026-11-29T00:00:0%dZ' % i, 'event': 'added'} for i in range(3)]


def make_action(args):
    task = Task()
    task.action = 'opswat.itot.itot_archive'
    task.args = args
    action = ActionModule(task, MagicMock(), MagicMock(check_mode=False), loader=None, templar=None,
                          shared_loader_obj=None)
    calls = []

    def execute_module(module_name=None, module_args=None, task_vars=None):
        calls.append((module_name, module_args))
        return {'changed': True, 'entries_written': len(module_args.get('entries') or [])}

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
