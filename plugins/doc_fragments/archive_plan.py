# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # The options of the filters that plan an archive run (archive_plan, log_archive_tenant_plan), written once.
    DOCUMENTATION = r'''
options:
  categories:
    description: The categories to plan, in this order.
    type: list
    elements: str
    required: true
  overlap:
    description: Seconds re-read behind each cursor.
    type: int
    default: 300
  initial_lookback:
    description:
      - Where a host without an archive starts; any O(opswat.itot.itot_logs_info#module:start_time) form (epoch ms or
        seconds, ISO 8601, V(-1d)), from 2000-01-01T00:00:00Z on.
    type: raw
    default: -1d
  now_ms:
    description: End of the run, epoch milliseconds. Defaults to the current time.
    type: int
'''
