"""Check an audit report against counts computed here, independently, from the emulator's ground truth.

    python check_report.py REPORT.json EMULATOR_URL [--period-ms MS] [--ended-between FROM_MS TO_MS]

The counts are checked for the period the report states; --period-ms and --ended-between check that period itself
(its length, e.g. 86400000 for itot_audit_period=-1d, and that it ended while the audit ran), so a report over the
wrong period cannot pass.  Prints the expected summary as JSON on the last line (the caller uses it to pick
thresholds); exit 1 on a mismatch.
"""
from __future__ import annotations

import argparse
import collections
import datetime
import json
import sys
import urllib.parse
import urllib.request


def truth(url: str, category: str, start: int, end: int) -> list:
    query = urllib.parse.urlencode({'category': category, 'start_time': start, 'end_time': end})
    with urllib.request.urlopen(url + '/_control/truth?' + query, timeout=30) as answer:
        return json.load(answer)['data']


def iso_ms(ms: int) -> str:
    when = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(milliseconds=ms)
    return when.strftime('%Y-%m-%dT%H:%M:%S.') + '%03dZ' % (ms % 1000)


def period_problems(period: dict, length_ms: int | None, ended: list | None) -> list:
    problems = []
    start, end = period['start_ms'], period['end_ms']
    if length_ms is not None and end - start != length_ms:
        problems.append('period: %d ms long (%s to %s), expected %d ms' % (end - start, period['start'], period['end'],
                                                                           length_ms))
    if ended is not None and not ended[0] <= end <= ended[1]:
        problems.append('period: ends at %s, not while the audit ran (%s to %s)'
                        % (period['end'], iso_ms(ended[0]), iso_ms(ended[1])))
    if period.get('start') != iso_ms(start) or period.get('end') != iso_ms(end):
        problems.append('period: start/end %s/%s do not match start_ms/end_ms %d/%d'
                        % (period.get('start'), period.get('end'), start, end))
    return problems


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument('report')
    parser.add_argument('url')
    parser.add_argument('--period-ms', type=int, help='the length the period must have')
    parser.add_argument('--ended-between', type=int, nargs=2, metavar=('FROM_MS', 'TO_MS'),
                        help='the period must end in this interval (the time the audit ran)')
    args = parser.parse_args()
    with open(args.report, encoding='utf-8') as handle:
        report = json.load(handle)
    url = args.url
    start, end = report['period']['start_ms'], report['period']['end_ms']
    data = {category: truth(url, category, start, end) for category in report['categories']}
    problems = period_problems(report['period'], args.period_ms, args.ended_between)
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
