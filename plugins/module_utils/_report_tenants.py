# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The compliance report over several tenants' archives on one host: the ``tenants`` option, a report per tenant, the total.

For internal collection use only.  Each tenant's report is _report_analysis.py's one-archive report over the tenant's
folder; the total has the same keys and is only ever the sum of the tenants' figures: a device of one tenant is
never the device of another, even with the same id, so nothing is merged across tenants.  Lists in the total carry a
``tenant`` key per item; its ``heads``, ``verification`` and ``coverage`` are keyed ``{tenant}/{category}`` (each
coverage with its ``tenant`` and ``category``), and it is ``covered`` when every tenant's archive is.  Its ``rules``
hold a result per tenant and rule, each with its ``tenant``.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, Callable

from ansible_collections.opswat.itot.plugins.module_utils._archive_fs import check_root
from ansible_collections.opswat.itot.plugins.module_utils._errors import ArchiveError
from ansible_collections.opswat.itot.plugins.module_utils._report_analysis import HeadCheck, build_report, check_request
from ansible_collections.opswat.itot.plugins.module_utils._report_coverage import check_until
from ansible_collections.opswat.itot.plugins.module_utils._report_rules import Rule

TENANT_NAME_RE = re.compile(r'^[A-Za-z0-9_-]+$')
_SHAPE = ("a list of {name, dir}: name of letters, digits, '_' and '-', each name once; dir an absolute path without '..' "
          "components, each folder once")


# --- the options ----------------------------------------------------------------------------------------------

def _check_tenant(index: int, item: Any, seen: set[str], folders: set[str]) -> tuple[str, str]:
    where = 'tenants[%d]' % index
    if not isinstance(item, dict):
        raise ArchiveError('%s must be a mapping {name, dir} (tenants must be %s), got %r' % (where, _SHAPE, item))
    unknown = sorted(str(key) for key in item if key not in ('name', 'dir'))
    if unknown:
        raise ArchiveError('%s has unknown keys %s: allowed are name and dir' % (where, ', '.join(unknown)))
    name = item.get('name')
    if not isinstance(name, str) or not TENANT_NAME_RE.match(name):
        raise ArchiveError("%s.name must be letters, digits, '_' and '-' (%s), got %r" % (where, TENANT_NAME_RE.pattern, name))
    if name in seen:
        raise ArchiveError('%s.name %r is given twice: each tenant of tenants must have its own name' % (where, name))
    seen.add(name)
    folder = check_root(item.get('dir'), '%s.dir' % where)
    if folder in folders:
        raise ArchiveError('%s.dir %r is given twice: each tenant of tenants must have its own folder (its entries would be '
                           'counted twice)' % (where, item.get('dir')))
    folders.add(folder)
    return name, folder


def check_tenants(value: Any) -> list[tuple[str, str]]:
    """[(name, folder)] from the ``tenants`` option (empty when omitted or empty); ArchiveError naming the option otherwise."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ArchiveError('tenants must be %s, got %r' % (_SHAPE, value))
    seen: set[str] = set()
    folders: set[str] = set()
    return [_check_tenant(index, item, seen, folders) for index, item in enumerate(value)]


class TenantHeads:
    """The heads recorded off the host, per tenant and category (``known_heads`` when ``tenants`` is given)."""

    def __init__(self, known: Any, names: list[str], retention_days: int = 0, now: int = 0) -> None:
        if known is not None and not isinstance(known, dict):
            raise ArchiveError('known_heads must map each tenant of tenants to its {category: head}, got %r' % (known,))
        for name, heads in (known or {}).items():
            if name not in names:
                raise ArchiveError('known_heads names %r, which is not a tenant: with tenants given, known_heads maps a tenant '
                                   '(one of %s) to its {category: head}' % (name, ', '.join(names)))
            if heads is not None and not isinstance(heads, dict):
                raise ArchiveError('known_heads.%s must be a mapping {category: {lines, sha256}}, got %r' % (name, heads))
        # Every head is checked here, before any tenant's archive is read.
        self.checks = dict((name, HeadCheck(None if known is None else known.get(name) or {}, retention_days, now, 'known_heads.%s' % name))
                           for name in names)

    def of(self, name: str) -> HeadCheck:
        """The tenant's HeadCheck: not given when known_heads is omitted, none recorded when it lacks the tenant."""
        return self.checks[name]


# --- the reports ----------------------------------------------------------------------------------------------

def check_tenants_until(value: Any, names: list[str]) -> dict[str, dict[str, int]]:
    """Per tenant, {category: epoch ms} from ``covered_until_ms`` given with ``tenants`` ({} when omitted)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ArchiveError('covered_until_ms must map each tenant of tenants to its {category: epoch ms}, got %r' % (value,))
    for name in value:
        if name not in names:
            raise ArchiveError('covered_until_ms names %r, which is not a tenant: with tenants given, covered_until_ms maps a '
                               'tenant (one of %s) to its {category: epoch ms}' % (name, ', '.join(names)))
    return dict((name, check_until(until or {}, 'covered_until_ms.%s' % name)) for name, until in value.items())


def _tenant_report(name: str, folder: str, categories: list[str], period: tuple[int, int, int], lock_timeout: float,
                   heads: TenantHeads, until: dict[str, dict[str, int]], rules: list[Rule]) -> dict[str, Any]:
    """One tenant's report; an error names the tenant (the category folder is in the message already)."""
    start_ms, end_ms, generated_ms = period
    try:
        return build_report(folder, categories, start_ms, end_ms, generated_ms, lock_timeout, heads.of(name), until.get(name), rules)
    except ArchiveError as exc:
        raise ArchiveError('tenant %s: %s' % (name, exc.message), [dict(problem, tenant=name) for problem in exc.problems]) from exc


def _sum_counts(maps: list[dict[str, int]], keys: list[str] | None = None) -> dict[str, int]:
    """Per key, the sum over the maps; keys in the given order, else sorted."""
    total: Counter = Counter()
    for counts in maps:
        total.update(counts)
    order = keys if keys is not None else sorted(total)
    return dict((key, total.get(key, 0)) for key in order)


def _tagged(parts: dict[str, dict[str, Any]], items_of: Callable[[dict[str, Any]], list[dict[str, Any]]],
            sort_key: Callable[[dict[str, Any]], Any]) -> list[dict[str, Any]]:
    """A list of each tenant's report, each item with its ``tenant``, in the list's own order (ties: tenant order)."""
    items = [dict({'tenant': name}, **item) for name, part in parts.items() for item in items_of(part)]
    return sorted(items, key=sort_key)


def _time(item: dict[str, Any]) -> str:
    return item['time']  # ISO 8601 UTC, fixed width: sorts as the times do


def _admin_order(item: dict[str, Any]) -> tuple[int, str, str]:
    return -item['count'], item['admin_name'] or '', item['admin_email'] or ''


def _findings(parts: dict[str, dict[str, Any]], categories: list[str]) -> dict[str, Any]:
    """The analysis' keys for the total: sums of the tenants' figures, lists with a tenant per item."""
    values = list(parts.values())
    errors = [part['webhook_errors'] for part in values]
    return {
        'counts': dict((category, {'total': sum(part['counts'][category]['total'] for part in values),
                                   'events': _sum_counts([part['counts'][category]['events'] for part in values])})
                       for category in categories),
        'entries_per_day': dict((category, _sum_counts([part['entries_per_day'][category] for part in values])) for category in categories),
        'summary': _sum_counts([part['summary'] for part in values], list(values[0]['summary'])),
        'noncompliant_devices': _tagged(parts, lambda part: part['noncompliant_devices'], lambda item: item['first_noncompliant']),
        'webhook_noncompliant_events': sum(part['webhook_noncompliant_events'] for part in values),
        'failed_auth': _tagged(parts, lambda part: part['failed_auth'], _admin_order),
        'deleted_user_devices': _tagged(parts, lambda part: part['deleted_user_devices'], _time),
        'webhook_errors': {'total': sum(error['total'] for error in errors), 'by_code': _sum_counts([error['by_code'] for error in errors]),
                           'events': _tagged(parts, lambda part: part['webhook_errors']['events'], _time)},
        # Each rule holds for each tenant on its own: a result per tenant and rule, tenant by tenant.
        'rules': [dict({'tenant': name}, **rule) for name, part in parts.items() for rule in part['rules']],
    }


def total_of(root: str, parts: dict[str, dict[str, Any]], categories: list[str]) -> dict[str, Any]:
    """The report over every tenant: the one-archive report's keys, each figure the sum of the tenants', then ``tenants``."""
    first = next(iter(parts.values()))
    report = {
        'generated': first['generated'],
        'archive': root,
        'period': first['period'],
        'categories': list(categories),
        'entries_total': sum(part['entries_total'] for part in parts.values()),
        'files_read': sum(part['files_read'] for part in parts.values()),
        'undated_entries': _sum_counts([part['undated_entries'] for part in parts.values()], categories),
        'heads': dict(('%s/%s' % (name, category), head) for name, part in parts.items() for category, head in part['heads'].items()),
        'verification': dict(('%s/%s' % (name, category), checked) for name, part in parts.items()
                             for category, checked in part['verification'].items()),
        'covered': all(part['covered'] for part in parts.values()),
        'coverage': dict(('%s/%s' % (name, category), dict(covered, tenant=name, category=category)) for name, part in parts.items()
                         for category, covered in part['coverage'].items()),
    }
    report.update(_findings(parts, categories))
    report['tenants'] = parts
    return report


def build_tenants_report(root: str, tenants: list[tuple[str, str]], categories: list[str], period: tuple[int, int, int],
                         lock_timeout: float, heads: TenantHeads, until: dict[str, dict[str, int]] | None = None,
                         rules: list[Rule] | None = None) -> dict[str, Any]:
    """The report over each tenant's archive (``period``: start, end and generated, epoch ms), with the total at the top.

    until: per tenant and category, how far its archive has been read (check_tenants_until).
    rules: the audit's rules, evaluated for each tenant on its own.
    """
    categories = check_request(categories, period[0], period[1])
    parts = dict((name, _tenant_report(name, folder, categories, period, lock_timeout, heads, until or {}, rules or []))
                 for name, folder in tenants)
    return total_of(root, parts, categories)
