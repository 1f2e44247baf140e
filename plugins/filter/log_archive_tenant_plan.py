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
    P(opswat.itot.archive_plan#filter) plans one, per category from the oldest cursor among that tenant's hosts minus
    O(overlap) (a host without an archive from O(initial_lookback)) up to O(now_ms), in slices of at most the
    tenant's C(slice_seconds).
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
extends_documentation_fragment:
  - opswat.itot.archive_plan
"""

EXAMPLES = r"""
- name: Plan the rounds of this run
  ansible.builtin.set_fact:
    plan: >-
      {{ dict(ansible_play_hosts | zip(ansible_play_hosts | map('extract', hostvars, 'tenants')))
         | opswat.itot.log_archive_tenant_plan(dict(ansible_play_hosts | zip(ansible_play_hosts | map('extract', hostvars, 'cursors'))),
                                               ['admin', 'device'], overlap=300, initial_lookback='-7d') }}
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
          C(category), C(start_time), C(end_time) (epoch ms), C(read_from) (the start of the category's first slice)
          and C(label).
      type: list
      elements: list
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


def _cursors(registered: Any, tenant: str, category: str) -> list[int | None]:
    """The cursors a host reported for a tenant's category (none when it does not archive the tenant)."""
    found = []
    for result in (registered or {}).get('results', []):
        item = result.get('item') or [{}, None]
        if item[0].get('name') == tenant and item[1] == category:
            cursor = result.get('cursor_ms')
            found.append(int(cursor) if cursor is not None else None)
    return found


def log_archive_tenant_plan(hosts: Any, cursors: Any, categories: list[str], overlap: int = 300, initial_lookback: Any = '-1d',
                            now_ms: int | None = None) -> dict[str, Any]:
    if not isinstance(hosts, Mapping) or not hosts or not isinstance(cursors, Mapping):
        raise AnsibleFilterError('log_archive_tenant_plan: no hosts to plan from')
    tenants = _tenants(hosts)
    now_ms = int(now_ms) if now_ms is not None else int(time.time() * 1000)  # one end for every tenant
    plans = []
    for name, tenant in tenants.items():
        overlap_s, lookback, end, slice_seconds = plan_settings(overlap, initial_lookback, now_ms, tenant['slice_seconds'])
        prefix = '' if len(tenants) == 1 else 'tenant %s: ' % name
        slices = []
        for category in categories:
            found = [cursor for host in tenant['hosts'] for cursor in _cursors(cursors.get(host), name, category)]
            if not found:
                raise AnsibleFilterError('log_archive_tenant_plan: no host of tenant %s reported a cursor for %s' % (name, category))
            bounds = slice_bounds(category_start(found, category, overlap_s, lookback, end), end, slice_seconds)
            slices.extend({'tenant': name, 'hosts': tenant['hosts'], 'category': category, 'start_time': lo, 'end_time': hi,
                           'read_from': bounds[0][0],
                           'label': prefix + slice_label(category, (lo, hi), number, len(bounds))}
                          for number, (lo, hi) in enumerate(bounds, 1))
        plans.append(slices)
    rounds = [[item for item in round_ if item is not None] for round_ in zip_longest(*plans)]
    return {'tenants': {name: {'identity': tenant['identity'], 'hosts': tenant['hosts']} for name, tenant in tenants.items()},
            'rounds': rounds}


class FilterModule:
    """opswat.itot filters."""

    def filters(self) -> dict[str, Any]:
        return {'log_archive_tenant_plan': log_archive_tenant_plan}
