# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The compliance report's content: a period read from a host's archive, and what it says (audit playbook).

For internal collection use only.  Reads the live archive files of each category (per the manifest, each file's
sha256 checked before use) whose [first, last] overlaps the period, keeps the entries whose time is inside the
period, and summarises them.  Rendering and writing the report is _report_render.py's job.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter
from typing import Any

from ansible_collections.opswat.itot.plugins.module_utils._archive_chain import (
    chain_problems,
    live_files,
    load_state,
    parse_manifest,
    read_manifest,
)
from ansible_collections.opswat.itot.plugins.module_utils._archive_fs import category_dir, lexists_in, open_read, parse_archive_lines
from ansible_collections.opswat.itot.plugins.module_utils._archive_heads import check_head, head_of, head_problems
from ansible_collections.opswat.itot.plugins.module_utils._archive_lock import ArchiveLock
from ansible_collections.opswat.itot.plugins.module_utils._archive_names import PENDING
from ansible_collections.opswat.itot.plugins.module_utils._archive_verify import verify_error
from ansible_collections.opswat.itot.plugins.module_utils._entries import device_key, entry_time_ms
from ansible_collections.opswat.itot.plugins.module_utils._errors import ArchiveError
from ansible_collections.opswat.itot.plugins.module_utils._report_coverage import ArchiveFacts, category_coverage, facts_of, is_covered
from ansible_collections.opswat.itot.plugins.module_utils._report_rules import Located, Rule, evaluate_rules
from ansible_collections.opswat.itot.plugins.module_utils._timeparse import format_iso, parse_name_time_ms, parse_time_ms
from ansible_collections.opswat.itot.plugins.module_utils._vocabulary import CATEGORIES, DAY_MS, allowed

_CODE_RE = re.compile(r'^\s*\+?[0-9]+\s*$')

# (time_ms, entry): an entry of the period, with its time.
Timed = tuple


# --- the period -----------------------------------------------------------------------------------------------

def parse_name_time(value: str) -> int:
    """Epoch ms of a ``YYYYMMDDTHHMMSSZ`` stamp; ArchiveError naming ``name_time`` otherwise."""
    moment = parse_name_time_ms(value)
    if moment is None:
        raise ArchiveError('name_time must look like 20261129T070000Z (UTC, seconds), got %r' % (value,))
    return moment


def default_period(start_ms: int | None, end_ms: int | None, now: int) -> tuple[int, int]:
    end = now if end_ms is None else end_ms
    return (end - DAY_MS if start_ms is None else start_ms), end


# --- reading a period -----------------------------------------------------------------------------------------

class HeadCheck:
    """The heads recorded off the host (per category) that the chains must extend, and the heads found."""

    def __init__(self, known: dict[str, Any] | None = None, retention_days: int = 0, now: int = 0, option: str = 'known_heads') -> None:
        self.known = None if known is None else dict((category, check_head(head, '%s.%s' % (option, category)))
                                                     for category, head in known.items())
        self.retention_days = retention_days
        self.now = now
        self.found: dict[str, dict[str, Any]] = {}

    def problems(self, category: str, lines: list[bytes]) -> list[dict[str, Any]]:
        self.found[category] = head_of(lines)
        if self.known is None:
            return []
        known = self.known.get(category) or {'lines': 0, 'sha256': '0' * 64}
        return head_problems(lines, parse_manifest(lines)[0], known, self.retention_days, self.now)

    def known_head(self, category: str) -> str:
        """What the chain was held to beyond its own state.json: 'extended' (the head recorded off the host), 'none recorded'
        (heads were given, none for this category: every remove line checked), 'not given' (no heads given)."""
        if self.known is None:
            return 'not given'
        return 'extended' if self.known.get(category) else 'none recorded'


def _checked_records(cat_dir: str, category: str, heads: HeadCheck | None = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(manifest records, state) of a folder whose chain holds and which no write is pending in (under its shared lock)."""
    if lexists_in(cat_dir, PENDING):
        raise ArchiveError('%s holds an interrupted write: run opswat.itot.itot_archive (state=present) on this host '
                           'to complete it before reporting' % cat_dir)
    lines = read_manifest(cat_dir)
    state, state_exists = load_state(cat_dir, category)
    problems = chain_problems(lines, state if state_exists else None)
    problems = problems or (heads.problems(category, lines) if heads is not None else [])
    if problems:
        raise verify_error(cat_dir, problems)
    return parse_manifest(lines)[0], state


def _read_checked(cat_dir: str, name: str, record: dict[str, Any]) -> bytes:
    """An archive file's bytes (no link followed), once its sha256 is the manifest's."""
    path = os.path.join(cat_dir, name)
    try:
        with open_read(cat_dir, name) as stream:
            raw = stream.read()
    except OSError as exc:
        raise ArchiveError('cannot read archive file %s: %s' % (path, exc.strerror or exc)) from exc
    actual = hashlib.sha256(raw).hexdigest()
    if actual != record.get('sha256'):
        raise ArchiveError('archive file %s does not match the manifest (sha256 %s, the manifest says %s): '
                           'it was modified after it was written' % (path, actual, record.get('sha256')))
    return raw


def _in_period(raw: bytes, start_ms: int, end_ms: int) -> list[tuple[int, Any, int]]:
    """(time, entry, line number) of the file's entries in the period."""
    timed = [(entry_time_ms(entry), entry, number) for number, entry in parse_archive_lines(raw)]
    return [item for item in timed if item[0] is not None and start_ms <= item[0] <= end_ms]


def read_period(root: str, category: str, start_ms: int, end_ms: int, lock_timeout: float = 300,
                heads: HeadCheck | None = None) -> tuple[list[Timed], int, int]:
    """((time, entry) in the period, oldest first; files read; undated entries held) for one category."""
    located, files_read, undated, _facts = read_category(root, category, start_ms, end_ms, lock_timeout, heads)
    return [(moment, entry) for moment, entry, _where in located], files_read, undated


def read_category(root: str, category: str, start_ms: int, end_ms: int, lock_timeout: float = 300,
                  heads: HeadCheck | None = None) -> tuple[list[Located], int, int, ArchiveFacts]:
    """read_period's answer, each entry with where it is (file relative to root, line), and what the folder records
    about its coverage (_report_coverage.ArchiveFacts).

    Holds the folder's shared lock so that a writer's half-done transaction is never seen.
    """
    cat_dir = category_dir(root, category)
    if not os.path.isdir(cat_dir):
        problems = heads.problems(category, []) if heads is not None else []
        if problems:
            raise verify_error(cat_dir, problems)
        return [], 0, 0, ArchiveFacts()
    found: list[tuple[int, int, Any, tuple[str, int]]] = []
    files_read = 0
    undated = 0
    with ArchiveLock(cat_dir, exclusive=False, timeout=lock_timeout):
        records, state = _checked_records(cat_dir, category, heads)
        for name, record in live_files(records)[0].items():
            first = parse_time_ms(record.get('first'))
            last = parse_time_ms(record.get('last'))
            if first is None or last is None:
                undated += int(record.get('entries') or 0)
                continue
            if last < start_ms or first > end_ms:
                continue
            raw = _read_checked(cat_dir, name, record)
            files_read += 1
            for moment, entry, line in _in_period(raw, start_ms, end_ms):
                found.append((moment, len(found), entry, ('%s/%s' % (category, name), line)))
    found.sort(key=lambda item: (item[0], item[1]))
    return [(item[0], item[2], item[3]) for item in found], files_read, undated, facts_of(state, records)


# --- analysing it ---------------------------------------------------------------------------------------------

def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _response_code(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _CODE_RE.match(value):
        return int(value)
    return None


def _event_name(entry: Any) -> str:
    event = entry.get('event') if isinstance(entry, dict) else None
    return '(none)' if event is None or event == '' else str(event)


def _dicts(items: list[Timed]) -> list[Timed]:
    return [(moment, entry) for moment, entry in items if isinstance(entry, dict)]


def _counts(entries_by_category: dict[str, list[Timed]]) -> dict[str, Any]:
    counts = {}
    for category, items in entries_by_category.items():
        events = Counter(_event_name(entry) for _moment, entry in items)
        counts[category] = {'total': len(items), 'events': dict(sorted(events.items()))}
    return counts


def _went_noncompliant(devices: dict[str, dict[str, Any]], moment: int, entry: dict[str, Any]) -> None:
    key = device_key(entry)
    device = devices.get(key)
    if device is None:
        device = devices[key] = {'device_id': _text(entry.get('device_id')), 'device_name': _text(entry.get('device_name')),
                                 'first_noncompliant': format_iso(moment), 'noncompliant_events': 0}
    device['noncompliant_events'] += 1
    device['last_noncompliant_ms'] = moment
    device['back_to_compliant'] = False
    device['compliant_at'] = None
    if entry.get('device_name'):
        device['device_name'] = _text(entry.get('device_name'))


def _device_findings(items: list[Timed]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(devices that went non-compliant, in the order they first did; deleted_user events, oldest first)."""
    devices: dict[str, dict[str, Any]] = {}
    deleted_user = []
    for moment, entry in _dicts(items):
        event = entry.get('event')
        key = device_key(entry)
        if event == 'noncompliant':
            _went_noncompliant(devices, moment, entry)
        elif event == 'compliant' and key in devices and not devices[key]['back_to_compliant']:
            devices[key]['back_to_compliant'] = True
            devices[key]['compliant_at'] = format_iso(moment)
        elif event == 'deleted_user':
            deleted_user.append({'device_id': _text(entry.get('device_id')), 'device_name': _text(entry.get('device_name')),
                                 'device_username': _text(entry.get('device_username')), 'time': format_iso(moment)})
    noncompliant = []
    for device in devices.values():
        device.pop('last_noncompliant_ms')
        noncompliant.append(device)
    return noncompliant, deleted_user


def _failed_auth(items: list[Timed]) -> list[dict[str, Any]]:
    """Per admin, the failed_auth events: most first."""
    admins: dict[tuple[str | None, str | None], dict[str, Any]] = {}
    for moment, entry in _dicts(items):
        if entry.get('event') == 'failed_auth':
            key = (_text(entry.get('admin_name')), _text(entry.get('admin_email')))
            admin = admins.setdefault(key, {'admin_name': key[0], 'admin_email': key[1], 'count': 0, 'first': format_iso(moment)})
            admin['count'] += 1
            admin['last'] = format_iso(moment)
    return sorted(admins.values(), key=lambda item: (-item['count'], item['admin_name'] or '', item['admin_email'] or ''))


def _webhook_findings(items: list[Timed]) -> tuple[int, dict[str, Any]]:
    """(status_changed_to_non_compliant events, the webhook errors: total, by code, events)."""
    by_code: Counter = Counter()
    errors = []
    noncompliant = 0
    for moment, entry in _dicts(items):
        if entry.get('event') == 'status_changed_to_non_compliant':
            noncompliant += 1
        code = _response_code(entry.get('response_code'))
        if code is not None and code >= 400:
            by_code[str(code)] += 1
            errors.append({'device_id': _text(entry.get('device_id')), 'device_name': _text(entry.get('device_name')),
                           'time': format_iso(moment), 'code': code, 'event': _text(entry.get('event'))})
    return noncompliant, {'total': len(errors), 'by_code': dict(sorted(by_code.items())), 'events': errors}


def _per_day(entries_by_category: dict[str, list[Timed]]) -> dict[str, Any]:
    """Per category, the entries of each UTC day (YYYY-MM-DD) that has any, oldest day first."""
    return dict((category, dict(sorted(Counter(format_iso(moment)[:10] for moment, _entry in items).items())))
                for category, items in entries_by_category.items())


def analyse(entries_by_category: dict[str, list[Timed]]) -> dict[str, Any]:
    """Counts and findings from the period's entries of each category (each list oldest first)."""
    noncompliant, deleted_user = _device_findings(entries_by_category.get('device', []))
    failed_auth = _failed_auth(entries_by_category.get('admin', []))
    webhook_noncompliant, webhook_errors = _webhook_findings(entries_by_category.get('webhook', []))
    return {
        'counts': _counts(entries_by_category),
        'entries_per_day': _per_day(entries_by_category),
        'summary': {
            'failed_auth': sum(item['count'] for item in failed_auth),
            'noncompliant_devices': len(noncompliant),
            'deleted_user': len(set(device_key(item) for item in deleted_user)),
            'webhook_errors': webhook_errors['total'],
        },
        'noncompliant_devices': noncompliant,
        'webhook_noncompliant_events': webhook_noncompliant,
        'failed_auth': failed_auth,
        'deleted_user_devices': deleted_user,
        'webhook_errors': webhook_errors,
    }


def _verification(heads: HeadCheck, category: str, files_checked: int) -> dict[str, Any]:
    """What was checked of a category before its entries were counted (a report is only written when all of it held)."""
    return {'chain': 'holds' if heads.found[category]['lines'] else 'empty', 'files_checked': files_checked,
            'known_head': heads.known_head(category)}


def check_request(categories: list[str], start_ms: int, end_ms: int) -> list[str]:
    """The categories, each once in the order given; ArchiveError naming the option when they or the period are wrong."""
    if start_ms > end_ms:
        raise ArchiveError('period_start_ms (%d) must not be after period_end_ms (%d)' % (start_ms, end_ms))
    categories = list(dict.fromkeys(categories))  # each once, in the order given
    for category in categories:
        if category not in CATEGORIES:
            raise ArchiveError('categories must be among %s, got %r' % (allowed(CATEGORIES), category))
    return categories


def build_report(root: str, categories: list[str], start_ms: int, end_ms: int, generated_ms: int,
                 lock_timeout: float = 300, heads: HeadCheck | None = None, until: dict[str, int] | None = None,
                 rules: list[Rule] | None = None) -> dict[str, Any]:
    """The report over [start_ms, end_ms] (both included) of the archive under root.

    heads: the heads recorded off the host that each chain must extend; the heads read go into the report.
    until: per category, how far the archive has been read (epoch ms); a category without one: up to its newest entry.
    rules: the audit's rules (checked, _report_rules.check_rules), evaluated over the same entries as the figures.
    """
    heads = heads if heads is not None else HeadCheck()
    categories = check_request(categories, start_ms, end_ms)
    located: dict[str, list[Located]] = {}
    files_read = {}
    undated = {}
    coverage = {}
    for category in categories:
        read = read_category(root, category, start_ms, end_ms, lock_timeout, heads)
        located[category], files_read[category], undated[category], facts = read
        coverage[category] = category_coverage(facts, start_ms, end_ms, (until or {}).get(category))
    report = {
        'generated': format_iso(generated_ms),
        'archive': root,
        'period': {'start': format_iso(start_ms), 'end': format_iso(end_ms), 'start_ms': start_ms, 'end_ms': end_ms},
        'categories': list(categories),
        'entries_total': sum(len(items) for items in located.values()),
        'files_read': sum(files_read.values()),
        'undated_entries': undated,
        'heads': dict((category, heads.found[category]) for category in categories),
        'verification': dict((category, _verification(heads, category, files_read[category])) for category in categories),
        'covered': is_covered(coverage),
        'coverage': coverage,
    }
    report.update(analyse(dict((category, [(moment, entry) for moment, entry, _where in items]) for category, items in located.items())))
    report['rules'] = evaluate_rules(rules or [], located, end_ms)
    return report
