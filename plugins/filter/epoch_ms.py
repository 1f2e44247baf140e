# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The epoch_ms filter: any start_time form of the collection to epoch milliseconds."""
from __future__ import annotations

import time
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.opswat.itot.plugins.module_utils._errors import OptionError
from ansible_collections.opswat.itot.plugins.module_utils._timeparse import parse_time_option

DOCUMENTATION = r"""
---
name: epoch_ms
short_description: Convert a time in any of the collection's forms to epoch milliseconds
version_added: 1.0.0
author: opswat.itot maintainers (@opswat-itot)
description:
  - Accepts the forms of O(opswat.itot.itot_logs_info#module:start_time) - epoch milliseconds, epoch seconds (a number
    below 1e11), ISO 8601 (V(2026-11-29T07:00:00Z)), RFC 1123 (V(Sun, 29 Nov 2026 07:00:00 GMT), as entry timestamps
    may be), V(now), and times relative to now (V(-30s), V(-15m), V(-2h), V(-7d)) - and returns epoch milliseconds.
  - Like O(opswat.itot.itot_logs_info#module:start_time), the time must lie from 2000-01-01T00:00:00Z to one day
    after now; the error says how the value was read.
options:
  _input:
    description: The time.
    type: raw
    required: true
  now_ms:
    description: What V(now) means, epoch milliseconds. Defaults to the current time.
    type: int
"""

EXAMPLES = r"""
- name: The start of the audit period
  ansible.builtin.debug:
    msg: "{{ '-1d' | opswat.itot.epoch_ms }}"

- name: An entry's timestamp, whichever form the API gave it (here RFC 1123)
  ansible.builtin.debug:
    msg: "{{ 'Sun, 29 Nov 2026 07:00:00 GMT' | opswat.itot.epoch_ms }}"
"""

RETURN = r"""
_value:
  description: Epoch milliseconds.
  type: int
"""


def epoch_ms(value: Any, now_ms: int | None = None) -> int:
    """The time as epoch milliseconds; relative forms count from now_ms (default: the current time)."""
    now = int(now_ms) if now_ms is not None else int(time.time() * 1000)
    try:
        return parse_time_option(value, now, 'time')
    except OptionError as exc:
        raise AnsibleFilterError(str(exc)) from exc


class FilterModule:
    """opswat.itot filters."""

    def filters(self) -> dict[str, Any]:
        return {'epoch_ms': epoch_ms}
