# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The archive's files on disk: layout names, bytes, atomic writes, folders, attributes, the lock.

For internal collection use only.  Nothing here knows what a manifest or a state means: it writes and reads bytes
under a category folder safely (temp file, fsync, rename, fsync of the folder) and holds the folder's ``flock``.
Every byte the archive writes goes through ``write_temp`` or ``append_all`` here (the full-disk tests count them).

Nothing under a category folder is trusted: an account that may write there (the role's ``owner``/``group``) can plant
files, links and FIFOs.  So every path read from the archive's own files is checked (``check_relative``,
``check_archive_name``, ``check_temp_name``) and every file or folder under the category folder is reached from the
category folder's descriptor one component at a time with ``O_NOFOLLOW`` (``open_folder``, ``open_file``): a link or a
special file anywhere on the way is refused with an ArchiveError naming it, before anything is renamed, deleted or
chowned.  The category folder itself is opened with ``O_NOFOLLOW`` each time (its parent, the archive root, is the
administrator's choice).
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import hashlib
import io
import json
import os
import secrets
import stat
from collections.abc import Iterator
from typing import Any

from ansible_collections.opswat.itot.plugins.module_utils._archive_attrs import AttrSetter
from ansible_collections.opswat.itot.plugins.module_utils._archive_names import TEMP_PREFIX, refuse
from ansible_collections.opswat.itot.plugins.module_utils._checks import absolute_path_problem
from ansible_collections.opswat.itot.plugins.module_utils._errors import ArchiveError, ItotError
from ansible_collections.opswat.itot.plugins.module_utils._vocabulary import CATEGORIES, allowed


def os_reason(exc: OSError) -> str:
    """``No space left on device (ENOSPC)``: the OS reason of an error, with the errno's name when there is one."""
    name = errno.errorcode.get(exc.errno) if exc.errno is not None else None
    reason = exc.strerror or str(exc)
    return '%s (%s)' % (reason, name) if name else reason


@contextlib.contextmanager
def os_errors_as(what: str) -> Iterator[None]:
    """An OSError raised inside becomes ``{what} ({file}): {reason}``.

    An ItotError, not an ArchiveError: there are no verification problems to list, and the module's failure keeps
    the keys it always had for an OS error (``msg`` only).
    """
    try:
        yield
    except OSError as exc:
        where = ' (%s)' % exc.filename if getattr(exc, 'filename', None) else ''
        raise ItotError('%s%s: %s' % (what, where, os_reason(exc))) from exc


# --- bytes --------------------------------------------------------------------------------------------------

def gzip_bytes(data: bytes) -> bytes:
    """gzip without a file name and with mtime 0, so equal content gives equal bytes."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename='', mode='wb', fileobj=buffer, mtime=0) as stream:
        stream.write(data)
    return buffer.getvalue()


def parse_archive_lines(raw: bytes) -> list[tuple[int, Any]]:
    """(line number from 1, entry) of an archive file's (gzip) bytes: where an auditor finds each entry."""
    text = gzip.decompress(raw).decode('utf-8')
    # split('\n'), not splitlines(): ensure_ascii=False leaves U+2028 and friends raw inside JSON strings.
    return [(number, json.loads(line)) for number, line in enumerate(text.split('\n'), 1) if line]


def parse_archive_bytes(raw: bytes) -> list[Any]:
    """The entries of an archive file's (gzip) bytes."""
    return [entry for _number, entry in parse_archive_lines(raw)]


def read_archive_file(path: str) -> list[Any]:
    """The entries of an archive file, read without following a link (a test and tooling helper)."""
    with open_read(os.path.dirname(path), os.path.basename(path)) as stream:
        return parse_archive_bytes(stream.read())


def sha256_file(cat_dir: str, name: str) -> str:
    """The sha256 of an archive file under cat_dir, reached without following any link."""
    digest = hashlib.sha256()
    with open_read(cat_dir, name) as stream:
        for block in iter(lambda: stream.read(1024 * 1024), b''):
            digest.update(block)
    return digest.hexdigest()


def dumps_compact(value: Any) -> str:
    return json.dumps(value, separators=(',', ':'), ensure_ascii=False)


# --- paths --------------------------------------------------------------------------------------------------

def check_root(root: Any, option: str = 'dir') -> str:
    """The archive root, normalised; ArchiveError naming the option unless it is absolute without '..'."""
    problem = absolute_path_problem(root)
    if problem:
        raise ArchiveError("%s must be an absolute path without '..' components, got %s%r"
                           % (option, 'relative path ' if problem == 'relative' else '', root))
    return os.path.normpath(root)


def category_dir(root: str, category: str) -> str:
    if category not in CATEGORIES:
        raise ArchiveError('category must be one of %s, got %r' % (allowed(CATEGORIES), category))
    return os.path.join(root, category)


# --- reaching files under a category folder without following links -----------------------------------------

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, 'O_CLOEXEC', 0)
# O_NONBLOCK: opening a FIFO must not wait for a writer (the FIFO is then refused as not a regular file).
_FILE_FLAGS = os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, 'O_CLOEXEC', 0)


def _not_followed(path: str, exc: OSError) -> ArchiveError | None:
    """The refusal for an open that failed on a link or a special file, None for any other failure."""
    try:
        info = os.lstat(path)
    except OSError:
        return None
    if stat.S_ISLNK(info.st_mode):
        return refuse(path, 'it is a symbolic link (the archive follows no links)')
    if exc.errno in (errno.ENOTDIR, errno.ENXIO, errno.ELOOP) or not (stat.S_ISDIR(info.st_mode) or stat.S_ISREG(info.st_mode)):
        return refuse(path, 'it is not a %s' % ('folder' if exc.errno == errno.ENOTDIR else 'regular file'))
    return None


def _open_at(path: str, name: str, flags: int, mode: int, dir_fd: int | None) -> int:
    try:
        return os.open(name, flags, mode, dir_fd=dir_fd)
    except OSError as exc:
        refusal = _not_followed(path, exc) if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.ENXIO, errno.EEXIST) else None
        if refusal is not None:
            raise refusal from exc
        if exc.filename is None:
            exc.filename = path
        raise


@contextlib.contextmanager
def open_folder(cat_dir: str, folder: str = '', create: AttrSetter | None = None) -> Iterator[int]:
    """A descriptor of cat_dir/folder, reached from cat_dir one component at a time without following links.

    With create, missing folders are made (and given create's attributes).  A link or a file on the way: ArchiveError.
    """
    fd = _open_at(cat_dir, cat_dir, _DIR_FLAGS, 0, None)
    try:
        path = cat_dir
        for part in (folder.split('/') if folder else []):
            path = os.path.join(path, part)
            if create is not None and _make_dir_at(fd, part, path):
                create(path, True)
            inner = _open_at(path, part, _DIR_FLAGS, 0, fd)
            os.close(fd)
            fd = inner
        yield fd
    finally:
        os.close(fd)


def _make_dir_at(dir_fd: int, name: str, path: str) -> bool:
    try:
        os.mkdir(name, 0o777, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.EEXIST:
            return False
        raise ArchiveError('cannot create %s: %s' % (path, os_reason(exc))) from exc
    return True


def open_file(cat_dir: str, name: str, flags: int, mode: int = 0o666) -> int:
    """A descriptor of the regular file cat_dir/name, reached without following any link and without blocking on a FIFO."""
    folder, _sep, base = name.rpartition('/')
    path = os.path.join(cat_dir, name)
    with open_folder(cat_dir, folder) as dir_fd:
        fd = _open_at(path, base, flags | _FILE_FLAGS, mode, dir_fd)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise refuse(path, 'it is not a regular file')
    return fd


def open_read(cat_dir: str, name: str) -> io.BufferedReader:
    """open_file for reading, as a binary stream."""
    return os.fdopen(open_file(cat_dir, name, os.O_RDONLY), 'rb')


# --- writing and reading ------------------------------------------------------------------------------------

def _umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def fsync_dir(path: str) -> None:
    try:
        fd = os.open(path, _DIR_FLAGS)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_temp(folder: str, data: bytes, apply_attrs: AttrSetter) -> str:
    """A fsynced temp file (``.tmp-*``) holding data in folder, with the requested owner/group/mode.

    Created with O_EXCL and O_NOFOLLOW in folder opened without following a link (an archive's caller has reached
    folder with open_folder first).
    """
    dir_fd = os.open(folder, _DIR_FLAGS)
    try:
        while True:
            name = TEMP_PREFIX + secrets.token_hex(6)
            try:
                fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _FILE_FLAGS, 0o600, dir_fd=dir_fd)
                break
            except FileExistsError:
                continue
    finally:
        os.close(dir_fd)
    temp = os.path.join(folder, name)
    try:
        with os.fdopen(fd, 'wb') as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
            os.fchmod(stream.fileno(), _umask_mode())
        apply_attrs(temp, False)
    except BaseException:
        unlink_quietly(temp)
        raise
    return temp


def atomic_write(path: str, data: bytes, apply_attrs: AttrSetter) -> None:
    """Replace path by data atomically: temp file in the same folder, fsync, rename, fsync of the folder."""
    folder = os.path.dirname(path)
    temp = write_temp(folder, data, apply_attrs)
    try:
        os.replace(temp, path)
    except BaseException:
        unlink_quietly(temp)
        raise
    fsync_dir(folder)


def atomic_write_in(cat_dir: str, name: str, data: bytes, apply_attrs: AttrSetter) -> None:
    """atomic_write of cat_dir/name (a file at the top of the category folder), no link followed on the way."""
    with open_folder(cat_dir) as dir_fd:
        temp = write_temp(cat_dir, data, apply_attrs)
        try:
            os.replace(os.path.basename(temp), name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException:
            unlink_quietly(temp)
            raise
        os.fsync(dir_fd)


def cut_partial_line(cat_dir: str, name: str) -> tuple[bool, int]:
    """(whether cat_dir/name exists, its length once a last line without its newline is cut off)."""
    raw = read_bytes(cat_dir, name)
    if not raw:
        return raw is not None, 0
    keep = raw.rfind(b'\n') + 1
    if keep < len(raw):
        fd = open_file(cat_dir, name, os.O_RDWR)
        try:
            os.ftruncate(fd, keep)
            os.fsync(fd)
        finally:
            os.close(fd)
    return True, keep


def append_all(cat_dir: str, name: str, data: bytes, keep: int) -> None:
    """Append data to cat_dir/name (created when missing) and fsync; on an I/O error cut it back to keep bytes."""
    fd = open_file(cat_dir, name, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    except OSError:
        # A full disk, say: take back the bytes half written, so that the file stays whole meanwhile.
        try:
            os.ftruncate(fd, keep)
        except OSError:
            pass
        raise
    finally:
        os.close(fd)


def unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def unlink_in(cat_dir: str, name: str) -> bool:
    """Delete cat_dir/name (never what a link points to, never through a linked folder); False when it was not there."""
    folder, _sep, base = name.rpartition('/')
    try:
        with open_folder(cat_dir, folder) as dir_fd:
            os.unlink(base, dir_fd=dir_fd)
            os.fsync(dir_fd)
    except FileNotFoundError:
        return False
    return True


def lexists_in(cat_dir: str, name: str) -> bool:
    """Whether cat_dir/name exists (a link counts), looked up without following links on the way."""
    folder, _sep, base = name.rpartition('/')
    try:
        with open_folder(cat_dir, folder) as dir_fd:
            os.stat(base, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def read_bytes(cat_dir: str, name: str) -> bytes | None:
    """The bytes of the regular file cat_dir/name, None when it is missing; no link is followed."""
    try:
        stream = open_read(cat_dir, name)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise
    with stream:
        return stream.read()


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
