# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The compliance report on disk: Markdown tables a person reads, and the JSON, Markdown, HTML and JUnit files written atomically.

For internal collection use only.  The report's content is _report_analysis.py's job; its HTML page _report_html.py's.
"""

from __future__ import annotations

import json
import os
from typing import Any

from ansible_collections.opswat.itot.plugins.module_utils._archive_attrs import AttrSetter, guarded_attrs
from ansible_collections.opswat.itot.plugins.module_utils._archive_fs import atomic_write_in, make_dirs, os_reason, read_bytes
from ansible_collections.opswat.itot.plugins.module_utils._errors import ArchiveError
from ansible_collections.opswat.itot.plugins.module_utils._report_html import cell_word, render_html
from ansible_collections.opswat.itot.plugins.module_utils._report_junit import render_junit


def _cell(value: Any) -> str:
    word = cell_word(value)
    if word is not None:
        return word
    return str(value).replace('\\', '\\\\').replace('|', '\\|').replace('\r', ' ').replace('\n', ' ')


def _table(headers: list[str], rows: list[list[Any]], empty: str) -> list[str]:
    if not rows:
        return ['_%s_' % empty, '']
    lines = ['| %s |' % ' | '.join(headers), '|%s|' % '|'.join('---' for _header in headers)]
    lines.extend('| %s |' % ' | '.join(_cell(value) for value in row) for row in rows)
    return lines + ['']


def _tagged(tenants: bool, headers: list[str], rows: list[list[Any]], items: list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    """Headers and rows with a leading tenant column when the table is the total of several tenants."""
    if not tenants:
        return headers, rows
    return ['tenant'] + headers, [[item.get('tenant')] + row for item, row in zip(items, rows)]


def _summary(report: dict[str, Any], level: str) -> list[str]:
    summary = report['summary']
    lines = ['%s Summary' % level, '']
    lines += _table(['check', 'count'], [
        ['Failed admin logins (`failed_auth`)', summary['failed_auth']],
        ['Devices that went non-compliant', summary['noncompliant_devices']],
        ['Devices whose agent a local user removed (distinct devices with a `deleted_user` event)', summary['deleted_user']],
        ['Webhook calls answered with an error (HTTP >= 400)', summary['webhook_errors']],
        ['Webhook `status_changed_to_non_compliant` events', report['webhook_noncompliant_events']],
    ], '')
    lines += ['%s Events per category' % level, '']
    rows = []
    for category, count in report['counts'].items():
        rows.append(['**%s**' % category, '**all**', '**%d**' % count['total']])
        rows.extend([category, event, number] for event, number in count['events'].items())
    return lines + _table(['category', 'event', 'count'], rows, 'no categories')


def _findings(report: dict[str, Any], level: str, tenants: bool) -> list[str]:
    lines = ['%s Devices that went non-compliant' % level, '']
    items = report['noncompliant_devices']
    lines += _table(*_tagged(tenants, ['device id', 'device name', 'first non-compliant', 'non-compliant events', 'back to compliant',
                                       'compliant at'],
                             [[item['device_id'], item['device_name'], item['first_noncompliant'], item['noncompliant_events'],
                               item['back_to_compliant'], item['compliant_at']] for item in items], items),
                    'none in the period')
    lines += ['%s Failed admin logins' % level, '']
    items = report['failed_auth']
    lines += _table(*_tagged(tenants, ['admin', 'email', 'count', 'first', 'last'],
                             [[item['admin_name'], item['admin_email'], item['count'], item['first'], item['last']] for item in items], items),
                    'none in the period')
    lines += ['%s Agents a local user removed (`deleted_user` events)' % level, '']
    items = report['deleted_user_devices']
    lines += _table(*_tagged(tenants, ['device id', 'device name', 'user', 'time'],
                             [[item['device_id'], item['device_name'], item['device_username'], item['time']] for item in items], items),
                    'none in the period')
    return lines


def _webhook_and_heads(report: dict[str, Any], level: str, tenants: bool) -> list[str]:
    lines = ['%s Webhook errors' % level, '']
    errors = report['webhook_errors']
    lines += _table(['HTTP code', 'count'], [[code, number] for code, number in errors['by_code'].items()], 'none in the period')
    if errors['events']:
        items = errors['events']
        lines += _table(*_tagged(tenants, ['time', 'device id', 'device name', 'event', 'HTTP code'],
                                 [[item['time'], item['device_id'], item['device_name'], item['event'], item['code']] for item in items], items),
                        '')
    lines += ['%s Chain heads' % level, '']
    lines += _table(['tenant/category' if tenants else 'category', 'manifest lines', 'sha256 of the last line'],
                    [[category, head['lines'], '`%s`' % head['sha256']] for category, head in report.get('heads', {}).items()],
                    'no categories')
    undated = sum(report['undated_entries'].values())
    if undated:
        lines += ['_%d archived %s a time that cannot be read; not counted here._'
                  % (undated, 'entry has' if undated == 1 else 'entries have'), '']
    return lines


def _coverage(report: dict[str, Any], level: str, tenants: bool) -> list[str]:
    """Per category (tenant/category in the total) how far the archive covers the period, then every gap."""
    coverage = report.get('coverage')
    if coverage is None:
        return []
    key = 'tenant/category' if tenants else 'category'
    lines = ['%s Coverage' % level, '']
    lines += _table([key, 'covered from', 'covered until', 'basis'],
                    [[name, item['from'], item['until'], item['basis']] for name, item in coverage.items()], 'no categories')
    gaps = [[name, gap['start'], gap['end'], gap['reason']] for name, item in coverage.items() for gap in item['gaps']]
    if not gaps:
        return lines + ['_The archive covers the whole period._', '']
    return lines + ['**Gaps: parts of the period the archive does not cover (their entries are not counted):**', ''] + _table(
        [key, 'gap from', 'gap to', 'reason'], gaps, '')


def _rules(report: dict[str, Any], level: str, tenants: bool) -> list[str]:
    """A row per rule, then per violation its message and the entries that make it up (time, event, file and line)."""
    rules = report.get('rules')
    if rules is None:
        return []
    lines = ['%s Rules' % level, '']
    lines += _table(*_tagged(tenants, ['rule', 'severity', 'what it measures', 'max', 'unit', 'entries checked', 'result', 'violations'],
                             [[item['name'], item['severity'], item['description'], item['max'], item['unit'], item['entries_checked'],
                               'passed' if item['passed'] else '**FAILED**', len(item['violations'])] for item in rules], rules),
                    'no rules given')
    for item in rules:
        for violation in item['violations']:
            tenant = 'tenant %s, ' % item['tenant'] if tenants and item.get('tenant') else ''
            lines += ['**%s%s** (%s): %s' % (tenant, _cell(item['name']), item['severity'], _cell(violation['message'])), '']
            lines += _table(['time', 'event', 'archive file', 'line'],
                            [[entry['timestamp'], entry['event'], entry['file'], entry['line']] for entry in violation['entries']], '')
    return lines


def _body(report: dict[str, Any], level: str, tenants: bool = False) -> list[str]:
    """The sections of one archive's report (or of the total, with a tenant column), headings at ``level``."""
    return (_coverage(report, level, tenants) + _rules(report, level, tenants) + _summary(report, level) + _findings(report, level, tenants)
            + _webhook_and_heads(report, level, tenants))


def _warning(report: dict[str, Any]) -> list[str]:
    """The line at the top of a report over a period the archive does not cover all of."""
    if report.get('covered', True):
        return []
    return ['> **Warning: the archive does not cover all of the period.** The counts leave out the gaps listed under '
            'Coverage; they may be under-counts.', '']


def _about(report: dict[str, Any], tenants: dict[str, Any] | None) -> list[list[Any]]:
    period = report['period']
    rows = [['Period (UTC)', '%s to %s' % (period['start'], period['end'])], ['Generated', report['generated']], ['Archive', report['archive']]]
    if tenants:
        rows.append(['Tenants', ', '.join(tenants)])
    return rows + [['Categories', ', '.join(report['categories'])], ['Entries in the period', report['entries_total']],
                   ['Archive files read', report['files_read']]]


def render_markdown(report: dict[str, Any]) -> str:
    """The report as Markdown tables a person can read at a glance: with tenants, the total then a section per tenant."""
    tenants = report.get('tenants') if isinstance(report.get('tenants'), dict) else None
    lines = ['# IT-OT Access audit report', ''] + _warning(report)
    lines += _table(['report', ''], _about(report, tenants), '')
    if not tenants:
        lines += _body(report, '##')
        return '\n'.join(lines).rstrip('\n') + '\n'
    lines += ['## All tenants (total)', '']
    lines += _body(report, '###', tenants=True)
    for name, part in tenants.items():
        lines += ['## Tenant %s' % _cell(name), '']
        lines += _table(['tenant', ''], [['Archive', part['archive']], ['Entries in the period', part['entries_total']],
                                         ['Archive files read', part['files_read']]], '')
        lines += _body(part, '###')
    return '\n'.join(lines).rstrip('\n') + '\n'


def report_paths(dest: str, stamp: str) -> tuple[str, str, str, str]:
    """The JSON report, its Markdown and HTML twins, and the rules' JUnit XML results."""
    base = os.path.join(dest, 'audit-%s' % stamp)
    return base + '.json', base + '.md', base + '.html', base + '.junit.xml'


def _holds(dest: str, name: str, data: bytes) -> bool:
    """Whether dest/name is a regular file holding data (ArchiveError when a link or a special file is there)."""
    return read_bytes(dest, name) == data


def write_report(dest: str, stamp: str, report: dict[str, Any], apply_attrs: AttrSetter,
                 check_mode: bool) -> tuple[bool, str, str, str, str | None]:
    """(changed, json, markdown, html and junit paths): each file written atomically unless it already holds the same bytes.

    The JUnit file is written only when the report has rules; its path is None otherwise.

    ``dest`` (by default ``{dir}/reports``) may sit in a folder the archive's owner can write: a link planted at
    ``dest`` or at a report's name is refused (ArchiveError naming it), never written through or chowned.
    """
    json_path, markdown_path, html_path, junit_path = report_paths(dest, stamp)
    junit_path = junit_path if report.get('rules') else None
    wanted = [(json_path, (json.dumps(report, indent=2, ensure_ascii=False) + '\n').encode('utf-8')),
              (markdown_path, render_markdown(report).encode('utf-8')),
              (html_path, render_html(report).encode('utf-8'))]
    if report.get('rules'):  # the JUnit results exist when there is a rule to report on
        wanted.append((junit_path, render_junit(report).encode('utf-8')))
    changed = False
    if not os.path.lexists(dest):
        if check_mode:
            return True, json_path, markdown_path, html_path, junit_path
        changed = make_dirs(dest, apply_attrs)
    attrs = guarded_attrs(dest, apply_attrs)
    changed = attrs(dest, True) or changed
    # Every name is looked at before any is written: a link planted at any of them leaves no new file beside it.
    held = [_holds(dest, os.path.basename(path), data) for path, data in wanted]
    for (path, data), same in zip(wanted, held):
        name = os.path.basename(path)
        if same:
            changed = attrs(path, False) or changed
            continue
        changed = True
        if not check_mode:
            try:
                atomic_write_in(dest, name, data, attrs)
            except OSError as exc:
                raise ArchiveError('cannot write the report %s: %s; no partial report was left' % (path, os_reason(exc))) from exc
    return changed, json_path, markdown_path, html_path, junit_path
