# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Action plugin of opswat.itot.itot_archive: the chain head kept on the controller, and the entries kept out of
what goes back.

With ``heads_file``, the head recorded for this host (inventory_hostname), archive root and category is read on the
controller and given to the module as ``known_head``; once the module has run without failing (and not in check
mode), its new head is written back (_archive_heads.record_heads: atomic, under a lock), with ``record_watermark``
when given (the role's verify step: this host has been given every entry of the category up to the run's end; see
_archive_watermark).  The host
never sees the file, so it can move neither the head its manifest is checked against nor the watermark the next
run's plan starts from.  With ``state: query``, the host's record (head and watermark) is returned as
``recorded_head`` for the plan.

The worker process that ran a task sends the task's arguments, as templated, back to the controller with the
result. For this module those arguments hold a whole slice of log entries, once per host: with 25,000 entries and
five hosts that was ~25 MB of controller memory per host. Once the module has run, the entries are replaced by
their count in the worker's copy of the task; the module itself gets them unchanged.
"""

from __future__ import annotations

from typing import Any

from ansible.plugins.action import ActionBase

from ansible_collections.opswat.itot.plugins.module_utils._archive_heads import (
    DEFAULT_TENANT,
    find_head,
    heads_key,
    load_heads,
    record_heads,
)
from ansible_collections.opswat.itot.plugins.module_utils._archive_watermark import check_watermark
from ansible_collections.opswat.itot.plugins.module_utils._errors import ArchiveError
from ansible_collections.opswat.itot.plugins.module_utils._timeparse import format_iso, now_ms

ZERO_HEAD = {'lines': 0, 'sha256': '0' * 64}


class ActionModule(ActionBase):

    TRANSFERS_FILES = False

    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        del tmp  # unused since ansible-core 2.7
        args = self._task.args
        heads_file = args.get('heads_file')
        host = (task_vars or {}).get('inventory_hostname', '')
        key = None
        module_args = args
        state = args.get('state', 'present')
        record = None
        if heads_file:
            key = heads_key(host, args.get('dir'), args.get('category'), args.get('tenant') or DEFAULT_TENANT)
            try:
                watermark = check_watermark(args.get('record_watermark'))
                record = find_head(load_heads(heads_file), key)
            except ValueError as exc:
                result.update(failed=True, msg=str(exc))
                return result
            except ArchiveError as exc:
                result.update(failed=True, msg=exc.message)
                return result
            if state == 'present':
                module_args = dict(args, known_head=dict((name, value) for name, value in (record or ZERO_HEAD).items()
                                                         if name != 'watermark'))
        result.update(self._execute_module(module_name=self._task.action, module_args=module_args, task_vars=task_vars))
        if key is not None and state == 'query':
            result['recorded_head'] = record
        elif key is not None:
            result['known_head'] = module_args['known_head']
            self._after(result, heads_file, key, host, watermark)
        entries = args.get('entries')
        if isinstance(entries, list):
            self._task.args = dict(args, entries='(%d entries)' % len(entries))
        return result

    def _after(self, result: dict[str, Any], heads_file: str, key: dict[str, str], host: str,
               watermark: dict[str, Any] | None) -> None:
        """A failure named by host and category; a success's head (and watermark) recorded (not in check mode)."""
        result['head_recorded'] = False
        if result.get('failed'):
            result['msg'] = 'host %s, category %s: %s' % (host, key['category'], result.get('msg', ''))
            return
        if 'manifest_head' not in result:
            return
        result['head'] = {'lines': result['manifest_lines'], 'sha256': result['manifest_head']}
        if self._task.check_mode:
            return
        head = dict(key, recorded=format_iso(now_ms()), watermark=watermark, **result['head'])
        try:
            result['head_recorded'] = record_heads(heads_file, [head])
        except (ArchiveError, OSError) as exc:
            reason = getattr(exc, 'message', None) or exc
            result.update(failed=True, msg='host %s, category %s: the archive is verified, but its head could not be recorded '
                                           'in the heads file %s: %s' % (host, key['category'], heads_file, reason))
