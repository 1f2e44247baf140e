# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The compliance report as one self-contained HTML page an auditor opens offline: tables and inline SVG charts.

For internal collection use only.  Rendered from the report dict alone (_report_analysis.py's, the JSON's), so the
page shows the JSON's figures.  No script, no external asset, no remote font: inline CSS only.  Every text goes
through esc(); the markup is XHTML-compatible (every element closed, every attribute quoted) so a strict XML parser
reads it too.

Stable hooks for readers and tests: a section per report part (``id`` = its prefix: ``all`` for a single archive;
``total`` and ``tenant-1``, ``tenant-2``, ... with ``data-tenant`` when the dict has a ``tenants`` mapping), tables
``{prefix}-summary``, ``-per-day``, ``-counts``, ``-failed-auth``, ``-noncompliant``, ``-deleted-user``,
``-webhook-codes``, ``-webhook-errors``, ``-heads``, ``-rules`` (a row per rule, ``data-rule``, ``data-passed``),
``-violations`` (a row per violation, then a ``tr.evidence`` per entry), ``-coverage`` (a row per category, ``class="gap"`` when it has
gaps) and ``-coverage-gaps`` (a row per gap); rows carry ``data-*`` keys, figures sit in ``td.num``.  A report that
does not cover all of its period opens with ``p#coverage-warning``.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.opswat.itot.plugins.module_utils._report_svg import bar_chart, day_chart, esc

_CSS = """
body{font-family:sans-serif;margin:2em;color:#222;max-width:72em}
h1{font-size:1.6em}h2{font-size:1.3em;border-bottom:1px solid #ccc;margin-top:2em}h3{font-size:1.1em;margin-top:1.5em}
table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ccc;padding:.2em .6em;text-align:left;vertical-align:top}
th{background:#f2f2f2}td.num{text-align:right;font-variant-numeric:tabular-nums}tr.total td{font-weight:bold}
code{font-size:.85em;word-break:break-all}.empty,.note{color:#666;font-style:italic}
svg.chart{display:block;margin:.5em 0;font-size:11px}svg.chart text{fill:#333}.axis{stroke:#999}
.c0{fill:#4e79a7}.c1{fill:#f28e2b}.c2{fill:#59a14f}.c3{fill:#b07aa1}.c4{fill:#edc948}.c5{fill:#76b7b2}
.bad{fill:#d62728}.good{fill:#2ca02c}.warn{fill:#ff7f0e}
tr.gap td{background:#fde2e1}p.warning{border:2px solid #d62728;background:#fde2e1;padding:.5em;font-weight:bold}
"""

SUMMARY = [
    ('entries_total', 'Entries in the period'),
    ('failed_auth', 'Failed admin logins (failed_auth)'),
    ('noncompliant_devices', 'Devices that went non-compliant'),
    ('deleted_user', 'Devices whose agent a local user removed (distinct devices with a deleted_user event)'),
    ('webhook_errors', 'Webhook calls answered with an error (HTTP >= 400)'),
    ('webhook_noncompliant_events', 'Webhook status_changed_to_non_compliant events'),
]


def cell_word(value: Any) -> str | None:
    """How a report shows an empty value or a boolean in a table cell (Markdown and HTML alike), else None."""
    if value is None or value == '':
        return '-'
    if isinstance(value, bool):
        return 'yes' if value else 'no'
    return None


def _text(value: Any) -> str:
    word = cell_word(value)
    return esc(value) if word is None else word


def _td(value: Any, numeric: bool) -> str:
    return '<td class="num">%s</td>' % _text(value) if numeric else '<td>%s</td>' % _text(value)


def _row(cells: list[Any], attrs: str = '', numeric: tuple[int, ...] = ()) -> str:
    return '<tr%s>%s</tr>' % (attrs, ''.join(_td(cell, index in numeric) for index, cell in enumerate(cells)))


def _table(table_id: str, headers: list[str], rows: list[str], empty: str = 'None in the period.') -> str:
    if not rows:
        return '<p class="empty" id="%s">%s</p>' % (esc(table_id), esc(empty))
    head = ''.join('<th>%s</th>' % esc(header) for header in headers)
    return '<table id="%s"><thead><tr>%s</tr></thead><tbody>%s</tbody></table>' % (esc(table_id), head, ''.join(rows))


def _data(**attrs: Any) -> str:
    return ''.join(' data-%s="%s"' % (name.replace('_', '-'), esc(value)) for name, value in attrs.items())


def _summary(prefix: str, part: dict[str, Any]) -> str:
    summary = dict(part.get('summary') or {})
    for key in ('entries_total', 'webhook_noncompliant_events'):
        if key in part:
            summary[key] = part[key]
    rows = ['<tr%s><th>%s</th><td class="num">%s</td></tr>' % (_data(key=key), esc(title), _text(summary[key]))
            for key, title in SUMMARY if key in summary]
    return '<h3>Summary</h3>' + _table(prefix + '-summary', ['check', 'count'], rows, 'No summary.')


def _per_day(prefix: str, part: dict[str, Any]) -> str:
    per_day = part.get('entries_per_day')
    if per_day is None:
        return ''
    categories = list(per_day)
    days = sorted(set(day for counts in per_day.values() for day in counts))
    rows = ['<tr%s><td>%s</td>%s</tr>' % (_data(day=day), esc(day), ''.join(
        '<td class="num"%s>%d</td>' % (_data(category=category), per_day[category].get(day, 0)) for category in categories)) for day in days]
    return ('<h3>Entries per day (UTC) per category</h3>' + day_chart(per_day)
            + _table(prefix + '-per-day', ['day'] + categories, rows, 'No entries in the period.'))


def _counts(prefix: str, part: dict[str, Any]) -> str:
    rows = []
    for category, count in (part.get('counts') or {}).items():
        rows.append(_row([category, 'all', count.get('total')], ' class="total"' + _data(category=category), (2,)))
        rows.extend(_row([category, event, number], _data(category=category, event=event), (2,)) for event, number in count.get('events', {}).items())
    return '<h3>Events per category</h3>' + _table(prefix + '-counts', ['category', 'event', 'count'], rows, 'No categories.')


def _failed_auth(prefix: str, part: dict[str, Any]) -> str:
    admins = part.get('failed_auth')
    if admins is None:
        return ''
    rows = [_row([item.get('admin_name'), item.get('admin_email'), item.get('count'), item.get('first'), item.get('last')], '', (2,))
            for item in admins]
    chart = bar_chart([('%s <%s>' % (item.get('admin_name') or '-', item.get('admin_email') or '-'), item.get('count') or 0, 'warn')
                       for item in admins], 'Failed admin logins per admin')
    return '<h3>Failed admin logins per admin</h3>' + chart + _table(prefix + '-failed-auth', ['admin', 'email', 'count', 'first', 'last'], rows)


def _noncompliant(prefix: str, part: dict[str, Any]) -> str:
    devices = part.get('noncompliant_devices')
    if devices is None:
        return ''
    rows = [_row([item.get('device_id'), item.get('device_name'), item.get('first_noncompliant'), item.get('noncompliant_events'),
                  item.get('back_to_compliant'), item.get('compliant_at')], _data(back='yes' if item.get('back_to_compliant') else 'no'), (3,))
            for item in devices]
    chart = bar_chart([('%s (%s)' % (item.get('device_name') or '-', item.get('device_id') or '-'), item.get('noncompliant_events') or 0,
                        'good' if item.get('back_to_compliant') else 'bad') for item in devices],
                      'Non-compliant events per device: green came back to compliant, red did not')
    legend = '<p class="note">Bars: non-compliant events per device; green came back to compliant in the period, red did not.</p>'
    return ('<h3>Devices that went non-compliant</h3>' + (legend + chart if devices else '')
            + _table(prefix + '-noncompliant', ['device id', 'device name', 'first non-compliant', 'non-compliant events',
                                                'back to compliant', 'compliant at'], rows))


def _deleted_user(prefix: str, part: dict[str, Any]) -> str:
    events = part.get('deleted_user_devices')
    if events is None:
        return ''
    rows = [_row([item.get('device_id'), item.get('device_name'), item.get('device_username'), item.get('time')]) for item in events]
    return '<h3>Agents a local user removed (deleted_user events)</h3>' + _table(prefix + '-deleted-user', ['device id', 'device name', 'user', 'time'], rows)


def _webhook(prefix: str, part: dict[str, Any]) -> str:
    errors = part.get('webhook_errors')
    if errors is None:
        return ''
    codes = [_row([code, number], _data(code=code), (1,)) for code, number in (errors.get('by_code') or {}).items()]
    events = [_row([item.get('time'), item.get('device_id'), item.get('device_name'), item.get('event'), item.get('code')], '', (4,))
              for item in errors.get('events') or []]
    return ('<h3>Webhook errors</h3>' + _table(prefix + '-webhook-codes', ['HTTP code', 'count'], codes)
            + (_table(prefix + '-webhook-errors', ['time', 'device id', 'device name', 'event', 'HTTP code'], events) if events else ''))


def _heads(prefix: str, part: dict[str, Any]) -> str:
    heads = part.get('heads')
    if heads is None:
        return ''
    checked = part.get('verification') or {}
    rows = [_row([category, head.get('lines'), head.get('sha256'), checked.get(category, {}).get('chain'),
                  checked.get(category, {}).get('files_checked'), checked.get(category, {}).get('known_head')],
                 _data(category=category), (1, 4)) for category, head in heads.items()]
    undated = sum((part.get('undated_entries') or {}).values())
    note = ('<p class="note">%d archived %s a time that cannot be read; not counted here.</p>'
            % (undated, 'entry has' if undated == 1 else 'entries have')) if undated else ''
    return ('<h3>Chain heads and verification</h3><p class="note">A report is written only when every chain held: the manifest '
            'against state.json, each file read against its sha256 and, where given, the head recorded off the host.</p>'
            + _table(prefix + '-heads', ['category', 'manifest lines', 'sha256 of the last line', 'chain', 'files checked', 'known head'],
                     rows, 'No categories.') + note)


def _coverage(prefix: str, part: dict[str, Any]) -> str:
    """Per category how far the archive covers the period (a row flagged ``gap`` when it does not), then every gap."""
    coverage = part.get('coverage')
    if coverage is None:
        return ''
    rows = [_row([category, item.get('from'), item.get('until'), item.get('basis'), len(item.get('gaps') or [])],
                 (' class="gap"' if item.get('gaps') else '') + _data(category=category, covered='no' if item.get('gaps') else 'yes'), (4,))
            for category, item in coverage.items()]
    gaps = [_row([category, gap.get('start'), gap.get('end'), gap.get('reason')], ' class="gap"' + _data(category=category))
            for category, item in coverage.items() for gap in item.get('gaps') or []]
    return ('<h3>Coverage of the period</h3>'
            + _table(prefix + '-coverage', ['category', 'covered from', 'covered until', 'basis', 'gaps'], rows, 'No categories.')
            + _table(prefix + '-coverage-gaps', ['category', 'gap from', 'gap to', 'reason'], gaps,
                     'The archive covers the whole period.'))


def _rule_row(item: dict[str, Any], tenant: list[Any]) -> str:
    passed = item.get('passed')
    cells = tenant + [item.get('name'), item.get('severity'), item.get('description'), item.get('max'), item.get('unit'),
                      item.get('entries_checked'), 'passed' if passed else 'FAILED', len(item.get('violations') or [])]
    attrs = (' class="gap"' if not passed else '') + _data(rule=item.get('name'), passed='yes' if passed else 'no')
    return _row(cells, attrs, tuple(index + len(tenant) for index in (3, 5, 7)))


def _violation_rows(item: dict[str, Any], violation: dict[str, Any], tenant: list[Any]) -> list[str]:
    cells = tenant + [item.get('name'), violation.get('group'), violation.get('value'), violation.get('max'), violation.get('message')]
    rows = [_row(cells, _data(rule=item.get('name')), tuple(index + len(tenant) for index in (2, 3)))]
    for entry in violation.get('entries') or []:
        where = '%s line %s' % (entry.get('file'), entry.get('line'))
        rows.append(_row([''] * len(tenant) + ['', '', entry.get('timestamp'), entry.get('event'), where], ' class="evidence"'))
    return rows


def _rules(prefix: str, part: dict[str, Any]) -> str:
    """A row per rule (``data-rule``, ``data-passed``), then a row per violation and a row per entry it names."""
    rules = part.get('rules')
    if rules is None:
        return ''
    tagged = any('tenant' in item for item in rules)
    head = ['tenant'] if tagged else []
    rows = [_rule_row(item, [item.get('tenant')] if tagged else []) for item in rules]
    found = [row for item in rules for violation in item.get('violations') or []
             for row in _violation_rows(item, violation, [item.get('tenant')] if tagged else [])]
    table = _table(prefix + '-rules', head + ['rule', 'severity', 'what it measures', 'max', 'unit', 'entries checked', 'result',
                                              'violations'], rows, 'No rules given.')
    if found:
        table += _table(prefix + '-violations', head + ['rule', 'group', 'value', 'max',
                                                        'violation; then each entry: time, event, archive file and line'], found)
    return '<h3>Rules</h3>' + table


def _warning(report: dict[str, Any]) -> str:
    """The line at the top of a report over a period the archive does not cover all of."""
    if report.get('covered', True):
        return ''
    return ('<p class="warning" id="coverage-warning">Warning: the archive does not cover all of the period. The counts leave '
            'out the gaps listed under Coverage of the period; they may be under-counts.</p>')


def _meta(part: dict[str, Any]) -> str:
    rows = [('Host', part.get('host')), ('Archive', part.get('archive')), ('Categories', ', '.join(part.get('categories') or []) or None),
            ('Archive files read', part.get('files_read'))]
    return '<table class="meta">%s</table>' % ''.join('<tr><th>%s</th><td>%s</td></tr>' % (esc(name), _text(value))
                                                      for name, value in rows if value is not None)


PARTS = (_coverage, _rules, _summary, _per_day, _counts, _failed_auth, _noncompliant, _deleted_user, _webhook, _heads)


def _section(prefix: str, title: str, part: dict[str, Any], tenant: str | None = None) -> str:
    attrs = ' id="%s" class="part"%s' % (esc(prefix), _data(tenant=tenant) if tenant is not None else '')
    return '<section%s><h2>%s</h2>%s%s</section>' % (attrs, esc(title), _meta(part), ''.join(part_of(prefix, part) for part_of in PARTS))


def sections(report: dict[str, Any]) -> list[tuple[str, str, dict[str, Any], str | None]]:
    """(id prefix, title, part of the report, tenant name): the total and one per tenant, or the one archive."""
    tenants = report.get('tenants')
    if not isinstance(tenants, dict) or not tenants:
        return [('all', 'Archive', report, None)]
    found = [('total', 'All tenants (total)', report, None)]
    found.extend(('tenant-%d' % index, 'Tenant %s' % name, part, str(name)) for index, (name, part) in enumerate(tenants.items(), 1))
    return found


def render_html(report: dict[str, Any]) -> str:
    """The report as one self-contained, script-free HTML page."""
    period = report.get('period') or {}
    parts = sections(report)
    head = ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"/><title>IT-OT Access audit report %s</title>'
            '<style>%s</style></head><body>' % (esc(report.get('generated', '')), _CSS))
    intro = ('<h1>IT-OT Access audit report</h1><table id="report"><tr><th>Period (UTC)</th><td>%s to %s</td></tr>'
             '<tr><th>Generated</th><td>%s</td></tr></table>' % (_text(period.get('start')), _text(period.get('end')), _text(report.get('generated'))))
    toc = ''
    if len(parts) > 1:
        toc = '<ul class="toc">%s</ul>' % ''.join('<li><a href="#%s">%s</a></li>' % (esc(prefix), esc(title)) for prefix, title, _part, _t in parts)
    body = ''.join(_section(prefix, title, part, tenant) for prefix, title, part, tenant in parts)
    return head + intro + _warning(report) + toc + body + '</body></html>\n'
