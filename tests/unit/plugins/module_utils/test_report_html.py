# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The HTML report (_report_html.py): hostile names stay text, tenants get a section each, odd reports still parse.

The page is read by tests/unit/plugins/report_html_reader.py (two strict parsers that must agree, and the safety
checks); its figures are compared with the report dict's, computed from the dict, never from the renderer.
"""

from __future__ import annotations

import copy
import json

from ansible_collections.opswat.itot.plugins.module_utils._archive import ArchiveRequest, write_archive
from ansible_collections.opswat.itot.plugins.module_utils._report_analysis import HeadCheck, build_report
from ansible_collections.opswat.itot.plugins.module_utils._report_html import render_html
from ansible_collections.opswat.itot.plugins.module_utils._report_svg import MAX_FILLED_DAYS, esc
from ansible_collections.opswat.itot.tests.unit.plugins import report_html_reader as reader

T0 = 1795935600000  # 2026-11-29T07:00:00Z
DAY = 86400000
HOSTILE = [
    '<script>alert(1)</script>',
    '"><img src=x onerror=alert(1)>',
    "' onmouseover='alert(1)",
    '</title></text></svg><script src="https://evil.example/x.js"></script>',
    '<![CDATA[x]]>&amp;&#60;<!-- -->',
    'javascript:alert(1)',
]


def iso(ms):
    from ansible_collections.opswat.itot.plugins.module_utils._timeparse import format_iso
    return format_iso(ms)


def archive_with(root, admins=(), devices=(), webhooks=()):
    if admins:
        write_archive(ArchiveRequest(root, 'admin', list(admins)))
    if devices:
        write_archive(ArchiveRequest(root, 'device', list(devices)))
    if webhooks:
        write_archive(ArchiveRequest(root, 'webhook', list(webhooks)))


def hostile_report(root):
    admins = [{'timestamp': iso(T0 + n * 1000), 'event': 'failed_auth', 'admin_name': name, 'admin_email': name}
              for n, name in enumerate(HOSTILE)]
    admins.append({'timestamp': iso(T0 + DAY), 'event': HOSTILE[1], 'admin_name': 'Ann'})
    devices = [{'timestamp': iso(T0 + n * 1000), 'event': event, 'device_id': name, 'device_name': name, 'device_username': name}
               for n, name in enumerate(HOSTILE) for event in ('noncompliant', 'deleted_user')]
    webhooks = [{'timestamp': iso(T0), 'event': HOSTILE[0], 'device_id': HOSTILE[2], 'device_name': HOSTILE[3], 'response_code': 503}]
    archive_with(root, admins, devices, webhooks)
    return build_report(root, ['admin', 'device', 'webhook'], T0 - DAY, T0 + 2 * DAY, T0 + 2 * DAY, heads=HeadCheck({}))


def test_hostile_names_stay_text(tmp_path):
    report = hostile_report(str(tmp_path / 'itot'))
    page = render_html(report)
    root = reader.read(page)  # no <script>, no handler, nothing outside the page: see check_safe
    reader.check_figures(root, 'all', report)
    text = reader.text_of(root)
    for name in HOSTILE:
        assert name in text  # shown as it is, as text
    names = [cell for table in ('all-failed-auth', 'all-noncompliant', 'all-deleted-user')
             for row in reader.body_rows(reader.by_id(root, table)) for cell in reader.cells(row)]
    assert set(HOSTILE) <= set(names)
    # Attribute values hold them intact too (quotes escaped), never cut short into a new attribute.
    labels = [rect.get('data-label') for rect in root.iter('rect') if rect.get('data-label')]
    assert '%s <%s>' % (HOSTILE[2], HOSTILE[2]) in labels
    assert [row.get('data-event') for row in reader.body_rows(reader.by_id(root, 'all-counts'))].count(HOSTILE[1]) == 1
    assert report['verification']['admin']['known_head'] == 'none recorded'


def test_text_that_html_cannot_hold_is_replaced():
    assert esc('a\x00b\x1b[31m\ud800\ufffe<') == 'a\ufffdb\ufffd[31m\ufffd\ufffd&lt;'
    assert esc('tab\tline\nok & "q" \'s\'') == 'tab\tline\nok &amp; &quot;q&quot; &#x27;s&#x27;'


def test_a_report_without_entries_renders(tmp_path):
    report = build_report(str(tmp_path / 'none'), ['admin', 'device'], T0, T0 + DAY, T0 + DAY)
    root = reader.read(render_html(report))
    reader.check_figures(root, 'all', report)
    assert reader.by_id(root, 'all-per-day').tag == 'p'
    assert report['verification'] == {'admin': {'chain': 'empty', 'files_checked': 0, 'known_head': 'not given'},
                                      'device': {'chain': 'empty', 'files_checked': 0, 'known_head': 'not given'}}


def test_days_without_entries_get_no_bar_and_a_long_span_only_its_days(tmp_path):
    root_dir = str(tmp_path / 'itot')
    admins = [{'timestamp': iso(T0 + offset * DAY), 'event': 'login', 'admin_name': 'Ann'} for offset in (0, 3, 3, MAX_FILLED_DAYS + 10)]
    archive_with(root_dir, admins)
    report = build_report(root_dir, ['admin'], T0, T0 + 3 * DAY, T0)
    assert report['entries_per_day'] == {'admin': {iso(T0)[:10]: 1, iso(T0 + 3 * DAY)[:10]: 2}}
    page = reader.read(render_html(report))
    reader.check_figures(page, 'all', report)
    ticks = [reader.text_of(tick) for tick in page.iter('text') if tick.get('class') == 'tick']
    assert len(ticks) == 4  # four days on the axis (two without entries), one bar each for the two with entries
    report = build_report(root_dir, ['admin'], T0, T0 + (MAX_FILLED_DAYS + 10) * DAY, T0)
    page = reader.read(render_html(report))
    reader.check_figures(page, 'all', report)
    # More than MAX_FILLED_DAYS from the first day to the last: only the three days with entries are on the axis.
    days = sorted(report['entries_per_day']['admin'])
    assert len(days) == 3
    assert [reader.text_of(tick) for tick in page.iter('text') if tick.get('class') == 'tick'] == [day[5:] for day in days]


def test_tenants_get_a_section_each_and_the_total_one(tmp_path):
    """A report dict with a ``tenants`` mapping (the multi-tenant audit's): the total first, then each tenant."""
    site_a = hostile_report(str(tmp_path / 'a'))
    archive_with(str(tmp_path / 'b'), [{'timestamp': iso(T0), 'event': 'failed_auth', 'admin_name': 'Bob', 'admin_email': 'b@x'}])
    site_b = build_report(str(tmp_path / 'b'), ['admin', 'device', 'webhook'], T0 - DAY, T0 + 2 * DAY, T0 + 2 * DAY)
    total = copy.deepcopy(site_a)  # what the aggregation writes at the top is its business; the page shows it as the total
    total['summary']['failed_auth'] += site_b['summary']['failed_auth']
    total['tenants'] = {'site-a': site_a, '<b>site "b"</b>': site_b}
    page = render_html(json.loads(json.dumps(total)))
    root = reader.read(page)
    sections = [(section.get('id'), section.get('data-tenant')) for section in root.iter('section')]
    assert sections == [('total', None), ('tenant-1', 'site-a'), ('tenant-2', '<b>site "b"</b>')]
    reader.check_figures(root, 'total', total)
    reader.check_figures(root, 'tenant-1', site_a)
    reader.check_figures(root, 'tenant-2', site_b)
    assert [link.get('href') for link in root.iter('a')] == ['#total', '#tenant-1', '#tenant-2']
    assert 'Tenant <b>site "b"</b>' in [reader.text_of(title) for title in root.iter('h2')]
