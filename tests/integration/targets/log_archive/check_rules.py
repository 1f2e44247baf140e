"""Check an audit report's rules against findings computed here, independently, from the emulator's ground truth.

    python check_rules.py REPORT.json EMULATOR_URL RULES.yml

For each rule of RULES.yml (itot_audit_rules), the violations (group and value) are computed from the truth over the
report's period by brute force (every window that starts at an entry; each state walked from its first event), and
must be exactly the report's.  Every evidence entry (file and line in the archive) must be an entry of its group, and
the JUnit XML beside the report must hold one case per rule, failed exactly where the JSON says, with its messages.
Exit 1 on a mismatch.
"""
from __future__ import annotations

import collections
import gzip
import json
import os
import re
import sys
import time
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

import yaml

UNITS = {'s': 1000, 'm': 60000, 'h': 3600000, 'd': 86400000, 'w': 604800000}
DAYS = ('mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun')
STATES = {'device': (['noncompliant'], ['compliant']), 'webhook': (['status_changed_to_non_compliant'], ['status_changed_to_compliant'])}


def truth(url: str, category: str, start: int, end: int) -> list:
    query = urllib.parse.urlencode({'category': category, 'start_time': start, 'end_time': end})
    with urllib.request.urlopen(url + '/_control/truth?' + query, timeout=30) as answer:
        body = json.load(answer)
    return list(zip(body['timestamps_ms'], body['data']))


def iso_ms(ms: int) -> str:
    moment = time.gmtime(ms // 1000)
    return time.strftime('%Y-%m-%dT%H:%M:%S', moment) + '.%03dZ' % (ms % 1000)


def length_ms(text) -> int:
    if isinstance(text, int):
        return text * 1000
    match = re.fullmatch(r'-?(\d+)([smhdw])', str(text).strip())
    return int(match.group(1)) * UNITS[match.group(2)]


def value_of(entry: dict, ms: int, field: str):
    if field == 'admin':
        found = entry.get('admin_email') or entry.get('admin_name')
    elif field == 'device':
        return str(entry.get('device_id') or entry.get('device_name') or '(unknown device)')
    elif field == 'group':
        found = entry.get('device_group')
    elif field == 'weekday_time':
        moment = time.gmtime(ms / 1000.0)
        return '%s %02d:%02d' % (DAYS[moment.tm_wday], moment.tm_hour, moment.tm_min)
    else:
        found = entry.get(field)
    return None if found is None else str(found)


def holds(kind: str, text, want) -> bool:
    if kind == 'equals':
        return text == str(want)
    if kind == 'not_equals':
        return text != str(want)
    if kind == 'in':
        return text in [str(w) for w in want]
    if kind == 'not_in':
        return text not in [str(w) for w in want]
    if kind == 'regex':
        return text is not None and re.search(want, text) is not None
    return text is None or re.search(want, text) is None


def matches(entry: dict, ms: int, match: dict) -> bool:
    return all(holds(kind, value_of(entry, ms, field), want) for field, spec in (match or {}).items()
               for kind, want in (spec.items() if isinstance(spec, dict) else [('equals', spec)]))


def durations(states: tuple, items: list, period_end: int) -> list:
    """Each stretch from a from-event (the first while out of the state) to the next until-event, or the period's end."""
    values = []
    since = None
    for ms, e in items:
        if e['event'] in states[0] and since is None:
            since = ms
        elif e['event'] in states[1] and since is not None:
            values.append(ms - since)
            since = None
    return values + ([period_end - since] if since is not None else [])


def measures(rule: dict, states, items: list, period_end: int) -> list:
    if states:
        return durations(states, items, period_end)
    if isinstance(rule.get('count'), dict):
        return [len({value_of(e, ms, rule['count']['distinct']) for ms, e in items})]
    if 'window' in rule:
        width = length_ms(rule['window'])
        return [max(sum(1 for other, _e in items if 0 <= other - ms < width) for ms, _e in items)]
    return [len(items)]


def expected_violations(rule: dict, entries: list, period_end: int) -> list:
    """[(group, value)] of the rule, computed by brute force."""
    duration = rule.get('duration')
    states = None
    if duration is not None:
        default = STATES.get(rule['category'])
        states = (duration.get('from', default[0]), duration.get('until', default[1])) if isinstance(duration, dict) else default
    events = rule.get('events') or (states[0] + states[1] if states else None)
    picked = [(ms, e) for ms, e in entries if (not events or e['event'] in events) and matches(e, ms, rule.get('match'))]
    group_by = rule.get('group_by') or ('device' if states else None)
    groups = collections.OrderedDict()
    for ms, e in picked:
        groups.setdefault(None if group_by is None else (value_of(e, ms, group_by) or '(none)'), []).append((ms, e))
    limit = length_ms(rule['max']) if states else int(rule['max'])
    found = [(group, value) for group, items in groups.items() for value in measures(rule, states, items, period_end) if value > limit]
    return sorted(found, key=repr)


def evidence_problems(root: str, rule: dict, result: dict, entries: list) -> list:
    problems = []
    group_by = rule.get('group_by') or ('device' if rule.get('duration') is not None else None)
    for violation in result['violations']:
        for evidence in violation['entries']:
            with gzip.open(os.path.join(root, evidence['file']), 'rt', encoding='utf-8') as stream:
                entry = json.loads(stream.read().split('\n')[evidence['line'] - 1])
            # the entry at that file and line: one of the period's, at the time and with the event the evidence states
            in_truth = [ms for ms, e in entries if e == entry and iso_ms(ms) == evidence['timestamp'] and e['event'] == evidence['event']]
            if not in_truth:
                problems.append('%s: evidence %s line %d is not an entry of the period at %s (%s)'
                                % (rule['name'], evidence['file'], evidence['line'], evidence['timestamp'], evidence['event']))
            elif group_by and value_of(entry, in_truth[0], group_by) != violation['group']:
                where = (rule['name'], evidence['file'], evidence['line'], violation['group'])
                problems.append('%s: evidence %s line %d is not of group %s' % where)
        if 'window' in rule and len(violation['entries']) != violation['value']:
            problems.append('%s: %d evidence entries for a count of %d' % (rule['name'], len(violation['entries']), violation['value']))
    return problems


def junit_problems(path: str, results: list) -> list:
    suites = ET.parse(path).getroot().findall('testsuite')
    cases = [case for suite in suites for case in suite.findall('testcase')]
    problems = []
    if [case.get('name') for case in cases] != [result['name'] for result in results]:
        problems.append('junit: cases %s, rules %s' % ([c.get('name') for c in cases], [r['name'] for r in results]))
    for case, result in zip(cases, results):
        failure = case.find('failure')
        if (failure is None) != result['passed']:
            problems.append('junit: case %s failed=%s, the JSON says passed=%s' % (case.get('name'), failure is not None, result['passed']))
        elif failure is not None and failure.get('message') != '; '.join(v['message'] for v in result['violations']):
            problems.append('junit: case %s message differs from the JSON violations' % case.get('name'))
    return problems


def main() -> int:
    report_path, url, rules_path = sys.argv[1:4]
    with open(report_path, encoding='utf-8') as handle:
        report = json.load(handle)
    with open(rules_path, encoding='utf-8') as handle:
        rules = yaml.safe_load(handle)['itot_audit_rules']
    start, end = report['period']['start_ms'], report['period']['end_ms']
    results = dict((result['name'], result) for result in report['rules'])
    problems = []
    summary = {}
    for rule in rules:
        entries = truth(url, rule['category'], start, end)
        want = expected_violations(rule, entries, end)
        result = results.get(rule['name'])
        if result is None:
            problems.append('%s: not in the report' % rule['name'])
            continue
        got = sorted(((v['group'], v['value']) for v in result['violations']), key=repr)
        if got != want or result['passed'] != (not want):
            problems.append('%s: report %s (passed %s), truth %s' % (rule['name'], got, result['passed'], want))
        problems.extend(evidence_problems(report['archive'], rule, result, entries))
        summary[rule['name']] = want
    problems.extend(junit_problems(report_path[:-len('.json')] + '.junit.xml', report['rules']))
    for problem in problems:
        print(problem)
    print(json.dumps(summary))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
