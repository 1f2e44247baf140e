# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Chain heads kept off the host: what a head is, whether a manifest extends it, and the controller's heads file.

For internal collection use only.  ``state.json`` anchors the manifest on the host itself, so whoever can write the
category folder can drop or rewrite lines and roll ``state.json`` back with them.  A head -- the manifest's line
count and the SHA-256 of its last line -- recorded where the host cannot write (the controller's heads file, the
audit report the controller keeps) closes that: every manifest line carries the hash of the one before it, so a
manifest *extends* a head of N lines exactly when it has at least N lines and its line N hashes to the head.

Also here: which ``remove`` lines retention allows, the per-day summary hosts holding the same category compare,
and the heads file itself (JSON, written atomically under a lock; it holds hashes and counts, no secret)::

    {"version": 1, "heads": [{"tenant": "default", "host": "archive_a", "dir": "/var/log/itot", "category": "device",
                              "lines": 12, "sha256": "<hash of line 12>", "recorded": "<ISO time>",
                              "watermark": {"from_ms": ..., "to_ms": ..., "filters": "<sha256>"}}, ...]}

(``watermark``, recorded by the log_archive role's verify step, is _archive_watermark's.)
"""

from __future__ import annotations

import datetime
import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from typing import Any

from ansible_collections.opswat.itot.plugins.module_utils._errors import ArchiveError
from ansible_collections.opswat.itot.plugins.module_utils._timeparse import parse_time_ms

HEADS_VERSION = 1
DEFAULT_TENANT = 'default'
HEAD_KEYS = ('tenant', 'host', 'dir', 'category')
_DAY_MS = 86400000
_HEX = frozenset('0123456789abcdef')


# --- a head and whether a manifest extends it -------------------------------------------------------------------

def head_of(lines: list[bytes]) -> dict[str, Any]:
    """The head of a manifest: its line count and the SHA-256 of its last line (64 zeros when empty)."""
    return {'lines': len(lines), 'sha256': hashlib.sha256(lines[-1]).hexdigest() if lines else '0' * 64}


def check_head(known: Any, name: str = 'known_head') -> dict[str, Any] | None:
    """The head as {lines, sha256[, recorded]}, or None; ArchiveError naming ``name`` when it is malformed."""
    if known is None or known == {}:
        return None
    lines = known.get('lines') if isinstance(known, dict) else None
    sha = known.get('sha256') if isinstance(known, dict) else None
    if (not isinstance(lines, int) or isinstance(lines, bool) or lines < 0 or not isinstance(sha, str)
            or len(sha) != 64 or not set(sha) <= _HEX):
        raise ArchiveError('%s must be {lines: a count, sha256: 64 hex digits}, got %r' % (name, known))
    return dict(known)


def _head_problem(line: int, detail: str) -> dict[str, Any]:
    return {'kind': 'head', 'file': 'manifest.jsonl', 'line': line, 'detail': detail}


def extension_problems(lines: list[bytes], known: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Why the manifest does not extend the head recorded last time (empty when it does, or when none is known)."""
    if not known or known['lines'] == 0:
        return []
    count = known['lines']
    when = ' (recorded %s)' % known['recorded'] if known.get('recorded') else ''
    if len(lines) < count:
        return [_head_problem(count, 'manifest line %d, the head recorded off the host%s, is missing: manifest.jsonl has %d '
                                     'lines, fewer than %d; lines from line %d on were removed (truncated, state.json rolled back)'
                                     % (count, when, len(lines), count, len(lines) + 1))]
    actual = hashlib.sha256(lines[count - 1]).hexdigest()
    if actual != known['sha256']:
        return [_head_problem(count, 'manifest line %d hashes to %s, the head recorded off the host%s is %s: line %d or a '
                                     'line before it was rewritten' % (count, actual[:12], when, known['sha256'][:12], count))]
    return []


# --- remove lines and retention ---------------------------------------------------------------------------------

def _ms(value: Any) -> int | None:
    """Epoch ms of the manifest's ISO times (``2026-11-29T07:00:04.000Z``); None when it is not one."""
    return parse_time_ms(value) if isinstance(value, str) else None


def _remove_problem(number: int, record: dict[str, Any], added: dict[str, Any] | None, retention_days: int,
                    now: int) -> str | None:
    name = record.get('file')
    if retention_days <= 0:
        return 'manifest line %d removes %s, but retention_days is 0 (keep forever): no removal is allowed' % (number, name)
    if added is not None and any(record.get(key) != added.get(key) for key in ('sha256', 'entries', 'first', 'last')):
        return 'manifest line %d removes %s with a sha256, count or time that is not the one it was added with' % (number, name)
    last = _ms((added or record).get('last'))
    if last is None:
        return 'manifest line %d removes %s, which is undated; retention never removes undated files' % (number, name)
    if last >= now - retention_days * _DAY_MS:
        return ('manifest line %d removes %s, whose newest entry (%s) is younger than retention_days (%d): retention '
                'does not allow it' % (number, name, (added or record).get('last'), retention_days))
    return None


def remove_problems(records: list[dict[str, Any]], after: int, retention_days: int, now: int) -> list[dict[str, Any]]:
    """The ``remove`` lines after line ``after`` that the retention (as set now) does not allow.

    A file may be removed once its newest entry is older than ``retention_days``, so a remove line is checked against
    ``now`` (not its own ``at``, which whoever wrote it chose): legitimate when the file is that old today.  Lines up
    to ``after`` (the head recorded last time) were accepted then and are not checked again, so that changing the
    retention later does not turn past removals into failures.
    """
    problems = []
    added: dict[str, dict[str, Any]] = {}
    for number, record in enumerate(records, 1):
        if record.get('action') == 'add':
            added[record.get('file')] = record
        elif record.get('action') == 'remove' and number > after:
            detail = _remove_problem(number, record, added.get(record.get('file')), retention_days, now)
            if detail:
                problems.append({'kind': 'remove', 'file': record.get('file'), 'line': number, 'detail': detail})
    return problems


def head_problems(lines: list[bytes], records: list[dict[str, Any]], known: dict[str, Any] | None,
                  retention_days: int, now: int) -> list[dict[str, Any]]:
    """Everything the recorded head says is wrong: not extended, or removals since it that retention does not allow.

    known None: no head check was asked for.  A head of 0 lines (nothing recorded yet): every remove line is checked.
    """
    if known is None:
        return []
    problems = extension_problems(lines, known)
    if problems:
        return problems
    return remove_problems(records, known['lines'], retention_days, now)


# --- what hosts holding the same category compare ---------------------------------------------------------------

def day_summary(live: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per UTC day (``YYYY-MM-DD``) of the live dated files: entries, first and last entry time."""
    days: dict[str, dict[str, Any]] = {}
    for record in live:
        first, last = record.get('first'), record.get('last')
        if not isinstance(first, str) or not isinstance(last, str):
            continue
        day = days.setdefault(first[:10], {'entries': 0, 'first': first, 'last': last})
        day['entries'] += int(record.get('entries') or 0)
        day['first'] = min(day['first'], first)
        day['last'] = max(day['last'], last)
    return dict(sorted(days.items()))


def _comparable(days: dict[str, Any], newest: str) -> dict[str, Any]:
    """The days a host is expected to hold in full: after its oldest (a later host's backfill, or a day retention
    has begun to remove, starts part-way) up to the newest any host holds; a missing day inside that range counts."""
    if not days:
        return {}
    return dict((day, days.get(day)) for day in _days_between(min(days), newest)[1:])


def _days_between(first: str, last: str) -> list[str]:
    start = datetime.date.fromisoformat(first)
    end = datetime.date.fromisoformat(last)
    return [(start + datetime.timedelta(days=offset)).isoformat() for offset in range((end - start).days + 1)]


def _describe(value: dict[str, Any] | None) -> str:
    if value is None:
        return 'nothing'
    return '%d entries, %s .. %s' % (value['entries'], value['first'], value['last'])


def _day_disagreements(group: str, by_host: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    newest = max((max(days) for days in by_host.values() if days), default=None)
    if newest is None or len(by_host) < 2:
        return {}
    comparable = dict((host, _comparable(days, newest)) for host, days in by_host.items())
    named: dict[str, list[str]] = {}
    for day in sorted(set(day for days in comparable.values() for day in days)):
        values = dict((host, days[day]) for host, days in comparable.items() if day in days)
        if len(values) < 2:
            continue
        tally: dict[str, list[str]] = {}
        for host, value in values.items():
            tally.setdefault(json.dumps(value, sort_keys=True), []).append(host)
        if len(tally) < 2:
            continue
        top = max(len(hosts) for hosts in tally.values())
        majority = [key for key, hosts in tally.items() if len(hosts) == top]
        agreed = json.loads(majority[0]) if len(majority) == 1 else None
        for key, hosts in tally.items():
            if len(majority) == 1 and key == majority[0]:
                continue
            others = ', '.join(sorted(host for host in values if host not in hosts))
            for host in hosts:
                named.setdefault(host, []).append(
                    '%s on %s: %s holds %s, %s %s' % (group, day, host, _describe(json.loads(key)), others,
                                                      'hold ' + _describe(agreed) if agreed is not None
                                                      else 'disagree (no majority)'))
    return named


def day_disagreements(hosts: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    """Per host, where it disagrees with the other hosts that hold the same group (tenant, category, filters).

    hosts: {host: {group label: {day: {entries, first, last}}}}.  A day is compared among the hosts expected to
    hold it in full (see _comparable); a host that differs from the majority is named, and with no majority every
    host that differs is.  A host added later is not compared on the days before and on its first one.
    """
    groups: dict[str, dict[str, Any]] = {}
    for host, held in hosts.items():
        for group, days in (held or {}).items():
            groups.setdefault(group, {})[host] = days or {}
    named: dict[str, list[str]] = {}
    for group in sorted(groups):
        for host, messages in _day_disagreements(group, groups[group]).items():
            named.setdefault(host, []).extend(messages)
    return named


# --- the heads file on the controller ---------------------------------------------------------------------------

def heads_key(host: str, root: str, category: str, tenant: str = DEFAULT_TENANT) -> dict[str, str]:
    return {'tenant': tenant, 'host': host, 'dir': root, 'category': category}


def load_heads(path: str) -> list[dict[str, Any]]:
    """The heads recorded in the file (none when it does not exist yet); ArchiveError naming it when it is broken."""
    try:
        with open(path, 'rb') as stream:
            raw = stream.read()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise ArchiveError('cannot read the heads file %s: %s' % (path, exc.strerror or exc)) from exc
    try:
        doc = json.loads(raw.decode('utf-8'))
    except ValueError as exc:
        raise ArchiveError('the heads file %s is not valid JSON (%s); restore it from a backup' % (path, exc)) from exc
    heads = doc.get('heads') if isinstance(doc, dict) and doc.get('version') == HEADS_VERSION else None
    if not isinstance(heads, list) or not all(isinstance(head, dict) for head in heads):
        raise ArchiveError('the heads file %s is not a version %d heads file' % (path, HEADS_VERSION))
    return heads


def find_head(heads: list[dict[str, Any]], key: dict[str, str]) -> dict[str, Any] | None:
    """The record of a key: lines, sha256, recorded and (when there is one) the watermark recorded with them."""
    for head in heads:
        if all(head.get(name) == key[name] for name in HEAD_KEYS):
            return dict((name, head[name]) for name in ('lines', 'sha256', 'recorded', 'watermark') if name in head)
    return None


def heads_bytes(heads: list[dict[str, Any]]) -> bytes:
    ordered = sorted(heads, key=lambda head: tuple(str(head.get(name)) for name in HEAD_KEYS))
    body = ',\n'.join('  ' + json.dumps(head, sort_keys=True) for head in ordered)
    return ('{"version": %d, "heads": [\n%s\n]}\n' % (HEADS_VERSION, body)).encode('utf-8')


def head_unchanged(known: dict[str, Any] | None, update: dict[str, Any]) -> bool:
    """Whether recording ``update`` (lines, sha256, optionally a watermark) over ``known`` (its key's head in the file,
    or None) leaves the file as it is: the same head, and no other watermark."""
    return bool(known) and (known['lines'], known['sha256']) == (update['lines'], update['sha256']) and \
        update.get('watermark') in (None, known.get('watermark'))


def record_heads(path: str, updates: list[dict[str, Any]]) -> bool:
    """Merge heads (each a key plus lines, sha256, recorded, and optionally a watermark) into the file, atomically,
    under an flock beside it.

    Returns whether the file changed.  Other keys' heads are kept as they are.  A watermark belongs to the head it
    was recorded with (_archive_watermark): the same head keeps its watermark unless a new one is given, a new head
    without one drops it.
    """
    folder = os.path.dirname(os.path.abspath(path))
    with open(path + '.lock', 'a') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        heads = load_heads(path)
        before = heads_bytes(heads)
        for update in updates:
            known = find_head(heads, update)
            update = dict(update)
            if head_unchanged(known, update):
                continue  # the same head: keep when it was first recorded, and its watermark
            if known and (known['lines'], known['sha256']) == (update['lines'], update['sha256']):
                update['recorded'] = known.get('recorded', update.get('recorded'))
            if update.get('watermark') is None:
                update.pop('watermark', None)
            heads = [head for head in heads if any(head.get(name) != update[name] for name in HEAD_KEYS)] + [update]
        data = heads_bytes(heads)
        if data == before and os.path.exists(path):
            return False
        handle, temp = tempfile.mkstemp(prefix='.itot-heads-', dir=folder)
        try:
            with os.fdopen(handle, 'wb') as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
            os.chmod(temp, 0o644)
            os.replace(temp, path)
        except BaseException:
            if os.path.exists(temp):
                os.unlink(temp)
            raise
    return True
