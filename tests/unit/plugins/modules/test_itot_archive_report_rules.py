# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""opswat.itot.itot_archive_report's rules over a generated archive: findings computed here by brute force, evidence
found again in the archive files by file and line, and the JUnit XML held to the JSON."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.opswat.itot.tests.unit.plugins import report_html_reader as reader
from ansible_collections.opswat.itot.tests.unit.plugins.modules.test_itot_archive_report import (
    ADMINS,
    archive,
    args_for,
    expected_report,
    generate,
    iso_ms,
    period_of,
    run,
)

WINDOW = 3600000
RULES = [
    {'name': 'admin-failed-logins', 'category': 'admin', 'events': ['failed_auth'], 'group_by': 'admin_name', 'count': True,
     'window': '-1h', 'max': 2, 'severity': 'error'},
    {'name': 'webhook-5xx', 'category': 'webhook', 'match': {'response_code': {'regex': r'^\s*5\d\d\s*$'}}, 'count': True,
     'max': 1000, 'severity': 'warning'},
]
THRESHOLDS = {'itot_audit_max_failed_auth': 3, 'itot_audit_max_noncompliant': None, 'itot_audit_max_deleted_user': ''}


@pytest.fixture(scope='module')
def generated(tmp_path_factory):
    root = tmp_path_factory.mktemp('rules') / 'itot'
    data = generate()
    archive(root, data)
    return str(root), data


def densest_by_brute_force(times):
    """The most entries of any window [t, t + WINDOW) that starts at an entry."""
    return max(sum(1 for other in times if 0 <= other - start < WINDOW) for start in times)


def entry_at(root, evidence):
    with gzip.open(os.path.join(root, evidence['file']), 'rt', encoding='utf-8') as stream:
        return json.loads(stream.read().split('\n')[evidence['line'] - 1])


def test_rules_report_what_brute_force_finds_with_evidence_in_the_archive(monkeypatch, tmp_path, generated):
    root, data = generated
    ok, result = run(monkeypatch, args_for(root, data, dest=str(tmp_path), rules=RULES, thresholds=THRESHOLDS))
    assert ok, result
    start, end = period_of(data)
    expected = expected_report(data, start, end)
    threshold, windowed, webhook = result['report']['rules']
    # the threshold, a default rule: the summary's figure against its variable
    assert threshold['name'] == 'itot_audit_max_failed_auth' and threshold['variable'] == 'itot_audit_max_failed_auth'
    assert threshold['violations'][0]['value'] == expected['summary']['failed_auth'] > 3
    assert threshold['violations'][0]['message'] == 'failed admin logins = %d, more than itot_audit_max_failed_auth = 3' % (
        expected['summary']['failed_auth'])
    # failed logins per admin within an hour, by brute force
    inside = [(ms, item) for ms, item in data['admin'] if start <= ms <= end and item['event'] == 'failed_auth']
    wanted = {}
    for name, _email in ADMINS:
        times = [ms for ms, item in inside if item['admin_name'] == name]
        if times and densest_by_brute_force(times) > 2:
            wanted[name] = densest_by_brute_force(times)
    assert wanted, 'the data must hold a violation to test'
    assert dict((v['group'], v['value']) for v in windowed['violations']) == wanted
    assert windowed['passed'] is False and windowed['entries_checked'] == len(inside)
    for violation in windowed['violations']:
        assert len(violation['entries']) == violation['value']
        for evidence in violation['entries']:
            entry = entry_at(root, evidence)
            assert entry['admin_name'] == violation['group'] and entry['event'] == 'failed_auth'
            assert violation['window_start'] <= evidence['timestamp'] <= violation['window_end']
        assert iso_ms(0) < violation['window_start']
    codes = [item for ms, item in data['webhook'] if start <= ms <= end and str(item['response_code']).strip()[:1] == '5'
             and str(item['response_code']).strip().isdigit()]
    assert webhook['passed'] and webhook['entries_checked'] == len(codes) and webhook['severity'] == 'warning'

    # the JUnit XML: one case per rule, failed exactly when the JSON says so, the violations as its message
    junit = ET.parse(result['junit_path']).getroot()
    assert result['junit_path'] == result['json_path'][:-len('.json')] + '.junit.xml'
    [suite] = junit.findall('testsuite')
    cases = suite.findall('testcase')
    assert [case.get('name') for case in cases] == [rule['name'] for rule in result['report']['rules']]
    assert suite.get('tests') == '3' and suite.get('failures') == junit.get('failures') == '2'
    for case, rule in zip(cases, result['report']['rules']):
        failure = case.find('failure')
        assert (failure is None) == rule['passed']
        if failure is not None:
            assert failure.get('type') == rule['severity']
            assert failure.get('message') == '; '.join(v['message'] for v in rule['violations'])
    with open(result['json_path'], encoding='utf-8') as stream:
        assert json.load(stream)['rules'] == result['report']['rules']
    with open(result['markdown_path'], encoding='utf-8') as stream:
        markdown = stream.read()
    assert '## Rules' in markdown and windowed['violations'][0]['entries'][0]['file'] in markdown
    # the HTML page (strictly parsed): a row per rule, a row per violation followed by a row per entry it names
    with open(result['html_path'], encoding='utf-8') as stream:
        page = reader.read(stream.read())
    rules = reader.body_rows(reader.by_id(page, 'all-rules'))
    assert [(row.get('data-rule'), row.get('data-passed')) for row in rules] == [
        (rule['name'], 'yes' if rule['passed'] else 'no') for rule in result['report']['rules']]
    rows = reader.body_rows(reader.by_id(page, 'all-violations'))
    expected_rows = []
    for rule in result['report']['rules']:
        for violation in rule['violations']:
            expected_rows.append([rule['name'], reader.shown(violation['group']), str(violation['value']), str(violation['max']),
                                  violation['message']])
            expected_rows.extend(['-', '-', entry['timestamp'], entry['event'], '%s line %d' % (entry['file'], entry['line'])]
                                 for entry in violation['entries'])
    assert [reader.cells(row) for row in rows] == expected_rows


def test_without_rules_no_junit_is_written(monkeypatch, tmp_path, generated):
    root, data = generated
    ok, result = run(monkeypatch, args_for(root, data, dest=str(tmp_path)))
    assert ok and result['junit_path'] is None and result['report']['rules'] == []
    assert not any(name.endswith('.junit.xml') for name in os.listdir(str(tmp_path)))


def test_a_bad_rule_fails_before_the_archive_is_read(monkeypatch, tmp_path, generated):
    root, data = generated
    copy = str(tmp_path / 'itot')
    shutil.copytree(root, copy)
    for folder, _dirs, files in os.walk(os.path.join(copy, 'admin')):
        for name in files:
            if name.endswith('.jsonl.gz'):
                with open(os.path.join(folder, name), 'ab') as stream:
                    stream.write(b'tampered')  # reading this archive fails, naming the file
    bad = [{'name': 'x', 'category': 'device', 'count': True, 'window': 'soon', 'max': 1}]
    ok, result = run(monkeypatch, args_for(copy, data, rules=bad))
    assert not ok and result['msg'].startswith("rules[0] (rule x).window: 'soon' is not a duration"), result['msg']
    assert not os.path.exists(os.path.join(copy, 'reports'))
    ok, result = run(monkeypatch, args_for(copy, data, rules=bad[:0]))
    assert not ok and 'does not match the manifest' in result['msg']


def test_each_tenant_has_its_own_results_and_junit_suite(monkeypatch, tmp_path):
    base = tmp_path / 'itot'
    datas = {'acme': generate(7), 'beta': generate(8)}
    for name, data in datas.items():
        archive(base / name, data)
    tenants = [{'name': name, 'dir': str(base / name)} for name in datas]
    ok, result = run(monkeypatch, args_for(str(base), datas['acme'], dest=str(tmp_path / 'out'), tenants=tenants,
                                           rules=RULES[:1], thresholds={'itot_audit_max_failed_auth': 1000}))
    assert ok, result
    total = result['report']['rules']
    assert [(rule['tenant'], rule['name']) for rule in total] == [(t, n) for t in datas for n in ('itot_audit_max_failed_auth', RULES[0]['name'])]
    for name in datas:
        mine = [dict((k, v) for k, v in rule.items() if k != 'tenant') for rule in total if rule['tenant'] == name]
        assert mine == result['report']['tenants'][name]['rules']
    suites = ET.parse(result['junit_path']).getroot().findall('testsuite')
    assert [suite.get('name') for suite in suites] == ['opswat.itot.audit.acme', 'opswat.itot.audit.beta']
    for suite, name in zip(suites, datas):
        rules = result['report']['tenants'][name]['rules']
        assert [case.get('name') for case in suite.findall('testcase')] == [rule['name'] for rule in rules]
        assert int(suite.get('failures')) == sum(1 for rule in rules if not rule['passed'])
