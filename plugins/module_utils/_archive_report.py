# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The compliance report over a host's log archive (audit playbook); for internal collection use only.

Reads the live archive files of each category (per the manifest, each file's sha256 checked before use) whose
[first, last] overlaps the period, keeps the entries whose time is inside the period, and summarises them.
"""

from __future__ import annotations

import hashlib
import json
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
from ansible_collections.opswat.itot.plugins.module_utils._archive_fs import (
    PENDING,
    ArchiveLock,
    AttrSetter,
    atomic_write,
    category_dir,
    make_dirs,
    os_reason,
    parse_archive_bytes,
)
from ansible_collections.opswat.itot.plugins.module_utils._archive_verify import verify_error
from ansible_collections.opswat.itot.plugins.module_utils._entries import entry_time_ms
from ansible_collections.opswat.itot.plugins.module_utils._errors import ArchiveError
from ansible_collections.opswat.itot.plugins.module_utils._timeparse import format_iso, parse_time_ms
from ansible_collections.opswat.itot.plugins.module_utils._vocabulary import CATEGORIES, DAY_MS, allowed

NAME_TIME_RE = re.compile(r'^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$')
_CODE_RE = re.compile(r'^\s*\+?[0-9]+\s*$')


def parse_name_time(value: str) -> int:
    """Epoch ms of a ``YYYYMMDDTHHMMSSZ`` stamp; ArchiveError naming ``name_time`` otherwise."""
    match = NAME_TIME_RE.match(value or '')
    moment = parse_time_ms('%s-%s-%sT%s:%s:%sZ' % match.groups()) if match else None
    if moment is None:
        raise ArchiveError('name_time must look like 20261129T070000Z (UTC, seconds), got %r' % (value,))
    return moment


def read_period(root: str, category: str, start_ms: int, end_ms: int, lock_timeout: float = 300) -> tuple[list[tuple[int, Any]], int, int]:
    """((time, entry) in the period, oldest first; files read; undated entries held) for one category.

    Holds the folder's shared lock so that a writer's half-done transaction is never seen.
    """
    cat_dir = category_dir(root, category)
    if not os.path.isdir(cat_dir):
        return [], 0, 0
    found = []  # type: List[Tuple[int, int, Any]]
    files_read = 0
    undated = 0
    with ArchiveLock(cat_dir, exclusive=False, timeout=lock_timeout):
        if os.path.exists(os.path.join(cat_dir, PENDING)):
            raise ArchiveError('%s holds an interrupted write: run opswat.itot.itot_archive (state=present) on this host '
                               'to complete it before reporting' % cat_dir)
        lines = read_manifest(cat_dir)
        state, state_exists = load_state(cat_dir, category)
        problems = chain_problems(lines, state if state_exists else None)
        if problems:
            raise verify_error(cat_dir, problems)
        live = live_files(parse_manifest(lines)[0])[0]
        for name, record in live.items():
            first = parse_time_ms(record.get('first'))
            last = parse_time_ms(record.get('last'))
            if first is None or last is None:
                undated += int(record.get('entries') or 0)
                continue
            if last < start_ms or first > end_ms:
                continue
            path = os.path.join(cat_dir, name)
            try:
                with open(path, 'rb') as stream:
                    raw = stream.read()
            except OSError as exc:
                raise ArchiveError('cannot read archive file %s: %s' % (path, exc.strerror or exc)) from exc
            actual = hashlib.sha256(raw).hexdigest()
            if actual != record.get('sha256'):
                raise ArchiveError('archive file %s does not match the manifest (sha256 %s, the manifest says %s): '
                                   'it was modified after it was written' % (path, actual, record.get('sha256')))
            files_read += 1
            for entry in parse_archive_bytes(raw):
                moment = entry_time_ms(entry)
                if moment is not None and start_ms <= moment <= end_ms:
                    found.append((moment, len(found), entry))
    found.sort(key=lambda item: (item[0], item[1]))
    return [(item[0], item[2]) for item in found], files_read, undated


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


def _device_key(entry: dict[str, Any]) -> str:
    return str(entry.get('device_id') or entry.get('device_name') or '(unknown device)')


def analyse(entries_by_category: dict[str, list[tuple[int, Any]]]) -> dict[str, Any]:
    """Counts and findings from the period's entries of each category (each list oldest first)."""
    counts = {}
    for category, items in entries_by_category.items():
        events = Counter(_event_name(entry) for _moment, entry in items)
        counts[category] = {'total': len(items), 'events': dict(sorted(events.items()))}

    devices = {}  # type: Dict[str, Dict[str, Any]]
    deleted_user = []
    for moment, entry in entries_by_category.get('device', []):
        if not isinstance(entry, dict):
            continue
        event = entry.get('event')
        key = _device_key(entry)
        if event == 'noncompliant':
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

    admins = {}  # type: Dict[Tuple[Optional[str], Optional[str]], Dict[str, Any]]
    for moment, entry in entries_by_category.get('admin', []):
        if isinstance(entry, dict) and entry.get('event') == 'failed_auth':
            key = (_text(entry.get('admin_name')), _text(entry.get('admin_email')))
            admin = admins.setdefault(key, {'admin_name': key[0], 'admin_email': key[1], 'count': 0, 'first': format_iso(moment)})
            admin['count'] += 1
            admin['last'] = format_iso(moment)
    failed_auth = sorted(admins.values(), key=lambda item: (-item['count'], item['admin_name'] or '', item['admin_email'] or ''))

    by_code = Counter()  # type: Counter
    webhook_errors = []
    webhook_noncompliant = 0
    for moment, entry in entries_by_category.get('webhook', []):
        if not isinstance(entry, dict):
            continue
        if entry.get('event') == 'status_changed_to_non_compliant':
            webhook_noncompliant += 1
        code = _response_code(entry.get('response_code'))
        if code is not None and code >= 400:
            by_code[str(code)] += 1
            webhook_errors.append({'device_id': _text(entry.get('device_id')), 'device_name': _text(entry.get('device_name')),
                                   'time': format_iso(moment), 'code': code, 'event': _text(entry.get('event'))})

    return {
        'counts': counts,
        'summary': {
            'failed_auth': sum(item['count'] for item in failed_auth),
            'noncompliant_devices': len(noncompliant),
            'deleted_user': len(set(_device_key(item) for item in deleted_user)),
            'webhook_errors': len(webhook_errors),
        },
        'noncompliant_devices': noncompliant,
        'webhook_noncompliant_events': webhook_noncompliant,
        'failed_auth': failed_auth,
        'deleted_user_devices': deleted_user,
        'webhook_errors': {'total': len(webhook_errors), 'by_code': dict(sorted(by_code.items())), 'events': webhook_errors},
    }


def build_report(root: str, categories: list[str], start_ms: int, end_ms: int, generated_ms: int,
                 lock_timeout: float = 300) -> dict[str, Any]:
    """The report over [start_ms, end_ms] (both included) of the archive under root."""
    if start_ms > end_ms:
        raise ArchiveError('period_start_ms (%d) must not be after period_end_ms (%d)' % (start_ms, end_ms))
    categories = list(dict.fromkeys(categories))  # each once, in the order given
    for category in categories:
        if category not in CATEGORIES:
            raise ArchiveError('categories must be among %s, got %r' % (allowed(CATEGORIES), category))
    by_category = {}
    files_read = 0
    undated = {}
    for category in categories:
        items, read, held = read_period(root, category, start_ms, end_ms, lock_timeout)
        by_category[category] = items
        files_read += read
        undated[category] = held
    report = {
        'generated': format_iso(generated_ms),
        'archive': root,
        'period': {'start': format_iso(start_ms), 'end': format_iso(end_ms), 'start_ms': start_ms, 'end_ms': end_ms},
        'categories': list(categories),
        'entries_total': sum(len(items) for items in by_category.values()),
        'files_read': files_read,
        'undated_entries': undated,
    }
    report.update(analyse(by_category))
    return report


# --- Markdown -----------------------------------------------------------------------------------------------

def _cell(value: Any) -> str:
    if value is None or value == '':
        return '-'
    if value is True:
        return 'yes'
    if value is False:
        return 'no'
    return str(value).replace('\\', '\\\\').replace('|', '\\|').replace('\r', ' ').replace('\n', ' ')


def _table(headers: list[str], rows: list[list[Any]], empty: str) -> list[str]:
    if not rows:
        return ['_%s_' % empty, '']
    lines = ['| %s |' % ' | '.join(headers), '|%s|' % '|'.join('---' for _header in headers)]
    lines.extend('| %s |' % ' | '.join(_cell(value) for value in row) for row in rows)
    return lines + ['']


def render_markdown(report: dict[str, Any]) -> str:
    """The report as Markdown tables a person can read at a glance."""
    summary = report['summary']
    period = report['period']
    lines = ['# IT-OT Access audit report', '']
    lines += _table(['report', ''], [
        ['Period (UTC)', '%s to %s' % (period['start'], period['end'])],
        ['Generated', report['generated']],
        ['Archive', report['archive']],
        ['Categories', ', '.join(report['categories'])],
        ['Entries in the period', report['entries_total']],
        ['Archive files read', report['files_read']],
    ], '')
    lines += ['## Summary', '']
    lines += _table(['check', 'count'], [
        ['Failed admin logins (`failed_auth`)', summary['failed_auth']],
        ['Devices that went non-compliant', summary['noncompliant_devices']],
        ['Devices whose agent a local user removed (`deleted_user`)', summary['deleted_user']],
        ['Webhook calls answered with an error (HTTP >= 400)', summary['webhook_errors']],
        ['Webhook `status_changed_to_non_compliant` events', report['webhook_noncompliant_events']],
    ], '')
    lines += ['## Events per category', '']
    rows = []
    for category, count in report['counts'].items():
        rows.append(['**%s**' % category, '**all**', '**%d**' % count['total']])
        rows.extend([category, event, number] for event, number in count['events'].items())
    lines += _table(['category', 'event', 'count'], rows, 'no categories')
    lines += ['## Devices that went non-compliant', '']
    lines += _table(['device id', 'device name', 'first non-compliant', 'non-compliant events', 'back to compliant', 'compliant at'],
                    [[item['device_id'], item['device_name'], item['first_noncompliant'], item['noncompliant_events'],
                      item['back_to_compliant'], item['compliant_at']] for item in report['noncompliant_devices']],
                    'none in the period')
    lines += ['## Failed admin logins', '']
    lines += _table(['admin', 'email', 'count', 'first', 'last'],
                    [[item['admin_name'], item['admin_email'], item['count'], item['first'], item['last']] for item in report['failed_auth']],
                    'none in the period')
    lines += ['## Devices whose agent a local user removed', '']
    lines += _table(['device id', 'device name', 'user', 'time'],
                    [[item['device_id'], item['device_name'], item['device_username'], item['time']] for item in report['deleted_user_devices']],
                    'none in the period')
    lines += ['## Webhook errors', '']
    errors = report['webhook_errors']
    lines += _table(['HTTP code', 'count'], [[code, number] for code, number in errors['by_code'].items()], 'none in the period')
    if errors['events']:
        lines += _table(['time', 'device id', 'device name', 'event', 'HTTP code'],
                        [[item['time'], item['device_id'], item['device_name'], item['event'], item['code']] for item in errors['events']], '')
    undated = sum(report['undated_entries'].values())
    if undated:
        lines += ['_%d archived %s a time that cannot be read; not counted here._'
                  % (undated, 'entry has' if undated == 1 else 'entries have'), '']
    return '\n'.join(lines).rstrip('\n') + '\n'


def report_paths(dest: str, stamp: str) -> tuple[str, str]:
    base = os.path.join(dest, 'audit-%s' % stamp)
    return base + '.json', base + '.md'


def write_report(dest: str, stamp: str, report: dict[str, Any], apply_attrs: AttrSetter, check_mode: bool) -> tuple[bool, str, str]:
    """(changed, json path, markdown path): both files written atomically unless they already hold the same bytes."""
    json_path, markdown_path = report_paths(dest, stamp)
    wanted = [(json_path, (json.dumps(report, indent=2, ensure_ascii=False) + '\n').encode('utf-8')),
              (markdown_path, render_markdown(report).encode('utf-8'))]
    changed = False
    if not os.path.isdir(dest):
        if check_mode:
            return True, json_path, markdown_path
        changed = make_dirs(dest, apply_attrs)
    changed = apply_attrs(dest, True) or changed
    for path, data in wanted:
        try:
            with open(path, 'rb') as stream:
                same = stream.read() == data
        except OSError:
            same = False
        if same:
            changed = apply_attrs(path, False) or changed
            continue
        changed = True
        if not check_mode:
            try:
                atomic_write(path, data, apply_attrs)
            except OSError as exc:
                raise ArchiveError('cannot write the report %s: %s; no partial report was left' % (path, os_reason(exc))) from exc
    return changed, json_path, markdown_path


def default_period(start_ms: int | None, end_ms: int | None, now: int) -> tuple[int, int]:
    end = now if end_ms is None else end_ms
    return (end - DAY_MS if start_ms is None else start_ms), end
