# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What someone who can write a category folder does to hide entries, keeping manifest.jsonl and state.json consistent.

    tamper.py truncate CAT_DIR OLD_STATE   drop the manifest lines written after OLD_STATE (and their files), put OLD_STATE back
    tamper.py remove CAT_DIR                append a chained remove line for the oldest live file and delete it
    tamper.py edit CAT_DIR [newest]         drop the first entry of the oldest (newest) live file, re-hash it, re-chain from its line
Each prints the number of the first manifest line it changed, and leaves the host's own anchor (state.json) matching.
"""

import gzip
import hashlib
import json
import os
import sys


def lines_of(cat):
    with open(os.path.join(cat, 'manifest.jsonl'), 'rb') as stream:
        return stream.read().splitlines()


def compact(record):
    return json.dumps(record, separators=(',', ':'), ensure_ascii=False).encode('utf-8')


def save(cat, lines, state=None):
    with open(os.path.join(cat, 'manifest.jsonl'), 'wb') as stream:
        stream.write(b''.join(line + b'\n' for line in lines))
    if state is None:
        with open(os.path.join(cat, 'state.json')) as stream:
            state = json.load(stream)
    state.update(manifest_lines=len(lines), manifest_head=hashlib.sha256(lines[-1]).hexdigest() if lines else '0' * 64)
    with open(os.path.join(cat, 'state.json'), 'w') as stream:
        json.dump(state, stream)


def live(lines):
    files = {}
    for number, line in enumerate(lines, 1):
        record = json.loads(line)
        if record['action'] == 'add':
            files[record['file']] = (number, record)
        else:
            files.pop(record['file'], None)
    return sorted(files.values(), key=lambda item: item[0])


def rechain(records):
    prev, out = '0' * 64, []
    for record in records:
        record['prev'] = prev
        line = compact(record)
        out.append(line)
        prev = hashlib.sha256(line).hexdigest()
    return out


def truncate(cat, old_state):
    with open(old_state) as stream:
        state = json.load(stream)
    lines = lines_of(cat)
    keep = state['manifest_lines']
    for line in lines[keep:]:
        record = json.loads(line)
        if record['action'] == 'add' and os.path.exists(os.path.join(cat, record['file'])):
            os.unlink(os.path.join(cat, record['file']))
    save(cat, lines[:keep], state)
    return keep + 1


def remove(cat):
    lines = lines_of(cat)
    number, record = live(lines)[0]
    gone = dict(record, action='remove', prev=hashlib.sha256(lines[-1]).hexdigest())
    os.unlink(os.path.join(cat, record['file']))
    save(cat, lines + [compact(gone)])
    return len(lines) + 1


def edit(cat, which='oldest'):
    lines = lines_of(cat)
    files = [item for item in live(lines) if item[1]['entries'] > 1]
    number, record = files[0] if which == 'oldest' else files[-1]
    path = os.path.join(cat, record['file'])
    with gzip.open(path, 'rb') as stream:
        entries = stream.read().splitlines()[1:]
    data = gzip.compress(b''.join(entry + b'\n' for entry in entries), mtime=0)
    with open(path, 'wb') as stream:
        stream.write(data)
    records = [json.loads(line) for line in lines]
    records[number - 1].update(sha256=hashlib.sha256(data).hexdigest(), entries=len(entries))
    save(cat, rechain(records))
    return number


if __name__ == '__main__':
    action, cat = sys.argv[1], sys.argv[2]
    print({'truncate': lambda: truncate(cat, sys.argv[3]), 'remove': lambda: remove(cat), 'edit': lambda: edit(cat, *sys.argv[3:])}[action]())
