# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The archive's records: ``state.json``, ``manifest.jsonl`` and the hash chain that links its lines.

For internal collection use only.  Reads, parses and builds the state and the manifest lines, and says what is
wrong with a chain (its lines, the files it adds and removes, its anchor in ``state.json``).  Writing them is the
transaction's job (_archive_txn.py).
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

from ansible_collections.opswat.itot.plugins.module_utils._archive_fs import dumps_compact, read_bytes
from ansible_collections.opswat.itot.plugins.module_utils._archive_names import MANIFEST, STATE, archive_name_problem
from ansible_collections.opswat.itot.plugins.module_utils._errors import ArchiveError

ZERO_HASH = '0' * 64
STATE_VERSION = 1
MANIFEST_KEYS = ('file', 'sha256', 'entries', 'first', 'last', 'action', 'prev', 'at')


# --- state --------------------------------------------------------------------------------------------------

def empty_state(category: str) -> dict[str, Any]:
    return {
        'version': STATE_VERSION, 'category': category, 'cursor_ms': None, 'cursor': None, 'overlap_from_ms': None,
        'overlap_ids': {}, 'undated_ids': {}, 'outside_ids': {}, 'manifest_lines': 0, 'manifest_head': ZERO_HASH,
        # Where the archive's reading began (set once, by its first run with a window); None in an archive made before
        # coverage was recorded, whose coverage starts at its first archived entry.
        'covered_from_ms': None,
    }


def load_state(cat_dir: str, category: str) -> tuple[dict[str, Any], bool]:
    """(state, whether state.json exists).  A missing file is an empty archive; a broken one is an error."""
    path = os.path.join(cat_dir, STATE)
    raw = read_bytes(cat_dir, STATE)
    if raw is None:
        return empty_state(category), False
    try:
        state = json.loads(raw.decode('utf-8'))
    except ValueError as exc:
        raise ArchiveError('%s is not valid JSON (%s); repair or remove it' % (path, exc)) from exc
    if not isinstance(state, dict) or state.get('version') != STATE_VERSION:
        raise ArchiveError('%s is not a version %d archive state' % (path, STATE_VERSION))
    merged = empty_state(category)
    merged.update(state)
    return merged, True


def state_bytes(state: dict[str, Any]) -> bytes:
    """One top-level key per line, each value compact: readable, and small with many identities."""
    body = ',\n'.join(' %s: %s' % (json.dumps(key), dumps_compact(value)) for key, value in state.items())
    return ('{\n%s\n}\n' % body).encode('utf-8')


# --- manifest -----------------------------------------------------------------------------------------------

def read_manifest(cat_dir: str) -> list[bytes]:
    """The manifest's lines (bytes, without their newline).  A missing manifest has no lines."""
    raw = read_bytes(cat_dir, MANIFEST)
    if not raw:
        return []
    lines = raw.split(b'\n')
    if lines[-1] == b'':
        lines.pop()
    return lines


def line_hash(line: bytes) -> str:
    return hashlib.sha256(line).hexdigest()


def manifest_head(lines: list[bytes]) -> str:
    return line_hash(lines[-1]) if lines else ZERO_HASH


def manifest_record(record: dict[str, Any], prev: str, at: str) -> bytes:
    """One manifest line (keys in the contract's order), chained to the previous line's hash."""
    ordered = dict((key, record[key]) for key in MANIFEST_KEYS[:6])
    ordered['prev'] = prev
    ordered['at'] = at
    return dumps_compact(ordered).encode('utf-8')


def chain_records(records: list[dict[str, Any]], prev: str, at: str) -> list[bytes]:
    lines = []
    for record in records:
        line = manifest_record(record, prev, at)
        lines.append(line)
        prev = line_hash(line)
    return lines


def lines_to_append(existing: list[bytes], wanted: list[bytes]) -> list[bytes]:
    """The lines of wanted that are not already at the end of existing (the longest suffix/prefix match)."""
    for done in range(min(len(existing), len(wanted)), 0, -1):
        if existing[-done:] == wanted[:done]:
            return wanted[done:]
    return list(wanted)


# --- the chain and what is wrong with it ----------------------------------------------------------------------

def _chain_problem(line: int | None, detail: str, file: str = MANIFEST) -> dict[str, Any]:
    return {'kind': 'chain', 'file': file, 'line': line, 'detail': detail}


def parse_manifest(lines: list[bytes]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(records, problems): each line parsed, and what is wrong with the chain or the lines."""
    records = []
    problems = []
    prev = ZERO_HASH
    for number, line in enumerate(lines, 1):
        try:
            record = json.loads(line.decode('utf-8'))
            if not isinstance(record, dict):
                raise ValueError('not an object')
        except ValueError:
            problems.append(_chain_problem(number, 'manifest line %d is not a JSON object' % number))
            record = {}
        if record and record.get('prev') != prev:
            problems.append(_chain_problem(number, 'chain broken at line %d: its prev does not match line %d' % (number, number - 1)
                                           if number > 1 else 'chain broken at line 1: its prev is not %s' % ZERO_HASH))
        records.append(record)
        prev = line_hash(line)
    return records, problems


def live_files(records: list[dict[str, Any]]) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """(file -> its add record, problems): the files added and not removed, in manifest order."""
    live: dict[str, dict[str, Any]] = {}
    problems = []
    for number, record in enumerate(records, 1):
        name = record.get('file')
        action = record.get('action')
        if not record:
            continue
        problem = archive_name_problem(name)
        if problem is not None:
            # Never a file to hash, keep or delete: a planted line must not reach outside the archive (retention).
            problems.append(_chain_problem(number, 'manifest line %d names %r: %s; it is not a file of this archive'
                                           % (number, name, problem)))
            continue
        if action == 'add':
            if name in live:
                problems.append(_chain_problem(number, 'manifest line %d adds %s, which is already live' % (number, name), name))
            live[name] = record
        elif action == 'remove':
            if name not in live:
                problems.append(_chain_problem(number, 'manifest line %d removes %s, which is not live' % (number, name), name))
            live.pop(name, None)
        else:
            problems.append(_chain_problem(number, 'manifest line %d has an unknown action %r' % (number, action), name))
    return live, problems


def chain_problems(lines: list[bytes], state: dict[str, Any] | None) -> list[dict[str, Any]]:
    """What is wrong with the manifest's lines, the files they add and remove, and their anchor in state.json."""
    records, problems = parse_manifest(lines)
    problems.extend(live_files(records)[1])
    if state is not None:
        if state.get('manifest_lines') != len(lines) or state.get('manifest_head') != manifest_head(lines):
            problems.append(_chain_problem(len(lines), 'manifest.jsonl has %d lines ending in %s, state.json records %s lines ending in %s '
                                                       '(lines removed, added or edited at the end)'
                                           % (len(lines), manifest_head(lines)[:12], state.get('manifest_lines'),
                                              str(state.get('manifest_head'))[:12])))
    elif lines:
        problems.append(_chain_problem(None, 'state.json is missing but manifest.jsonl has %d lines' % len(lines), STATE))
    return problems
