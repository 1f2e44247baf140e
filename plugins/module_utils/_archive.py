# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The on-disk log archive, orchestrated: one ``state: present`` run, ``state: query``, and their ONE answer.

For internal collection use only.  The parts, each in its own file: _archive_fs (bytes, atomic writes, folders,
attributes, the lock), _archive_chain (state, manifest, hash chain), _archive_select (new entries, next state,
files, expiry), _archive_txn (the pending write and its recovery), _archive_verify (verification).

Layout under ``{root}/{category}/`` (fixed by the collection's contract)::

    YYYY/MM/DD/{category}-{first}-{last}.jsonl.gz   archive files, written once, never rewritten
    undated/{category}-undated-{sha}.jsonl.gz       entries whose time cannot be parsed
    manifest.jsonl                                  one hash-chained line per file added or removed
    state.json                                      the cursor and the identities near it
    .lock                                           flock(): exclusive for a write, shared for the report
    .pending.json                                   only while a write is in flight (see _archive_txn.apply_pending)

``state.json``::

    {"version": 1, "category": "device",
     "cursor_ms": 1795935600000, "cursor": "2026-11-29T07:00:00.000Z",   # newest archived entry time
     "overlap_from_ms": 1795935300000,        # overlap_ids is complete for entry times >= this (cursor - overlap)
     "overlap_ids": {"<identity>": [count, time_ms], ...},   # archived entries with time >= overlap_from_ms
     "undated_ids": {"<identity>": count, ...},             # every undated entry ever archived
     "outside_ids": {"<identity>": count, ...},   # every entry archived that was stamped outside its window read
     "manifest_lines": 12, "manifest_head": "<sha256 of the last manifest line>",
     "covered_from_ms": 1795330800000,   # where the archive's reading began (its first run with a window); kept
     "overlap": 300, "updated": "<ISO time of the write>"}

Only the standard library and the collection's own module_utils are used, so the code runs on any managed host
with Python 3.9+.  Errors are raised as ``ArchiveError``; the modules turn them into ``fail_json``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.opswat.itot.plugins.module_utils._archive_attrs import AttrSetter, attrs_if_exists, guarded_attrs, no_attrs
from ansible_collections.opswat.itot.plugins.module_utils._archive_chain import (
    ZERO_HASH,
    chain_problems,
    chain_records,
    empty_state,
    live_files,
    load_state,
    manifest_head,
    parse_manifest,
    read_manifest,
)
from ansible_collections.opswat.itot.plugins.module_utils._archive_fs import category_dir, check_root, lexists_in, make_dirs
from ansible_collections.opswat.itot.plugins.module_utils._archive_heads import check_head, day_summary, head_problems
from ansible_collections.opswat.itot.plugins.module_utils._archive_lock import ArchiveLock
from ansible_collections.opswat.itot.plugins.module_utils._archive_names import LOCK, PENDING
from ansible_collections.opswat.itot.plugins.module_utils._archive_select import Plan, covered_from, next_state, plan_run
from ansible_collections.opswat.itot.plugins.module_utils._archive_txn import (
    StepHook,
    apply_pending,
    has_temps,
    load_pending,
    manifest_after_pending,
    remove_temps,
    write_transaction,
)
from ansible_collections.opswat.itot.plugins.module_utils._archive_verify import verify_archive, verify_error
from ansible_collections.opswat.itot.plugins.module_utils._errors import ArchiveError
from ansible_collections.opswat.itot.plugins.module_utils._timeparse import format_iso, now_ms


@dataclass
class ArchiveRequest:
    """One ``state: present`` run: the entries offered for a category, and how to keep them.

    apply_attrs sets owner/group/mode (in check mode it must only report); hook(step) runs after each step of a
    write (see _archive_txn.write_transaction); now defaults to the time of the call.
    """

    root: str
    category: str
    entries: list[Any] | None = None
    overlap: int = 300
    retention_days: int = 0
    verify: bool = True
    window_start_ms: int | None = None
    window_end_ms: int | None = None
    check_mode: bool = False
    apply_attrs: AttrSetter | None = None
    now: int | None = None
    lock_timeout: float = 300
    hook: StepHook | None = None
    # The head recorded off the host last time (_archive_heads): the manifest must extend it, and its remove lines
    # since then must be ones retention_days allows.  None: not checked; {lines: 0, ...}: nothing recorded yet.
    known_head: dict[str, Any] | None = None
    # Where the read this window continues began (a run reading a category in slices); window_start_ms when None.
    read_from_ms: int | None = None
    # The controller's watermark for this host (_archive_watermark): every entry up to it was given before, so a read
    # that starts after the cursor but not after it leaves no gap.
    watermark_ms: int | None = None

    def check(self) -> None:
        """ArchiveError naming the first number that is out of range."""
        self.known_head = check_head(self.known_head)
        if self.overlap < 0:
            raise ArchiveError('overlap must be 0 or more seconds, got %r' % self.overlap)
        if self.retention_days < 0:
            raise ArchiveError('retention_days must be 0 (keep forever) or more, got %r' % self.retention_days)
        start, end = self.window_start_ms, self.window_end_ms
        if start is not None and end is not None and start > end:
            raise ArchiveError('window_start_ms (%d) must not be after window_end_ms (%d)' % (start, end))


def build_result(cat_dir: str, state: dict[str, Any], **values: Any) -> dict[str, Any]:
    """The modules' answer: the cursor and the manifest's head from state, the rest as given or its default.

    ``diff_lines`` (one line per file added or removed) and ``warnings`` are for the module, which pops them.
    """
    result = {
        'changed': False, 'category_dir': cat_dir, 'files': [], 'removed': [], 'entries_written': 0, 'entries_skipped': 0,
        'cursor_ms': state.get('cursor_ms'), 'cursor': format_iso(state.get('cursor_ms')), 'verified': False,
        'recovered': False, 'temps_removed': [], 'manifest_lines': state.get('manifest_lines', 0),
        'manifest_head': state.get('manifest_head', ZERO_HASH), 'pending': False, 'days': {}, 'outside_window': 0,
        'diff_lines': [], 'warnings': [],
    }
    result.update(values)
    return result


def read_cursor(root: str, category: str) -> dict[str, Any]:
    """``state: query``: the cursor, read without a lock and without changing anything."""
    cat_dir = category_dir(check_root(root), category)
    state = load_state(cat_dir, category)[0] if os.path.isdir(cat_dir) else empty_state(category)
    return build_result(cat_dir, state, pending=os.path.isdir(cat_dir) and lexists_in(cat_dir, PENDING))


def write_archive(request: ArchiveRequest) -> dict[str, Any]:
    """Give the host's archive exactly the entries it does not have yet, apply retention, verify.

    Returns the module's answer (build_result).  In check mode nothing is written: not the folders, not the lock
    file, not a pending write's completion.
    """
    root = check_root(request.root)
    cat_dir = category_dir(root, request.category)
    request.check()
    run = _Run(request, root, cat_dir)
    if request.check_mode:
        return run.checked()
    return run.locked()


@dataclass
class _Start:
    """Where a run starts from once the folder is locked (or, in check mode, read)."""

    state: dict[str, Any]
    lines: list[bytes]
    state_exists: bool
    changed: bool
    recovered: bool = False
    temps_removed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    verify: bool = True

    @property
    def anchor(self) -> dict[str, Any] | None:
        """The state the manifest is checked against: none when state.json does not exist."""
        return self.state if self.state_exists else None


class _Run:
    """One write_archive call."""

    def __init__(self, request: ArchiveRequest, root: str, cat_dir: str) -> None:
        self.request = request
        self.root = root
        self.cat_dir = cat_dir
        self.category = request.category
        self.entries = list(request.entries or [])
        self.now = now_ms() if request.now is None else request.now
        # chown and chmod reach no path under the category folder through a link (see _archive_fs).
        self.attrs = guarded_attrs(cat_dir, request.apply_attrs or no_attrs)

    def locked(self) -> dict[str, Any]:
        """The real run: folders and lock file created, a pending write completed, leftover temps deleted."""
        changed = make_dirs(self.cat_dir, self.attrs)
        changed = self.attrs(self.root, True) | self.attrs(self.cat_dir, True) | changed
        with ArchiveLock(self.cat_dir, exclusive=True, timeout=self.request.lock_timeout) as lock:
            changed = changed | lock.changed
            pending = load_pending(self.cat_dir)
            if pending is not None:
                apply_pending(self.cat_dir, pending, self.attrs, self.request.hook)
                changed = True
            temps_removed = remove_temps(self.cat_dir)
            changed = changed | bool(temps_removed) | attrs_if_exists(self.attrs, self.cat_dir)
            state, state_exists = load_state(self.cat_dir, self.category)
            return self.finish(_Start(state, read_manifest(self.cat_dir), state_exists, changed,
                                      recovered=pending is not None, temps_removed=temps_removed))

    def checked(self) -> dict[str, Any]:
        """Check mode: what the real run would do, read under the shared lock; a pending write is planned past."""
        cat_dir = self.cat_dir
        if not os.path.isdir(cat_dir):
            # A real run creates the folders and the lock file.
            return self.finish(_Start(empty_state(self.category), [], False, True))
        with ArchiveLock(cat_dir, exclusive=False, timeout=self.request.lock_timeout):
            changed = self.attrs(self.root, True) | self.attrs(cat_dir, True) | attrs_if_exists(self.attrs, cat_dir)
            changed = changed or not lexists_in(cat_dir, LOCK) or has_temps(cat_dir)
            pending = load_pending(cat_dir)
            if pending is None:
                state, state_exists = load_state(cat_dir, self.category)
                return self.finish(_Start(state, read_manifest(cat_dir), state_exists, changed))
            # Plan against what the pending write leaves behind; verification waits for the real run.
            return self.finish(_Start(dict(pending['state']), manifest_after_pending(cat_dir, pending), True, True,
                                      recovered=True, verify=False,
                                      warnings=['%s holds an interrupted write; a real run completes it first' % cat_dir]))

    def finish(self, start: _Start) -> dict[str, Any]:
        """Check the chain, plan, write (unless in check mode), verify; the answer."""
        # The chain and its anchor in state.json are checked before anything is appended to them: appending to an
        # edited or truncated manifest would otherwise re-anchor the edit and hide it.
        if chain_problems(start.lines, start.anchor):
            raise verify_error(self.cat_dir, verify_archive(self.cat_dir, start.lines, start.anchor))
        # Then against the head recorded off the host, which a rolled back state.json cannot move.
        problems = head_problems(start.lines, parse_manifest(start.lines)[0], self.request.known_head,
                                 self.request.retention_days, self.now)
        if problems:
            raise verify_error(self.cat_dir, problems)
        request = self.request
        plan = plan_run(self.cat_dir, self.category, self.entries, start.state, parse_manifest(start.lines)[0],
                        request.retention_days, self.now, (request.window_start_ms, request.window_end_ms))
        warnings = (start.warnings + self._gap_warnings(start.state.get('cursor_ms'), request.watermark_ms)
                    + self._outside_warnings(plan))
        coverage = self._coverage_starts(start.state)
        new_state, lines, anchor = start.state, start.lines, start.anchor
        writes = bool(plan.planned or plan.expired or coverage is not None)
        if writes:
            new_state, lines, anchor = self._write(plan, start)
        verified = start.verify and request.verify and self._verify(lines, anchor)
        return build_result(
            self.cat_dir, new_state, changed=start.changed or writes, verified=verified,
            recovered=start.recovered, temps_removed=start.temps_removed, warnings=warnings,
            days=day_summary(live_files(parse_manifest(lines)[0])[0].values()),
            entries_written=sum(item.entries for item in plan.planned), entries_skipped=plan.selection.skipped,
            outside_window=len(plan.selection.outside_times),
            files=[item.summary() for item in plan.planned],
            removed=[dict((key, record[key]) for key in ('file', 'entries', 'first', 'last', 'sha256')) for record in plan.expired],
            diff_lines=['add %s (%s)' % (item.name, _describe(item.record())) for item in plan.planned] + [
                'remove %s (%s; older than %d days)' % (record['file'], _describe(record), request.retention_days)
                for record in plan.expired] + (['coverage from %s (state.json covered_from_ms)' % format_iso(coverage)]
                                               if coverage is not None else []))

    def _read_from(self) -> int | None:
        """Where this run's reading began: read_from_ms, else window_start_ms (None without a window)."""
        return self.request.read_from_ms if self.request.read_from_ms is not None else self.request.window_start_ms

    def _coverage_starts(self, state: dict[str, Any]) -> int | None:
        """covered_from_ms when this run is the one that records it (the folder's first run with a window), else None."""
        if state.get('covered_from_ms') is not None:
            return None
        return covered_from(state, self._read_from())

    def _gap_warnings(self, cursor: int | None, watermark: int | None) -> list[str]:
        end = self.request.window_end_ms
        start = self._read_from()
        if cursor is not None and end is not None and cursor > end:
            return ['the newest entry this host holds (%s) is after the end of the window read (%s): an entry stamped in '
                    'the future (a server clock error) moved the cursor there before this version; entries of the window '
                    'older than the cursor minus the overlap are taken as archived and are NOT archived here. Set the '
                    'cursor back in %s (see the archive guide)' % (format_iso(cursor), format_iso(end), os.path.join(self.cat_dir, 'state.json'))]
        if start is None or cursor is None or start <= max(cursor, watermark if watermark is not None else cursor):
            return []
        return ['the entries given start at %s, after the newest entry this host holds (%s): entries in between were not '
                'offered and are not archived here (query from the oldest cursor minus the overlap)'
                % (format_iso(start), format_iso(cursor))]

    def _outside_warnings(self, plan: Plan) -> list[str]:
        """One warning for the entries stamped outside the window read: archived, but the cursor stays inside it."""
        times = plan.selection.outside_times
        if not times:
            return []
        new = len(plan.selection.outside)
        return ['%d %s stamped outside the window read (%s .. %s), from %s to %s (a server clock error?): archived under '
                'their own times (%d new, %d already held), but the cursor was not moved past the window\'s end'
                % (len(times), 'entry' if len(times) == 1 else 'entries', format_iso(self.request.window_start_ms),
                   format_iso(self.request.window_end_ms), format_iso(min(times)), format_iso(max(times)), new,
                   len(times) - new)]

    def _write(self, plan: Plan, start: _Start) -> tuple[dict[str, Any], list[bytes], dict[str, Any] | None]:
        """(new state, manifest lines, state.json) after the plan: as written, or in check mode as they were."""
        at = format_iso(self.now)
        new_lines = chain_records(plan.records(), manifest_head(start.lines), at)
        # The folder's first run with a window writes state.json even without entries: it records covered_from_ms.
        read_from = self._read_from()
        new_state = (next_state(start.state, plan.selection, self.request.overlap, read_from) if plan.planned
                     else dict(start.state, covered_from_ms=covered_from(start.state, read_from)))
        new_state.update(overlap=self.request.overlap, manifest_lines=len(start.lines) + len(new_lines),
                         manifest_head=manifest_head(start.lines + new_lines), updated=at)
        if self.request.check_mode:
            return new_state, start.lines, start.anchor
        write_transaction(self.cat_dir, plan.planned, [record['file'] for record in plan.expired], new_lines, new_state,
                          self.attrs, self.request.hook)
        state, state_exists = load_state(self.cat_dir, self.category)
        return new_state, read_manifest(self.cat_dir), state if state_exists else None

    def _verify(self, lines: list[bytes], anchor: dict[str, Any] | None) -> bool:
        # In check mode this verifies what is on disk now (the files it would add are not there to hash).
        problems = verify_archive(self.cat_dir, lines, anchor) if os.path.isdir(self.cat_dir) else []
        if problems:
            raise verify_error(self.cat_dir, problems)
        return True


def _describe(record: dict[str, Any]) -> str:
    count = '%d %s' % (record['entries'], 'entry' if record['entries'] == 1 else 'entries')
    if record.get('first') is None:
        return count + ', undated'
    return '%s, %s .. %s' % (count, record['first'], record['last'])
