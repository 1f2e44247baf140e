# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A request budget shared by every process of one user on one machine; for internal collection use only.

The API allows ``limit`` requests per minute. Each process that talks to the same base URL with the same
credentials reserves a slot in a small JSON ledger before each request; the ledger is locked with ``flock``, so
tasks that run one after another (or side by side) never exceed the budget with their own traffic. The ledger is
named by a hash of the base URL and the client id (or of a hash of the access token): it holds no secret.

The cache folder may be shared (``XDG_CACHE_HOME`` on a multi-user host): the ledger is used only in a folder that
is no symbolic link, belongs to this user and is writable by nobody else, and only as a regular file opened
without following links. Anything else makes pacing per-process, with one warning naming what was wrong; a wait
the ledger asks for that is longer than any answer of the API can ask for is cut to that and named.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import stat
import time
from typing import Any, Callable

LEDGER_DIR_NAME = 'opswat.itot'
# The longest wait an API answer can ask for: the client's cap on Retry-After (s).
MAX_BLOCK = 120.0
_OPEN_FLAGS = os.O_RDWR | os.O_CREAT | getattr(os, 'O_NOFOLLOW', 0) | getattr(os, 'O_NONBLOCK', 0)


def default_cache_dir() -> str:
    base = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
    return os.path.join(base, LEDGER_DIR_NAME)


def ledger_name(base_url: str, identity: str) -> str:
    digest = hashlib.sha256(('%s\n%s' % (base_url, identity)).encode('utf-8')).hexdigest()
    return 'budget-%s.json' % digest[:32]


def connection_identity(client_id: str | None, access_token: str | None) -> str:
    """Who the API counts requests for: the client id, else a hash of the token (never the token)."""
    if client_id:
        return 'client:%s' % client_id
    return 'token:%s' % hashlib.sha256((access_token or '').encode('utf-8')).hexdigest()


class RateBudget:
    """At most ``limit`` reservations per ``window`` seconds, across processes sharing ``path``.

    ``limit`` 0 turns pacing off. ``path`` None keeps the ledger in this process only. ``clock`` and ``sleep``
    are injectable for tests; ``clock`` must be comparable across processes (wall-clock time).
    """

    def __init__(self, path: str | None, limit: int, window: float = 60.0,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep,
                 warn: Callable[[str], None] | None = None, max_block: float = MAX_BLOCK) -> None:
        self.path = path
        self.limit = limit
        self.window = window
        self.max_block = max(max_block, window)
        self.unshared_reason: str | None = None  # why the ledger is not used, when it is not
        self._clock = clock
        self._sleep = sleep
        self._warn = warn
        self._warned: set[str] = set()
        self._memory: dict[str, Any] = {'sent': [], 'blocked_until': 0.0}

    def warn_once(self, key: str, message: str) -> None:
        if self._warn is not None and key not in self._warned:
            self._warned.add(key)
            self._warn(message)

    def unshare(self, reason: str) -> None:
        """Pace this process only from now on, and say why once."""
        self.path = None
        self.unshared_reason = reason
        self.warn_once('unshared', 'The request budget cannot be shared with other tasks (%s); pacing requests of '
                                   'this task only' % reason)

    @classmethod
    def for_connection(cls, base_url: str, identity: str, limit: int, cache_dir: str | None = None,
                       **kwargs: Any) -> RateBudget:
        """The shared budget of a connection; falls back to a per-process one if the cache folder is unusable."""
        folder = cache_dir or default_cache_dir()
        path = os.path.join(folder, ledger_name(base_url, identity))
        budget = cls(path, limit, **kwargs)
        if limit > 0:
            reason = _folder_problem(folder) or _file_problem(path)
            if reason:
                budget.unshare(reason)
        return budget

    @property
    def shared(self) -> bool:
        return self.path is not None

    def reserve(self) -> float:
        """Wait until a slot is free, take it, and return its time."""
        while True:
            with _Ledger(self) as ledger:
                now = self._clock()
                wait = self._wait(ledger.state, now)
                if wait <= 0:
                    if self.limit > 0:
                        ledger.state['sent'].append(now)
                    return now
            self._sleep(wait)

    def settle(self, stamp: float) -> None:
        """The request of the slot reserved at ``stamp`` is done: count it from now.

        The API counts a request when it arrives, which is after the slot was reserved; moving the slot to the
        time the answer came keeps the next request at least a full window after the API's count.
        """
        if self.limit <= 0:
            return
        with _Ledger(self) as ledger:
            sent = ledger.state['sent']
            if stamp in sent:
                sent.remove(stamp)
                sent.append(max(self._clock(), stamp))
                sent.sort()

    def delay(self) -> float:
        """Seconds until a slot is free (0 when one is free now)."""
        with _Ledger(self) as ledger:
            return max(self._wait(ledger.state, self._clock()), 0.0)

    def block_until(self, when: float) -> None:
        """Nobody sends before ``when`` (after a 429: its Retry-After, or a whole window), in every process sharing
        the ledger."""
        with _Ledger(self) as ledger:
            ledger.state['blocked_until'] = max(ledger.state['blocked_until'], when)

    def _wait(self, state: dict[str, Any], now: float) -> float:
        # Drop what left the window, and anything absurdly in the future (a clock that jumped back).
        state['sent'] = sorted(t for t in state['sent'] if now - self.window < t <= now + self.window)
        if state['blocked_until'] > now + self.max_block:
            self.warn_once('blocked', 'The request ledger asks to wait %.0f s, longer than any answer of the API '
                                      'asks for (%.0f s): a clock stepped back, or the ledger was edited; waiting '
                                      '%.0f s' % (state['blocked_until'] - now, self.max_block, self.max_block))
            state['blocked_until'] = now + self.max_block
        wait = state['blocked_until'] - now
        if self.limit > 0 and len(state['sent']) >= self.limit:
            wait = max(wait, state['sent'][-self.limit] + self.window - now)
        return wait


class _Ledger:
    """The budget's state, locked (flock) and read on enter, written on exit."""

    def __init__(self, budget: RateBudget) -> None:
        self._budget = budget
        self._fd: int | None = None
        self.state: dict[str, Any] = budget._memory

    def __enter__(self) -> _Ledger:
        if self._budget.path is None or self._budget.limit <= 0:
            return self
        try:
            self._fd = _open_ledger(self._budget.path)
        except _Unsafe as exc:  # replaced after the checks (a link, a FIFO, another owner): this process only
            self._budget.unshare(str(exc))
            return self
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            raw = b''
            while True:
                chunk = os.read(self._fd, 65536)
                if not chunk:
                    break
                raw += chunk
            self.state = _parse_state(raw)
        except BaseException:
            os.close(self._fd)
            self._fd = None
            raise
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self._fd is None:
            return
        try:
            data = json.dumps({'sent': self.state['sent'], 'blocked_until': self.state['blocked_until']},
                              separators=(',', ':')).encode('utf-8')
            os.lseek(self._fd, 0, os.SEEK_SET)
            os.ftruncate(self._fd, 0)
            os.write(self._fd, data)
        finally:
            os.close(self._fd)  # closing releases the lock
            self._fd = None


def _parse_state(raw: bytes) -> dict[str, Any]:
    state: dict[str, Any] = {'sent': [], 'blocked_until': 0.0}
    try:
        doc = json.loads(raw.decode('utf-8')) if raw.strip() else {}
    except ValueError:
        return state  # a damaged ledger only costs pacing accuracy, never the run
    if isinstance(doc, dict):
        sent = doc.get('sent')
        if isinstance(sent, list):
            state['sent'] = [float(t) for t in sent if isinstance(t, (int, float)) and not isinstance(t, bool)]
        blocked = doc.get('blocked_until')
        if isinstance(blocked, (int, float)) and not isinstance(blocked, bool):
            state['blocked_until'] = float(blocked)
    return state


class _Unsafe(Exception):
    """The ledger file is not one this process may use."""


def _folder_problem(folder: str) -> str | None:
    """Why ``folder`` cannot hold the ledger (created 0700 when missing), or None."""
    try:
        os.makedirs(os.path.dirname(folder) or '.', exist_ok=True)
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:
            pass  # there already, or made a moment ago by another process or thread: checked below as any other
        info = os.lstat(folder)
    except OSError as exc:
        return 'the cache folder %s cannot be used: %s' % (folder, exc.strerror or exc)
    if stat.S_ISLNK(info.st_mode):
        return 'the cache folder %s is a symbolic link' % folder
    if not stat.S_ISDIR(info.st_mode):
        return 'the cache folder %s is not a folder' % folder
    if info.st_uid != os.geteuid():
        return 'the cache folder %s belongs to user id %d, not to this user (%d)' % (folder, info.st_uid, os.geteuid())
    if info.st_mode & 0o022:
        return 'the cache folder %s is writable by group or others (mode %04o)' % (folder, stat.S_IMODE(info.st_mode))
    return None


def _file_problem(path: str) -> str | None:
    try:
        os.close(_open_ledger(path))
    except _Unsafe as exc:
        return str(exc)
    return None


def _open_ledger(path: str) -> int:
    """The ledger opened read-write without following a link or blocking on a FIFO; _Unsafe unless it is a
    regular file of this user."""
    try:
        fd = os.open(path, _OPEN_FLAGS, 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _Unsafe('the ledger %s is a symbolic link' % path) from exc
        raise _Unsafe('the ledger %s cannot be opened: %s' % (path, exc.strerror or exc)) from exc
    info = os.fstat(fd)
    problem = None
    if not stat.S_ISREG(info.st_mode):
        problem = 'the ledger %s is not a regular file' % path
    elif info.st_uid != os.geteuid():
        problem = 'the ledger %s belongs to user id %d, not to this user (%d)' % (path, info.st_uid, os.geteuid())
    if problem:
        os.close(fd)
        raise _Unsafe(problem)
    os.set_blocking(fd, True)
    return fd
