# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""opswat.itot.itot_archive_report: how much of the period the archive covers, and every gap, in JSON, Markdown, HTML.

Issue 18: an audit over a period that reaches before the archive began under-counted without a word.  Archives are
written here with known windows; the expected gaps are computed here from those windows and the entries written
(iso_ms is the test's own formatter), never by the coverage code under test.
"""

from __future__ import annotations

import json

from ansible.module_utils import basic

from ansible_collections.opswat.itot.plugins.module_utils._archive import ArchiveRequest, write_archive
from ansible_collections.opswat.itot.tests.unit.plugins import report_html_reader as reader
from ansible_collections.opswat.itot.tests.unit.plugins.modules.test_itot_archive_report import iso_ms, run

P0 = 1795824000000  # 2026-11-28T00:00:00Z
HOUR = 3600000
DAY = 24 * HOUR
NAME_TIME = '20261210T080000Z'
LATER = 'the archive started later'
RETENTION = 'removed by retention (itot_log_archive_retention_days)'
NOT_READ = 'not read yet'


def failed_auth(moment):
    return {'timestamp': iso_ms(moment), 'event': 'failed_auth', 'admin_name': 'Ann', 'admin_email': 'ann@example.com',
            'details': 'at %d' % moment}


def hourly(start, end, step=HOUR):
    return list(range(start + step // 2, end, step))


def archive_window(folder, category, times, start, end, read_from=None, **extra):
    """One run of the role's kind: the entries of the window [start, end], read from read_from (default start)."""
    entries = [failed_auth(moment) for moment in times if start <= moment <= end]
    write_archive(ArchiveRequest(str(folder), category, entries, window_start_ms=start, window_end_ms=end,
                                 read_from_ms=start if read_from is None else read_from, now=end, **extra))


def gap(start, end, reason):
    return {'start': iso_ms(start), 'end': iso_ms(end), 'start_ms': start, 'end_ms': end, 'reason': reason}


def report_args(root, start, end, **extra):
    args = {'dir': str(root), 'categories': ['admin'], 'period_start_ms': start, 'period_end_ms': end, 'name_time': NAME_TIME}
    args.update(extra)
    return args


def files_of(result):
    with open(result['markdown_path'], encoding='utf-8') as stream:
        markdown = stream.read()
    with open(result['html_path'], encoding='utf-8') as stream:
        page = reader.read(stream.read())
    return markdown, page


def warned(monkeypatch, args):
    """The warnings the module gives the play (module.warn)."""
    found = []
    monkeypatch.setattr(basic.AnsibleModule, 'warn', lambda self, message: found.append(message))
    ok, result = run(monkeypatch, args)
    assert ok, result
    return found


def check_shown(result, prefix='all'):
    """The Markdown and the HTML show the JSON's coverage: every gap, and the warning exactly when not covered."""
    report = result['report']
    markdown, page = files_of(result)
    gaps = [[key, item['start'], item['end'], item['reason']] for key, part in report['coverage'].items() for item in part['gaps']]
    for row in gaps:
        assert '| %s |' % ' | '.join(row) in markdown, row
    assert ('Warning: the archive does not cover all of the period' in markdown) is (not report['covered'])
    assert ([element for element in page.iter() if element.get('id') == 'coverage-warning'] != []) is (not report['covered'])
    table = reader.by_id(page, prefix + '-coverage-gaps')
    if not gaps:
        assert table.tag == 'p' and '_The archive covers the whole period._' in markdown
    else:
        assert [reader.cells(row) for row in reader.body_rows(table)] == gaps
        assert all(row.get('class') == 'gap' for row in reader.body_rows(table))
    rows = reader.body_rows(reader.by_id(page, prefix + '-coverage'))
    assert [(row.get('data-category'), row.get('class') == 'gap') for row in rows] == [
        (key, bool(part['gaps'])) for key, part in report['coverage'].items()]
    assert [reader.cells(row)[1:3] for row in rows] == [
        [reader.shown(part['from']), reader.shown(part['until'])] for part in report['coverage'].values()]
    return markdown, page


def test_a_period_before_the_archive_and_after_its_last_read_is_two_gaps(monkeypatch, tmp_path):
    """The issue's case: the archive began two days into the period and was read until a day before its end."""
    root = tmp_path / 'itot'
    times = hourly(P0, P0 + 4 * DAY)
    archive_window(root, 'admin', times, P0 + 2 * DAY, P0 + 3 * DAY)
    args = report_args(root, P0, P0 + 4 * DAY, covered_until_ms={'admin': P0 + 3 * DAY}, dest=str(tmp_path / 'reports'))
    ok, result = run(monkeypatch, args)
    assert ok, result
    report = result['report']
    assert report['summary']['failed_auth'] == len([t for t in times if P0 + 2 * DAY <= t <= P0 + 3 * DAY]) == 24
    assert report['covered'] is False
    coverage = report['coverage']['admin']
    assert (coverage['from_ms'], coverage['until_ms']) == (P0 + 2 * DAY, P0 + 3 * DAY)
    assert (coverage['from'], coverage['until']) == (iso_ms(P0 + 2 * DAY), iso_ms(P0 + 3 * DAY))
    assert coverage['gaps'] == [gap(P0, P0 + 2 * DAY, LATER), gap(P0 + 3 * DAY, P0 + 4 * DAY, NOT_READ)]
    assert 'covered_from_ms' in coverage['basis'] and 'covered_until_ms' in coverage['basis']
    with open(result['json_path']) as stream:
        assert json.load(stream)['coverage'] == report['coverage']
    check_shown(result)
    # The play sees a warning naming the category, each gap and its reason (nothing host-specific).
    assert warned(monkeypatch, args) == [
        'the archive does not cover all of the audit period: category admin, %s to %s (%s); %s to %s (%s)'
        % (iso_ms(P0), iso_ms(P0 + 2 * DAY), LATER, iso_ms(P0 + 3 * DAY), iso_ms(P0 + 4 * DAY), NOT_READ)]


def test_files_retention_removed_in_the_period_are_a_gap(monkeypatch, tmp_path):
    root = tmp_path / 'itot'
    times = hourly(P0, P0 + 5 * DAY, 6 * HOUR)
    archive_window(root, 'admin', times, P0, P0 + 5 * DAY)
    # A later run applies a two-day retention: the day files whose newest entry is older than now - 2 days go.
    now = P0 + 5 * DAY
    write_archive(ArchiveRequest(str(root), 'admin', [], retention_days=2, now=now))
    by_day = {}
    for moment in times:
        by_day.setdefault(moment // DAY, []).append(moment)
    removed_last = max(max(day) for day in by_day.values() if max(day) < now - 2 * DAY)
    assert removed_last == P0 + 2 * DAY + 21 * HOUR
    ok, result = run(monkeypatch, report_args(root, P0 + DAY, now, covered_until_ms={'admin': now}))
    assert ok, result
    assert result['report']['coverage']['admin']['gaps'] == [gap(P0 + DAY, removed_last, RETENTION)]
    assert result['report']['summary']['failed_auth'] == len([t for t in times if removed_last < t <= now])
    check_shown(result)
    # A period after what retention removed has no gap.
    ok, result = run(monkeypatch, report_args(root, removed_last + 1, now, covered_until_ms={'admin': now}))
    assert ok and result['report']['covered'] is True and result['report']['coverage']['admin']['gaps'] == []


def test_a_fully_covered_period_has_no_gap(monkeypatch, tmp_path):
    root = tmp_path / 'itot'
    times = hourly(P0 - DAY, P0 + 2 * DAY)
    for category in ('admin', 'device'):
        archive_window(root, category, times, P0, P0 + 2 * DAY, read_from=P0 - DAY)
    args = report_args(root, P0, P0 + 2 * DAY, categories=['admin', 'device'],
                       covered_until_ms={'admin': P0 + 2 * DAY, 'device': str(P0 + 2 * DAY + 5)})
    ok, result = run(monkeypatch, args)
    assert ok, result
    report = result['report']
    assert report['covered'] is True
    assert [(part['from_ms'], part['until_ms'], part['gaps']) for part in report['coverage'].values()] == [
        (P0 - DAY, P0 + 2 * DAY, []), (P0 - DAY, P0 + 2 * DAY + 5, [])]
    check_shown(result)


def test_without_covered_until_the_cursor_ends_the_coverage(monkeypatch, tmp_path):
    root = tmp_path / 'itot'
    times = hourly(P0, P0 + DAY)
    archive_window(root, 'admin', times, P0, P0 + DAY)
    ok, result = run(monkeypatch, report_args(root, P0, P0 + DAY))
    assert ok, result
    coverage = result['report']['coverage']['admin']
    assert coverage['until_ms'] == times[-1] and 'cursor' in coverage['basis']
    assert coverage['gaps'] == [gap(times[-1], P0 + DAY, NOT_READ)]


def test_an_archive_made_before_coverage_records_is_covered_from_its_first_entry(monkeypatch, tmp_path):
    root = tmp_path / 'itot'
    times = hourly(P0 + DAY, P0 + 2 * DAY)
    archive_window(root, 'admin', times, P0, P0 + 2 * DAY)
    path = str(root / 'admin' / 'state.json')
    with open(path) as stream:
        state = json.load(stream)
    del state['covered_from_ms']  # as the previous version wrote it
    with open(path, 'w') as stream:
        json.dump(state, stream)
    ok, result = run(monkeypatch, report_args(root, P0, P0 + 2 * DAY, covered_until_ms={'admin': P0 + 2 * DAY}))
    assert ok, result
    coverage = result['report']['coverage']['admin']
    assert coverage['from_ms'] == times[0]
    assert 'from the first archived entry; the archive predates coverage records' in coverage['basis']
    assert coverage['gaps'] == [gap(P0, times[0], LATER)]
    markdown, _page = check_shown(result)
    assert 'the archive predates coverage records' in markdown


def test_a_quiet_category_and_a_missing_one(monkeypatch, tmp_path):
    root = tmp_path / 'itot'
    archive_window(root, 'admin', [], P0, P0 + DAY)  # nothing in the window: still recorded
    ok, result = run(monkeypatch, report_args(root, P0, P0 + DAY, categories=['admin', 'webhook'],
                                              covered_until_ms={'admin': P0 + DAY}))
    assert ok, result
    coverage = result['report']['coverage']
    assert coverage['admin']['gaps'] == [] and coverage['admin']['from_ms'] == P0
    assert coverage['webhook']['gaps'] == [gap(P0, P0 + DAY, 'no archive of this category')]
    assert coverage['webhook']['from'] is None
    check_shown(result)


def test_bad_covered_until_is_refused_naming_the_option(monkeypatch, tmp_path):
    root = tmp_path / 'itot'
    for value, expected in (({'nope': 1}, "covered_until_ms names 'nope'"), ({'admin': 'soon'}, 'covered_until_ms.admin must be epoch'),
                            ({'admin': True}, 'covered_until_ms.admin must be epoch')):
        ok, result = run(monkeypatch, report_args(root, P0, P0 + DAY, covered_until_ms=value))
        assert not ok and expected in result['msg'], result


def test_tenants_each_have_their_coverage_and_the_total_lists_them(monkeypatch, tmp_path):
    root = tmp_path / 'itot'
    folders = {'acme': root / 'acme', 'beta': root / 'beta'}
    times = hourly(P0 - DAY, P0 + 2 * DAY)
    archive_window(folders['acme'], 'admin', times, P0 - DAY, P0 + 2 * DAY)
    archive_window(folders['beta'], 'admin', times, P0 + DAY, P0 + 2 * DAY)  # beta's archive began a day into the period
    args = report_args(root, P0, P0 + 2 * DAY, tenants=[{'name': name, 'dir': str(folder)} for name, folder in folders.items()],
                       covered_until_ms={'acme': {'admin': P0 + 2 * DAY}, 'beta': {'admin': P0 + 2 * DAY}})
    ok, result = run(monkeypatch, args)
    assert ok, result
    report = result['report']
    assert report['tenants']['acme']['covered'] is True and report['tenants']['beta']['covered'] is False
    assert report['covered'] is False
    assert report['tenants']['beta']['coverage']['admin']['gaps'] == [gap(P0, P0 + DAY, LATER)]
    assert list(report['coverage']) == ['acme/admin', 'beta/admin']
    assert report['coverage']['beta/admin'] == dict(report['tenants']['beta']['coverage']['admin'], tenant='beta', category='admin')
    assert report['coverage']['acme/admin']['tenant'] == 'acme'
    markdown, page = check_shown(result, 'total')
    assert [reader.cells(row) for row in reader.body_rows(reader.by_id(page, 'tenant-2-coverage-gaps'))] == [
        ['admin', iso_ms(P0), iso_ms(P0 + DAY), LATER]]
    assert reader.by_id(page, 'tenant-1-coverage-gaps').tag == 'p'
    assert '| beta/admin | %s | %s | %s |' % (iso_ms(P0), iso_ms(P0 + DAY), LATER) in markdown
    assert warned(monkeypatch, args) == [
        'the archive does not cover all of the audit period: tenant beta, category admin, %s to %s (%s)' % (iso_ms(P0), iso_ms(P0 + DAY), LATER)]
    # A name that is not a tenant is refused.
    ok, failed = run(monkeypatch, dict(args, covered_until_ms={'gamma': {'admin': P0}}))
    assert not ok and "covered_until_ms names 'gamma'" in failed['msg']
