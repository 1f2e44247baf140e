# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Windows as sent to the Get Logs API: spans, their padding, slicing and cutting, and the widest window a tenant
takes; for internal collection use only.

Pure arithmetic on epoch milliseconds (and entry times in microseconds), except ``WindowLimit``, which remembers for
one client what the tenant answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ansible_collections.opswat.itot.plugins.module_utils._entries import entry_time
from ansible_collections.opswat.itot.plugins.module_utils._errors import ApiError
from ansible_collections.opswat.itot.plugins.module_utils._vocabulary import DAY_MS


@dataclass(frozen=True)
class Span:
    """A window as sent (``start_time``/``end_time``, epoch ms).

    When a window is cut in two, each half is sent one millisecond wider than its own part, so that no entry at
    the cut is lost whether the API's ends are inclusive or exclusive; the entries of that extra millisecond belong
    to the neighbour and are dropped (``pad_lo``/``pad_hi``).
    """

    start: int
    end: int
    pad_lo: bool = False
    pad_hi: bool = False

    def split_at(self, mid: int) -> tuple[Span, Span]:
        return Span(self.start, mid, self.pad_lo, True), Span(mid - 1, self.end, True, self.pad_hi)

    @property
    def lo_us(self) -> int:
        """First microsecond of this span's own part."""
        return (self.start + (1 if self.pad_lo else 0)) * 1000

    @property
    def hi_us(self) -> int:
        """First microsecond after this span's own part."""
        return (self.end + (0 if self.pad_hi else 1)) * 1000

    def drops(self, key: int | None) -> bool:
        """Whether an entry at ``key`` is the neighbour's (it lies in a padding millisecond)."""
        if key is None:
            return False
        if self.pad_lo and self.start * 1000 <= key < (self.start + 1) * 1000:
            return True
        return self.pad_hi and self.end * 1000 <= key < (self.end + 1) * 1000


def padded(start_ms: int, end_ms: int) -> Span:
    """The span sent for the window [start_ms, end_ms] (both included): one millisecond wider on each side, so that
    a server that serves neither end, or only one, still serves the whole window; the entries of the extra
    milliseconds are dropped."""
    if start_ms > 0:
        return Span(start_ms - 1, end_ms + 1, True, True)
    return Span(start_ms, end_ms + 1, False, True)


def slice_window(span: Span, max_ms: int = DAY_MS) -> list[Span]:
    """Cut a window into spans no longer than ``max_ms`` as sent, oldest first."""
    spans = []
    while span.end - span.start > max_ms:
        left, span = span.split_at(span.start + max_ms)
        spans.append(left)
    spans.append(span)
    return spans


def beyond(span: Span, boundary_ms: int, older: bool) -> Span | None:
    """The part of ``span`` from ``boundary_ms`` (included) towards its start (``older``) or its end, sent one
    millisecond wider on the cut side; None when that is not smaller than ``span``."""
    if older:
        part = Span(span.start, boundary_ms + 1, span.pad_lo, True)
    else:
        part = Span(boundary_ms - 1, span.end, True, span.pad_hi)
    if part.lo_us < span.lo_us or part.hi_us > span.hi_us or not 0 < part.hi_us - part.lo_us < span.hi_us - span.lo_us:
        return None
    return part


def rest_after(span: Span, entries: list) -> tuple[Span, int] | None:
    """The span still to read after ``entries`` (the first pages of a walk of ``span``), and the millisecond
    where the two meet; None when the entries do not tell (unparseable times, no order, no progress).

    The API sorts an answer by time, but which way is not known: entries read oldest first end at their newest
    time, newest first at their oldest. The rest is read from that millisecond on (one millisecond wider,
    dropped again, in case the API's ends are exclusive); the entries of the meeting millisecond come again
    and are told apart by content (the walk's merge).
    """
    keys = [entry_time(entry) for entry in entries]
    if not keys or any(key is None for key in keys) or keys[0] == keys[-1]:
        return None
    if keys[0] < keys[-1]:
        if any(a > b for a, b in zip(keys, keys[1:])):
            return None
        boundary = keys[-1] // 1000
        if boundary <= span.start + (1 if span.pad_lo else 0):
            return None
        return Span(boundary - 1, span.end, True, span.pad_hi), boundary
    if any(a < b for a, b in zip(keys, keys[1:])):
        return None
    boundary = keys[-1] // 1000
    if boundary >= span.end - (1 if span.pad_hi else 0):
        return None
    return Span(span.start, boundary + 1, span.pad_lo, True), boundary


def window_width(body: dict[str, Any]) -> int:
    """The length of a request's ``start_time``..``end_time`` window, ms (0 without one)."""
    if 'start_time' not in body or 'end_time' not in body:
        return 0
    return body['end_time'] - body['start_time']


class WindowLimit:
    """The widest window one client sends: ``max_window`` until the tenant refuses a window wider than 24 h.

    Only until a wider window was answered once; then the client reads in 24 h slices for the rest of the task
    (warned once), which costs the one refused request and loses nothing.
    """

    def __init__(self, max_window: int, warn: Callable[[str], None] | None = None) -> None:
        self.max_window = max_window  # the option, seconds
        self.max_ms = max_window * 1000  # narrowed to 24 h when the tenant refuses wider windows
        self._warn = warn
        self._wide_accepted = False  # a window wider than 24 h was answered: a later 400 is about something else

    def answered(self, body: dict[str, Any]) -> None:
        """The API answered ``body`` (HTTP 200 or 406)."""
        if window_width(body) > DAY_MS:
            self._wide_accepted = True

    def refuses(self, body: dict[str, Any], error: ApiError) -> bool:
        """Whether a 400 to the first page of ``body`` means the tenant takes no windows wider than 24 h."""
        if self._wide_accepted or window_width(body) <= DAY_MS or self.max_ms <= DAY_MS:
            return False
        self.max_ms = DAY_MS
        if self._warn is not None:
            self._warn('%s (a window of %s s, max_window: %d); this tenant accepts windows of at most 24 h; set '
                       'max_window: 86400. The rest of this task reads 24 h slices.'
                       % (error.message, format(window_width(body) / 1000, 'g'), self.max_window))
        return True
