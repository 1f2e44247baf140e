# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The log_archive_chunk filter: what a host archives of one chunk of a tenant's slice, and what waits for the next."""
from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.opswat.itot.plugins.module_utils._entries import entry_time

DOCUMENTATION = r"""
---
name: log_archive_chunk
short_description: What a host archives of one chunk of a slice, and what waits for the next chunk
version_added: 1.1.0
author: opswat.itot maintainers (@opswat-itot)
description:
  - Used by the C(opswat.itot.log_archive) role, which reads a slice in chunks (C(itot_log_archive_chunk_size)).
  - Identical entries (one event the API holds twice) are distinct events, and the archive tells a copy it holds
    from a new one by counting the copies of each time in what it is given. A chunk may end between two copies, so
    the entries of a chunk's last time wait for the next chunk and are archived with it, all copies together. The
    last chunk (no O(next_token)) keeps nothing back.
options:
  _input:
    description: The entries of the chunk, oldest first, as M(opswat.itot.itot_logs_read) returned them.
    type: list
    elements: dict
    required: true
  next_token:
    description: The chunk's C(next_token); empty or V(null) when the slice ended with this chunk.
    type: str
  held:
    description: The entries the chunk before held back (this filter's RV(_value.held) for it).
    type: list
    elements: dict
    default: []
"""

EXAMPLES = r"""
- name: What to archive of the chunk, and what to hold back
  ansible.builtin.set_fact:
    part: "{{ answer.logs | opswat.itot.log_archive_chunk(answer.next_token, held) }}"
"""

RETURN = r"""
_value:
  description: What to archive now and what to hold back.
  type: dict
  contains:
    archive:
      description: O(held), then the chunk's entries but those of its last time (all of them for the last chunk).
      type: list
      elements: dict
    held:
      description: The chunk's entries of its last time (the same time, or all without a time), when a chunk follows.
      type: list
      elements: dict
"""


def log_archive_chunk(logs: Any, next_token: Any = None, held: Any = None) -> dict[str, list[Any]]:
    if not isinstance(logs, list) or not isinstance(held or [], list):
        raise AnsibleFilterError('log_archive_chunk: the entries and held must be lists, not %s and %s'
                                 % (type(logs).__name__, type(held).__name__))
    held = list(held or [])
    if not next_token or not logs:
        return {'archive': held + logs, 'held': []}
    last = entry_time(logs[-1])
    cut = len(logs)
    while cut > 0 and entry_time(logs[cut - 1]) == last:
        cut -= 1
    return {'archive': held + logs[:cut], 'held': logs[cut:]}


class FilterModule:
    """opswat.itot filters."""

    def filters(self) -> dict[str, Any]:
        return {'log_archive_chunk': log_archive_chunk}
