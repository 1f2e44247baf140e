# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What a run adds and removes: the entries a host does not hold yet, the state after them, the files, expiry.

For internal collection use only.  Pure planning: nothing here writes; the file names it picks are checked against
the manifest and the folder so that a file is never written twice under one name.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.opswat.itot.plugins.module_utils._archive_chain import MANIFEST_KEYS, empty_state, live_files
from ansible_collections.opswat.itot.plugins.module_utils._archive_fs import gzip_bytes
from ansible_collections.opswat.itot.plugins.module_utils._archive_names import ARCHIVE_SUFFIX, UNDATED_DIR
from ansible_collections.opswat.itot.plugins.module_utils._entries import entry_identity, entry_line, entry_time_ms
from ansible_collections.opswat.itot.plugins.module_utils._timeparse import day_folder, format_iso, format_stamp, parse_time_ms
from ansible_collections.opswat.itot.plugins.module_utils._vocabulary import DAY_MS

# --- selecting what a host does not have yet ----------------------------------------------------------------


@dataclass
class Selection:
    """The entries of a batch that the host does not have yet."""

    dated: list[tuple[int, int, Any, str]] = field(default_factory=list)  # (time_ms, position, entry, identity)
    undated: list[tuple[int, Any, str]] = field(default_factory=list)  # (position, entry, identity)
    # Stamped outside the window read (a server clock error): archived, never moving the cursor; same tuples as dated.
    outside: list[tuple[int, int, Any, str]] = field(default_factory=list)
    skipped: int = 0
    outside_times: list[int] = field(default_factory=list)  # every entry offered outside the window, held or not

    def files_dated(self) -> list[tuple[int, int, Any, str]]:
        """What goes to the day folders: the dated entries and those stamped outside the window."""
        return self.dated + self.outside


def _counts(ids: dict[str, Any], count: Any) -> Counter:
    return Counter(dict((ident, int(count(value))) for ident, value in ids.items()))


def outside_window(moment: int, window: tuple[int | None, int | None] | None) -> bool:
    """Whether an entry time lies outside the window it was read for (both ends included)."""
    if window is None:
        return False
    start, end = window
    return (start is not None and moment < start) or (end is not None and moment > end)


def _held(have: Counter, ident: str) -> bool:
    """Whether the host holds one more copy of ident (and count it as used)."""
    if have[ident] > 0:
        have[ident] -= 1
        return True
    return False


def select_new(entries: list[Any], state: dict[str, Any], window: tuple[int | None, int | None] | None = None) -> Selection:
    """Multiset semantics: identical entries are distinct events; a host that holds c copies gets b - c more.

    Time t < overlap_from: already archived.  overlap_from <= t <= cursor: new beyond the copies in overlap_ids.
    t > cursor: new.  Undated entries: new beyond the copies in undated_ids (kept forever).  With the window
    (start, end) the entries were read for, an entry stamped outside it is new beyond the copies in outside_ids
    (kept forever) and goes to ``outside``: archived, but it never moves the cursor.
    """
    cursor = state.get('cursor_ms')
    overlap_from = state.get('overlap_from_ms')
    if overlap_from is None:
        overlap_from = cursor
    have = _counts(state.get('overlap_ids', {}), lambda value: value[0])
    have_undated = _counts(state.get('undated_ids', {}), lambda value: value)
    have_outside = _counts(state.get('outside_ids', {}), lambda value: value)
    selection = Selection()
    for position, entry in enumerate(entries):
        moment = entry_time_ms(entry)
        ident = entry_identity(entry)
        if moment is None:
            if _held(have_undated, ident):
                selection.skipped += 1
            else:
                selection.undated.append((position, entry, ident))
        elif outside_window(moment, window):
            selection.outside_times.append(moment)
            if _held(have_outside, ident):
                selection.skipped += 1
            else:
                selection.outside.append((moment, position, entry, ident))
        elif cursor is None or moment > cursor:
            selection.dated.append((moment, position, entry, ident))
        elif moment < overlap_from or _held(have, ident):
            selection.skipped += 1
        else:
            selection.dated.append((moment, position, entry, ident))
    return selection


def _overlap_ids(state: dict[str, Any], selection: Selection, overlap_from: int) -> dict[str, list[int]]:
    """The identities of the entries held at or after overlap_from: [count, time_ms] each, sorted."""
    ids: dict[str, list[int]] = {}
    for ident, value in state.get('overlap_ids', {}).items():
        if int(value[1]) >= overlap_from:
            ids[ident] = [int(value[0]), int(value[1])]
    for moment, _position, _entry, ident in selection.dated:
        if moment >= overlap_from:
            ids.setdefault(ident, [0, moment])[0] += 1
    return dict(sorted(ids.items()))


def covered_from(state: dict[str, Any], read_from_ms: int | None) -> int | None:
    """Where the archive's reading began (state.json's ``covered_from_ms``) after a run that began reading at read_from_ms.

    Kept once set.  Set by the first run with a window (read_from_ms not None) of a folder that holds nothing yet.  None
    for an archive made before coverage was recorded (it holds entries, but no ``covered_from_ms``): its coverage
    starts at its first archived entry, which the report reads from the manifest.
    """
    kept = state.get('covered_from_ms')
    if kept is not None:
        return int(kept)
    if state.get('manifest_lines') or state.get('cursor_ms') is not None:
        return None
    return read_from_ms


def next_state(state: dict[str, Any], selection: Selection, overlap_s: int, read_from_ms: int | None = None) -> dict[str, Any]:
    """The state after writing selection: new cursor, the identities from cursor - overlap on, undated ids, the
    ids of the entries stamped outside their window (which never move the cursor), and where the archive's reading
    began (covered_from: read_from_ms is where this run's reading began, None without a window)."""
    new = empty_state(state['category'])
    new['covered_from_ms'] = covered_from(state, read_from_ms)
    cursor = state.get('cursor_ms')
    old_from = state.get('overlap_from_ms')
    times = [item[0] for item in selection.dated]
    if cursor is not None:
        times.append(cursor)
    new_cursor = max(times) if times else None
    new['overlap'] = overlap_s
    if new_cursor is not None:
        overlap_from = new_cursor - overlap_s * 1000
        if cursor is not None and old_from is not None:
            # The old identities only cover times >= old_from: never claim to know more than that.
            overlap_from = max(overlap_from, old_from)
        new['cursor_ms'] = new_cursor
        new['cursor'] = format_iso(new_cursor)
        new['overlap_from_ms'] = overlap_from
        new['overlap_ids'] = _overlap_ids(state, selection, overlap_from)
    undated = _counts(state.get('undated_ids', {}), lambda value: value)
    for _position, _entry, ident in selection.undated:
        undated[ident] += 1
    new['undated_ids'] = dict(sorted(undated.items()))
    outside = _counts(state.get('outside_ids', {}), lambda value: value)
    for _moment, _position, _entry, ident in selection.outside:
        outside[ident] += 1
    new['outside_ids'] = dict(sorted(outside.items()))
    return new


# --- planning files -----------------------------------------------------------------------------------------

class PlannedFile:
    """An archive file to add: its name relative to the category folder and its gzip bytes."""

    def __init__(self, name: str, data: bytes, entries: int, first_ms: int | None, last_ms: int | None) -> None:
        self.name = name
        self.data = data
        self.entries = entries
        self.first_ms = first_ms
        self.last_ms = last_ms
        self.sha256 = hashlib.sha256(data).hexdigest()

    def record(self, action: str = 'add') -> dict[str, Any]:
        return {'file': self.name, 'sha256': self.sha256, 'entries': self.entries,
                'first': format_iso(self.first_ms), 'last': format_iso(self.last_ms), 'action': action}

    def summary(self) -> dict[str, Any]:
        return {'file': self.name, 'entries': self.entries, 'first': format_iso(self.first_ms),
                'last': format_iso(self.last_ms), 'sha256': self.sha256}


def _unique_name(cat_dir: str, folder: str, base: str, taken: set) -> str:
    suffix = 1
    while True:
        name = '%s/%s%s%s' % (folder, base, '' if suffix == 1 else '-%d' % suffix, ARCHIVE_SUFFIX)
        if name not in taken and not os.path.lexists(os.path.join(cat_dir, name)):
            taken.add(name)
            return name
        suffix += 1


def plan_files(cat_dir: str, category: str, selection: Selection, taken: set) -> list[PlannedFile]:
    """One file per UTC day (entries oldest first, stable), one for the undated entries.

    taken: names already used (every name in the manifest, added or removed); a clash gets -2, -3, ...
    """
    by_day: dict[str, list[tuple[int, int, Any, str]]] = {}
    for item in sorted(selection.files_dated(), key=lambda item: (item[0], item[1])):
        by_day.setdefault(day_folder(item[0]), []).append(item)
    planned = []
    for folder in sorted(by_day):
        items = by_day[folder]
        data = gzip_bytes(b''.join(entry_line(item[2]) for item in items))
        base = '%s-%s-%s' % (category, format_stamp(items[0][0]), format_stamp(items[-1][0]))
        planned.append(PlannedFile(_unique_name(cat_dir, folder, base, taken), data, len(items), items[0][0], items[-1][0]))
    if selection.undated:
        content = b''.join(entry_line(item[1]) for item in selection.undated)
        base = '%s-undated-%s' % (category, hashlib.sha256(content).hexdigest()[:16])
        planned.append(PlannedFile(_unique_name(cat_dir, UNDATED_DIR, base, taken), gzip_bytes(content),
                                   len(selection.undated), None, None))
    return planned


def expired_files(live: dict[str, dict[str, Any]], retention_days: int, now: int) -> list[dict[str, Any]]:
    """Live dated files whose last entry is older than now - retention_days (0 keeps everything)."""
    if retention_days <= 0:
        return []
    cutoff = now - retention_days * DAY_MS
    expired = []
    for record in live.values():
        last = parse_time_ms(record.get('last'))
        if last is not None and last < cutoff:
            expired.append(dict((key, record.get(key)) for key in MANIFEST_KEYS[:5]))
    return expired


# --- one run's plan -----------------------------------------------------------------------------------------

@dataclass
class Plan:
    """What one run adds and removes, given the manifest's records and the state."""

    selection: Selection
    planned: list[PlannedFile]
    expired: list[dict[str, Any]]

    def records(self) -> list[dict[str, Any]]:
        """The manifest records of the plan: the files added, then the files removed."""
        return [item.record() for item in self.planned] + [dict(record, action='remove') for record in self.expired]


def plan_run(cat_dir: str, category: str, entries: list[Any], state: dict[str, Any], records: list[dict[str, Any]],
             retention_days: int, now: int, window: tuple[int | None, int | None] | None = None) -> Plan:
    """The files for the entries the host does not hold, and the live files (those too) that retention expires."""
    selection = select_new(entries, state, window)
    taken = set(record.get('file') for record in records if record.get('file'))
    planned = plan_files(cat_dir, category, selection, taken)
    after = dict(live_files(records)[0])
    after.update((item.name, item.record()) for item in planned)
    return Plan(selection, planned, expired_files(after, retention_days, now))
