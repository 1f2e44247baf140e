# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The on-disk log archive (files, manifest, state, recovery, verification); for internal collection use only.

Layout under ``{root}/{category}/`` (fixed by the collection's contract)::

    YYYY/MM/DD/{category}-{first}-{last}.jsonl.gz   archive files, written once, never rewritten
    undated/{category}-undated-{sha}.jsonl.gz       entries whose time cannot be parsed
    manifest.jsonl                                  one hash-chained line per file added or removed
    state.json                                      the cursor and the identities near it
    .lock                                           flock(): exclusive for a write, shared for the report
    .pending.json                                   only while a write is in flight (see apply_pending)

``state.json``::

    {"version": 1, "category": "device",
     "cursor_ms": 1795935600000, "cursor": "2026-11-29T07:00:00.000Z",   # newest archived entry time
     "overlap_from_ms": 1795935300000,        # overlap_ids is complete for entry times >= this (cursor - overlap)
     "overlap_ids": {"<identity>": [count, time_ms], ...},   # archived entries with time >= overlap_from_ms
     "undated_ids": {"<identity>": count, ...},             # every undated entry ever archived
     "manifest_lines": 12, "manifest_head": "<sha256 of the last manifest line>",
     "overlap": 300, "updated": "<ISO time of the write>"}

Only the standard library and the collection's own ``_timeparse`` are used here, so the code runs on any managed
host with Python 3.9+.  Errors are raised as ``ArchiveError``; the modules turn them into ``fail_json``.
"""

from __future__ import annotations

import errno
import fcntl
import gzip
import hashlib
import io
import json
import os
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any, Callable

from ansible_collections.opswat.itot.plugins.module_utils._entries import entry_identity, entry_line, entry_time_ms
from ansible_collections.opswat.itot.plugins.module_utils._errors import ArchiveError
from ansible_collections.opswat.itot.plugins.module_utils._timeparse import (
    day_folder,
    format_iso,
    format_stamp,
    now_ms,
    parse_time_ms,
)
from ansible_collections.opswat.itot.plugins.module_utils._vocabulary import CATEGORIES, allowed

ZERO_HASH = '0' * 64
STATE_VERSION = 1
MANIFEST = 'manifest.jsonl'
STATE = 'state.json'
PENDING = '.pending.json'
LOCK = '.lock'
TEMP_PREFIX = '.tmp-'
ARCHIVE_SUFFIX = '.jsonl.gz'
UNDATED_DIR = 'undated'
MANIFEST_KEYS = ('file', 'sha256', 'entries', 'first', 'last', 'action', 'prev', 'at')

# apply_attrs(path, is_dir) -> changed: sets owner/group/mode on a path (the module's set_fs_attributes_if_different).
AttrSetter = Callable[[str, bool], bool]
# hook(step): called after each step of a write; tests make it raise or kill the process to simulate a crash.
StepHook = Callable[[str], None]


def os_reason(exc: OSError) -> str:
    """``No space left on device (ENOSPC)``: the OS reason of an error, with the errno's name when there is one."""
    name = errno.errorcode.get(exc.errno) if exc.errno is not None else None
    reason = exc.strerror or str(exc)
    return '%s (%s)' % (reason, name) if name else reason


# --- bytes --------------------------------------------------------------------------------------------------

def gzip_bytes(data: bytes) -> bytes:
    """gzip without a file name and with mtime 0, so equal content gives equal bytes."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename='', mode='wb', fileobj=buffer, mtime=0) as stream:
        stream.write(data)
    return buffer.getvalue()


def parse_archive_bytes(raw: bytes) -> list[Any]:
    """The entries of an archive file's (gzip) bytes."""
    text = gzip.decompress(raw).decode('utf-8')
    # split('\n'), not splitlines(): ensure_ascii=False leaves U+2028 and friends raw inside JSON strings.
    return [json.loads(line) for line in text.split('\n') if line]


def read_archive_file(path: str) -> list[Any]:
    with open(path, 'rb') as stream:
        return parse_archive_bytes(stream.read())


def sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as stream:
        for block in iter(lambda: stream.read(1024 * 1024), b''):
            digest.update(block)
    return digest.hexdigest()


# --- paths and small file helpers ---------------------------------------------------------------------------

def check_root(root: Any, option: str = 'dir') -> str:
    """The archive root, normalised; ArchiveError naming the option unless it is absolute without '..'."""
    if not isinstance(root, str) or not root or '\x00' in root:
        raise ArchiveError("%s must be an absolute path without '..' components, got %r" % (option, root))
    if not os.path.isabs(root):
        raise ArchiveError("%s must be an absolute path without '..' components, got relative path %r" % (option, root))
    if '..' in root.split('/'):
        raise ArchiveError("%s must be an absolute path without '..' components, got %r" % (option, root))
    return os.path.normpath(root)


def category_dir(root: str, category: str) -> str:
    if category not in CATEGORIES:
        raise ArchiveError('category must be one of %s, got %r' % (allowed(CATEGORIES), category))
    return os.path.join(root, category)


def _umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _fsync_dir(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# Options the archive modules share: who owns what they write, with which modes, and how long to wait for the lock.
FILE_OPTIONS = dict(
    owner=dict(type='str'),
    group=dict(type='str'),
    mode=dict(type='raw'),
    dir_mode=dict(type='raw'),
    lock_timeout=dict(type='int', default=300),
)


def module_attr_setter(module: Any) -> AttrSetter:
    """apply(path, is_dir) -> changed, with an AnsibleModule's owner/group/mode/dir_mode (a no-op for the unset ones)."""
    params = module.params

    def apply(path: str, is_dir: bool) -> bool:
        mode = params['dir_mode'] if is_dir else params['mode']
        if mode is None and params['owner'] is None and params['group'] is None:
            return False
        file_args = dict(path=path, mode=mode, owner=params['owner'], group=params['group'], attributes=None,
                         seuser=None, serole=None, setype=None, selevel=None, secontext=[None, None, None])
        return module.set_fs_attributes_if_different(file_args, False)

    return apply


def _no_attrs(path: str, is_dir: bool) -> bool:
    return False


def write_temp(folder: str, data: bytes, apply_attrs: AttrSetter) -> str:
    """A fsynced temp file (``.tmp-*``) holding data in folder, with the requested owner/group/mode."""
    fd, temp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=folder)
    try:
        with os.fdopen(fd, 'wb') as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temp, _umask_mode())
        apply_attrs(temp, False)
    except BaseException:
        _unlink_quietly(temp)
        raise
    return temp


def atomic_write(path: str, data: bytes, apply_attrs: AttrSetter) -> None:
    """Replace path by data atomically: temp file in the same folder, fsync, rename, fsync of the folder."""
    folder = os.path.dirname(path)
    temp = write_temp(folder, data, apply_attrs)
    try:
        os.replace(temp, path)
    except BaseException:
        _unlink_quietly(temp)
        raise
    _fsync_dir(folder)


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _read_bytes(path: str) -> bytes | None:
    try:
        with open(path, 'rb') as stream:
            return stream.read()
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise


def make_dirs(path: str, apply_attrs: AttrSetter) -> bool:
    """Create path and its missing parents, each with the directory attributes; True when one was created."""
    missing = []
    current = path
    while not os.path.isdir(current):
        if os.path.lexists(current):
            raise ArchiveError('%s exists and is not a directory' % current)
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder)
        except OSError as exc:
            if exc.errno != errno.EEXIST:
                raise ArchiveError('cannot create %s: %s' % (folder, os_reason(exc))) from exc
        apply_attrs(folder, True)
    return bool(missing)


def _dumps_compact(value: Any) -> str:
    return json.dumps(value, separators=(',', ':'), ensure_ascii=False)


# --- lock ---------------------------------------------------------------------------------------------------

class ArchiveLock:
    """``flock`` on ``{category}/.lock``: exclusive for writers, shared for readers.

    A shared lock on a folder without a lock file is a no-op: nobody has written there yet.
    """

    def __init__(self, cat_dir: str, exclusive: bool, timeout: float) -> None:
        self.path = os.path.join(cat_dir, LOCK)
        self.exclusive = exclusive
        self.timeout = timeout
        self.fd = None  # type: Optional[int]
        self.changed = False

    def __enter__(self) -> ArchiveLock:
        if self.exclusive:
            existed = os.path.exists(self.path)
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            self.changed = not existed
        else:
            try:
                self.fd = os.open(self.path, os.O_RDONLY)
            except OSError as exc:
                if exc.errno == errno.ENOENT:
                    return self
                raise
        operation = fcntl.LOCK_EX if self.exclusive else fcntl.LOCK_SH
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(self.fd, operation | fcntl.LOCK_NB)
                return self
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    self._close()
                    raise
            if time.monotonic() >= deadline:
                self._close()
                raise ArchiveError('timed out after %ss waiting for the lock %s (another run is writing this archive)'
                                   % (self.timeout, self.path))
            time.sleep(0.05)

    def _close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the descriptor releases the flock
            self.fd = None

    def __exit__(self, *exc_info: Any) -> None:
        self._close()


# --- state and manifest -------------------------------------------------------------------------------------

def empty_state(category: str) -> dict[str, Any]:
    return {
        'version': STATE_VERSION, 'category': category, 'cursor_ms': None, 'cursor': None, 'overlap_from_ms': None,
        'overlap_ids': {}, 'undated_ids': {}, 'manifest_lines': 0, 'manifest_head': ZERO_HASH,
    }


def load_state(cat_dir: str, category: str) -> tuple[dict[str, Any], bool]:
    """(state, whether state.json exists).  A missing file is an empty archive; a broken one is an error."""
    path = os.path.join(cat_dir, STATE)
    raw = _read_bytes(path)
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


def read_manifest(cat_dir: str) -> list[bytes]:
    """The manifest's lines (bytes, without their newline).  A missing manifest has no lines."""
    raw = _read_bytes(os.path.join(cat_dir, MANIFEST))
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
    return _dumps_compact(ordered).encode('utf-8')


def chain_records(records: list[dict[str, Any]], prev: str, at: str) -> list[bytes]:
    lines = []
    for record in records:
        line = manifest_record(record, prev, at)
        lines.append(line)
        prev = line_hash(line)
    return lines


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
            problems.append({'kind': 'chain', 'file': MANIFEST, 'line': number,
                             'detail': 'manifest line %d is not a JSON object' % number})
            record = {}
        if record and record.get('prev') != prev:
            problems.append({'kind': 'chain', 'file': MANIFEST, 'line': number,
                             'detail': 'chain broken at line %d: its prev does not match line %d' % (number, number - 1)
                             if number > 1 else 'chain broken at line 1: its prev is not %s' % ZERO_HASH})
        records.append(record)
        prev = line_hash(line)
    return records, problems


def live_files(records: list[dict[str, Any]]) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """(file -> its add record, problems): the files added and not removed, in manifest order."""
    live = {}  # type: Dict[str, Dict[str, Any]]
    problems = []
    for number, record in enumerate(records, 1):
        name = record.get('file')
        action = record.get('action')
        if not record:
            continue
        if action == 'add':
            if name in live:
                problems.append({'kind': 'chain', 'file': name, 'line': number,
                                 'detail': 'manifest line %d adds %s, which is already live' % (number, name)})
            live[name] = record
        elif action == 'remove':
            if name not in live:
                problems.append({'kind': 'chain', 'file': name, 'line': number,
                                 'detail': 'manifest line %d removes %s, which is not live' % (number, name)})
            live.pop(name, None)
        else:
            problems.append({'kind': 'chain', 'file': name, 'line': number,
                             'detail': 'manifest line %d has an unknown action %r' % (number, action)})
    return live, problems


# --- selecting what a host does not have yet ----------------------------------------------------------------

class Selection:
    """The entries of a batch that the host does not have yet."""

    def __init__(self) -> None:
        self.dated = []  # type: List[Tuple[int, int, Any, str]]   # (time_ms, position, entry, identity)
        self.undated = []  # type: List[Tuple[int, Any, str]]      # (position, entry, identity)
        self.skipped = 0


def select_new(entries: list[Any], state: dict[str, Any]) -> Selection:
    """Multiset semantics: identical entries are distinct events; a host that holds c copies gets b - c more.

    Time t < overlap_from: already archived.  overlap_from <= t <= cursor: new beyond the copies in overlap_ids.
    t > cursor: new.  Undated entries: new beyond the copies in undated_ids (kept forever).
    """
    cursor = state.get('cursor_ms')
    overlap_from = state.get('overlap_from_ms')
    if overlap_from is None:
        overlap_from = cursor
    have = Counter(dict((ident, int(value[0])) for ident, value in state.get('overlap_ids', {}).items()))
    have_undated = Counter(dict((ident, int(count)) for ident, count in state.get('undated_ids', {}).items()))
    selection = Selection()
    for position, entry in enumerate(entries):
        moment = entry_time_ms(entry)
        ident = entry_identity(entry)
        if moment is None:
            if have_undated[ident] > 0:
                have_undated[ident] -= 1
                selection.skipped += 1
            else:
                selection.undated.append((position, entry, ident))
        elif cursor is None or moment > cursor:
            selection.dated.append((moment, position, entry, ident))
        elif moment < overlap_from:
            selection.skipped += 1
        elif have[ident] > 0:
            have[ident] -= 1
            selection.skipped += 1
        else:
            selection.dated.append((moment, position, entry, ident))
    return selection


def next_state(state: dict[str, Any], selection: Selection, overlap_s: int) -> dict[str, Any]:
    """The state after writing selection: new cursor, the identities from cursor - overlap on, undated ids."""
    new = empty_state(state['category'])
    cursor = state.get('cursor_ms')
    old_from = state.get('overlap_from_ms')
    times = [item[0] for item in selection.dated]
    if cursor is not None:
        times.append(cursor)
    new_cursor = max(times) if times else None
    new['overlap'] = overlap_s
    if new_cursor is not None:
        overlap_from = new_cursor - overlap_s * 1000
        if cursor is not None and old_from is not None:
            # The old identities only cover times >= old_from: never claim to know more than that.
            overlap_from = max(overlap_from, old_from)
        ids = {}  # type: Dict[str, List[int]]
        for ident, value in state.get('overlap_ids', {}).items():
            if int(value[1]) >= overlap_from:
                ids[ident] = [int(value[0]), int(value[1])]
        for moment, _position, _entry, ident in selection.dated:
            if moment >= overlap_from:
                ids.setdefault(ident, [0, moment])[0] += 1
        new['cursor_ms'] = new_cursor
        new['cursor'] = format_iso(new_cursor)
        new['overlap_from_ms'] = overlap_from
        new['overlap_ids'] = dict(sorted(ids.items()))
    undated = Counter(dict((ident, int(count)) for ident, count in state.get('undated_ids', {}).items()))
    for _position, _entry, ident in selection.undated:
        undated[ident] += 1
    new['undated_ids'] = dict(sorted(undated.items()))
    return new


# --- planning files -----------------------------------------------------------------------------------------

class PlannedFile:
    """An archive file to add: its name relative to the category folder and its gzip bytes."""

    def __init__(self, name: str, data: bytes, entries: int, first_ms: int | None, last_ms: int | None) -> None:
        self.name = name
        self.data = data
        self.entries = entries
        self.first_ms = first_ms
        self.last_ms = last_ms
        self.sha256 = hashlib.sha256(data).hexdigest()

    def record(self, action: str = 'add') -> dict[str, Any]:
        return {'file': self.name, 'sha256': self.sha256, 'entries': self.entries,
                'first': format_iso(self.first_ms), 'last': format_iso(self.last_ms), 'action': action}

    def summary(self) -> dict[str, Any]:
        return {'file': self.name, 'entries': self.entries, 'first': format_iso(self.first_ms),
                'last': format_iso(self.last_ms), 'sha256': self.sha256}


def _unique_name(cat_dir: str, folder: str, base: str, taken: set) -> str:
    suffix = 1
    while True:
        name = '%s/%s%s%s' % (folder, base, '' if suffix == 1 else '-%d' % suffix, ARCHIVE_SUFFIX)
        if name not in taken and not os.path.lexists(os.path.join(cat_dir, name)):
            taken.add(name)
            return name
        suffix += 1


def plan_files(cat_dir: str, category: str, selection: Selection, taken: set) -> list[PlannedFile]:
    """One file per UTC day (entries oldest first, stable), one for the undated entries.

    taken: names already used (every name in the manifest, added or removed); a clash gets -2, -3, ...
    """
    by_day = {}  # type: Dict[str, List[Tuple[int, int, Any, str]]]
    for item in sorted(selection.dated, key=lambda item: (item[0], item[1])):
        by_day.setdefault(day_folder(item[0]), []).append(item)
    planned = []
    for folder in sorted(by_day):
        items = by_day[folder]
        data = gzip_bytes(b''.join(entry_line(item[2]) for item in items))
        base = '%s-%s-%s' % (category, format_stamp(items[0][0]), format_stamp(items[-1][0]))
        planned.append(PlannedFile(_unique_name(cat_dir, folder, base, taken), data, len(items), items[0][0], items[-1][0]))
    if selection.undated:
        content = b''.join(entry_line(item[1]) for item in selection.undated)
        base = '%s-undated-%s' % (category, hashlib.sha256(content).hexdigest()[:16])
        planned.append(PlannedFile(_unique_name(cat_dir, UNDATED_DIR, base, taken), gzip_bytes(content),
                                   len(selection.undated), None, None))
    return planned


def expired_files(live: dict[str, dict[str, Any]], retention_days: int, now: int) -> list[dict[str, Any]]:
    """Live dated files whose last entry is older than now - retention_days (0 keeps everything)."""
    if retention_days <= 0:
        return []
    cutoff = now - retention_days * 86400000
    expired = []
    for record in live.values():
        last = parse_time_ms(record.get('last'))
        if last is not None and last < cutoff:
            expired.append(dict((key, record.get(key)) for key in MANIFEST_KEYS[:5]))
    return expired


# --- the write transaction ----------------------------------------------------------------------------------

def _call(hook: StepHook | None, step: str) -> None:
    if hook is not None:
        hook(step)


def load_pending(cat_dir: str) -> dict[str, Any] | None:
    path = os.path.join(cat_dir, PENDING)
    raw = _read_bytes(path)
    if raw is None:
        return None
    try:
        pending = json.loads(raw.decode('utf-8'))
        if not isinstance(pending, dict) or not isinstance(pending.get('manifest'), list):
            raise ValueError('not a pending write')
    except ValueError as exc:
        raise ArchiveError('%s cannot be read (%s): an interrupted write cannot be completed' % (path, exc)) from exc
    return pending


def lines_to_append(existing: list[bytes], wanted: list[bytes]) -> list[bytes]:
    """The lines of wanted that are not already at the end of existing (the longest suffix/prefix match)."""
    for done in range(min(len(existing), len(wanted)), 0, -1):
        if existing[-done:] == wanted[:done]:
            return wanted[done:]
    return list(wanted)


def _append_manifest(cat_dir: str, wanted: list[bytes], apply_attrs: AttrSetter) -> None:
    path = os.path.join(cat_dir, MANIFEST)
    raw = _read_bytes(path)
    keep = 0
    if raw:
        keep = raw.rfind(b'\n') + 1
        if keep < len(raw):
            # A line cut short by a crash of this very transaction (nothing else writes here under the lock).
            with open(path, 'r+b') as stream:
                stream.truncate(keep)
                os.fsync(stream.fileno())
    missing = lines_to_append(read_manifest(cat_dir), wanted)
    if not missing:
        return
    existed = raw is not None
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        data = memoryview(b''.join(line + b'\n' for line in missing))
        while data:
            data = data[os.write(fd, data):]
        os.fsync(fd)
    except OSError:
        # A full disk, say: take back the lines half written, so that the manifest stays whole meanwhile.
        try:
            os.ftruncate(fd, keep)
        except OSError:
            pass
        raise
    finally:
        os.close(fd)
    if not existed:
        apply_attrs(path, False)
        _fsync_dir(cat_dir)


def apply_pending(cat_dir: str, pending: dict[str, Any], apply_attrs: AttrSetter = _no_attrs,
                  hook: StepHook | None = None) -> None:
    """Finish a write described by ``.pending.json``; safe to repeat after a crash at any point.

    Order: rename temps to their final names -> remove expired files -> append the manifest lines that are not
    there yet -> write state.json -> delete .pending.json.  An I/O error (a full disk, say) leaves the pending write
    for the next run and becomes an ArchiveError that says which step failed and why.
    """
    doing = 'renaming the archive files to their final names'
    try:
        touched = set()
        for number, item in enumerate(pending.get('files', []), 1):
            final = os.path.join(cat_dir, item['file'])
            temp = os.path.join(cat_dir, item['temp'])
            if os.path.exists(temp):
                if os.path.lexists(final):
                    raise ArchiveError('cannot finish an interrupted write in %s: %s already exists (refusing to overwrite)'
                                       % (cat_dir, item['file']))
                os.replace(temp, final)
                touched.add(os.path.dirname(final))
            elif not os.path.exists(final):
                raise ArchiveError('cannot finish an interrupted write in %s: neither %s nor its temp file %s exists'
                                   % (cat_dir, item['file'], item['temp']))
            _call(hook, 'rename:%d' % number)
        for folder in sorted(touched):
            _fsync_dir(folder)
        doing = 'removing the expired files'
        for number, name in enumerate(pending.get('remove', []), 1):
            path = os.path.join(cat_dir, name)
            if os.path.lexists(path):
                os.unlink(path)
                _fsync_dir(os.path.dirname(path))
            _call(hook, 'remove:%d' % number)
        _call(hook, 'files')
        doing = 'appending to %s' % MANIFEST
        _append_manifest(cat_dir, [line.encode('utf-8') for line in pending['manifest']], apply_attrs)
        _call(hook, 'manifest')
        doing = 'writing %s' % STATE
        atomic_write(os.path.join(cat_dir, STATE), _state_bytes(pending['state']), apply_attrs)
        _call(hook, 'state')
        doing = 'deleting %s' % PENDING
        os.unlink(os.path.join(cat_dir, PENDING))
    except OSError as exc:
        if doing.startswith('deleting'):
            after = 'state.json is up to date; the next run deletes %s' % PENDING
        else:
            after = ('the archive files in place are whole, the cursor in %s was not advanced, and the next run completes '
                     'the write' % STATE)
        raise ArchiveError('cannot complete the write recorded in %s (%s): %s; %s'
                           % (os.path.join(cat_dir, PENDING), doing, os_reason(exc), after)) from exc
    _fsync_dir(cat_dir)
    _call(hook, 'done')


def _state_bytes(state: dict[str, Any]) -> bytes:
    """One top-level key per line, each value compact: readable, and small with many identities."""
    body = ',\n'.join(' %s: %s' % (json.dumps(key), _dumps_compact(value)) for key, value in state.items())
    return ('{\n%s\n}\n' % body).encode('utf-8')


def remove_temps(cat_dir: str) -> list[str]:
    """Delete leftover ``.tmp-*`` files of interrupted runs; returns their paths relative to cat_dir."""
    removed = []
    for folder, _dirs, files in os.walk(cat_dir):
        for name in files:
            if name.startswith(TEMP_PREFIX):
                path = os.path.join(folder, name)
                os.unlink(path)
                removed.append(os.path.relpath(path, cat_dir))
    return sorted(removed)


def iter_archive_files(cat_dir: str) -> Iterator[str]:
    """Every ``*.jsonl.gz`` under the category folder, relative, with '/' separators."""
    for folder, dirs, files in os.walk(cat_dir):
        dirs.sort()
        for name in sorted(files):
            if name.endswith(ARCHIVE_SUFFIX) and not name.startswith(TEMP_PREFIX):
                yield os.path.relpath(os.path.join(folder, name), cat_dir).replace(os.sep, '/')


def verify_archive(cat_dir: str, lines: list[bytes], state: dict[str, Any] | None) -> list[dict[str, Any]]:
    """What is wrong with a category folder: the chain and its anchor, tampered / missing / extra files."""
    problems = chain_problems(lines, state)
    live = live_files(parse_manifest(lines)[0])[0]
    for name, record in live.items():
        path = os.path.join(cat_dir, name)
        if not os.path.isfile(path):
            problems.append({'kind': 'missing', 'file': name, 'line': None, 'detail': 'missing: %s' % name})
            continue
        actual = sha256_file(path)
        if actual != record.get('sha256'):
            problems.append({'kind': 'tampered', 'file': name, 'line': None,
                             'detail': 'tampered: %s has sha256 %s, the manifest says %s' % (name, actual, record.get('sha256'))})
    for name in iter_archive_files(cat_dir):
        if name not in live:
            problems.append({'kind': 'extra', 'file': name, 'line': None,
                             'detail': 'extra: %s is not a live file of the manifest' % name})
    return problems


def verify_error(cat_dir: str, problems: list[dict[str, Any]]) -> ArchiveError:
    return ArchiveError('archive verification failed in %s: %s' % (cat_dir, '; '.join(p['detail'] for p in problems)),
                        problems)


def read_cursor(root: str, category: str) -> dict[str, Any]:
    """``state: query``: the cursor, read without a lock and without changing anything."""
    cat_dir = category_dir(check_root(root), category)
    state = load_state(cat_dir, category)[0] if os.path.isdir(cat_dir) else empty_state(category)
    return {
        'changed': False, 'category_dir': cat_dir, 'cursor_ms': state['cursor_ms'], 'cursor': format_iso(state['cursor_ms']),
        'files': [], 'removed': [], 'entries_written': 0, 'entries_skipped': 0, 'verified': False, 'recovered': False,
        'manifest_lines': state['manifest_lines'], 'manifest_head': state['manifest_head'],
        'pending': os.path.exists(os.path.join(cat_dir, PENDING)), 'temps_removed': [], 'diff_lines': [], 'warnings': [],
    }


def manifest_after_pending(cat_dir: str, pending: dict[str, Any]) -> list[bytes]:
    """The manifest lines as they will be once the pending write is complete (read-only; for check mode)."""
    raw = _read_bytes(os.path.join(cat_dir, MANIFEST)) or b''
    lines = raw[:raw.rfind(b'\n') + 1].split(b'\n')[:-1] if raw else []
    return lines + lines_to_append(lines, [line.encode('utf-8') for line in pending['manifest']])


def _has_temps(cat_dir: str) -> bool:
    return any(name.startswith(TEMP_PREFIX) for _folder, _dirs, files in os.walk(cat_dir) for name in files)


def _attrs_if_exists(attrs: AttrSetter, cat_dir: str) -> bool:
    changed = False
    for name in (LOCK, MANIFEST, STATE):
        path = os.path.join(cat_dir, name)
        if os.path.exists(path):
            changed = attrs(path, False) or changed
    return changed


def write_archive(root: str, category: str, entries: list[Any] | None, overlap: int = 300, retention_days: int = 0,
                  verify: bool = True, window_start_ms: int | None = None, window_end_ms: int | None = None,
                  check_mode: bool = False, apply_attrs: AttrSetter | None = None, now: int | None = None,
                  lock_timeout: float = 300, hook: StepHook | None = None) -> dict[str, Any]:
    """Give the host's archive exactly the entries it does not have yet, apply retention, verify.

    Returns the module's answer (``diff_lines`` holds one line per file added or removed, for the diff).
    In check mode nothing is written: not the folders, not the lock file, not a pending write's completion.
    apply_attrs: sets owner/group/mode (in check mode it must only report); hook: see _write_transaction.
    """
    root = check_root(root)
    cat_dir = category_dir(root, category)
    if overlap < 0:
        raise ArchiveError('overlap must be 0 or more seconds, got %r' % overlap)
    if retention_days < 0:
        raise ArchiveError('retention_days must be 0 (keep forever) or more, got %r' % retention_days)
    if window_start_ms is not None and window_end_ms is not None and window_start_ms > window_end_ms:
        raise ArchiveError('window_start_ms (%d) must not be after window_end_ms (%d)' % (window_start_ms, window_end_ms))
    job = _Job(cat_dir, category, list(entries or []), overlap, retention_days, verify, window_start_ms,
               now_ms() if now is None else now, apply_attrs or _no_attrs, check_mode, hook)

    if check_mode:
        if not os.path.isdir(cat_dir):
            job.result['changed'] = True  # a real run creates the folders and the lock file
            return job.run(empty_state(category), [], False)
        with ArchiveLock(cat_dir, exclusive=False, timeout=lock_timeout):
            changed = job.attrs(root, True) | job.attrs(cat_dir, True) | _attrs_if_exists(job.attrs, cat_dir)
            changed = changed or not os.path.exists(os.path.join(cat_dir, LOCK)) or _has_temps(cat_dir)
            pending = load_pending(cat_dir)
            if pending is None:
                job.result['changed'] = changed
                state, state_exists = load_state(cat_dir, category)
                return job.run(state, read_manifest(cat_dir), state_exists)
            # Plan against what the pending write leaves behind; verification waits for the real run.
            job.result['changed'] = job.result['recovered'] = True
            job.result['warnings'].append('%s holds an interrupted write; a real run completes it first' % cat_dir)
            job.verify = False
            return job.run(dict(pending['state']), manifest_after_pending(cat_dir, pending), True)

    changed = make_dirs(cat_dir, job.attrs)
    changed = job.attrs(root, True) | job.attrs(cat_dir, True) | changed
    with ArchiveLock(cat_dir, exclusive=True, timeout=lock_timeout) as lock:
        changed = changed | lock.changed
        pending = load_pending(cat_dir)
        if pending is not None:
            apply_pending(cat_dir, pending, job.attrs, hook)
            job.result['recovered'] = changed = True
        job.result['temps_removed'] = remove_temps(cat_dir)
        job.result['changed'] = changed | bool(job.result['temps_removed']) | _attrs_if_exists(job.attrs, cat_dir)
        state, state_exists = load_state(cat_dir, category)
        return job.run(state, read_manifest(cat_dir), state_exists)


class _Job:
    """One write_archive call once the folder is locked (or, in check mode, read)."""

    def __init__(self, cat_dir: str, category: str, entries: list[Any], overlap: int, retention_days: int, verify: bool,
                 window_start_ms: int | None, now: int, attrs: AttrSetter, check_mode: bool, hook: StepHook | None) -> None:
        self.cat_dir = cat_dir
        self.category = category
        self.entries = entries
        self.overlap = overlap
        self.retention_days = retention_days
        self.verify = verify
        self.window_start_ms = window_start_ms
        self.now = now
        self.attrs = attrs
        self.check_mode = check_mode
        self.hook = hook
        self.result = {
            'changed': False, 'category_dir': cat_dir, 'files': [], 'removed': [], 'entries_written': 0, 'entries_skipped': 0,
            'cursor_ms': None, 'cursor': None, 'verified': False, 'recovered': False, 'temps_removed': [],
            'manifest_lines': 0, 'manifest_head': ZERO_HASH, 'pending': False, 'diff_lines': [], 'warnings': [],
        }  # type: Dict[str, Any]

    def run(self, state: dict[str, Any], lines: list[bytes], state_exists: bool) -> dict[str, Any]:
        result = self.result
        # The chain and its anchor in state.json are checked before anything is appended to them: appending to an
        # edited or truncated manifest would otherwise re-anchor the edit and hide it.
        if chain_problems(lines, state if state_exists else None):
            raise verify_error(self.cat_dir, verify_archive(self.cat_dir, lines, state if state_exists else None))
        records = parse_manifest(lines)[0]
        live = live_files(records)[0]
        cursor = state.get('cursor_ms')
        if self.window_start_ms is not None and cursor is not None and self.window_start_ms > cursor:
            result['warnings'].append(
                'the entries given start at %s, after the newest entry this host holds (%s): entries in between were not '
                'offered and are not archived here (query from the oldest cursor minus the overlap)'
                % (format_iso(self.window_start_ms), format_iso(cursor)))

        selection = select_new(self.entries, state)
        taken = set(record.get('file') for record in records if record.get('file'))
        planned = plan_files(self.cat_dir, self.category, selection, taken)
        after = dict(live)
        after.update((item.name, item.record()) for item in planned)
        expired = expired_files(after, self.retention_days, self.now)

        result['entries_written'] = sum(item.entries for item in planned)
        result['entries_skipped'] = selection.skipped
        result['files'] = [item.summary() for item in planned]
        result['removed'] = [dict((key, record[key]) for key in ('file', 'entries', 'first', 'last', 'sha256')) for record in expired]
        result['diff_lines'] = [
            'add %s (%s)' % (item.name, _describe(item.record())) for item in planned
        ] + [
            'remove %s (%s; older than %d days)' % (record['file'], _describe(record), self.retention_days) for record in expired
        ]
        new_state = state
        if planned or expired:
            result['changed'] = True
            at = format_iso(self.now)
            records = [item.record() for item in planned] + [dict(record, action='remove') for record in expired]
            new_lines = chain_records(records, manifest_head(lines), at)
            new_state = next_state(state, selection, self.overlap) if planned else dict(state)
            new_state.update(overlap=self.overlap, manifest_lines=len(lines) + len(new_lines),
                             manifest_head=line_hash(new_lines[-1]), updated=at)
            if not self.check_mode:
                _write_transaction(self.cat_dir, planned, [record['file'] for record in expired], new_lines, new_state,
                                   self.attrs, self.hook)
                lines = read_manifest(self.cat_dir)
                state, state_exists = load_state(self.cat_dir, self.category)
        result['cursor_ms'] = new_state.get('cursor_ms')
        result['cursor'] = format_iso(new_state.get('cursor_ms'))
        result['manifest_lines'] = new_state.get('manifest_lines', 0)
        result['manifest_head'] = new_state.get('manifest_head', ZERO_HASH)
        if self.verify:
            # In check mode this verifies what is on disk now (the files it would add are not there to hash).
            problems = verify_archive(self.cat_dir, lines, state if state_exists else None) if os.path.isdir(self.cat_dir) else []
            if problems:
                raise verify_error(self.cat_dir, problems)
            result['verified'] = True
        return result


def _describe(record: dict[str, Any]) -> str:
    count = '%d %s' % (record['entries'], 'entry' if record['entries'] == 1 else 'entries')
    if record.get('first') is None:
        return count + ', undated'
    return '%s, %s .. %s' % (count, record['first'], record['last'])


def chain_problems(lines: list[bytes], state: dict[str, Any] | None) -> list[dict[str, Any]]:
    records, problems = parse_manifest(lines)
    problems.extend(live_files(records)[1])
    if state is not None:
        if state.get('manifest_lines') != len(lines) or state.get('manifest_head') != manifest_head(lines):
            problems.append({'kind': 'chain', 'file': MANIFEST, 'line': len(lines),
                             'detail': 'manifest.jsonl has %d lines ending in %s, state.json records %s lines ending in %s '
                                       '(lines removed, added or edited at the end)'
                                       % (len(lines), manifest_head(lines)[:12], state.get('manifest_lines'),
                                          str(state.get('manifest_head'))[:12])})
    elif lines:
        problems.append({'kind': 'chain', 'file': STATE, 'line': None,
                         'detail': 'state.json is missing but manifest.jsonl has %d lines' % len(lines)})
    return problems


def _write_transaction(cat_dir: str, planned: list[PlannedFile], remove: list[str], manifest_lines: list[bytes],
                       new_state: dict[str, Any], attrs: AttrSetter, hook: StepHook | None) -> None:
    """Temp files (fsynced) -> ``.pending.json`` -> apply_pending (renames, removals, manifest, state, pending deleted).

    hook(step) runs after each step: ``temp:N``, ``pending``, ``rename:N``, ``remove:N``, ``files`` (every rename and
    removal done), ``manifest``, ``state``, ``done``.  An I/O error before ``.pending.json`` is on disk (a full disk, say)
    deletes this run's temp files and leaves the archive as it was; after it, apply_pending's rule holds.
    """
    files = []
    temps = []
    target = PENDING
    try:
        for number, item in enumerate(planned, 1):
            target = item.name
            folder = os.path.join(cat_dir, os.path.dirname(item.name))
            make_dirs(folder, attrs)
            temp = write_temp(folder, item.data, attrs)
            temps.append(temp)
            files.append({'file': item.name, 'temp': os.path.relpath(temp, cat_dir).replace(os.sep, '/'), 'sha256': item.sha256})
            _call(hook, 'temp:%d' % number)
        target = PENDING
        pending = {'version': STATE_VERSION, 'files': files, 'remove': remove,
                   'manifest': [line.decode('utf-8') for line in manifest_lines], 'state': new_state}
        atomic_write(os.path.join(cat_dir, PENDING), _dumps_compact(pending).encode('utf-8'), attrs)
    except (OSError, ArchiveError) as exc:
        for temp in temps:
            _unlink_quietly(temp)
        reason = exc.message if isinstance(exc, ArchiveError) else os_reason(exc)
        raise ArchiveError('cannot write %s in %s: %s; nothing of this run was kept (its temporary files were deleted) '
                           'and the cursor was not advanced' % (target, cat_dir, reason)) from exc
    _call(hook, 'pending')
    apply_pending(cat_dir, pending, attrs, hook)
