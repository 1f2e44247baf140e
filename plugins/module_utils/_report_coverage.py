# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The report's coverage: which part of the period each category's archive covers, and the gaps where it does not.

For internal collection use only.  Pure computation over what a category folder records (``state.json``'s
``covered_from_ms`` and cursor, the manifest's ``add`` and ``remove`` lines) and how far the archive was read (the
module's ``covered_until_ms``).  A count over a period the archive does not cover is an under-count: the report says
so instead of keeping quiet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ansible_collections.opswat.itot.plugins.module_utils._errors import ArchiveError
from ansible_collections.opswat.itot.plugins.module_utils._timeparse import format_iso, parse_time_ms
from ansible_collections.opswat.itot.plugins.module_utils._vocabulary import CATEGORIES, allowed

STARTED_LATER = 'the archive started later'
RETENTION = 'removed by retention (itot_log_archive_retention_days)'
NOT_READ = 'not read yet'
NO_ARCHIVE = 'no archive of this category'

FROM_RECORDED = 'from where the archive began reading (state.json covered_from_ms)'
FROM_FIRST_ENTRY = 'from the first archived entry; the archive predates coverage records'
FROM_NOTHING = 'nothing archived'
UNTIL_READ = 'until the end of the last read of the archive run (covered_until_ms)'
UNTIL_CURSOR = 'until the newest archived entry (the cursor; covered_until_ms not given)'
UNTIL_START = 'until its start (no entry archived yet and covered_until_ms not given)'


@dataclass
class ArchiveFacts:
    """What a category folder records about its coverage."""

    exists: bool = False
    covered_from_ms: int | None = None  # state.json: where the archive's reading began (None: made before it was recorded)
    cursor_ms: int | None = None  # state.json: the newest archived entry
    first_ms: int | None = None  # the oldest entry ever archived (the manifest's add lines)
    removed: list[tuple[int, int]] = field(default_factory=list)  # (first, last) of each dated file retention removed


def facts_of(state: dict[str, Any], records: list[dict[str, Any]]) -> ArchiveFacts:
    """The facts of a category folder from its state and its manifest's records (a chain already checked)."""
    facts = ArchiveFacts(True, state.get('covered_from_ms'), state.get('cursor_ms'))
    for record in records:
        first, last = parse_time_ms(record.get('first')), parse_time_ms(record.get('last'))
        if first is None or last is None:
            continue  # undated: belongs to no period
        if record.get('action') == 'add':
            facts.first_ms = first if facts.first_ms is None else min(facts.first_ms, first)
        elif record.get('action') == 'remove':
            facts.removed.append((first, last))
    return facts


def _gap(start_ms: int, end_ms: int, reason: str) -> dict[str, Any]:
    return {'start': format_iso(start_ms), 'end': format_iso(end_ms), 'start_ms': start_ms, 'end_ms': end_ms, 'reason': reason}


def _coverage_from(facts: ArchiveFacts) -> tuple[int | None, str]:
    if facts.covered_from_ms is not None:
        return int(facts.covered_from_ms), FROM_RECORDED
    if facts.first_ms is not None:
        return facts.first_ms, FROM_FIRST_ENTRY
    return None, FROM_NOTHING


def _coverage_until(facts: ArchiveFacts, until_ms: int | None, from_ms: int | None) -> tuple[int | None, str]:
    if until_ms is not None:
        return until_ms, UNTIL_READ
    if facts.cursor_ms is not None:
        return int(facts.cursor_ms), UNTIL_CURSOR
    return from_ms, UNTIL_START


def _removed_until(facts: ArchiveFacts, start_ms: int, end_ms: int) -> int | None:
    """The newest time of the files retention removed that overlap the period (None: none did)."""
    lasts = [last for first, last in facts.removed if last >= start_ms and first <= end_ms]
    return max(lasts) if lasts else None


def _gaps(period: tuple[int, int], from_ms: int, until_ms: int, removed_until: int | None) -> list[dict[str, Any]]:
    start, end = period
    gaps = []
    if from_ms > start:
        gaps.append(_gap(start, min(from_ms, end), STARTED_LATER))
    if removed_until is not None:
        gaps.append(_gap(start, min(removed_until, end), RETENTION))
    if until_ms < end:
        gaps.append(_gap(max(until_ms, start), end, NOT_READ))
    return gaps


def category_coverage(facts: ArchiveFacts, start_ms: int, end_ms: int, until_ms: int | None = None) -> dict[str, Any]:
    """{from, until, from_ms, until_ms, basis, gaps} of one category over the period [start_ms, end_ms].

    until_ms: how far the archive has been read (the archive run's last read); None: up to its newest entry.
    """
    from_ms, from_basis = _coverage_from(facts)
    until, until_basis = _coverage_until(facts, until_ms, from_ms)
    if not facts.exists:
        from_basis = 'no archive of this category on the host'
    if from_ms is None or until is None:
        gaps = [_gap(start_ms, end_ms, NO_ARCHIVE if not facts.exists else NOT_READ)]
    else:
        gaps = _gaps((start_ms, end_ms), from_ms, until, _removed_until(facts, start_ms, end_ms))
    return {'from': format_iso(from_ms), 'until': format_iso(until), 'from_ms': from_ms, 'until_ms': until,
            'basis': '%s; %s' % (from_basis, until_basis), 'gaps': gaps}


def is_covered(coverage: dict[str, dict[str, Any]]) -> bool:
    """Whether no category (or tenant/category) has a gap."""
    return not any(item['gaps'] for item in coverage.values())


def _until_value(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)) or (isinstance(value, str) and not value.strip().isdigit()):
        raise ArchiveError('%s must be epoch milliseconds, got %r' % (where, value))
    return int(value)


def check_until(value: Any, option: str = 'covered_until_ms') -> dict[str, int] | None:
    """{category: epoch ms} from the option (None when omitted); ArchiveError naming the option otherwise."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ArchiveError('%s must map each category to epoch milliseconds, got %r' % (option, value))
    for category in value:
        if category not in CATEGORIES:
            raise ArchiveError('%s names %r: its keys must be among %s' % (option, category, allowed(CATEGORIES)))
    return dict((category, _until_value(ms, '%s.%s' % (option, category))) for category, ms in value.items())


def coverage_warnings(report: dict[str, Any]) -> list[str]:
    """A warning per category (tenant and category, in the total of several tenants) with gaps: host-independent facts."""
    warnings = []
    for key, item in (report.get('coverage') or {}).items():
        gaps = item.get('gaps') or []
        if not gaps:
            continue
        what = ('tenant %s, category %s' % (item['tenant'], item['category'])) if 'tenant' in item else 'category %s' % key
        warnings.append('the archive does not cover all of the audit period: %s, %s' % (
            what, '; '.join('%s to %s (%s)' % (gap['start'], gap['end'], gap['reason']) for gap in gaps)))
    return warnings
