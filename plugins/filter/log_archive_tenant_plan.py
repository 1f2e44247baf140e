# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The log_archive_tenant_plan filter: the API windows of an archive run, per tenant, in rounds read side by side."""
from __future__ import annotations

import time
from collections.abc import Mapping
from itertools import zip_longest
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.opswat.itot.plugins.filter.archive_plan import category_start, plan_settings, slice_bounds, slice_label
from ansible_collections.opswat.itot.plugins.module_utils._archive_watermark import filters_digest, next_watermark, usable_watermark
from ansible_collections.opswat.itot.plugins.module_utils._tenant import shown_identity

DOCUMENTATION = r"""
---
name: log_archive_tenant_plan
short_description: Plan the API windows of a log_archive run for every tenant of the play
version_added: 1.1.0
author: opswat.itot maintainers (@opswat-itot)
description:
  - Used by the C(opswat.itot.log_archive) role, once for the play. Groups the play's hosts by tenant (the tenants
    each host archives, from P(opswat.itot.log_archive_tenants#filter)) and plans each tenant as
    P(opswat.itot.archive_plan#filter) plans one, per category from the oldest start among that tenant's hosts up to
    O(now_ms), in slices of at most the tenant's C(slice_seconds). A host starts at its cursor minus O(overlap) (a host
    without an archive at O(initial_lookback)), or at its watermark minus O(overlap) when that is later.
  - A host's watermark is where the API has been read completely for it, recorded in the controller's heads file by
    the role's last run (see O(opswat.itot.itot_archive#module:record_watermark)) and returned by the query task
    (C(recorded_head)). It is used only while it is sound - whole numbers, not after O(now_ms) (a clock that jumped
    back), the category's O(filters) unchanged, the host's manifest still ending at the head recorded with it, and
    its coverage reaching back to the host's cursor (or O(initial_lookback)) - and ignored otherwise, which costs
    requests, never entries. A category quiet for weeks is then one slice a run, not one per quiet day.
  - The slices are dealt into rounds, the first slice of every tenant in the first round, and so on, so that a
    round reads every tenant side by side.
  - A name given to two tenant identities, or one identity under two names, fails, naming both and their hosts.
options:
  _input:
    description: Per host (in play order), the host's tenants (P(opswat.itot.log_archive_tenants#filter)).
    type: dict
    required: true
  cursors:
    description:
      - Per host, the registered result of a loop of M(opswat.itot.itot_archive) with
        O(opswat.itot.itot_archive#module:state=query) over the host's tenants and the categories (each loop result
        carries C(item), C([tenant, category]), and C(cursor_ms)).
    type: dict
    required: true
  filters:
    description: The role's C(itot_log_archive_filters), per category; a watermark recorded with other filters is not used.
    type: dict
    default: {}
extends_documentation_fragment:
  - opswat.itot.archive_plan
"""

EXAMPLES = r"""
- name: Plan the rounds of this run
  ansible.builtin.set_fact:
    plan: >-
      {{ dict(ansible_play_hosts | zip(ansible_play_hosts | map('extract', hostvars, 'tenants')))
         | opswat.itot.log_archive_tenant_plan(dict(ansible_play_hosts | zip(ansible_play_hosts | map('extract', hostvars, 'cursors'))),
                                               ['admin', 'device'], overlap=300, initial_lookback='-7d',
                                               filters={'device': {'events': ['added']}}) }}
"""

RETURN = r"""
_value:
  description: The tenants and the rounds.
  type: dict
  contains:
    tenants:
      description: Per tenant name, C(identity) (no secret), C(hosts) (the hosts that archive it, in play order).
      type: dict
    rounds:
      description:
        - A list of rounds, each a list of slices, at most one per tenant; a slice is C(tenant), C(hosts),
          C(category), C(start_time), C(end_time) (epoch ms), C(read_from) (the start of the category's first slice),
          C(watermarks) (per host whose watermark the plan used, where it ends - the module's
          O(opswat.itot.itot_archive#module:watermark_ms)) and C(label).
      type: list
      elements: list
    end_ms:
      description:
        - Where the run's reads end (epoch ms, O(now_ms)), the same for every tenant; a host that archived every round has
          read each category up to it (the C(end_time) of the category's last slice).
      type: int
    watermarks:
      description:
        - Per tenant, category and host, the watermark the host has once it archived every slice of the category
          (C(from_ms), C(to_ms), C(filters)), for O(opswat.itot.itot_archive#module:record_watermark).
      type: dict
"""


def _tenants(hosts: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """{name: {identity, hosts, slice_seconds}}; a name or an identity used for two tenants fails."""
    tenants: dict[str, dict[str, Any]] = {}
    names_by_identity: dict[str, tuple[str, str]] = {}
    for host, host_tenants in hosts.items():
        for tenant in host_tenants or []:
            name, identity = tenant['name'], tenant['identity']
            known = tenants.get(name)
            if known is not None and known['identity'] != identity:
                raise AnsibleFilterError('tenant %s: the name is given to two tenants, %s (host %s) and %s (host %s); give '
                                         'each tenant its own itot_tenant' % (name, shown_identity(known['identity']),
                                                                              known['hosts'][0], shown_identity(identity), host))
            other = names_by_identity.setdefault(identity, (name, host))
            if other[0] != name:
                raise AnsibleFilterError('tenant %s: one tenant (%s) has two names, %s (host %s) and %s (host %s); give its '
                                         'hosts the same itot_tenant' % (name, shown_identity(identity), other[0], other[1], name, host))
            if known is None:
                tenants[name] = {'identity': identity, 'hosts': [], 'slice_seconds': tenant['slice_seconds']}
            tenants[name]['hosts'].append(host)
    return tenants


def _reported(registered: Any, tenant: str, category: str) -> list[dict[str, Any]]:
    """What a host's query task reported for a tenant's category (nothing when it does not archive the tenant)."""
    return [result for result in (registered or {}).get('results', [])
            if (result.get('item') or [{}, None])[0].get('name') == tenant and (result.get('item') or [{}, None])[1] == category]


def _host_marks(reported: list[tuple[str, dict[str, Any]]], digest: str, lookback: int, end: int) -> dict[str, Any]:
    """Per host: its cursor and its usable watermark (or None)."""
    marks = {}
    for host, result in reported:
        cursor = result.get('cursor_ms')
        cursor = int(cursor) if cursor is not None else None
        usable = usable_watermark(result.get('recorded_head'), result.get('manifest_lines'), result.get('manifest_head'),
                                  digest, lookback if cursor is None else cursor, end)
        marks[host] = (cursor, usable)
    return marks


def _tenant_slices(name: str, tenant: dict[str, Any], cursors: Mapping, categories: list[str], settings: tuple,
                   filters: Mapping, prefix: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """A tenant's slices, oldest first per category, and per category and host the watermark after this run."""
    overlap_s, lookback, end, slice_seconds = settings
    slices, watermarks = [], {}
    for category in categories:
        reported = [(host, result) for host in tenant['hosts'] for result in _reported(cursors.get(host), name, category)]
        if not reported:
            raise AnsibleFilterError('log_archive_tenant_plan: no host of tenant %s reported a cursor for %s' % (name, category))
        digest = filters_digest(filters.get(category))
        marks = _host_marks(reported, digest, lookback, end)
        start = category_start([cursor for cursor, dummy in marks.values()], category, overlap_s, lookback, end,
                               [usable['to_ms'] if usable else None for dummy, usable in marks.values()])
        bounds = slice_bounds(start, end, slice_seconds)
        used = {host: usable['to_ms'] for host, (dummy, usable) in marks.items() if usable}
        slices.extend({'tenant': name, 'hosts': tenant['hosts'], 'category': category, 'start_time': lo, 'end_time': hi,
                       'read_from': bounds[0][0], 'watermarks': used,
                       'label': prefix + slice_label(category, (lo, hi), number, len(bounds))}
                      for number, (lo, hi) in enumerate(bounds, 1))
        watermarks[category] = {host: next_watermark(usable, bounds[0][0], end, digest) for host, (dummy, usable) in marks.items()}
    return slices, watermarks


def log_archive_tenant_plan(hosts: Any, cursors: Any, categories: list[str], overlap: int = 300, initial_lookback: Any = '-1d',
                            now_ms: int | None = None, filters: Any = None) -> dict[str, Any]:
    if not isinstance(hosts, Mapping) or not hosts or not isinstance(cursors, Mapping):
        raise AnsibleFilterError('log_archive_tenant_plan: no hosts to plan from')
    if filters is not None and not isinstance(filters, Mapping):
        raise AnsibleFilterError('log_archive_tenant_plan: filters must be a dict per category, got %s' % type(filters).__name__)
    tenants = _tenants(hosts)
    now_ms = int(now_ms) if now_ms is not None else int(time.time() * 1000)  # one end for every tenant
    plans, watermarks = [], {}
    for name, tenant in tenants.items():
        settings = plan_settings(overlap, initial_lookback, now_ms, tenant['slice_seconds'])
        slices, watermarks[name] = _tenant_slices(name, tenant, cursors, categories, settings, filters or {},
                                                  '' if len(tenants) == 1 else 'tenant %s: ' % name)
        plans.append(slices)
    rounds = [[item for item in round_ if item is not None] for round_ in zip_longest(*plans)]
    return {'tenants': {name: {'identity': tenant['identity'], 'hosts': tenant['hosts']} for name, tenant in tenants.items()},
            'rounds': rounds, 'end_ms': now_ms, 'watermarks': watermarks}


class FilterModule:
    """opswat.itot filters."""

    def filters(self) -> dict[str, Any]:
        return {'log_archive_tenant_plan': log_archive_tenant_plan}
