# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The archive_day_disagreements filter: which hosts hold something else than the others, day by day."""
from __future__ import annotations

import json
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.opswat.itot.plugins.module_utils._archive_heads import DEFAULT_TENANT, day_disagreements

DOCUMENTATION = r"""
---
name: archive_day_disagreements
short_description: The hosts whose archive disagrees with the other hosts' that hold the same category
version_added: 1.1.0
author: opswat.itot maintainers (@opswat-itot)
description:
  - Used by the C(opswat.itot.log_archive) role after its verify step. Hosts that archive the same category of the
    same tenant with the same filters are sent the same entries, so per UTC day they hold the same number of entries
    and the same first and last entry time.
  - A day is compared among the hosts expected to hold it in full - from the day after each host's oldest archived day
    (a host added later starts part-way through its first day, and retention may have begun to remove an old one) up to
    the newest day any of them holds; a day missing inside that range counts as holding nothing.
  - A host that differs from the majority is named; when there is no majority, every host that differs is.
options:
  _input:
    description:
      - Per host (C(inventory_hostname)), C(results), the registered loop results of M(opswat.itot.itot_archive) (each with
        C(item), the category or C([tenant, category]), and C(days)), and C(filters), the host's C(itot_log_archive_filters).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Compare the hosts
  ansible.builtin.debug:
    msg: "{{ dict(ansible_play_hosts | zip(ansible_play_hosts | map('extract', hostvars, 'held'))) | opswat.itot.archive_day_disagreements }}"
"""

RETURN = r"""
_value:
  description: Per host that disagrees, one message per day it differs on (group, day, what it holds, what the others hold).
  type: dict
"""


def _tenant_category(item: Any) -> tuple[str, Any]:
    """(tenant name, category) of a loop item: the role's [tenant, category], or a category alone (one tenant)."""
    if isinstance(item, (list, tuple)) and len(item) == 2 and isinstance(item[0], dict):
        return str(item[0].get('name', DEFAULT_TENANT)), item[1]
    return DEFAULT_TENANT, item


def _groups(held: Any) -> dict[str, Any]:
    """{group label: days} of one host: the label names the tenant, the category and the filters."""
    if not isinstance(held, dict):
        return {}
    filters = held.get('filters') or {}
    groups = {}
    for result in held.get('results') or []:
        if not isinstance(result, dict) or result.get('failed') or result.get('skipped'):
            continue
        tenant, category = _tenant_category(result.get('item'))
        label = 'tenant %s, category %s' % (tenant, category)
        if isinstance(filters, dict) and filters.get(category):
            label += ' (filters %s)' % json.dumps(filters[category], sort_keys=True)
        groups[label] = result.get('days') or {}
    return groups


def archive_day_disagreements(hosts: Any) -> dict[str, list[str]]:
    if not isinstance(hosts, dict):
        raise AnsibleFilterError('archive_day_disagreements: %r is not a dict of hosts' % type(hosts).__name__)
    return day_disagreements(dict((str(host), _groups(held)) for host, held in hosts.items()))


class FilterModule:
    """opswat.itot filters."""

    def filters(self) -> dict[str, Any]:
        return {'archive_day_disagreements': archive_day_disagreements}
