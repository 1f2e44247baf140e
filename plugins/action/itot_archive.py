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
``recorded_head`` for the plan.  With ``categories`` (one run for several categories: the role's query and verify
steps), the same is done per category - the records given as ``known_heads``, the watermarks taken from
``record_watermark`` by category, and every new head written in one update of the file - and each category's answer
in ``categories`` gets its ``recorded_head``, or its ``known_head``, ``head`` and ``head_recorded``.

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
    head_unchanged,
    heads_key,
    load_heads,
    record_heads,
)
from ansible_collections.opswat.itot.plugins.module_utils._archive_watermark import check_watermark
from ansible_collections.opswat.itot.plugins.module_utils._errors import ArchiveError
from ansible_collections.opswat.itot.plugins.module_utils._timeparse import format_iso, now_ms

ZERO_HEAD = {'lines': 0, 'sha256': '0' * 64}


class HeadsRefused(Exception):
    """The heads file or a watermark cannot be used: the task fails with this message before the module runs."""


class ActionModule(ActionBase):

    TRANSFERS_FILES = False

    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        del tmp  # unused since ansible-core 2.7
        args = self._task.args
        host = (task_vars or {}).get('inventory_hostname', '')
        try:
            if args.get('categories') is not None and args.get('heads_file'):
                result.update(self._run_categories(args, host, task_vars))
            else:
                result.update(self._run_one(args, host, task_vars))
        except HeadsRefused as exc:
            result.update(failed=True, msg=str(exc))
        entries = args.get('entries')
        if isinstance(entries, list):
            self._task.args = dict(args, entries='(%d entries)' % len(entries))
        return result

    def _records(self, args: dict[str, Any], host: str, categories: list[Any],
                 watermarks: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        """Per category: its key in the heads file, this host's record there, and the watermark to record with its
        new head (from ``watermarks`` by category, checked). Raises HeadsRefused, before the module runs."""
        keys, found, marks = {}, {}, {}
        try:
            records = load_heads(args['heads_file'])
            for category in categories:
                keys[category] = heads_key(host, args.get('dir'), category, args.get('tenant') or DEFAULT_TENANT)
                found[category] = find_head(records, keys[category])
                marks[category] = check_watermark(watermarks.get(category))
        except ValueError as exc:
            raise HeadsRefused(str(exc)) from exc
        except ArchiveError as exc:
            raise HeadsRefused(exc.message) from exc
        return keys, found, marks

    def _run_one(self, args: dict[str, Any], host: str, task_vars: dict[str, Any] | None) -> dict[str, Any]:
        heads_file = args.get('heads_file')
        state = args.get('state', 'present')
        if not heads_file:
            return self._execute_module(module_name=self._task.action, module_args=args, task_vars=task_vars)
        category = args.get('category')
        keys, found, marks = self._records(args, host, [category], {category: args.get('record_watermark')})
        module_args = args
        if state == 'present':
            module_args = dict(args, known_head=without_watermark(found[category]))
        result = self._execute_module(module_name=self._task.action, module_args=module_args, task_vars=task_vars)
        if state == 'query':
            result['recorded_head'] = found[category]
            return result
        result['known_head'] = module_args['known_head']
        if result.get('failed'):
            result['head_recorded'] = False
            result['msg'] = 'host %s, category %s: %s' % (host, category, result.get('msg', ''))
            return result
        self._record(result, args['heads_file'], host, [(keys[category], marks[category], found[category], result)])
        return result

    def _run_categories(self, args: dict[str, Any], host: str, task_vars: dict[str, Any] | None) -> dict[str, Any]:
        """O(categories) with O(heads_file): every category's record read before the one module run, and every new
        head (with its watermark) written after it in one update of the file."""
        categories = args['categories'] if isinstance(args['categories'], list) else []
        state = args.get('state', 'present')
        watermarks = args.get('record_watermark')
        if watermarks is not None and not isinstance(watermarks, dict):
            return dict(failed=True, msg='record_watermark: with categories, a dict of watermarks by category, not %r'
                        % type(watermarks).__name__)
        keys, found, marks = self._records(args, host, categories, watermarks or {})
        module_args = args
        if state == 'present':
            module_args = dict(args, known_heads=dict((category, without_watermark(found[category]))
                                                      for category in categories))
        result = self._execute_module(module_name=self._task.action, module_args=module_args, task_vars=task_vars)
        items = [item for item in result.get('categories') or [] if isinstance(item, dict) and item.get('category') in keys]
        if state == 'query':
            for item in items:
                item['recorded_head'] = found[item['category']]
            return result
        for item in items:
            item['known_head'] = module_args['known_heads'][item['category']]
            item['head_recorded'] = False
        failed = ['host %s, category %s: %s' % (host, item['category'], item.get('msg', '')) for item in items if item.get('failed')]
        if result.get('failed'):
            result['msg'] = '; '.join(failed) or 'host %s: %s' % (host, result.get('msg', ''))
        done = [(keys[item['category']], marks[item['category']], found[item['category']], item)
                for item in items if not item.get('failed')]
        self._record(result, args['heads_file'], host, done)
        return result

    def _record(self, result: dict[str, Any], heads_file: str, host: str,
                done: list[tuple[dict[str, str], dict[str, Any] | None, dict[str, Any] | None, dict[str, Any]]]) -> None:
        """The new heads (and watermarks) of the categories in ``done`` - (key, watermark, record read before the
        module ran, answer) - written in one update (not in check mode); each answer gets C(head) and C(head_recorded)."""
        heads = []
        for key, watermark, dummy, answer in done:
            answer['head_recorded'] = False
            if 'manifest_head' not in answer:
                continue
            answer['head'] = {'lines': answer['manifest_lines'], 'sha256': answer['manifest_head']}
            heads.append(dict(key, recorded=format_iso(now_ms()), watermark=watermark, **answer['head']))
        if self._task.check_mode or not heads:
            return
        try:
            recorded = record_heads(heads_file, heads)
        except (ArchiveError, OSError) as exc:
            reason = getattr(exc, 'message', None) or exc
            categories = ', '.join(head['category'] for head in heads)
            message = ('host %s, category %s: the archive is verified, but its head could not be recorded in the heads '
                       'file %s: %s' % (host, categories, heads_file, reason))
            # A category that failed before keeps its own message ahead of this one.
            result.update(failed=True, msg='; '.join(part for part in (result.get('msg') if result.get('failed') else '', message) if part))
            return
        for dummy, watermark, known, answer in done:
            if 'head' in answer:
                answer['head_recorded'] = recorded and not head_unchanged(known, dict(answer['head'], watermark=watermark))


def without_watermark(record: dict[str, Any] | None) -> dict[str, Any]:
    """The head the module checks the manifest against: this host's record without its watermark (zero lines when none)."""
    return dict((name, value) for name, value in (record or ZERO_HEAD).items() if name != 'watermark')
