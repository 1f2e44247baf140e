# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The archive_plan filter: which API windows one archive run reads, one slice of at most 24 h per item."""
from __future__ import annotations

import time
from typing import Any

from ansible.errors import AnsibleFilterError
from ansible.utils.display import Display

from ansible_collections.opswat.itot.plugins.module_utils._checks import int_value
from ansible_collections.opswat.itot.plugins.module_utils._errors import OptionError
from ansible_collections.opswat.itot.plugins.module_utils._timeparse import format_ms, parse_time_option
from ansible_collections.opswat.itot.plugins.module_utils._vocabulary import DAY_SECONDS, MAX_WINDOW_RANGE

DOCUMENTATION = r"""
---
name: archive_plan
short_description: Plan the API windows of an archive run from the cursors of its hosts
version_added: 1.0.0
author: opswat.itot maintainers (@opswat-itot)
description:
  - Used by the M(opswat.itot.itot_archive)-based role C(opswat.itot.log_archive) to read the API once for all hosts.
  - For each category, the run starts at the oldest host cursor minus O(overlap) seconds; a host without an archive
    starts at O(initial_lookback). The run ends at O(now_ms). The window is cut into slices of at most O(slice_seconds),
    oldest first, each with a readable label. No slice ends before it starts; a start after O(now_ms) is planned as
    O(now_ms).
  - A host cursor after O(now_ms) (an entry stamped in the future moved it there, before
    M(opswat.itot.itot_archive) stopped letting an entry outside its window move the cursor) is reported
    with one warning per category, naming the newest such cursor; those hosts take every entry older than their cursor
    minus the overlap as archived until the cursor is set back (see the archive guide). The plan itself is unchanged by
    it (it starts at the oldest cursor of all hosts).
options:
  _input:
    description:
      - One item per host, the registered result of a loop of M(opswat.itot.itot_archive) with O(opswat.itot.itot_archive#module:state=query)
        over the categories (each loop result carries C(item), the category, and C(cursor_ms)).
    type: list
    elements: dict
    required: true
  slice_seconds:
    description:
      - Longest slice, seconds, V(1) to V(2592000) (30 days); the role passes its C(itot_max_window).
      - The vendor's page implies at most a day per query (the default); wider slices only for a tenant that takes
        them (see O(opswat.itot.itot_logs_info#module:max_window)).
    type: int
    default: 86400
extends_documentation_fragment:
  - opswat.itot.archive_plan
"""

EXAMPLES = r"""
- name: Read where each host's archive ends, per category (changes nothing)
  opswat.itot.itot_archive:
    dir: /var/log/itot
    category: "{{ item }}"
    state: query
  loop: [admin, device]
  register: cursors

- name: Plan the slices of this run from the cursors of every host of the play
  ansible.builtin.set_fact:
    plan: >-
      {{ ansible_play_hosts | map('extract', hostvars, 'cursors') | list
         | opswat.itot.archive_plan(['admin', 'device'], overlap=300, initial_lookback='-7d') }}
  run_once: true
"""

RETURN = r"""
_value:
  description: One item per slice, oldest first within each category.
  type: list
  elements: dict
  contains:
    category:
      description: The event category.
      type: str
    start_time:
      description: Start of the slice, epoch ms.
      type: int
    end_time:
      description: End of the slice, epoch ms.
      type: int
    label:
      description: A readable label, for example C(device 2026-11-28T09:00:00.000Z .. 2026-11-29T09:00:00.000Z (1/2)).
      type: str
"""

MAX_SLICE_SECONDS = MAX_WINDOW_RANGE[1]

display = Display()


def _host_cursor(host_result: Any, category: str) -> int | None:
    """The cursor (epoch ms) a host reported for a category, or None when it has no archive yet."""
    for result in (host_result or {}).get('results', []):
        if result.get('item') == category:
            cursor = result.get('cursor_ms')
            return int(cursor) if cursor is not None else None
    raise AnsibleFilterError('archive_plan: a host reported no cursor for category %r' % category)


def category_start(cursors: list[int | None], category: str, overlap: int, lookback: int, end: int,
                   watermarks: list[int | None] | None = None) -> int:
    """Where a category's run starts for hosts with these cursors: the oldest host start, never before 0 nor after
    end; a future cursor is warned.  A host's usable watermark (_archive_watermark; one per cursor, or None) moves its
    start up to the watermark minus the overlap."""
    future = [cursor for cursor in cursors if cursor is not None and cursor > end]
    if future:
        display.warning('archive_plan: %d host(s) hold a %s cursor after the end of this run (%s), the newest %s: an entry '
                        'stamped in the future (a server clock error) moved it there. Those hosts take every entry older '
                        'than their cursor minus the overlap as archived and archive nothing new until the cursor in their '
                        '%s/state.json is set back (see the archive guide)'
                        % (len(future), category, format_ms(end), format_ms(max(future)), category))
    starts = [host_start(cursor, mark, overlap, lookback) for cursor, mark in zip(cursors, watermarks or [None] * len(cursors))]
    return min(max(min(starts), 0), end)


def host_start(cursor: int | None, watermark: int | None, overlap: int, lookback: int) -> int:
    """Where one host's reading of a category starts: its cursor (lookback without one), or its watermark when later,
    minus the overlap."""
    start = lookback if cursor is None else cursor - overlap * 1000
    return start if watermark is None else max(start, watermark - overlap * 1000)


def slice_bounds(start: int, end: int, slice_seconds: int) -> list[tuple[int, int]]:
    """[start, end] cut into windows of at most slice_seconds, oldest first; consecutive windows share their edge."""
    # The module sends each window 1 ms wider on each side (the API may not serve a window's ends): a slice 2 ms
    # shorter than slice_seconds is one request of at most slice_seconds.
    step = max(int(slice_seconds) * 1000 - 2, 1)
    bounds = []
    while True:
        stop = min(start + step, end)
        bounds.append((start, stop))
        if stop >= end:
            return bounds
        start = stop  # boundaries are inclusive: read the boundary again rather than risk a gap


def plan_settings(overlap: Any, initial_lookback: Any, now_ms: Any, slice_seconds: Any) -> tuple[int, int, int, int]:
    """(overlap, lookback ms, end ms, slice seconds) checked; AnsibleFilterError naming the bad one."""
    try:
        slice_seconds = int_value('slice_seconds', slice_seconds, 1, MAX_SLICE_SECONDS, ' seconds')
    except OptionError as exc:
        raise AnsibleFilterError('archive_plan: %s' % exc) from exc
    if int(overlap) < 0:
        raise AnsibleFilterError('archive_plan: overlap %r must not be negative' % (overlap,))
    end = int(now_ms) if now_ms is not None else int(time.time() * 1000)
    try:
        lookback = parse_time_option(initial_lookback, end, 'itot_log_archive_initial_lookback')
    except OptionError as exc:
        raise AnsibleFilterError(str(exc)) from exc
    return int(overlap), lookback, end, slice_seconds


def slice_label(category: str, bounds: tuple[int, int], number: int, count: int) -> str:
    return '%s %s .. %s (%d/%d)' % (category, format_ms(bounds[0]), format_ms(bounds[1]), number, count)


def archive_plan(host_results: list[Any], categories: list[str], overlap: int = 300, initial_lookback: Any = '-1d',
                 now_ms: int | None = None, slice_seconds: int = DAY_SECONDS) -> list[dict[str, Any]]:
    """Slices (category, start, end, label) covering, per category, the oldest host cursor minus overlap up to now."""
    if not host_results:
        raise AnsibleFilterError('archive_plan: no host results to plan from')
    overlap, lookback, end, slice_seconds = plan_settings(overlap, initial_lookback, now_ms, slice_seconds)
    plan = []
    for category in categories:
        cursors = [_host_cursor(host_result, category) for host_result in host_results]
        bounds = slice_bounds(category_start(cursors, category, overlap, lookback, end), end, slice_seconds)
        plan.extend({'category': category, 'start_time': lo, 'end_time': hi,
                     'label': slice_label(category, (lo, hi), number, len(bounds))}
                    for number, (lo, hi) in enumerate(bounds, 1))
    return plan


class FilterModule:
    """opswat.itot filters."""

    def filters(self) -> dict[str, Any]:
        return {'archive_plan': archive_plan}
