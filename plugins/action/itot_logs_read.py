# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Action plugin of opswat.itot.itot_logs_read: the queries of several tenants, read side by side on the controller.

Each tenant has its own budget (10 requests a minute, its own pacing ledger), so the tenants are read in threads,
one per tenant, each through its own ``LogsClient``; a tenant's queries are read one after another. Every argument
is checked before the first request. The secrets stay in this process: no module file, no async status file.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ansible.plugins.action import ActionBase

from ansible_collections.opswat.itot.plugins.module_utils._client import HAS_REQUESTS, LogsClient
from ansible_collections.opswat.itot.plugins.module_utils._errors import ItotError, OptionError, failure
from ansible_collections.opswat.itot.plugins.module_utils._options import (
    CONNECTION_OPTIONS,
    OptionAdapter,
    connection_settings,
    module_argument_spec,
)
from ansible_collections.opswat.itot.plugins.module_utils._query import build_query
from ansible_collections.opswat.itot.plugins.module_utils._tenant import tenant_name_value

# Options of itot_logs_info given to the task itself (module_defaults for group/opswat.itot.itot): defaults below each
# tenant's connection and each read's query.
DEFAULT_OPTIONS = frozenset(module_argument_spec())


def _given(values: Any, label: str) -> list[dict[str, Any]]:
    if not isinstance(values, list) or not all(isinstance(item, dict) for item in values):
        raise OptionError('%s: a value of type %s is not a list of dicts' % (label, type(values).__name__))
    return values


class _Plan:
    """The checked arguments: per tenant, its settings and its queries (in the order given)."""

    def __init__(self, args: dict[str, Any], now_ms: int) -> None:
        unknown = sorted(set(args) - DEFAULT_OPTIONS - {'tenants', 'reads'})
        if unknown:
            raise OptionError('%s: not an option of opswat.itot.itot_logs_read; allowed: tenants, reads and the options of '
                              'opswat.itot.itot_logs_info' % ', '.join(unknown))
        defaults = {name: value for name, value in args.items() if name in DEFAULT_OPTIONS and value is not None}
        self.settings: dict[str, Any] = {}
        for index, tenant in enumerate(_given(args.get('tenants') or [], 'tenants')):
            name = tenant_name_value('tenants[%d].name' % index, tenant.get('name'))
            connection = dict({k: v for k, v in defaults.items() if k in CONNECTION_OPTIONS}, **(tenant.get('connection') or {}))
            try:
                self.settings[name] = connection_settings(OptionAdapter.from_dict(connection))
            except OptionError as exc:
                raise OptionError('tenant %s: %s' % (name, exc.message)) from None
        self.queries: list[tuple[str, Any]] = []
        for index, read in enumerate(_given(args.get('reads') or [], 'reads')):
            name = read.get('tenant')
            if name not in self.settings:
                raise OptionError('reads[%d].tenant: %r is not one of the tenants given (%s)' % (index, name, ', '.join(self.settings)))
            query = dict({k: v for k, v in defaults.items() if k not in CONNECTION_OPTIONS}, **(read.get('query') or {}))
            try:
                self.queries.append((name, build_query(OptionAdapter.from_dict(query), now_ms)))
            except OptionError as exc:
                raise OptionError('tenant %s, reads[%d]: %s' % (name, index, exc.message)) from None


class ActionModule(ActionBase):

    TRANSFERS_FILES = False

    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        del tmp  # unused since ansible-core 2.7
        if not HAS_REQUESTS:
            result.update(failed=True, msg='opswat.itot.itot_logs_read needs the Python library requests on the controller')
            return result
        try:
            plan = _Plan(dict(self._task.args), int(time.time() * 1000))
        except OptionError as exc:
            result.update(failed=True, msg=exc.message)
            return result
        warnings: list[str] = []
        by_tenant: dict[str, list[int]] = {}
        for position, (name, _query) in enumerate(plan.queries):
            by_tenant.setdefault(name, []).append(position)
        answers: list[Any] = [None] * len(plan.queries)
        with ThreadPoolExecutor(max_workers=max(len(by_tenant), 1)) as pool:
            futures = {name: pool.submit(self._read_tenant, plan, name, positions, answers, warnings)
                       for name, positions in by_tenant.items()}
        errors = ['tenant %s: %s' % (name, future.result()) for name, future in futures.items() if future.result()]
        if warnings:
            result['warnings'] = warnings
        if errors:
            result.update(failed=True, msg='; '.join(errors))
            return result
        result.update(changed=False, reads=answers, api_requests=sum(answer['api_requests'] for answer in answers))
        return result

    @staticmethod
    def _read_tenant(plan: _Plan, name: str, positions: list[int], answers: list[Any], warnings: list[str]) -> str | None:
        """Read one tenant's queries into ``answers``; the error's message, or None."""
        client = LogsClient(plan.settings[name], warn=lambda message: warnings.append('tenant %s: %s' % (name, message)))
        try:
            for position in positions:
                query = plan.queries[position][1]
                answer = client.fetch(query).as_dict()
                answer.update(tenant=name, event_category=query.event_category)
                answers[position] = answer
        except ItotError as exc:
            return failure(exc)['msg']
        except Exception as exc:  # noqa: BLE001 - a thread's surprise is reported, not lost
            # Its text is not shown: an unforeseen error may quote the request's URL, and with it the token.
            return 'unexpected %s while reading (details withheld: they may hold the request URL)' % type(exc).__name__
        finally:
            client.close()
        return None
