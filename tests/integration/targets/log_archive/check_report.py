"""Check an audit report against counts computed here, independently, from the emulator's ground truth.

    python check_report.py REPORT.json EMULATOR_URL

Prints the expected summary as JSON on the last line (the caller uses it to pick thresholds); exit 1 on a mismatch.
"""
from __future__ import annotations

import collections
import json
import sys
import urllib.parse
import urllib.request


def truth(url: str, category: str, start: int, end: int) -> list:
    query = urllib.parse.urlencode({'category': category, 'start_time': start, 'end_time': end})
    with urllib.request.urlopen(url + '/_control/truth?' + query, timeout=30) as answer:
        return json.load(answer)['data']


def main() -> int:
    with open(sys.argv[1], encoding='utf-8') as handle:
        report = json.load(handle)
    url = sys.argv[2]
    start, end = report['period']['start_ms'], report['period']['end_ms']
    data = {category: truth(url, category, start, end) for category in report['categories']}
    problems = []
    for category, entries in data.items():
        events = collections.Counter(entry['event'] for entry in entries)
        got = report['counts'][category]
        if got['total'] != len(entries) or dict(got['events']) != dict(events):
            problems.append('%s counts: report %s, truth total %d %s' % (category, got, len(entries), dict(events)))
    expected = {
        'failed_auth': sum(1 for e in data.get('admin', []) if e['event'] == 'failed_auth'),
        'noncompliant_devices': len({e['device_id'] for e in data.get('device', []) if e['event'] == 'noncompliant'}),
        'deleted_user': len({e['device_id'] for e in data.get('device', []) if e['event'] == 'deleted_user'}),
        'webhook_errors': sum(1 for e in data.get('webhook', []) if str(e['response_code']).isdigit() and int(e['response_code']) >= 400),
    }
    for key, value in expected.items():
        if report['summary'][key] != value:
            problems.append('summary %s: report %s, truth %s' % (key, report['summary'][key], value))
    if report['entries_total'] != sum(len(v) for v in data.values()):
        problems.append('entries_total: report %s, truth %s' % (report['entries_total'], sum(len(v) for v in data.values())))
    for problem in problems:
        print(problem)
    print(json.dumps(expected))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
