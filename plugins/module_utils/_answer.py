# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One answer's body, read within bounds, and its JSON; for internal collection use only.

``read_body(response, deadline, cap)`` reads a streamed ``requests`` response (``stream=True``) in chunks, never more
than ``cap`` bytes of it, and never past the request's ``Deadline`` (from before connecting to the last byte): a
watchdog shuts the connection's socket down when the deadline passes, so a server that drips its answer a byte at a
time cannot hold a read that the per-read socket timeout would let through. ``parse_json(body)`` parses it; JSON
nested too deep for the parser is a ``ValueError`` like any other malformed answer, never a bare ``RecursionError``.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any

CHUNK_BYTES = 65536


class AnswerTooLarge(Exception):
    """The answer's body is larger than the cap (``declared``: what its Content-Length said, when it said so)."""

    def __init__(self, cap: int, declared: int | None = None) -> None:
        super().__init__(cap, declared)
        self.cap = cap
        self.declared = declared


class DeadlinePassed(Exception):
    """The request's whole time (connect to last byte) ran out before its last byte came."""


class TooDeep(ValueError):
    """JSON nested deeper than the parser can follow: a malformed answer."""

    def __init__(self) -> None:
        super().__init__('JSON nested too deep to parse')


class Deadline:
    """The end of one request's time: ``seconds`` from now, on the monotonic clock."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        return self._end - time.monotonic()


def size_text(size: int) -> str:
    """``20 MiB``, ``512 KiB``, ``100 bytes``."""
    for unit, scale in (('MiB', 1 << 20), ('KiB', 1 << 10)):
        if size >= scale and size % scale == 0:
            return '%d %s' % (size // scale, unit)
    return '%d bytes' % size


def _socket_of(response: Any) -> socket.socket | None:
    """The socket a streamed response is read from (urllib3 1.26 and 2.x), or None (e.g. a mocked response)."""
    raw = getattr(response, 'raw', None)
    sock = getattr(getattr(raw, '_connection', None), 'sock', None)
    if sock is None:
        reader = getattr(getattr(raw, '_fp', None), 'fp', None)
        sock = getattr(getattr(reader, 'raw', None), '_sock', None)
    return sock if isinstance(sock, socket.socket) else None


class _Watchdog:
    """Shuts the response's socket down (reads blocked on it return at once) when ``seconds`` have passed."""

    def __init__(self, response: Any, seconds: float) -> None:
        self.fired = False
        self._sock = _socket_of(response)
        self._timer = threading.Timer(max(seconds, 0.0), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        self.fired = True
        if self._sock is not None:
            try:
                # socket.socket's own shutdown: an SSLSocket's would drop its SSL object under the reading thread.
                socket.socket.shutdown(self._sock, socket.SHUT_RDWR)
            except OSError:
                pass

    def cancel(self) -> None:
        self._timer.cancel()


def _declared_size(response: Any) -> int | None:
    value = (getattr(response, 'headers', None) or {}).get('Content-Length')
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def read_body(response: Any, deadline: Deadline, cap: int) -> bytes:
    """The whole body of a streamed ``response``, stored as its content (``response.json()`` and ``.text`` work).

    Raises ``AnswerTooLarge`` past ``cap`` bytes (at once when the Content-Length says so), ``DeadlinePassed`` when
    the deadline passes first; a transport error while reading is raised as it is. The response is closed unless
    read whole (then its connection goes back to the pool).
    """
    declared = _declared_size(response)
    if declared is not None and declared > cap:
        response.close()
        raise AnswerTooLarge(cap, declared)
    if deadline.remaining() <= 0:
        response.close()
        raise DeadlinePassed()
    watchdog = _Watchdog(response, deadline.remaining())
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_content(CHUNK_BYTES):
            size += len(chunk)
            if size > cap:
                raise AnswerTooLarge(cap)
            if watchdog.fired:
                break
            chunks.append(chunk)
    except AnswerTooLarge:
        response.close()
        raise
    except Exception:
        response.close()
        if watchdog.fired:
            raise DeadlinePassed() from None
        raise
    finally:
        watchdog.cancel()
    if watchdog.fired:
        response.close()
        raise DeadlinePassed()
    body = b''.join(chunks)
    response._content = body
    response._content_consumed = True
    return body


def parse_json(body: bytes | str) -> Any:
    """The JSON document of an answer; ``ValueError`` when it is not JSON (``TooDeep`` when nested too deep to
    parse)."""
    try:
        return json.loads(body)
    except RecursionError:
        raise TooDeep() from None
