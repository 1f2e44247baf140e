"""Check an opswat.itot archive folder against the emulator's ground truth, independently of the collection's code.

    python check_archive.py --dir DIR --url EMULATOR_URL --categories admin,device [--start-ms MS] [--end-ms MS]
                            [--mode 0640] [--dir-mode 0750] [--owner root] [--group root] [--events CATEGORY=a,b ...]

Checks, per category: the manifest's hash chain; every live file (added, not removed) exists with its sha256;
no other archive file, no temp file and no pending write is left; the entries of the live files equal the
ground truth (as a multiset) for the window; modes and owners.  Prints one line per category; exit 1 on a problem.
"""
from __future__ import annotations

import argparse
import collections
import grp
import gzip
import hashlib
import json
import os
import pwd
import sys
import urllib.parse
import urllib.request


def canonical(entry: dict) -> str:
    return json.dumps(entry, sort_keys=True, separators=(',', ':'), ensure_ascii=False)


def truth(url: str, category: str, start: int | None, end: int | None, events: str | None = None) -> list:
    query = {'category': category}
    if events:
        query['events'] = events
    if start is not None:
        query['start_time'] = str(start)
    if end is not None:
        query['end_time'] = str(end)
    with urllib.request.urlopen(url + '/_control/truth?' + urllib.parse.urlencode(query), timeout=30) as answer:
        return json.load(answer)['data']


def read_manifest(folder: str, problems: list[str]) -> tuple[int, dict[str, dict]]:
    """(the manifest's line count, its live files: added and not removed since); a broken hash chain is a problem."""
    with open(os.path.join(folder, 'manifest.jsonl'), 'rb') as handle:
        lines = handle.read().splitlines()
    prev = '0' * 64
    live: dict[str, dict] = {}
    for number, line in enumerate(lines, 1):
        record = json.loads(line)
        if record['prev'] != prev:
            problems.append('manifest line %d: prev does not chain' % number)
        prev = hashlib.sha256(line).hexdigest()
        if record['action'] == 'add':
            live[record['file']] = record
        else:
            live.pop(record['file'], None)
    return len(lines), live


def archive_files(args: argparse.Namespace, folder: str, problems: list[str]) -> set[str]:
    """The archive files (.jsonl.gz) below the folder; left-over temp files and folders of the wrong mode are problems."""
    found = set()
    for base, dirs, files in os.walk(folder):
        for name in files:
            rel = os.path.relpath(os.path.join(base, name), folder)
            if name.startswith('.tmp-') or name == '.pending.json':
                problems.append('left over: %s' % rel)
            if name.endswith('.jsonl.gz'):
                found.add(rel)
        for name in dirs:
            path = os.path.join(base, name)
            if args.dir_mode and oct(os.stat(path).st_mode & 0o777) != oct(int(args.dir_mode, 8)):
                problems.append('folder %s has mode %o' % (os.path.relpath(path, folder), os.stat(path).st_mode & 0o777))
    return found


def check_file(args: argparse.Namespace, path: str, rel: str, record: dict, problems: list[str]) -> list[dict]:
    """The entries of one live file, checked against its manifest record (sha256, count) and the wanted mode and owners."""
    with open(path, 'rb') as handle:
        raw = handle.read()
    if hashlib.sha256(raw).hexdigest() != record['sha256']:
        problems.append('file %s does not match its sha256' % rel)
    rows = [json.loads(row) for row in gzip.decompress(raw).decode('utf-8').splitlines() if row]
    if len(rows) != record['entries']:
        problems.append('file %s holds %d entries, manifest says %d' % (rel, len(rows), record['entries']))
    info = os.stat(path)
    if args.mode and info.st_mode & 0o777 != int(args.mode, 8):
        problems.append('file %s has mode %o' % (rel, info.st_mode & 0o777))
    if args.owner and pwd.getpwuid(info.st_uid).pw_name != args.owner:
        problems.append('file %s has owner %s' % (rel, pwd.getpwuid(info.st_uid).pw_name))
    if args.group and grp.getgrgid(info.st_gid).gr_name != args.group:
        problems.append('file %s has group %s' % (rel, grp.getgrgid(info.st_gid).gr_name))
    return rows


def check_category(args: argparse.Namespace, category: str) -> list[str]:
    problems: list[str] = []
    folder = os.path.join(args.dir, category)
    manifest_lines, live = read_manifest(folder, problems)
    found = archive_files(args, folder, problems)
    for rel in sorted(found - set(live)):
        problems.append('extra file %s' % rel)
    entries = []
    for rel, record in sorted(live.items()):
        path = os.path.join(folder, rel)
        if not os.path.exists(path):
            problems.append('missing file %s' % rel)
            continue
        entries.extend(check_file(args, path, rel, record, problems))
    events = dict(item.split('=', 1) for item in args.events).get(category)
    want = collections.Counter(canonical(e) for e in truth(args.url, category, args.start_ms, args.end_ms, events))
    have = collections.Counter(canonical(e) for e in entries)
    if want != have:
        problems.append('entries differ from the ground truth: %d missing, %d extra (archive %d, truth %d)' % (
            sum((want - have).values()), sum((have - want).values()), sum(have.values()), sum(want.values())))
    print('%s %s: %d entries in %d files, %d manifest lines%s' % (
        args.dir, category, len(entries), len(live), manifest_lines, '' if not problems else ' - PROBLEMS'))
    return problems


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument('--dir', required=True)
    parser.add_argument('--url', required=True)
    parser.add_argument('--categories', default='admin,device,webhook,device_report')
    parser.add_argument('--start-ms', type=int)
    parser.add_argument('--end-ms', type=int)
    parser.add_argument('--mode')
    parser.add_argument('--dir-mode')
    parser.add_argument('--owner')
    parser.add_argument('--group')
    parser.add_argument('--events', action='append', default=[], help='CATEGORY=a,b: the role filtered these events')
    args = parser.parse_args()
    problems = []
    for category in args.categories.split(','):
        problems.extend('%s: %s' % (category, p) for p in check_category(args, category))
    for problem in problems:
        print('  ' + problem)
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
