# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The archive's write transaction and its recovery: ``.pending.json``, completed after a crash at any point.

For internal collection use only.  A write puts fsynced temp files and ``.pending.json`` (final names, checksums,
manifest lines, new state) on disk, then applies it; the next run completes a pending write before anything else
and deletes leftover ``.tmp-*`` files.  Temp files are written through ``_archive_fs.write_temp`` (looked up on the
module at each call, so that a test can make one write fail).
"""

from __future__ import annotations

import json
import os
import stat
from typing import Any, Callable

from ansible_collections.opswat.itot.plugins.module_utils import _archive_fs
from ansible_collections.opswat.itot.plugins.module_utils._archive_attrs import AttrSetter, no_attrs
from ansible_collections.opswat.itot.plugins.module_utils._archive_chain import (
    STATE_VERSION,
    lines_to_append,
    read_manifest,
    state_bytes,
)
from ansible_collections.opswat.itot.plugins.module_utils._archive_fs import (
    append_all,
    atomic_write_in,
    cut_partial_line,
    dumps_compact,
    fsync_dir,
    lexists_in,
    open_folder,
    os_reason,
    read_bytes,
    unlink_in,
    unlink_quietly,
)
from ansible_collections.opswat.itot.plugins.module_utils._archive_names import (
    MANIFEST,
    PENDING,
    STATE,
    TEMP_PREFIX,
    check_archive_name,
    check_temp_name,
    refuse,
)
from ansible_collections.opswat.itot.plugins.module_utils._archive_select import PlannedFile
from ansible_collections.opswat.itot.plugins.module_utils._errors import ArchiveError

# hook(step): called after each step of a write; tests make it raise or kill the process to simulate a crash.
StepHook = Callable[[str], None]


def _call(hook: StepHook | None, step: str) -> None:
    if hook is not None:
        hook(step)


# --- reading a pending write --------------------------------------------------------------------------------

def load_pending(cat_dir: str) -> dict[str, Any] | None:
    """The pending write, once every path in it is checked (check_pending); None when there is none."""
    path = os.path.join(cat_dir, PENDING)
    raw = read_bytes(cat_dir, PENDING)
    if raw is None:
        return None
    try:
        pending = json.loads(raw.decode('utf-8'))
        if not isinstance(pending, dict) or not isinstance(pending.get('manifest'), list):
            raise ValueError('not a pending write')
        if not isinstance(pending.get('state'), dict) or not all(isinstance(line, str) for line in pending['manifest']):
            raise ValueError('not a pending write')
        if not isinstance(pending.get('files', []), list) or not isinstance(pending.get('remove', []), list):
            raise ValueError('not a pending write')
    except ValueError as exc:
        raise ArchiveError('%s cannot be read (%s): an interrupted write cannot be completed' % (path, exc)) from exc
    check_pending(cat_dir, pending)
    return pending


def check_pending(cat_dir: str, pending: dict[str, Any]) -> None:
    """ArchiveError naming the path, unless each file is an archive file of cat_dir with a ``.tmp-*`` temp beside it,
    each removal an archive file of cat_dir, and no folder on the way a link (checked before anything is changed)."""
    for item in pending.get('files', []):
        if not isinstance(item, dict):
            raise refuse(os.path.join(cat_dir, PENDING), 'its file %r is not an object' % (item,))
        final = check_archive_name(cat_dir, item.get('file'), PENDING)
        check_temp_name(cat_dir, item.get('temp'), final, PENDING)
    for name in pending.get('remove', []):
        check_archive_name(cat_dir, name, PENDING)
    for item in pending.get('files', []):
        _check_temp_file(cat_dir, item['temp'])
    for name in pending.get('remove', []):
        lexists_in(cat_dir, name)  # refuses a linked folder on the way


def _check_temp_file(cat_dir: str, temp: str) -> bool:
    """Whether the temp file is there; ArchiveError when it is anything but a regular file with one link."""
    folder, _sep, base = temp.rpartition('/')
    try:
        with open_folder(cat_dir, folder) as dir_fd:
            info = os.stat(base, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    if not stat.S_ISREG(info.st_mode):
        raise refuse(os.path.join(cat_dir, temp), 'it is not a regular file (a temp file must be one)')
    if info.st_nlink != 1:
        raise refuse(os.path.join(cat_dir, temp), 'it has %d hard links (a temp file has one)' % info.st_nlink)
    return True


def manifest_after_pending(cat_dir: str, pending: dict[str, Any]) -> list[bytes]:
    """The manifest lines as they will be once the pending write is complete (read-only; for check mode)."""
    raw = read_bytes(cat_dir, MANIFEST) or b''
    lines = raw[:raw.rfind(b'\n') + 1].split(b'\n')[:-1] if raw else []
    return lines + lines_to_append(lines, [line.encode('utf-8') for line in pending['manifest']])


def has_temps(cat_dir: str) -> bool:
    return any(name.startswith(TEMP_PREFIX) for _folder, _dirs, files in os.walk(cat_dir) for name in files)


def remove_temps(cat_dir: str) -> list[str]:
    """Delete leftover ``.tmp-*`` files of interrupted runs; returns their paths relative to cat_dir."""
    removed = []
    for folder, _dirs, files in os.walk(cat_dir):
        for name in files:
            if name.startswith(TEMP_PREFIX):
                rel = os.path.relpath(os.path.join(folder, name), cat_dir).replace(os.sep, '/')
                unlink_in(cat_dir, rel)
                removed.append(rel)
    return sorted(removed)


# --- completing a pending write -----------------------------------------------------------------------------

def _append_manifest(cat_dir: str, wanted: list[bytes], apply_attrs: AttrSetter) -> None:
    """Append the lines of wanted that the manifest does not end with yet (after cutting a line a crash cut short)."""
    # A line cut short is one of this very transaction's (nothing else writes here under the lock).
    existed, keep = cut_partial_line(cat_dir, MANIFEST)
    missing = lines_to_append(read_manifest(cat_dir), wanted)
    if not missing:
        return
    append_all(cat_dir, MANIFEST, b''.join(line + b'\n' for line in missing), keep)
    if not existed:
        apply_attrs(os.path.join(cat_dir, MANIFEST), False)
        fsync_dir(cat_dir)


def _rename_temps(cat_dir: str, files: list[dict[str, Any]], hook: StepHook | None) -> None:
    for number, item in enumerate(files, 1):
        folder, _sep, final = item['file'].rpartition('/')
        temp = item['temp'].rpartition('/')[2]
        if _check_temp_file(cat_dir, item['temp']):
            with open_folder(cat_dir, folder) as dir_fd:
                # rename() within one folder reached without links: it replaces no link's target and moves nothing in.
                if _lexists_at(final, dir_fd):
                    raise ArchiveError('cannot finish an interrupted write in %s: %s already exists (refusing to overwrite)'
                                       % (cat_dir, item['file']))
                os.replace(temp, final, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
                os.fsync(dir_fd)
        elif not lexists_in(cat_dir, item['file']):
            raise ArchiveError('cannot finish an interrupted write in %s: neither %s nor its temp file %s exists'
                               % (cat_dir, item['file'], item['temp']))
        _call(hook, 'rename:%d' % number)


def _lexists_at(name: str, dir_fd: int) -> bool:
    try:
        os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def _remove_files(cat_dir: str, names: list[str], hook: StepHook | None) -> None:
    for number, name in enumerate(names, 1):
        unlink_in(cat_dir, name)
        _call(hook, 'remove:%d' % number)


def _pending_failed(cat_dir: str, doing: str, exc: OSError) -> ArchiveError:
    if doing.startswith('deleting'):
        after = 'state.json is up to date; the next run deletes %s' % PENDING
    else:
        after = ('the archive files in place are whole, the cursor in %s was not advanced, and the next run completes '
                 'the write' % STATE)
    return ArchiveError('cannot complete the write recorded in %s (%s): %s; %s'
                        % (os.path.join(cat_dir, PENDING), doing, os_reason(exc), after))


def apply_pending(cat_dir: str, pending: dict[str, Any], apply_attrs: AttrSetter = no_attrs,
                  hook: StepHook | None = None) -> None:
    """Finish a write described by ``.pending.json``; safe to repeat after a crash at any point.

    Order: rename temps to their final names -> remove expired files -> append the manifest lines that are not
    there yet -> write state.json -> delete .pending.json.  An I/O error (a full disk, say) leaves the pending write
    for the next run and becomes an ArchiveError that says which step failed and why.
    """
    doing = 'renaming the archive files to their final names'
    try:
        _rename_temps(cat_dir, pending.get('files', []), hook)
        doing = 'removing the expired files'
        _remove_files(cat_dir, pending.get('remove', []), hook)
        _call(hook, 'files')
        doing = 'appending to %s' % MANIFEST
        _append_manifest(cat_dir, [line.encode('utf-8') for line in pending['manifest']], apply_attrs)
        _call(hook, 'manifest')
        doing = 'writing %s' % STATE
        atomic_write_in(cat_dir, STATE, state_bytes(pending['state']), apply_attrs)
        _call(hook, 'state')
        doing = 'deleting %s' % PENDING
        unlink_in(cat_dir, PENDING)
    except OSError as exc:
        raise _pending_failed(cat_dir, doing, exc) from exc
    fsync_dir(cat_dir)
    _call(hook, 'done')


# --- a new write --------------------------------------------------------------------------------------------

def write_transaction(cat_dir: str, planned: list[PlannedFile], remove: list[str], manifest_lines: list[bytes],
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
            with open_folder(cat_dir, os.path.dirname(item.name), create=attrs):
                pass  # the day folder, made and entered without following a link
            temp = _archive_fs.write_temp(os.path.join(cat_dir, os.path.dirname(item.name)), item.data, attrs)
            temps.append(temp)
            files.append({'file': item.name, 'temp': os.path.relpath(temp, cat_dir).replace(os.sep, '/'), 'sha256': item.sha256})
            _call(hook, 'temp:%d' % number)
        target = PENDING
        pending = {'version': STATE_VERSION, 'files': files, 'remove': remove,
                   'manifest': [line.decode('utf-8') for line in manifest_lines], 'state': new_state}
        atomic_write_in(cat_dir, PENDING, dumps_compact(pending).encode('utf-8'), attrs)
    except (OSError, ArchiveError) as exc:
        for temp in temps:
            unlink_quietly(temp)
        reason = exc.message if isinstance(exc, ArchiveError) else os_reason(exc)
        raise ArchiveError('cannot write %s in %s: %s; nothing of this run was kept (its temporary files were deleted) '
                           'and the cursor was not advanced' % (target, cat_dir, reason)) from exc
    _call(hook, 'pending')
    apply_pending(cat_dir, pending, attrs, hook)
