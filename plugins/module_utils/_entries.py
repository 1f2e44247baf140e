# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A log entry as the collection sees it: its time, its canonical form, its ONE identity, its archive line.

For internal collection use only. An entry is whatever JSON value the API sent (a dict, normally); none of these
functions fail on anything else.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ansible_collections.opswat.itot.plugins.module_utils._timeparse import parse_entry_time, parse_time_ms

# (the entry's time in epoch microseconds or None, the entry): what the walk sorts and merges.
Item = tuple


def entry_time(entry: Any) -> int | None:
    """An entry's ``timestamp`` in epoch microseconds (the walk's sort key), or None."""
    return parse_entry_time(entry.get('timestamp')) if isinstance(entry, dict) else None


def entry_time_ms(entry: Any) -> int | None:
    """The entry's ``timestamp`` in epoch ms, or None (no timestamp, or one that cannot be parsed)."""
    return parse_time_ms(entry.get('timestamp')) if isinstance(entry, dict) else None


def device_key(entry: dict[str, Any]) -> str:
    """The device an entry is about: its device_id, else its device_name (reports count devices by it)."""
    return str(entry.get('device_id') or entry.get('device_name') or '(unknown device)')


def sort_key(item: Item) -> tuple[int, int]:
    """Oldest first; entries without a time last (kept, never dropped)."""
    key = item[0]
    return (1, 0) if key is None else (0, key)


def canonical_json(entry: Any) -> str:
    """The entry's canonical JSON: sorted keys, compact, text as is."""
    return json.dumps(entry, sort_keys=True, separators=(',', ':'), ensure_ascii=False, default=str)


def entry_identity(entry: Any) -> str:
    """THE identity of an entry: SHA-256 hex of its canonical JSON. Identical entries share it.

    The walk counts entries by it across overlapping pages, the archive keeps it in ``state.json`` to
    archive each entry once.
    """
    return hashlib.sha256(canonical_json(entry).encode('utf-8')).hexdigest()


def entry_line(entry: Any) -> bytes:
    """The entry as one archive line: compact JSON, fields and their order unchanged."""
    return json.dumps(entry, separators=(',', ':'), ensure_ascii=False).encode('utf-8') + b'\n'
