# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The log_archive_round filter: what one host reads and archives in one round of a log_archive run."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
---
name: log_archive_round
short_description: What one host reads and archives in one round of a log_archive run
version_added: 1.1.0
author: opswat.itot maintainers (@opswat-itot)
description:
  - Used by the C(opswat.itot.log_archive) role. A round (from P(opswat.itot.log_archive_tenant_plan#filter)) holds
    at most one slice per tenant. Each slice is read once, by its tenant's reader, the first of the tenant's hosts
    still in the play (a host that failed is no longer one), and archived by every host of the tenant still in the
    play.
options:
  _input:
    description: One round, a list of slices (C(tenant), C(hosts), C(category), C(start_time), C(end_time), C(label)).
    type: list
    elements: dict
    required: true
  play_hosts:
    description: The hosts still in the play (C(ansible_play_hosts)).
    type: list
    elements: str
    required: true
  host:
    description: This host (C(inventory_hostname)).
    type: str
    required: true
  filters:
    description: The role's C(itot_log_archive_filters), per category.
    type: dict
    default: {}
  chunk_size:
    description:
      - The role's C(itot_log_archive_chunk_size), the most entries one read hands out (its C(max_results)); V(0)
        reads each slice whole.
    type: int
    default: 0
  tokens:
    description:
      - Where the slices of the round go on, by tenant (the C(next_token) of the read before, see
        M(opswat.itot.itot_logs_info)); only these tenants' slices are read and archived.
      - Omitted, the round's first chunk, every slice from its start.
    type: dict
"""

EXAMPLES = r"""
- name: What this host does in the round
  ansible.builtin.debug:
    msg: "{{ round | opswat.itot.log_archive_round(ansible_play_hosts, inventory_hostname, itot_log_archive_filters) }}"

- name: What this host does in the round's next chunk of at most 10,000 entries per tenant
  ansible.builtin.debug:
    msg: >-
      {{ round | opswat.itot.log_archive_round(ansible_play_hosts, inventory_hostname, itot_log_archive_filters,
                                               chunk_size=10000, tokens={'north': north_next_token}) }}
"""

RETURN = r"""
_value:
  description: This host's part of the round.
  type: dict
  contains:
    reads:
      description:
        - The slices this host reads, as C(tenant) and C(query) (C(event_category), C(start_time), C(end_time), the
          category's filters, and with O(chunk_size) C(max_results) and C(token)), the arguments of
          M(opswat.itot.itot_logs_read).
      type: list
      elements: dict
    archives:
      description: The slices this host archives, each with its C(reader), the host whose read holds its entries.
      type: list
      elements: dict
"""


def log_archive_round(slices: Any, play_hosts: Any, host: str, filters: Any = None, chunk_size: Any = 0,
                      tokens: Any = None) -> dict[str, list[dict[str, Any]]]:
    if not isinstance(slices, list) or not all(isinstance(item, Mapping) for item in slices):
        raise AnsibleFilterError('log_archive_round: %s is not a list of slices' % type(slices).__name__)
    if tokens is not None and not isinstance(tokens, Mapping):
        raise AnsibleFilterError('log_archive_round: tokens: %s is not a dict of tenants' % type(tokens).__name__)
    live = set(play_hosts or [])
    filters = filters or {}
    reads, archives = [], []
    for item in slices:
        if tokens is not None and item['tenant'] not in tokens:
            continue  # this tenant's slice was read to its end in an earlier chunk
        hosts = [name for name in item['hosts'] if name in live]
        if not hosts:
            continue  # every host of the tenant failed: nobody to read for
        if hosts[0] == host:
            query = {'event_category': item['category'], 'start_time': item['start_time'], 'end_time': item['end_time']}
            query.update(filters.get(item['category']) or {})
            if int(chunk_size or 0) > 0:
                query['max_results'] = int(chunk_size)
                if tokens is not None:
                    query['token'] = tokens[item['tenant']]
            reads.append({'tenant': item['tenant'], 'query': query})
        if host in hosts:
            archives.append(dict(item, reader=hosts[0]))
    return {'reads': reads, 'archives': archives}


class FilterModule:
    """opswat.itot filters."""

    def filters(self) -> dict[str, Any]:
        return {'log_archive_round': log_archive_round}
