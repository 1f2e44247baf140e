"""Helpers of the fault matrix target (standard library only).

    python matrix.py token URL VARS_FILE TOKENS_FILE   an OAuth token for the test client: fm_issued_token in a vars
                                                       file, and appended to TOKENS_FILE (for the sweep)
    python matrix.py trigger URL AFTER JSON            once the emulator counted AFTER logs requests, POST JSON to its
                                                       /_control/config (run in the background; exits when done)
    python matrix.py judge --url URL --row ROW --face FACE --rc RC --log PLAY_LOG --counters JSON [--result JSON]
                           [--categories C,C] [--rerun-rc RC] [--checks-rc RC] --exercised EXPR --expect REGEX
                           [--outcome truth|error|either] --record FILE
    python matrix.py table FILE                        prints the matrix; exit 1 when any cell failed
    python matrix.py sweep TOKENS_FILE DIR             exit 1 when a file below DIR holds one of the tokens

judge decides one cell.  It passes when the face's run succeeded and its result equals the ground truth exactly
(the same entries as a multiset of canonical JSON, and in the same order: oldest first, ties in the API's
insertion order), or when the run failed with a message that names what happened (the --expect regular
expression, matched against the first failed task's msg).  --outcome narrows this to the one a row expects.
For the role, --checks-rc is check_archive.py's verdict on every host after the faulted run when it succeeded,
else after the rerun without the fault (--rerun-rc).  The cell fails on a silent short or long result, a vague
failure, a rerun that does not end at the truth, or a fault the emulator never injected (--exercised: names of
/_control/counters joined by '+', e.g. faults.500+faults.502, whose sum must be positive).
"""
from __future__ import annotations

import argparse
import collections
import gzip
import json
import os
import re
import sys
import time
import urllib.parse
import urllib.request


def http(url: str, path: str, body: bytes | None = None, content_type: str = 'application/json') -> dict:
    request = urllib.request.Request(url + path, data=body, method='POST' if body is not None else 'GET',
                                     headers={'Content-Type': content_type})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.load(answer)


def canonical(entry: object) -> str:
    return json.dumps(entry, sort_keys=True, separators=(',', ':'), ensure_ascii=False)


def truth(url: str, categories: list[str]) -> list:
    data = []
    for category in categories:
        data.extend(http(url, '/_control/truth?' + urllib.parse.urlencode({'category': category}))['data'])
    return data


def compare(result: list, want: list) -> str:
    """'' when equal (order included), else what differs."""
    have_c = collections.Counter(canonical(e) for e in result)
    want_c = collections.Counter(canonical(e) for e in want)
    if have_c != want_c:
        return '%d entries, truth %d: %d missing, %d extra' % (
            len(result), len(want), sum((want_c - have_c).values()), sum((have_c - want_c).values()))
    if [canonical(e) for e in result] != [canonical(e) for e in want]:
        return 'same entries as the truth, but not oldest first'
    return ''


def failure_messages(log: str) -> list[str]:
    """The msg of every failed task in an ansible-playbook output (any verbosity of the default callback)."""
    with open(log, encoding='utf-8', errors='replace') as handle:
        text = handle.read()
    messages = []
    decoder = json.JSONDecoder()
    for match in re.finditer(r'^(?:fatal|failed): \[[^\]]*\].*?FAILED! => ', text, re.M):
        try:
            doc, dummy = decoder.raw_decode(text, match.end())
        except ValueError:
            continue
        msg = doc.get('msg') if isinstance(doc, dict) else None
        if isinstance(msg, str) and msg:
            messages.append(' '.join(msg.split()))
    return messages


def counter(counters: dict, name: str) -> int:
    value: object = counters
    for part in name.split('.'):
        value = value.get(part, 0) if isinstance(value, dict) else 0
    return value if isinstance(value, int) else 0


def short(message: str, limit: int = 120) -> str:
    # The lookup's failure wraps the plugin's message: show the plugin's own words.
    found = re.search(r"(?:original message|The lookup plugin '[^']*' failed): (.*)", message)
    if found:
        message = found.group(1)
    return message if len(message) <= limit else message[:limit - 3] + '...'


def failure_verdict(args: argparse.Namespace, message: str) -> tuple[str, str]:
    """The verdict and note of a run that failed: it passes only with a message that names what happened."""
    if not message:
        return 'failed', 'failed (exit %d) without a task message' % args.rc
    if not re.search(args.expect, message):
        return 'failed', 'vague failure: %s' % short(message)
    if args.outcome == 'truth':
        return 'failed', 'failed where the result should equal the truth: %s' % short(message)
    return 'passed', 'failed: %s' % short(message)


def success_verdict(args: argparse.Namespace) -> tuple[str, str]:
    """The verdict and note of a run that succeeded: it passes only when its result is the truth."""
    if args.outcome == 'error':
        return 'failed', 'succeeded where it must fail'
    if args.face == 'role':
        return ('failed', 'silent wrong result: an archive differs from the truth') if args.checks_rc else (
            'passed', 'equal to truth on both hosts')
    with open(args.result, encoding='utf-8') as handle:
        result = json.load(handle)
    difference = compare(result, truth(args.url, args.categories.split(',')))
    return ('failed', 'silent wrong result: ' + difference) if difference else ('passed', 'equal to truth')


def rerun_verdict(args: argparse.Namespace, verdict: str, note: str) -> tuple[str, str]:
    """The role's verdict after a failed run: the run after it, without the fault, must leave the exact truth on every host."""
    if args.rerun_rc != 0:
        return 'failed', note + '; the rerun without the fault failed too'
    if args.checks_rc != 0:
        return 'failed', note + '; rerun: an archive differs from the truth'
    return verdict, note + '; rerun: equal to truth on both hosts'


def judge(args: argparse.Namespace) -> int:
    with open(args.counters, encoding='utf-8') as handle:
        counters = json.load(handle)
    injected = sum(counter(counters, name) for name in args.exercised.split('+'))
    failed = args.rc != 0
    messages = failure_messages(args.log) if failed else []
    message = messages[0] if messages else ''
    if injected == 0:
        verdict, note = 'failed', 'the fault was never injected (%s = 0)' % args.exercised
    elif failed:
        verdict, note = failure_verdict(args, message)
    else:
        verdict, note = success_verdict(args)
    if args.face == 'role' and failed:
        verdict, note = rerun_verdict(args, verdict, note)
    record = {'row': args.row, 'face': args.face, 'verdict': verdict, 'note': note, 'seconds': args.seconds,
              'injected': injected, 'requests': counters.get('logs_requests'), 'message': message}
    with open(args.record, 'a', encoding='utf-8') as handle:
        handle.write(json.dumps(record) + '\n')
    print('[%s] %s x %s: %s (%d injected, %s logs requests, %ss)' % (
        verdict.upper(), args.row, args.face, note, injected, counters.get('logs_requests'), args.seconds))
    if message:
        print('  message: %s' % message)
    return 0


def table(path: str) -> int:
    with open(path, encoding='utf-8') as handle:
        records = [json.loads(line) for line in handle if line.strip()]
    rows = list(dict.fromkeys(r['row'] for r in records))
    faces = list(dict.fromkeys(r['face'] for r in records))
    cells = {(r['row'], r['face']): r for r in records}
    width = max(len(r) for r in rows + ['fault'])
    line = '%-*s | ' % (width, 'fault') + ' | '.join('%-7s' % f for f in faces) + ' | notes'
    print(line)
    print('-' * len(line))
    failures = 0
    for row in rows:
        marks, notes = [], []
        for face in faces:
            cell = cells.get((row, face))
            if cell is None:
                marks.append('%-7s' % '-')
                continue
            marks.append('%-7s' % cell['verdict'])
            notes.append('%s: %s' % (face, cell['note']))
            failures += cell['verdict'] != 'passed'
        print('%-*s | %s | %s' % (width, row, ' | '.join(marks), notes[0] if notes else ''))
        for note in notes[1:]:
            print('%-*s | %s | %s' % (width, '', ' | '.join(' ' * 7 for dummy in faces), note))
    print('%d cells, %d failed' % (len(records), failures))
    return 1 if failures else 0


def issue_token(url: str, path: str, tokens_file: str) -> int:
    form = urllib.parse.urlencode({'grant_type': 'client_credentials', 'client_id': os.environ['ITOT_TEST_CLIENT_ID'],
                                   'client_secret': os.environ['ITOT_TEST_SECRET']}).encode('ascii')
    token = http(url, '/o/oauth/token', form, 'application/x-www-form-urlencoded')['access_token']
    old = os.umask(0o077)
    try:
        with open(path, 'w', encoding='utf-8') as handle:
            handle.write('fm_issued_token: "%s"\n' % token)
        with open(tokens_file, 'a', encoding='utf-8') as handle:
            handle.write(token + '\n')
    finally:
        os.umask(old)
    return 0


def trigger(url: str, after: int, config: str) -> int:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if http(url, '/_control/counters')['logs_requests'] >= after:
            http(url, '/_control/config', config.encode('utf-8'))
            return 0
        time.sleep(0.02)
    return 1


def sweep(tokens_file: str, top: str) -> int:
    """The OAuth tokens the target obtained itself (one a line) must not be in any file below ``top`` either."""
    if not os.path.exists(tokens_file):
        print('issued-token sweep: no token was issued')
        return 0
    with open(tokens_file, encoding='utf-8') as handle:
        tokens = [line.strip().encode('utf-8') for line in handle if line.strip()]
    found = files = 0
    for base, dummy, names in os.walk(top):
        for name in names:
            path = os.path.join(base, name)
            with open(path, 'rb') as handle:
                data = handle.read()
            if data[:2] == b'\x1f\x8b':
                data = gzip.decompress(data)
            files += 1
            hits = sum(data.count(token) for token in tokens)
            if hits:
                print('LEAK of an issued access token in %s (%d times)' % (path, hits))
                found += hits
    print('issued-token sweep: %d files searched, %d occurrence(s) of %d issued token(s)' % (files, found, len(tokens)))
    return 1 if found else 0


def main() -> int:
    if sys.argv[1:2] == ['sweep']:
        return sweep(sys.argv[2], sys.argv[3])
    if sys.argv[1:2] == ['token']:
        return issue_token(sys.argv[2], sys.argv[3], sys.argv[4])
    if sys.argv[1:2] == ['trigger']:
        return trigger(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    if sys.argv[1:2] == ['table']:
        return table(sys.argv[2])
    parser = argparse.ArgumentParser()
    parser.add_argument('command', choices=['judge'])
    parser.add_argument('--url', required=True)
    parser.add_argument('--row', required=True)
    parser.add_argument('--face', required=True, choices=['module', 'lookup', 'role'])
    parser.add_argument('--rc', type=int, required=True)
    parser.add_argument('--log', required=True)
    parser.add_argument('--result')
    parser.add_argument('--counters', required=True, help="the emulator's counters right after the faulted run")
    parser.add_argument('--categories', default='device')
    parser.add_argument('--rerun-rc', type=int, default=0)
    parser.add_argument('--checks-rc', type=int, default=0)
    parser.add_argument('--seconds', default='?')
    parser.add_argument('--exercised', required=True)
    parser.add_argument('--expect', required=True)
    parser.add_argument('--outcome', choices=['truth', 'error', 'either'], default='either')
    parser.add_argument('--record', required=True)
    return judge(parser.parse_args())


if __name__ == '__main__':
    sys.exit(main())
