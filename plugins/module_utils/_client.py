# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The Get Logs API v3.3 client: transport, auth, pacing, retries and the paging walk; for internal collection use only.

``LogsClient.iter_entries(query)`` returns a ``LogWalk``: an iterator over every entry of the query's window,
each once, oldest first, whatever the API's paging and sort order (see API-NOTES.md for the readings it
handles). ``LogsClient.fetch(query)`` collects a walk, honouring ``max_results`` with a resumable ``next_token``.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass
from typing import Any, Callable

from ansible_collections.opswat.itot.plugins.module_utils._entries import Item, entry_identity, entry_time, sort_key
from ansible_collections.opswat.itot.plugins.module_utils._errors import ApiError, PaginationError
from ansible_collections.opswat.itot.plugins.module_utils._http import (
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
    Page,
    Transport,
)
from ansible_collections.opswat.itot.plugins.module_utils._options import (
    ConnectionSettings,
    LogQuery,
    ResumePoint,
)
from ansible_collections.opswat.itot.plugins.module_utils._rate_budget import RateBudget
from ansible_collections.opswat.itot.plugins.module_utils._timeparse import format_ms
from ansible_collections.opswat.itot.plugins.module_utils._vocabulary import (
    API_DEFAULT_AGE,
    DAY_MS,
    MAX_PAGE_SIZE,
    SEARCH_CATEGORIES,
)

# The client's face: what the module, the lookup, the bench and the tests import from here.
__all__ = ['HAS_REQUESTS', 'REQUESTS_IMPORT_ERROR', 'LogWalk', 'LogsClient', 'LogsResult']

MAX_PAGES_PER_WINDOW = 10000  # a server that hands out new tokens forever must not keep us here forever
MAX_TOKEN_REFUSALS = 100  # re-reads after the API refused a pagination token it had handed out, per walk
MAX_WHOLE_REREADS = 2  # of those, re-reads of a whole window (when the entries read give no place to resume at)


class _TokenRefused(Exception):
    """The API answered 400 to a page request that carried the token it had handed out (expired, or used up)."""

    def __init__(self, error: ApiError, entries: list) -> None:
        super().__init__(error.message)
        self.error = error
        self.entries = entries  # what the pages before the refused one gave, in the API's order


class _TooWide(Exception):
    """HTTP 400 to the first page of a window wider than 24 h, before any wider one was accepted."""


class _TooMany(Exception):
    """HTTP 406 without a token to follow: more entries than a page in the window ("narrow the query")."""

    def __init__(self, data: list) -> None:
        super().__init__('HTTP 406 without a pagination token')
        self.data = data


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


def _width(body: dict[str, Any]) -> int:
    """The length of a request's ``start_time``..``end_time`` window, ms (0 without one)."""
    if 'start_time' not in body or 'end_time' not in body:
        return 0
    return body['end_time'] - body['start_time']


@dataclass
class LogsResult:
    logs: list
    next_token: str | None
    window: tuple[int, int] | None
    api_requests: int

    @property
    def truncated(self) -> bool:
        return self.next_token is not None

    def as_dict(self) -> dict[str, Any]:
        """The module's return keys (without ``changed``)."""
        result: dict[str, Any] = {'logs': self.logs, 'count': len(self.logs), 'next_token': self.next_token,
                                  'truncated': self.truncated, 'api_requests': self.api_requests}
        if self.window is not None:
            result['window'] = {'start_time': self.window[0], 'end_time': self.window[1]}
        return result


class LogsClient:
    """One connection to the IT-OT Access API, and the walks over it."""

    def __init__(self, settings: ConnectionSettings, *, warn: Callable[[str], None] | None = None,
                 **transport: Any) -> None:
        """``transport``: the keyword arguments of ``Transport`` (budget, session, clock, sleep, rand, backoff_base,
        backoff_cap, retry_after_cap, on_secret)."""
        self._transport = Transport(settings, warn=warn, **transport)
        self.settings = settings
        self._warn = warn
        self.max_window_ms = settings.max_window * 1000  # narrowed to 24 h when the tenant refuses wider windows
        self._wide_accepted = False  # a window wider than 24 h was answered: a later 400 is about something else

    @property
    def api_requests(self) -> int:
        """Logs requests sent so far (retries included)."""
        return self._transport.api_requests

    @property
    def budget(self) -> RateBudget:
        return self._transport.budget

    def close(self) -> None:
        self._transport.close()

    def iter_entries(self, query: LogQuery) -> LogWalk:
        """Every entry of the query, once, oldest first (a lazy iterator, see LogWalk)."""
        return LogWalk(self, query)

    def fetch(self, query: LogQuery) -> LogsResult:
        """The entries of the query, at most ``max_results`` of them, and the token to get the rest."""
        before = self.api_requests
        walk = self.iter_entries(query)
        logs = []
        next_token = None
        for entry in walk:
            logs.append(entry)
            if query.max_results and len(logs) >= query.max_results:
                next_token = walk.resume_token()
                break
        return LogsResult(logs=logs, next_token=next_token, window=walk.window,
                          api_requests=self.api_requests - before)

    # --- transport -------------------------------------------------------------------------------------------

    def post_logs(self, body: dict[str, Any]) -> Page:
        """One page (see Transport.post_logs)."""
        page = self._transport.post_logs(body)
        if _width(body) > DAY_MS:
            self._wide_accepted = True
        return page

    def refuses_wide_windows(self, body: dict[str, Any], error: ApiError) -> bool:
        """Whether a 400 to the first page of ``body`` means the tenant takes no windows wider than 24 h.

        Only until a wider window was answered once; then the client reads in 24 h slices for the rest of the task
        (warned once), which costs the one refused request and loses nothing.
        """
        if self._wide_accepted or _width(body) <= DAY_MS or self.max_window_ms <= DAY_MS:
            return False
        self.max_window_ms = DAY_MS
        if self._warn is not None:
            self._warn('%s (a window of %s s, max_window: %d); this tenant accepts windows of at most 24 h; set '
                       'max_window: 86400. The rest of this task reads 24 h slices.'
                       % (error.message, format(_width(body) / 1000, 'g'), self.settings.max_window))
        return True


class LogWalk:
    """Iterator over the entries of one query, oldest first, each once.

    The window is read in slices of at most 24 h; each slice is read whole (following tokens; on a 406 without one,
    narrowing the window past the page or splitting it), sorted oldest first (stable; entries whose time cannot be parsed last, in API order), then handed
    out. ``resume_token()`` says where to continue after the last entry handed out. A pagination token that the API
    refuses mid-walk (HTTP 400: it expired, or a retry found it used up) is not fatal: the rest of the slice is read
    again, without a token, from where the entries read so far end.
    """

    def __init__(self, client: LogsClient, query: LogQuery) -> None:
        self._client = client
        self._query = query
        self._split_events = False
        self.window = query.window
        self._age_mode = self.window is None
        if self._age_mode:
            age_ms = (query.age or API_DEFAULT_AGE) * 1000
            self._slices = [Span(max(query.now_ms - age_ms, 0), query.now_ms)]
        elif self.window[0] > self.window[1]:
            self._slices = []
        elif query.resume is not None:
            # A resume point is a span as sent: its start is padded already (or starts at a slice's own start).
            resume = query.resume
            outer = Span(resume.start_ms, resume.end_ms + 1, resume.pad_lo, True)
            self._slices = slice_window(outer, client.max_window_ms)
        else:
            self._slices = slice_window(padded(self.window[0], self.window[1]), client.max_window_ms)
        self._next_slice = 0
        self._span: Span | None = None
        self._items: list[Item] = []
        self._pos = 0
        self._clean = True
        self._skip = query.resume
        self._refusals = 0
        self._held_end: str | None = None  # which end of the window a 406 without a token holds (see _narrowed)

    def __iter__(self) -> LogWalk:
        return self

    def __next__(self) -> Any:
        while self._pos >= len(self._items):
            if self._next_slice >= len(self._slices):
                raise StopIteration
            try:
                self._load(self._slices[self._next_slice])
            except _TooWide:
                rest = self._slices[self._next_slice:]
                self._slices[self._next_slice:] = [part for span in rest for part in slice_window(span, DAY_MS)]
                continue
            self._next_slice += 1
        item = self._items[self._pos]
        self._pos += 1
        return item[1]

    # --- resuming --------------------------------------------------------------------------------------------

    def resume_token(self) -> str | None:
        """A token that resumes right after the last entry handed out, or None when nothing is left."""
        if self._span is not None and self._pos < len(self._items):
            point = self._point_in_slice()
        elif self._next_slice < len(self._slices):
            span = self._slices[self._next_slice]
            point = ResumePoint(start_ms=span.start, end_ms=self._window_end(), pad_lo=span.pad_lo)
        else:
            return None
        return point.encode(self._query.fingerprint)

    def _window_end(self) -> int:
        if not self._age_mode:
            return self.window[1]
        # An age window ends at the server's "now": keep every entry this run saw.
        newest = max((key for key, dummy in self._items if key is not None), default=0)
        return max(self._query.now_ms, -(-newest // 1000))

    def _point_in_slice(self) -> ResumePoint:
        span = self._span
        end = self._window_end()
        if self._pos == 0:
            return ResumePoint(start_ms=span.start, end_ms=end, pad_lo=span.pad_lo)
        key = self._items[self._pos - 1][0]
        if key is None:
            first_unparsed = next(i for i, item in enumerate(self._items) if item[0] is None)
            return ResumePoint(start_ms=span.start, end_ms=end, pad_lo=span.pad_lo, all_parsed=True,
                               unparsed=self._pos - first_unparsed)
        same = 0
        for index in range(self._pos - 1, -1, -1):
            if self._items[index][0] != key:
                break
            same += 1
        key_ms = key // 1000
        if self._clean or key_ms < span.start:
            # Nothing of this slice lies before the cursor but what was handed out: start at the cursor (sent one
            # millisecond earlier, in case the server does not serve a window's start).
            if key_ms > 0:
                return ResumePoint(start_ms=key_ms - 1, end_ms=end, pad_lo=True, after_us=key, same=same)
            return ResumePoint(start_ms=key_ms, end_ms=end, after_us=key, same=same)
        return ResumePoint(start_ms=span.start, end_ms=end, pad_lo=span.pad_lo, after_us=key, same=same)

    def _skip_index(self, point: ResumePoint) -> int:
        items = self._items
        index = 0
        if point.all_parsed:
            while index < len(items) and items[index][0] is not None:
                index += 1
            return min(index + point.unparsed, len(items))
        if point.after_us is not None:
            while index < len(items) and items[index][0] is not None and items[index][0] < point.after_us:
                index += 1
            same = 0
            while index < len(items) and items[index][0] == point.after_us and same < point.same:
                index += 1
                same += 1
        return index

    # --- reading a slice -------------------------------------------------------------------------------------

    def _load(self, span: Span) -> None:
        items = self._collect(span)
        items.sort(key=sort_key)
        self._span = span
        self._items = items
        self._pos = 0
        hi_us = None if self._age_mode else span.hi_us
        self._clean = all(key is not None and key >= span.lo_us and (hi_us is None or key < hi_us)
                          for key, dummy in items)
        if self._skip is not None:
            self._pos = self._skip_index(self._skip)
            self._skip = None

    def _collect(self, span: Span) -> list[Item]:
        events = self._query.events
        if len(events) > 1 and not self._split_events:
            try:
                return self._walk(span, ','.join(events), self._age_mode)
            except ApiError as exc:
                if exc.status != 400:
                    raise
                # The API refused several events in one string: read once per event and merge by time.
                self._split_events = True
        if len(events) > 1:
            items: list[Item] = []
            for event in events:
                items.extend(self._walk(span, event, self._age_mode))
            return items
        return self._walk(span, events[0] if events else None, self._age_mode)

    def _body(self, span: Span, events: str | None, use_age: bool) -> dict[str, Any]:
        query = self._query
        body: dict[str, Any] = {'event_category': query.event_category, 'limit': query.page_size}
        if use_age:
            if query.age is not None:
                body['age'] = query.age
        else:
            body['start_time'] = span.start
            body['end_time'] = span.end
        filters: dict[str, Any] = {}
        if events:
            filters['events'] = events
        if query.agent_types:
            filters['agent_types'] = list(query.agent_types)
        if query.search is not None:
            filters['search'] = query.search
        if filters:
            body['filter'] = filters
        return body

    def _walk(self, span: Span, events: str | None, use_age: bool) -> list[Item]:
        """Every entry of one span, also when the API refuses a pagination token it handed out, or answers 406
        without a token (the window is narrowed past the entries it gave, or split in two)."""
        held: list[Item] = []
        whole_rereads = 0
        while True:
            try:
                return held + self._read(span, events, use_age)
            except _TooMany as too_many:
                narrowed = self._narrowed(span, events, too_many.data)
                if narrowed is None:
                    return held + self._split(span, events, use_age, too_many.data)
                kept, span = narrowed
                held.extend(kept)
                use_age = False
            except _TokenRefused as refused:
                self._refusals += 1
                if self._refusals > MAX_TOKEN_REFUSALS:
                    raise PaginationError('The IT-OT Access API refused %d pagination tokens it had handed out for '
                                          'category %r; giving up. Last answer: %s'
                                          % (self._refusals, self._query.event_category, refused.error.message)
                                          ) from None
                rest = None if use_age else self._rest_after(span, refused.entries)
                if rest is None:
                    # Nothing says where the entries read end: read the whole window again.
                    whole_rereads += 1
                    if whole_rereads > MAX_WHOLE_REREADS:
                        raise PaginationError('The IT-OT Access API refused a pagination token it had handed out for '
                                              'category %r, and reading the whole window again did not help (%d '
                                              'times); giving up. Last answer: %s'
                                              % (self._query.event_category, whole_rereads, refused.error.message)
                                              ) from None
                    continue
                rest_span, boundary_ms = rest
                return held + self._merge(span, refused.entries, self._walk(rest_span, events, False), boundary_ms)

    # --- a 406 without a token -------------------------------------------------------------------------------

    def _narrowed(self, span: Span, events: str | None, data: list) -> tuple[list[Item], Span] | None:
        """After a 406 without a token: the entries of ``data`` worth keeping, and the smaller span left to read;
        None when the window must be split in two instead.

        A server that answers "too many" with a page sorted by time gives ``limit`` consecutive entries from one end
        of the window: the first ones of its own order ("head") or the last ones ("tail"). Which end is not known,
        so the first such answer of a walk is followed by one request on each side of the page: the side that holds
        nothing but the entries of the page's boundary millisecond tells the end, and from then on every 406 page
        is kept and the window narrowed past it (one request per page instead of a split's tree of requests).
        The entries of the millisecond the next request starts at are dropped from the page and read again there.
        A server whose pages fit neither end (or without usable times) gets the split. What this cannot tell from a
        page of consecutive entries is a server that answers with a sample of the window that happens to reach one of
        its ends: the vendor's page ("more event logs than what the limit asks for ... sorted by timestamp") reads as
        the first ``limit`` entries of a sorted list, and that is the reading followed here.
        """
        if self._held_end == 'neither':
            return None
        keys = [entry_time(entry) for entry in data]
        if len(keys) < 2 or any(key is None for key in keys) or keys[0] == keys[-1]:
            return None
        ascending = keys[0] < keys[-1]
        if any((a > b) if ascending else (a < b) for a, b in zip(keys, keys[1:])):
            return None
        first_ms, last_ms = keys[0] // 1000, keys[-1] // 1000
        if first_ms == last_ms:
            return None
        own = [(key, entry) for key, entry in zip(keys, data) if not span.drops(key)]
        before = self._beyond(span, first_ms, older=ascending)  # the side before the page's first entry
        after = self._beyond(span, last_ms, older=not ascending)  # the side after its last entry
        if before is None or after is None:
            return None
        if self._held_end == 'head':
            return [item for item in own if item[0] // 1000 != last_ms], after
        if self._held_end == 'tail':
            return [item for item in own if item[0] // 1000 != first_ms], before
        middle = [item for item in own if item[0] // 1000 not in (first_ms, last_ms)]
        edge = self._probe(before, events, first_ms)
        if edge is not None:
            self._held_end = 'head'
            return middle + edge, after
        edge = self._probe(after, events, last_ms)
        if edge is not None:
            self._held_end = 'tail'
            return middle + edge, before
        self._held_end = 'neither'
        return None

    @staticmethod
    def _beyond(span: Span, boundary_ms: int, older: bool) -> Span | None:
        """The part of ``span`` from ``boundary_ms`` (included) towards its start (``older``) or its end, sent one
        millisecond wider on the cut side; None when that is not smaller than ``span``."""
        if older:
            part = Span(span.start, boundary_ms + 1, span.pad_lo, True)
        else:
            part = Span(boundary_ms - 1, span.end, True, span.pad_hi)
        if part.lo_us < span.lo_us or part.hi_us > span.hi_us or not 0 < part.hi_us - part.lo_us < span.hi_us - span.lo_us:
            return None
        return part

    def _probe(self, span: Span, events: str | None, boundary_ms: int) -> list[Item] | None:
        """One request for ``span``: its entries when the API gave all of them (a short 200 page without a token) and
        they all lie in ``boundary_ms``; else None."""
        page = self._client.post_logs(self._body(span, events, False))
        if page.status != 200 or page.token is not None or len(page.data) >= self._query.page_size:
            return None
        items = [(entry_time(entry), entry) for entry in page.data]
        items = [item for item in items if not span.drops(item[0])]
        if any(key is None or key // 1000 != boundary_ms for key, dummy in items):
            return None
        return items

    def _rest_after(self, span: Span, entries: list) -> tuple[Span, int] | None:
        """The span still to read after ``entries`` (the first pages of a walk of ``span``), and the millisecond
        where the two meet; None when the entries do not tell (unparseable times, no order, no progress).

        The API sorts an answer by time, but which way is not known: entries read oldest first end at their newest
        time, newest first at their oldest. The rest is read from that millisecond on (one millisecond wider,
        dropped again, in case the API's ends are exclusive); the entries of the meeting millisecond come again
        and are told apart by content (_merge).
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

    @staticmethod
    def _merge(span: Span, entries: list, rest: list[Item], boundary_ms: int) -> list[Item]:
        """The entries read before a refused token, then the rest without what both hold in the meeting ms."""
        items = [(entry_time(entry), entry) for entry in entries]
        items = [item for item in items if not span.drops(item[0])]
        held = collections.Counter(entry_identity(entry) for key, entry in items
                                   if key is not None and key // 1000 == boundary_ms)
        for key, entry in rest:
            if key is not None and key // 1000 == boundary_ms:
                identity = entry_identity(entry)
                if held[identity] > 0:
                    held[identity] -= 1
                    continue
            items.append((key, entry))
        return items

    def _read(self, span: Span, events: str | None, use_age: bool) -> list[Item]:
        """Every entry of one span: resend the same body plus the token while the API offers more."""
        body = self._body(span, events, use_age)
        entries: list[Any] = []
        seen: dict[str, list] = {}  # token -> the page it came with
        token: str | None = None
        pages = 0
        while True:
            request = dict(body)
            if token is not None:
                request['token'] = token
            try:
                page = self._client.post_logs(request)
            except ApiError as exc:
                if token is not None and exc.status == 413:
                    break  # past the last page: how the vendor's own client ends a walk ("No items for current page")
                if token is None and exc.status == 413:
                    raise ApiError('%s; HTTP 413 ends a walk only as the answer to a pagination token, and this '
                                   'request carried none' % exc.message, status=413) from None
                if token is None and exc.status == 400 and self._client.refuses_wide_windows(request, exc):
                    raise _TooWide() from None
                if token is None or exc.status != 400:
                    raise
                # The body was accepted without a token: the token is what the API refused now.
                raise _TokenRefused(exc, entries) from None
            pages += 1
            fresh = page.token is not None and page.token not in seen
            if page.status == 406 and not fresh:
                if entries:
                    # Pages that came with tokens, then a 406 without one: read the window again by other means.
                    raise _TooMany([])
                raise _TooMany(page.data)
            if fresh or seen.get(page.token) != page.data:
                entries.extend(page.data)
            # else: a repeated token with the very page it came with: the server is going round in circles.
            if not fresh or (page.status == 200 and len(page.data) < self._query.page_size):
                break
            if pages >= MAX_PAGES_PER_WINDOW:
                raise PaginationError('The IT-OT Access API kept offering more pages for category %r after %d '
                                      'pages of one window; giving up' % (self._query.event_category, pages))
            seen[page.token] = page.data
            token = page.token
        items = [(entry_time(entry), entry) for entry in entries]
        if use_age:
            return items
        return [item for item in items if not span.drops(item[0])]

    def _split(self, span: Span, events: str | None, use_age: bool, data: list) -> list[Item]:
        """Read the two halves of ``span`` (its own part, without padding) one by one, down to one millisecond.

        An age window is split as the explicit window it stands for (span holds it).
        """
        first_ms, last_ms = span.lo_us // 1000, span.hi_us // 1000 - 1
        if first_ms >= last_ms:
            return self._one_millisecond(span, events, data)
        left, right = span.split_at(first_ms + (last_ms - first_ms + 1) // 2)
        return self._walk(left, events, False) + self._walk(right, events, False)

    def _one_millisecond(self, span: Span, events: str | None, data: list) -> list[Item]:
        """A 406 without a token for a window whose own part is one millisecond.

        The window was sent one millisecond wider on a padded side, and a server that serves that end counts the
        neighbour's entries too. Where the page shows entries of a padding millisecond, the server serves that end:
        the padding is dropped there (safely) and the millisecond asked again. A full page of the millisecond's own
        entries may be all of them, with the rest of the 406 beyond a padded side: the millisecond is asked without
        that padding, and the answer believed only when it holds at least as many of its entries. Otherwise the
        millisecond holds more than a page, which this API gives no way to read.
        """
        moment = span.lo_us // 1000
        tried = {(span.start, span.end)}
        keys = [entry_time(entry) for entry in data]
        while all(key is not None for key in keys):
            before = span.pad_lo and any(key // 1000 < moment for key in keys)
            after = span.pad_hi and any(key // 1000 > moment for key in keys)
            if not before and not after:
                break
            span = Span(moment if before else span.start, moment if after else span.end,
                        span.pad_lo and not before, span.pad_hi and not after)
            tried.add((span.start, span.end))
            try:
                return self._read(span, events, False)
            except _TooMany as too_many:
                data = too_many.data
                keys = [entry_time(entry) for entry in data]
        own = sum(1 for key in keys if key is not None and key // 1000 == moment)
        if own >= self._query.page_size:
            for trial in (Span(moment, moment), Span(moment - 1, moment, True, False), Span(moment, moment + 1, False, True)):
                if (trial.start, trial.end) in tried:
                    continue
                tried.add((trial.start, trial.end))
                try:
                    items = self._read(trial, events, False)
                except _TooMany:
                    continue
                items = [item for item in items if item[0] is not None and item[0] // 1000 == moment]
                if len(items) >= own:
                    return items
        raise PaginationError(self._unreadable(moment, len(data)))

    def _unreadable(self, moment_ms: int, returned: int) -> str:
        query = self._query
        if query.page_size < MAX_PAGE_SIZE:
            advice = 'raise page_size (now %d) to %d' % (query.page_size, MAX_PAGE_SIZE)
        else:
            advice = ('page_size is at its maximum of %d already: narrow the query with events%s so that fewer '
                      'entries share that millisecond' % (MAX_PAGE_SIZE, ' or search' if query.event_category in
                                                          SEARCH_CATEGORIES else ''))
        return ('The IT-OT Access API answered HTTP 406 without a pagination token for category %r even for the '
                'single millisecond %s (epoch ms %d): it holds more than page_size=%d entries at that time and gives '
                'no way to read past the %d it returned, so at least one entry of that millisecond cannot be read; %s'
                % (query.event_category, format_ms(moment_ms), moment_ms, query.page_size, returned, advice))
