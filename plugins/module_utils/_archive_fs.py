# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The archive's files on disk: layout names, bytes, atomic writes, folders, attributes, the lock.

For internal collection use only.  Nothing here knows what a manifest or a state means: it writes and reads bytes
under a category folder safely (temp file, fsync, rename, fsync of the folder) and holds the folder's ``flock``.
Every byte the archive writes goes through ``write_temp`` or ``append_all`` here (the full-disk tests count them).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import gzip
import hashlib
import io
import json
import os
import tempfile
import time
from collections.abc import Iterator
from typing import Any, Callable

from ansible_collections.opswat.itot.plugins.module_utils._checks import absolute_path_problem
from ansible_collections.opswat.itot.plugins.module_utils._errors import ArchiveError, ItotError
from ansible_collections.opswat.itot.plugins.module_utils._vocabulary import CATEGORIES, allowed

# The names inside ``{root}/{category}/`` (the layout is described in _archive.py).
MANIFEST = 'manifest.jsonl'
STATE = 'state.json'
PENDING = '.pending.json'
LOCK = '.lock'
TEMP_PREFIX = '.tmp-'
ARCHIVE_SUFFIX = '.jsonl.gz'
UNDATED_DIR = 'undated'

# apply_attrs(path, is_dir) -> changed: sets owner/group/mode on a path (the module's set_fs_attributes_if_different).
AttrSetter = Callable[[str, bool], bool]


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


# --- owner, group and mode ----------------------------------------------------------------------------------

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


def no_attrs(path: str, is_dir: bool) -> bool:
    return False


def attrs_if_exists(attrs: AttrSetter, cat_dir: str) -> bool:
    """The attributes on the lock file, the manifest and the state, those that exist; True when one changed."""
    changed = False
    for name in (LOCK, MANIFEST, STATE):
        path = os.path.join(cat_dir, name)
        if os.path.exists(path):
            changed = attrs(path, False) or changed
    return changed


# --- writing and reading ------------------------------------------------------------------------------------

def _umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def fsync_dir(path: str) -> None:
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


def cut_partial_line(path: str) -> tuple[bool, int]:
    """(whether path exists, its length once a last line without its newline is cut off)."""
    raw = read_bytes(path)
    if not raw:
        return raw is not None, 0
    keep = raw.rfind(b'\n') + 1
    if keep < len(raw):
        with open(path, 'r+b') as stream:
            stream.truncate(keep)
            os.fsync(stream.fileno())
    return True, keep


def append_all(path: str, data: bytes, keep: int) -> None:
    """Append data to path (created when missing) and fsync; on an I/O error cut path back to keep bytes."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
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


def read_bytes(path: str) -> bytes | None:
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


# --- lock ---------------------------------------------------------------------------------------------------

class ArchiveLock:
    """``flock`` on ``{category}/.lock``: exclusive for writers, shared for readers.

    A shared lock on a folder without a lock file is a no-op: nobody has written there yet.
    """

    def __init__(self, cat_dir: str, exclusive: bool, timeout: float) -> None:
        self.path = os.path.join(cat_dir, LOCK)
        self.exclusive = exclusive
        self.timeout = timeout
        self.fd: int | None = None
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
        self._wait()
        return self

    def _wait(self) -> None:
        operation = fcntl.LOCK_EX if self.exclusive else fcntl.LOCK_SH
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(self.fd, operation | fcntl.LOCK_NB)
                return
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
