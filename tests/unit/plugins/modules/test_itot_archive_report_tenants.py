# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""opswat.itot.itot_archive_report over several tenants' archives on one host (option ``tenants``).

Two tenants' archives are written by the archive module_utils; every expectation is computed here from the entries
written (test_itot_archive_report.expected_report and the sums below), never by the analysis code under test.
"""

from __future__ import annotations

import json
import os
from collections import Counter

import pytest

from ansible_collections.opswat.itot.plugins.module_utils._archive import ArchiveRequest, write_archive
from ansible_collections.opswat.itot.tests.unit.plugins import report_html_reader as reader
from ansible_collections.opswat.itot.tests.unit.plugins.modules.test_itot_archive_report import (
    archive,
    expected_report,
    generate,
    iso_ms,
    period_of,
    run,
)

T0 = 1795935600000  # 2026-11-29T07:00:00Z
DAY = 86400000
NAME_TIME = '20261201T080000Z'
SEEDS = {'acme': 7, 'beta': 11}  # two tenants, the same device ids (d0..d7) and admins in both


@pytest.fixture(scope='module')
def tenants_archive(tmp_path_factory):
    """(archive root, {tenant: folder}, {tenant: generated entries}): each tenant's categories under root/{tenant}."""
    root = tmp_path_factory.mktemp('tenants') / 'itot'
    folders = dict((name, str(root / name)) for name in SEEDS)
    data = dict((name, generate(seed)) for name, seed in SEEDS.items())
    for name in SEEDS:
        archive(folders[name], data[name])
    return str(root), folders, data


def tenant_args(root, folders, data, **extra):
    start, end = period_of(data['acme'])
    args = {'dir': root, 'tenants': [{'name': name, 'dir': folder} for name, folder in folders.items()],
            'period_start_ms': start, 'period_end_ms': end, 'name_time': NAME_TIME}
    args.update(extra)
    return args


def per_day(data, start, end):
    return dict((category, dict(sorted(Counter(iso_ms(ms)[:10] for ms, _item in items if start <= ms <= end).items())))
                for category, items in data.items())


def tagged(expected, key, order):
    """The tenants' items of a list, each with its tenant, in the list's documented order (ties: tenant order)."""
    lists = dict((name, part['webhook_errors']['events'] if key == 'events' else part[key]) for name, part in expected.items())
    return sorted([dict(item, tenant=name) for name, items in lists.items() for item in items], key=order)


def summed(maps):
    total = Counter()
    for counts in maps:
        total.update(counts)
    return dict(total)


def test_each_tenant_and_the_total(monkeypatch, tmp_path, tenants_archive):
    root, folders, data = tenants_archive
    dest = str(tmp_path / 'reports')
    ok, result = run(monkeypatch, tenant_args(root, folders, data, dest=dest))
    assert ok, result
    report = result['report']
    start, end = period_of(data['acme'])
    expected = dict((name, expected_report(data[name], start, end)) for name in SEEDS)

    # Each tenant: the figures of a one-archive report over its own entries.
    assert list(report['tenants']) == ['acme', 'beta']
    for name in SEEDS:
        part = report['tenants'][name]
        for key, value in expected[name].items():
            assert part[key] == value, (name, key)
        assert part['entries_per_day'] == per_day(data[name], start, end)
        assert part['archive'] == folders[name]
        assert part['undated_entries'] == {'admin': 1, 'device': 0, 'webhook': 0, 'device_report': 0}
        assert sorted(part['heads']) == sorted(part['verification']) == sorted(data[name])
    assert expected['acme']['summary'] != expected['beta']['summary']  # two different archives, not one read twice

    # The total: the same keys, each figure the sum of the tenants'.
    assert set(report) - {'tenants'} == set(report['tenants']['acme'])
    assert report['archive'] == root
    assert report['entries_total'] == sum(part['entries_total'] for part in expected.values())
    assert report['summary'] == summed(part['summary'] for part in expected.values())
    assert report['webhook_noncompliant_events'] == sum(part['webhook_noncompliant_events'] for part in expected.values())
    assert report['undated_entries'] == {'admin': 2, 'device': 0, 'webhook': 0, 'device_report': 0}
    assert report['files_read'] == sum(part['files_read'] for part in report['tenants'].values())
    for category in data['acme']:
        assert report['counts'][category]['total'] == sum(part['counts'][category]['total'] for part in expected.values())
        assert report['counts'][category]['events'] == dict(sorted(summed(part['counts'][category]['events']
                                                                          for part in expected.values()).items()))
        assert report['entries_per_day'][category] == dict(sorted(summed(per_day(data[name], start, end)[category] for name in SEEDS).items()))
    # Devices of two tenants are two devices, even with the same id: d0..d7 went non-compliant in both.
    ids = [device['device_id'] for device in report['noncompliant_devices']]
    assert len(ids) == report['summary']['noncompliant_devices'] > len(set(ids))
    assert report['noncompliant_devices'] == tagged(expected, 'noncompliant_devices', lambda item: item['first_noncompliant'])
    assert report['failed_auth'] == tagged(expected, 'failed_auth', lambda item: (-item['count'], item['admin_name']))
    assert report['deleted_user_devices'] == tagged(expected, 'deleted_user_devices', lambda item: item['time'])
    assert report['webhook_errors'] == {
        'total': sum(part['webhook_errors']['total'] for part in expected.values()),
        'by_code': dict(sorted(summed(part['webhook_errors']['by_code'] for part in expected.values()).items())),
        'events': tagged(expected, 'events', lambda item: item['time'])}
    assert report['heads'] == dict(('%s/%s' % (name, category), head) for name in SEEDS
                                   for category, head in report['tenants'][name]['heads'].items())

    # Written once, under dest: JSON (the report), Markdown (the total, then a section per tenant), HTML.
    assert sorted(os.listdir(dest)) == ['audit-%s.%s' % (NAME_TIME, ext) for ext in ('html', 'json', 'md')]
    with open(result['json_path']) as stream:
        assert json.load(stream) == report
    with open(result['markdown_path']) as stream:
        markdown = stream.read()
    titles = [line for line in markdown.splitlines() if line.startswith('## ')]
    assert titles == ['## All tenants (total)', '## Tenant acme', '## Tenant beta']
    assert '| Tenants | acme, beta |' in markdown
    first = report['failed_auth'][0]
    assert '| %s | %s | %s | %d |' % (first['tenant'], first['admin_name'], first['admin_email'], first['count']) in markdown
    for name in SEEDS:
        assert '| Archive | %s |' % folders[name] in markdown
    # The same report again leaves the files alone.
    ok, again = run(monkeypatch, tenant_args(root, folders, data, dest=dest))
    assert ok and again['changed'] is False and again['report'] == report


def test_the_html_shows_each_tenants_figures_and_the_totals(monkeypatch, tmp_path, tenants_archive):
    root, folders, data = tenants_archive
    ok, result = run(monkeypatch, tenant_args(root, folders, data, dest=str(tmp_path / 'r')))
    assert ok, result
    with open(result['json_path']) as stream:
        report = json.load(stream)
    with open(result['html_path'], encoding='utf-8') as stream:
        page = reader.read(stream.read())
    assert [(section.get('id'), section.get('data-tenant')) for section in page.iter('section')] == [
        ('total', None), ('tenant-1', 'acme'), ('tenant-2', 'beta')]
    reader.check_figures(page, 'total', report)
    reader.check_figures(page, 'tenant-1', report['tenants']['acme'])
    reader.check_figures(page, 'tenant-2', report['tenants']['beta'])
    summary = dict((row.get('data-key'), reader.numbers(row)[0]) for row in reader.body_rows(reader.by_id(page, 'total-summary')))
    tenants = [dict((row.get('data-key'), reader.numbers(row)[0]) for row in reader.body_rows(reader.by_id(page, 'tenant-%d-summary' % n)))
               for n in (1, 2)]
    assert summary == dict((key, tenants[0][key] + tenants[1][key]) for key in summary)


def test_a_device_id_of_two_tenants_is_two_devices(monkeypatch, tmp_path):
    root = tmp_path / 'itot'
    one = [{'timestamp': iso_ms(T0), 'event': 'noncompliant', 'device_id': 'd1', 'device_name': 'pc'},
           {'timestamp': iso_ms(T0 + 1000), 'event': 'deleted_user', 'device_id': 'd1', 'device_name': 'pc', 'device_username': 'u'}]
    two = [{'timestamp': iso_ms(T0 + 2000), 'event': 'noncompliant', 'device_id': 'd1', 'device_name': 'pc'},
           {'timestamp': iso_ms(T0 + 3000), 'event': 'deleted_user', 'device_id': 'd1', 'device_name': 'pc', 'device_username': 'u'}]
    write_archive(ArchiveRequest(str(root / 'one'), 'device', one))
    write_archive(ArchiveRequest(str(root / 'two'), 'device', two))
    tenants = [{'name': 'one', 'dir': str(root / 'one')}, {'name': 'two', 'dir': str(root / 'two')}]
    ok, result = run(monkeypatch, {'dir': str(root), 'categories': ['device'], 'name_time': NAME_TIME, 'period_start_ms': T0,
                                   'period_end_ms': T0 + DAY, 'tenants': tenants})
    assert ok, result
    report = result['report']
    assert report['tenants']['one']['summary']['noncompliant_devices'] == report['tenants']['two']['summary']['noncompliant_devices'] == 1
    assert report['summary'] == {'failed_auth': 0, 'noncompliant_devices': 2, 'deleted_user': 2, 'webhook_errors': 0}
    assert [(item['tenant'], item['device_id'], item['first_noncompliant']) for item in report['noncompliant_devices']] == [
        ('one', 'd1', iso_ms(T0)), ('two', 'd1', iso_ms(T0 + 2000))]
    assert [(item['tenant'], item['time']) for item in report['deleted_user_devices']] == [('one', iso_ms(T0 + 1000)), ('two', iso_ms(T0 + 3000))]
    assert result['json_path'] == str(root / 'reports' / ('audit-%s.json' % NAME_TIME))  # the report folder: {dir}/reports


def test_known_heads_per_tenant(monkeypatch, tmp_path, tenants_archive):
    root, folders, data = tenants_archive
    dest = str(tmp_path / 'r')
    ok, first = run(monkeypatch, tenant_args(root, folders, data, dest=dest), check=True)
    assert ok, first
    heads = dict((name, part['heads']) for name, part in first['report']['tenants'].items())
    assert all(head['lines'] > 0 for part in heads.values() for head in part.values())

    ok, result = run(monkeypatch, tenant_args(root, folders, data, dest=dest, known_heads=heads), check=True)
    assert ok, result
    assert set(checked['known_head'] for checked in result['report']['verification'].values()) == {'extended'}
    # A tenant without heads: every remove line checked ("none recorded"); the other one's chains extend theirs.
    ok, result = run(monkeypatch, tenant_args(root, folders, data, dest=dest, known_heads={'acme': heads['acme']}), check=True)
    assert ok, result
    assert result['report']['tenants']['beta']['verification']['admin']['known_head'] == 'none recorded'
    assert result['report']['tenants']['acme']['verification']['admin']['known_head'] == 'extended'

    # A head that beta's admin chain does not extend (a line it never had): the host fails, naming tenant and category.
    bad = json.loads(json.dumps(heads))
    bad['beta']['admin'] = {'lines': heads['beta']['admin']['lines'], 'sha256': 'f' * 64}
    ok, result = run(monkeypatch, tenant_args(root, folders, data, dest=dest, known_heads=bad))
    assert not ok
    assert result['msg'].startswith('tenant beta: ')
    assert os.path.join(folders['beta'], 'admin') in result['msg']
    assert result['problems'] and set(problem['tenant'] for problem in result['problems']) == {'beta'}
    assert not os.path.exists(dest)
    # Heads keyed by category (the one-archive shape) name no tenant: refused, naming the option.
    ok, result = run(monkeypatch, tenant_args(root, folders, data, dest=dest, known_heads=heads['acme']))
    assert not ok and result['msg'].startswith("known_heads names 'admin', which is not a tenant") and 'acme, beta' in result['msg']
    ok, result = run(monkeypatch, tenant_args(root, folders, data, dest=dest, known_heads={'acme': {'admin': {'lines': 'x'}}}))
    assert not ok and result['msg'].startswith('known_heads.acme.admin must be {lines: a count, sha256: 64 hex digits}')


@pytest.mark.parametrize('value, expected', [
    ('acme', "tenants must be a list of {name, dir}: name of letters, digits, '_' and '-', each name once; dir an absolute path "
             "without '..' components, each folder once, got 'acme'"),
    ([{'name': 'a', 'dir': '/x/a'}, {'name': 'b', 'dir': '/x/a/'}],
     "tenants[1].dir '/x/a/' is given twice: each tenant of tenants must have its own folder"),
    ({'name': 'acme', 'dir': '/x'}, "tenants must be a list of {name, dir}"),
    (['acme'], "tenants[0] must be a mapping {name, dir} (tenants must be a list of {name, dir}"),
    ([{'name': 'a', 'dir': '/x/a'}, {'name': 'a', 'dir': '/x/b'}],
     "tenants[1].name 'a' is given twice: each tenant of tenants must have its own name"),
    ([{'name': 'a/b', 'dir': '/x/a'}], "tenants[0].name must be letters, digits, '_' and '-' (^[A-Za-z0-9_-]+$), got 'a/b'"),
    ([{'name': '..', 'dir': '/x/a'}], "tenants[0].name must be letters, digits, '_' and '-' (^[A-Za-z0-9_-]+$), got '..'"),
    ([{'name': '', 'dir': '/x/a'}], "tenants[0].name must be letters, digits, '_' and '-' (^[A-Za-z0-9_-]+$), got ''"),
    ([{'dir': '/x/a'}], "tenants[0].name must be letters, digits, '_' and '-' (^[A-Za-z0-9_-]+$), got None"),
    ([{'name': 'a', 'dir': 'itot/a'}], "tenants[0].dir must be an absolute path without '..' components, got relative path 'itot/a'"),
    ([{'name': 'a', 'dir': '/x/../etc'}], "tenants[0].dir must be an absolute path without '..' components, got '/x/../etc'"),
    ([{'name': 'a', 'dir': '/x/a', 'root': '/y'}], 'tenants[0] has unknown keys root: allowed are name and dir'),
])
def test_bad_tenants_are_refused_naming_the_option(monkeypatch, tmp_path, value, expected):
    ok, result = run(monkeypatch, {'dir': str(tmp_path / 'itot'), 'tenants': value, 'name_time': NAME_TIME})
    assert not ok
    assert result['msg'].startswith(expected), result['msg']
    assert not os.path.exists(str(tmp_path / 'itot'))


def test_no_tenants_or_an_empty_list_is_the_one_archive_report(monkeypatch, tmp_path):
    root = tmp_path / 'itot'
    write_archive(ArchiveRequest(str(root), 'admin', [{'timestamp': iso_ms(T0), 'event': 'failed_auth', 'admin_name': 'Ann'}]))
    args = {'dir': str(root), 'categories': ['admin'], 'name_time': NAME_TIME, 'period_start_ms': T0, 'period_end_ms': T0}
    ok, plain = run(monkeypatch, args)
    assert ok and 'tenants' not in plain['report'] and plain['report']['summary']['failed_auth'] == 1
    files = {}
    for path in (plain['json_path'], plain['markdown_path'], plain['html_path']):
        with open(path, 'rb') as stream:
            files[path] = stream.read()
    ok, empty = run(monkeypatch, dict(args, tenants=[]))
    assert ok and empty['changed'] is False and empty['report'] == plain['report']
    for path, data in files.items():
        with open(path, 'rb') as stream:
            assert stream.read() == data


def test_check_mode_with_tenants_writes_nothing(monkeypatch, tmp_path, tenants_archive):
    root, folders, data = tenants_archive
    dest = tmp_path / 'r'
    ok, result = run(monkeypatch, tenant_args(root, folders, data, dest=str(dest)), check=True)
    assert ok and result['changed'] is True and list(result['report']['tenants']) == ['acme', 'beta']
    assert not dest.exists()
