# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Action plugin of opswat.itot.itot_archive: runs the module, then keeps the entries out of what goes back.

The worker process that ran a task sends the task's arguments, as templated, back to the controller with the
result. For this module those arguments hold a whole slice of log entries, once per host: with 25,000 entries and
five hosts that was ~25 MB of controller memory per host. Once the module has run, the entries are replaced by
their count in the worker's copy of the task; the module itself gets them unchanged.
"""

from __future__ import annotations

from typing import Any

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):

    TRANSFERS_FILES = False

    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        del tmp  # unused since ansible-core 2.7
        args = self._task.args
        result.update(self._execute_module(module_name=self._task.action, module_args=args, task_vars=task_vars))
        entries = args.get('entries')
        if isinstance(entries, list):
            self._task.args = dict(args, entries='(%d entries)' % len(entries))
        return result
