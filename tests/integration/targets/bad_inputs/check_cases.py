"""Check the records of the bad-input cases and print one line per case.

python check_cases.py check CASES_YML RECORDS_JSON [RECORDS_JSON_LINES ...]
python check_cases.py audit-cases CASES_YML          one line per audit case: ID, TAB, its variables as JSON
python check_cases.py audit-record CASES_YML ID RC PLAY_LOG COUNTERS_BEFORE COUNTERS_AFTER
                                                     the record of one audit run, one JSON line

A case passes when it failed, its message names the option and shows the value (as a whole word, after the
option's name; a long value by its start) and says what the case's optional `says` holds, it carries no traceback, and the emulator counted no
logs or OAuth request during it.  Every case
of CASES_YML must have exactly one record.  Exit status 1 when any case does not pass, or fewer than 40 ran.
"""
from __future__ import annotations

import json
import re
import sys

import yaml

MIN_CASES = 40
LONG_VALUE = 150  # characters; the collection's messages cut a value's repr at 200
WRAPPER = re.compile(r"^Task failed: .*?The lookup plugin '[^']+' failed: ", re.DOTALL)
UNHANDLED = re.compile(r'Traceback|MODULE FAILURE|unhandled exception|Unexpected (error|failure)', re.IGNORECASE)


def problems(record: dict) -> list[str]:
    msg = record['msg']
    found = []
    if not record['failed']:
        found.append('did not fail')
    at = msg.find(record['option'])
    if at < 0:
        found.append('message does not name %s' % record['option'])
    else:
        # A whole word: not part of a longer number, name or path ('0' does not match in '100' or '2.0').
        # A long value (a next_token with its marks) is shown by its start, cut and followed by '...'.
        value = str(record['shows'])
        if len(value) > LONG_VALUE:
            shows = re.compile(r"(?<!\w)%s\S*\.\.\." % re.escape(value[:LONG_VALUE]))
        else:
            shows = re.compile(r"(?<!\w)(?<!\w[.])%s(?!\w)(?![.]\w)" % re.escape(value))
        if not shows.search(msg, at):
            found.append('message does not show %s after the option name' % record['shows'])
    if record.get('says') and record['says'] not in msg:
        found.append('message does not say %s' % record['says'])
    if record['traceback'] or UNHANDLED.search(msg):
        found.append('traceback or unhandled exception')
    if record['logs_requests'] or record['oauth_requests']:
        found.append('requests sent: %d logs, %d oauth' % (record['logs_requests'], record['oauth_requests']))
    return found


def load_cases(path: str) -> dict:
    with open(path, encoding='utf-8') as handle:
        return yaml.safe_load(handle)


def audit_cases(cases_path: str) -> int:
    for case in load_cases(cases_path)['audit']:
        print('%s\t%s' % (case['id'], json.dumps(case['vars'])))
    return 0


def failure_message(log: str) -> str:
    """The msg of the first failed task in an ansible-playbook output."""
    at = log.find('FAILED! =>')
    if at < 0:
        return ''
    try:
        result, _end = json.JSONDecoder().raw_decode(log[at + len('FAILED! =>'):].lstrip())
    except ValueError:
        return log[at:at + 500]
    return str(result.get('msg', ''))


def audit_record(cases_path: str, case_id: str, rc: str, log_path: str, before: str, after: str) -> int:
    case = next(case for case in load_cases(cases_path)['audit'] if case['id'] == case_id)
    with open(log_path, encoding='utf-8', errors='replace') as handle:
        log = handle.read()
    before_counts, after_counts = json.loads(before), json.loads(after)
    print(json.dumps({'face': 'audit', 'id': case_id, 'option': case['option'], 'shows': case['shows'],
                      'says': case.get('says', ''),
                      'failed': rc != '0', 'msg': failure_message(log), 'traceback': 'Traceback' in log,
                      'logs_requests': after_counts['logs_requests'] - before_counts['logs_requests'],
                      'oauth_requests': after_counts['oauth_requests'] - before_counts['oauth_requests']}))
    return 0


def check(cases_path: str, record_paths: list[str]) -> int:
    cases = load_cases(cases_path)
    records = []
    for path in record_paths:
        with open(path, encoding='utf-8') as handle:
            text = handle.read()
        records.extend(json.loads(text) if text.lstrip().startswith('[') else
                       [json.loads(line) for line in text.splitlines() if line.strip()])
    expected = [(face, case['id']) for face, rows in cases.items() for case in rows]
    seen = [(record['face'], record['id']) for record in records]
    bad = 0
    if len(set(expected)) != len(expected):
        print('FAIL: case ids are not unique within their face')
        bad += 1
    if sorted(seen) != sorted(expected):
        print('FAIL: records do not match the cases; missing %s, unexpected %s'
              % (sorted(set(expected) - set(seen)), sorted(set(seen) - set(expected))))
        bad += 1
    print('%-8s %-36s %-40s %-4s %s' % ('face', 'case', 'option', 'ok', 'message (or what is wrong)'))
    for record in records:
        found = problems(record)
        bad += bool(found)
        shown = ' '.join(WRAPPER.sub('', record['msg']).split())  # without Ansible's "Task failed: ... lookup failed:"
        text = '; '.join(found) + ' | ' + shown if found else shown
        print('%-8s %-36s %-40s %-4s %s' % (record['face'], record['id'], record['option'], 'FAIL' if found else 'ok',
                                            text if found else text[:120]))
    passed = len(records) - sum(bool(problems(record)) for record in records)
    print('bad inputs: %d cases (%s), %d passed, %d failed; requests sent during them: %d logs, %d oauth'
          % (len(records), ', '.join('%s %d' % (face, len(rows)) for face, rows in cases.items()), passed,
             len(records) - passed, sum(r['logs_requests'] for r in records), sum(r['oauth_requests'] for r in records)))
    if len(records) < MIN_CASES:
        print('FAIL: fewer than %d cases' % MIN_CASES)
        bad += 1
    return 1 if bad else 0


def main() -> int:
    command, args = sys.argv[1], sys.argv[2:]
    if command == 'check':
        return check(args[0], args[1:])
    if command == 'audit-cases':
        return audit_cases(args[0])
    if command == 'audit-record':
        return audit_record(*args)
    print('unknown command %s' % command)
    return 2


if __name__ == '__main__':
    sys.exit(main())
