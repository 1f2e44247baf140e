# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The watermark: how far the API has been read completely for one host, tenant, archive root and category.

For internal collection use only.  A category's cursor is its newest archived entry, so a category that has been
quiet for 20 days was re-read from 20 days ago on every run.  The watermark says more: "this host has been given
every entry (matching the category's filters) from ``from_ms`` to ``to_ms``".  It is kept in the controller's heads
file (_archive_heads), in the record of the host's manifest head, where the host cannot write, and it is recorded
only by the action of M(opswat.itot.itot_archive) after the role's verify step of a run in which the host archived
every slice of the category up to the run's end.  A record::

    "watermark": {"from_ms": 1795330800000, "to_ms": 1795939200000, "filters": "<sha256 of the category's filters>"}

It is bound to the manifest head it was recorded with: once the host's archive no longer ends at that head (wiped,
restored from a backup, written by someone else), the watermark is not used, and the plan falls back to the cursor.
Every doubt (a value that is not a count, a time after the run's end -- a clock that jumped back --, other filters,
coverage that does not reach back to where the host's archive is complete) drops the watermark: that costs requests,
never entries.
"""

from __future__ import annotations

import hashlib
from typing import Any

from ansible_collections.opswat.itot.plugins.module_utils._entries import canonical_json

WATERMARK_KEYS = ('from_ms', 'to_ms', 'filters')


def filters_digest(filters: Any) -> str:
    """The SHA-256 of a category's filters as canonical JSON ({} when there are none)."""
    return hashlib.sha256(canonical_json(filters or {}).encode('utf-8')).hexdigest()


def _count(value: Any) -> int | None:
    """An epoch-ms count (int, not bool, 0 or more), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def usable_watermark(found: Any, manifest_lines: Any, manifest_head: Any, filters: str, complete_to: int, end: int) -> dict[str, int] | None:
    """The watermark ({from_ms, to_ms}) a host reported by its query task may plan from, or None.

    found: the record the action read from the heads file (C(watermark) with the head, C(lines) and C(sha256), it
    was recorded with); manifest_lines, manifest_head: what the host's archive holds now; filters: the digest of the
    category's filters now; complete_to: where the host's archive is complete up to without the watermark (its cursor,
    or the run's first-run lookback when it holds nothing); end: where this run's reads end.
    """
    if not isinstance(found, dict) or not isinstance(found.get('watermark'), dict):
        return None
    mark = found['watermark']
    start, stop = _count(mark.get('from_ms')), _count(mark.get('to_ms'))
    if start is None or stop is None or start > stop or stop > end:
        return None  # garbled, or after this run's end: a clock that jumped back must not make the plan skip entries
    if mark.get('filters') != filters:
        return None  # read with other filters: entries the filters now match were never given
    if _count(found.get('lines')) is None or found.get('lines') != manifest_lines or found.get('sha256') != manifest_head:
        return None  # the archive no longer ends where it did when the watermark was recorded
    if start > complete_to:
        return None  # a gap between what the archive holds and what the watermark covers
    return {'from_ms': start, 'to_ms': stop}


def next_watermark(usable: dict[str, int] | None, read_from: int, end: int, filters: str) -> dict[str, Any]:
    """The watermark a host has once it archived this run's read of a category, from read_from to end: what it
    covered before too, when this read joins on to it."""
    start = min(usable['from_ms'], read_from) if usable is not None and read_from <= usable['to_ms'] else read_from
    return {'from_ms': start, 'to_ms': end, 'filters': filters}


def check_watermark(value: Any, name: str = 'record_watermark') -> dict[str, Any] | None:
    """The watermark to record as {from_ms, to_ms, filters}, or None; ValueError naming ``name`` when malformed."""
    if value is None:
        return None
    start = _count(value.get('from_ms')) if isinstance(value, dict) else None
    stop = _count(value.get('to_ms')) if isinstance(value, dict) else None
    digest = value.get('filters') if isinstance(value, dict) else None
    if (start is None or stop is None or start > stop or not isinstance(digest, str) or len(digest) != 64
            or set(value) != set(WATERMARK_KEYS)):
        raise ValueError('%s must be {from_ms, to_ms: epoch ms with from_ms <= to_ms, filters: 64 hex digits}, got %r'
                         % (name, value))
    return {'from_ms': start, 'to_ms': stop, 'filters': digest}
