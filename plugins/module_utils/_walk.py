# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The walk over one query's window: every entry once, oldest first, whatever the API's paging; for internal
collection use only.

``LogWalk`` cuts the window into slices (_windows.py), reads each slice's pages (_paging.py) and recovers from what
a reading came to, as a loop over its explicit ``Outcome``: a 406 without a token narrows the window past the page or
splits it, a refused pagination token is read on from where the entries read end, a tenant that refuses wide
windows gets 24 h slices. ``resume_token()`` says where to continue after the last entry handed out.
"""

from __future__ import annotations

import collections
import dataclasses
from typing import Any, Callable

from ansible_collections.opswat.itot.plugins.module_utils._chunks import (
    SLACK_US,
    Chain,
    Continuation,
    Keeper,
    Stopper,
    before_all,
    chained,
    chunk_ends,
)
from ansible_collections.opswat.itot.plugins.module_utils._entries import Item, entry_identity, entry_time, sort_key
from ansible_collections.opswat.itot.plugins.module_utils._errors import ApiError, PaginationError
from ansible_collections.opswat.itot.plugins.module_utils._http import Page
from ansible_collections.opswat.itot.plugins.module_utils._paging import Outcome, PageReader, Reading
from ansible_collections.opswat.itot.plugins.module_utils._query import MAX_MARKS, LogQuery, ResumePoint
from ansible_collections.opswat.itot.plugins.module_utils._timeparse import format_ms
from ansible_collections.opswat.itot.plugins.module_utils._vocabulary import (
    AGENT_TYPE_CATEGORIES,
    API_DEFAULT_AGE,
    DAY_MS,
    EVENTS,
    MAX_PAGE_SIZE,
    SEARCH_CATEGORIES,
)
from ansible_collections.opswat.itot.plugins.module_utils._windows import (
    Span,
    WindowLimit,
    beyond,
    padded,
    rest_after,
    slice_window,
)

MAX_TOKEN_REFUSALS = 100  # re-reads after the API refused a pagination token it had handed out, per walk
MAX_WHOLE_REREADS = 2  # of those, re-reads of a whole window (when the entries read give no place to resume at)


def narrowing_advice(category: str) -> str:
    """How a query of ``category`` is narrowed so that fewer entries share a millisecond ('' when it cannot be)."""
    filters = [name for name, applies in (('events', bool(EVENTS.get(category))),
                                          ('agent_types', category in AGENT_TYPE_CATEGORIES),
                                          ('search', category in SEARCH_CATEGORIES)) if applies]
    if not filters:
        return ''
    names = filters[0] if len(filters) == 1 else ', '.join(filters[:-1]) + ' or ' + filters[-1]
    return 'narrow the query with %s so that fewer entries share that millisecond' % names


def page_ends(span: Span, data: list) -> tuple[list[Item], bool] | None:
    """The entries of a 406 page without a token that lie in ``span``'s own part, and whether they go oldest
    first; None when they do not run one way from one millisecond to a later one (unparseable times, no order).

    The page's ends are those of the span's own part: entries of a padding millisecond (sent one millisecond wider,
    in case the API's ends are exclusive) lie outside it, and were they taken as the page's first or last entry, no
    side would be left before or after it and the window would be split for nothing.
    """
    keys = [entry_time(entry) for entry in data]
    if any(key is None for key in keys):
        return None
    own = [(key, entry) for key, entry in zip(keys, data) if not span.drops(key)]
    keys = [key for key, dummy in own]
    if len(keys) < 2 or keys[0] // 1000 == keys[-1] // 1000:
        return None
    ascending = keys[0] < keys[-1]
    if any((a > b) if ascending else (a < b) for a, b in zip(keys, keys[1:])):
        return None
    return own, ascending


class LogWalk:
    """Iterator over the entries of one query, oldest first, each once.

    The window is read in slices of at most 24 h; each slice is read whole (following tokens; on a 406 without one,
    narrowing the window past the page or splitting it), sorted oldest first (stable; entries whose time cannot be
    parsed last, in API order), then handed out. ``resume_token()`` says where to continue after the last entry
    handed out. A pagination token that the API refuses mid-walk (HTTP 400: it expired, or a retry found it used up)
    is not fatal: the rest of the slice is read again, without a token, from where the entries read so far end.
    """

    def __init__(self, query: LogQuery, post: Callable[[dict[str, Any]], Page], limit: WindowLimit,
                 want: int = 0) -> None:
        """``post``: one logs request (``Transport.post_logs``); ``limit``: the client's widest window; ``want``:
        the entries the caller means to take (0: all), so that a slice's reading stops once it holds them (_chunks.py).
        """
        self._query = query
        self._limit = limit
        self._want = want
        self._size = want  # the entries of one chunk (0: no chunks)
        self._marks: tuple[int, ...] = ()  # where the coming chunks end (ResumePoint.marks)
        self._cont: Continuation | None = None  # where the current slice goes on (it was read in part)
        self._chain: Chain | None = None  # the pages the current items came from, when a next_token can point there
        self._run: tuple[int | None, int] = (None, 0)  # time of the last entry handed out, entries handed out at it
        self._whole_once = False  # the next slice is read without a Keeper (it is cut to the chunk already)
        self._pages = PageReader(query, post, limit)
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
            self._slices = self._cut(outer, resume.marks)
            self._marks = resume.marks
            self._run = (resume.after_us, resume.same)
            if resume.page_span is not None:
                self._resume_pages(resume)
        else:
            self._slices = slice_window(padded(self.window[0], self.window[1]), limit.max_ms)
        self._next_slice = 0
        self._span: Span | None = None
        self._items: list[Item] = []
        self._pos = 0
        self._clean = True
        self._skip = query.resume if self._cont is None else None
        self._refusals = 0
        # which end of the window a 406 without a token holds (see _narrowed)
        self._held_end: str | None = None if query.resume is None else query.resume.held_end

    def _cut(self, span: Span, marks: tuple[int, ...]) -> list[Span]:
        """The slices of ``span``, cut after each mark that lies inside it (each chunk's part its own slice)."""
        slices: list[Span] = []
        for mark in marks:
            # A second after the mark: the API files an entry that states the mark's time up to a second later.
            cut = mark + SLACK_US // 1000
            if span.lo_us // 1000 <= cut < span.hi_us // 1000 - 1:
                part, span = span.split_at(cut + 1)
                slices.extend(slice_window(part, self._limit.max_ms))
        return slices + slice_window(span, self._limit.max_ms)

    def _resume_pages(self, resume: ResumePoint) -> None:
        """Go on with the API's pages where the resume point says: that page, then the slices after its span (as
        the walk that stopped had cut them)."""
        span = Span(*resume.page_span)
        self._cont = Continuation(span, self._resume_events(), resume.page_token, resume.page_offset)
        rest = Span(span.end - 1, resume.end_ms + 1, True, True)
        self._slices = self._cut(rest, resume.marks) if span.end < resume.end_ms + 1 else []

    def _resume_events(self) -> str | None:
        events = self._query.events
        return ','.join(events) if events else None

    def __iter__(self) -> LogWalk:
        return self

    def __next__(self) -> Any:
        while self._pos >= len(self._items):
            if self._cont is not None:
                self._go_on()
                continue
            if self._next_slice >= len(self._slices):
                raise StopIteration
            if not self._load(self._slices[self._next_slice]):
                # The tenant refused the slice's width: this slice and the ones after it are read in 24 h slices.
                rest = self._slices[self._next_slice:]
                self._slices[self._next_slice:] = [part for span in rest for part in slice_window(span, DAY_MS)]
                continue
            self._next_slice += 1
        item = self._items[self._pos]
        self._pos += 1
        self._want = max(self._want - 1, 0)
        self._run = (item[0], self._run[1] + 1 if item[0] == self._run[0] else 1)
        return item[1]

    # --- resuming --------------------------------------------------------------------------------------------

    def resume_token(self) -> str | None:
        """A token that resumes right after the last entry handed out, or None when nothing is left."""
        if self._span is not None and self._pos < len(self._items):
            point = self._with_page(self._point_in_slice())
        elif self._cont is not None:
            point = self._with_page(self._cursor_point(self._cont.span))
        elif self._next_slice < len(self._slices):
            span = self._slices[self._next_slice]
            point = ResumePoint(start_ms=span.start, end_ms=self._window_end(), pad_lo=span.pad_lo)
        else:
            return None
        return dataclasses.replace(point, held_end=self._held_end, marks=self._coming_marks(point)).encode(
            self._query.fingerprint)

    def _coming_marks(self, point: ResumePoint) -> tuple[int, ...]:
        """Where the chunks after ``point`` end: the marks this walk was given, and, when the current slice was read
        whole (its pages were not oldest first, so a chunk could not stop early) and still holds whole chunks, the
        time of every chunk's last entry in it, so that the next chunks read only their own part of the window."""
        if self._age_mode or not self._size:
            return ()
        marks = set(self._marks)
        if point.page_span is None and self._cont is None:
            marks.update(chunk_ends(self._items, self._pos + self._size - 1, self._size))
        if point.after_us is not None:
            marks = {mark for mark in marks if mark > point.after_us // 1000}
        else:
            marks = {mark for mark in marks if mark >= point.start_ms + (1 if point.pad_lo else 0)}
        return tuple(sorted(mark for mark in marks if mark < point.end_ms))[:MAX_MARKS]

    def _with_page(self, point: ResumePoint) -> ResumePoint:
        """``point`` and, when the next entry lies in a chain of the API's pages, where in it."""
        if self._pos < len(self._items):
            place = None if self._chain is None else self._chain.position(self._pos)
            if place is None or all(key == self._run[0] for key, dummy in self._items[self._pos:]):
                # Where only entries at the time of the last one handed out are left (a chunk ended amid entries of
                # one time), reading on from that time costs the same request and goes on past the page's end.
                return point
            span = self._chain.span
            token, offset = place
        elif self._cont is not None and not self._cont.narrowed:
            span, token, offset = self._cont.span, self._cont.token, self._cont.offset
        else:
            return point
        return dataclasses.replace(point, page_span=(span.start, span.end, span.pad_lo, span.pad_hi),
                                   page_token=token, page_offset=offset)

    def _cursor_point(self, span: Span) -> ResumePoint:
        """The rest of ``span`` (and of the window) after the last entry handed out, read from its time on."""
        key, same = self._run
        end = self._window_end()
        if key is None:
            return ResumePoint(start_ms=span.start, end_ms=end, pad_lo=span.pad_lo)
        key_ms = key // 1000
        if key_ms - 1 < span.start:
            return ResumePoint(start_ms=span.start, end_ms=end, pad_lo=span.pad_lo, after_us=key, same=same)
        return ResumePoint(start_ms=key_ms - 1, end_ms=end, pad_lo=True, after_us=key, same=same)

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
        # The entries handed out at that time, also those of pages read before these items (a chunk's run).
        same = self._run[1] if self._run[0] == key else self._same_before(key)
        key_ms = key // 1000
        if self._clean or key_ms < span.start:
            # Nothing of this slice lies before the cursor but what was handed out: start at the cursor (sent one
            # millisecond earlier, in case the server does not serve a window's start).
            if key_ms > 0:
                return ResumePoint(start_ms=key_ms - 1, end_ms=end, pad_lo=True, after_us=key, same=same)
            return ResumePoint(start_ms=key_ms, end_ms=end, after_us=key, same=same)
        return ResumePoint(start_ms=span.start, end_ms=end, pad_lo=span.pad_lo, after_us=key, same=same)

    def _same_before(self, key: int) -> int:
        same = 0
        for index in range(self._pos - 1, -1, -1):
            if self._items[index][0] != key:
                break
            same += 1
        return same

    @staticmethod
    def _skip_index(items: list[Item], point: ResumePoint | None) -> int:
        """Where the entries of ``items`` (sorted) not handed out before ``point`` begin."""
        index = 0
        if point is None:
            return index
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

    def _load(self, span: Span) -> bool:
        """Read a slice and hand out its entries from now on; False (nothing read) when its width was refused."""
        self._chain, self._cont = None, None
        skip = self._skip
        after = (None, 0) if skip is None or skip.all_parsed else (skip.after_us, skip.same)
        keeper = self._keeper(span, 0, after)
        items = self._kept(keeper, self._collect, span)
        if items is None:
            return False
        ends = self._hollow_ends(keeper, items)
        if ends is not None:
            # The chunk would hand out an entry hollowed out: read the slice again cut to the chunk, its first part
            # (about a chunk of entries) without a Keeper.
            self._marks = tuple(sorted(set(self._marks) | ends))
            parts = self._cut(span, tuple(sorted(ends)))
            self._slices[self._next_slice:self._next_slice + 1] = parts
            self._whole_once = True
            return self._load(parts[0])
        self._hand_out(span, items)
        return True

    def _hand_out(self, span: Span, items: list[Item]) -> None:
        """Hand out the entries of slice ``span`` read now (oldest first), past those a resume point says were."""
        items.sort(key=sort_key)
        self._span = span
        self._items = items
        hi_us = None if self._age_mode else span.hi_us
        self._clean = all(key is not None and key >= span.lo_us and (hi_us is None or key < hi_us)
                          for key, dummy in items)
        self._pos = self._skip_index(items, self._skip)
        self._skip = None

    # --- a slice read in part (a chunk) -----------------------------------------------------------------------

    def _keeper(self, span: Span, skip: int, after: tuple[int | None, int]) -> Keeper | None:
        """When the caller wants only some entries: what holds a reading of ``span`` to about that many whole
        entries (a slice whose pages are not oldest first is read whole)."""
        whole, self._whole_once = self._whole_once, False
        if self._want <= 0 or self._age_mode or whole:
            return None
        return Keeper(span, self._want, skip, after)

    def _kept(self, keeper: Keeper | None, read: Callable[..., Any], *args: Any) -> Any:
        """``read(*args)`` with ``keeper`` seeing every page read."""
        self._pages.keep = None if keeper is None else keeper.keep
        try:
            return read(*args)
        finally:
            self._pages.keep = None

    def _hollow_ends(self, keeper: Keeper | None, items: list[Item]) -> set[int] | None:
        """None when the entries the chunk hands out of ``items`` were all kept whole (the usual case: the keeper
        keeps the oldest it is to hand out); else where the coming chunks end in them (marks, ms), to read the
        slice again cut at those marks."""
        if keeper is None:
            return None
        items.sort(key=sort_key)
        start = self._skip_index(items, self._skip)
        if not any(keeper.hollowed(entry) for dummy, entry in items[start:start + self._want]):
            return None
        return chunk_ends(items, start + self._want - 1, self._size)

    def _stopper(self, span: Span, skip: int = 0) -> Stopper | None:
        """When the caller wants only some entries: the rule that ends a reading of ``span`` once it holds them."""
        if self._want <= 0 or self._age_mode or self._split_events:
            return None
        cursor = (None, 0) if self._skip is None else (self._skip.after_us, self._skip.same)
        return Stopper(span, self._want, skip, cursor)

    def _chained(self, span: Span, events: str | None, reading: Reading, skip: int) -> list[Item]:
        """The items of a chain of pages read with a ``Stopper``; where the chain goes on, when it stopped early."""
        items, self._chain = chained(span, reading.entries, reading.pages, skip)
        if reading.outcome is Outcome.PARTIAL:
            self._cont = Continuation(span, events, reading.token)
        return items

    def _go_on(self) -> None:
        """Read on in the current slice (its reading stopped early, or a next_token points into it)."""
        cont, self._cont, self._chain = self._cont, None, None
        if cont.narrowed:
            keeper = self._keeper(cont.span, 0, (None, 0))
            items = self._kept(keeper, self._walk, cont.span, cont.events, False, None, True)
            self._hand_out_kept(cont, keeper, self._span, items)
            return
        keeper = self._keeper(cont.span, cont.offset, (None, 0))
        reading = self._kept(keeper, self._pages.read, cont.span, cont.events, False, False, cont.token,
                             self._stopper(cont.span, cont.offset))
        if reading.outcome not in (Outcome.COMPLETE, Outcome.PARTIAL):
            # The API refused the token (it expired), or wants the window read by other means: read the rest of the
            # span from the time of the last entry handed out, without those handed out at that time.
            self._read_rest(cont.span, ())
            return
        self._hand_out_kept(cont, keeper, cont.span, self._chained(cont.span, cont.events, reading, cont.offset))

    def _hand_out_kept(self, cont: Continuation, keeper: Keeper | None, span: Span, items: list[Item]) -> None:
        """Hand out ``items``, read on in the current slice; when the chunk would hand out an entry hollowed out,
        read the rest of the slice again instead, cut to the chunk."""
        ends = self._hollow_ends(keeper, items)
        if ends is None:
            self._hand_out(span, items)
            return
        self._marks = tuple(sorted(set(self._marks) | ends))
        self._cont, self._chain = None, None  # this reading is given up: where it would go on too
        self._read_rest(cont.span, tuple(sorted(ends)))
        self._whole_once = True

    def _read_rest(self, span: Span, marks: tuple[int, ...]) -> None:
        """The rest of ``span`` after the last entry handed out becomes the next slices (cut at ``marks``), read
        from the time of that entry, without those handed out at that time."""
        point = self._cursor_point(span)
        self._skip = point if point.after_us is not None else None
        rest = Span(point.start_ms, span.end, point.pad_lo, span.pad_hi)
        self._slices[self._next_slice:self._next_slice] = self._cut(rest, marks)

    def _enough(self, held: list[Item], rest: Span) -> bool:
        """Whether entries ``held`` of a narrowed window are what the caller still wants, all before ``rest``."""
        return 0 < self._want <= len(held) and before_all(held, rest)

    def _collect(self, span: Span) -> list[Item] | None:
        """Every entry of a slice; None when the tenant refused its width."""
        events = self._query.events
        if len(events) > 1 and not self._split_events:
            try:
                return self._walk_slice(span, ','.join(events))
            except ApiError as exc:
                if exc.status != 400:
                    raise
                # The API refused several events in one string: read once per event and merge by time.
                self._split_events = True
        if len(events) > 1:
            items: list[Item] = []
            for event in events:
                walked = self._walk_slice(span, event)
                if walked is None:
                    return None
                items.extend(walked)
            return items
        return self._walk_slice(span, events[0] if events else None)

    def _walk_slice(self, span: Span, events: str | None) -> list[Item] | None:
        """Every entry of a slice for ``events``; None when its first request was refused for the window's width."""
        stopper = self._stopper(span)
        reading = self._pages.read(span, events, self._age_mode, first=True, stop=stopper)
        if reading.outcome is Outcome.TOO_WIDE:
            return None
        if stopper is not None and reading.outcome in (Outcome.COMPLETE, Outcome.PARTIAL):
            return self._chained(span, events, reading, 0)
        return self._walk(span, events, self._age_mode, reading, stop=stopper is not None)

    def _walk(self, span: Span, events: str | None, use_age: bool, reading: Reading | None = None,
              stop: bool = False) -> list[Item]:
        """Every entry of one span, also when the API refuses a pagination token it handed out, or answers 406
        without a token (the window is narrowed past the entries it gave, or split in two): reads, and acts on what
        each reading came to, until one is complete. ``reading``: the span's first, when read already. ``stop``:
        a narrowed window may end early, once the entries kept are what the caller wants (the rest: ``_cont``)."""
        held: list[Item] = []
        whole_rereads = 0
        while True:
            if reading is None:
                reading = self._pages.read(span, events, use_age)
            if reading.outcome is Outcome.TOO_MANY:
                narrowed = self._narrowed(span, events, reading.entries)
                if narrowed is None:
                    return held + self._split(span, events, use_age, reading.entries)
                kept, span = narrowed
                held.extend(kept)
                if self._pages.keep is not None:
                    self._pages.keep([entry for dummy, entry in kept])
                use_age = False
                if stop and self._enough(held, span):
                    self._cont = Continuation(span, events, narrowed=True)
                    return held
            elif reading.outcome is Outcome.TOKEN_REFUSED:
                rest = self._read_on(span, events, use_age, reading)
                if rest is not None:
                    return held + rest
                # Nothing says where the entries read end: read the whole window again.
                whole_rereads += 1
                if whole_rereads > MAX_WHOLE_REREADS:
                    raise PaginationError('The IT-OT Access API refused a pagination token it had handed out for '
                                          'category %r, and reading the whole window again did not help (%d '
                                          'times); giving up. Last answer: %s'
                                          % (self._query.event_category, whole_rereads, reading.error.message))
            else:  # COMPLETE (TOO_WIDE answers only a slice's first request: _walk_slice)
                return held + self._own(span, reading.entries, use_age)
            reading = None

    @staticmethod
    def _own(span: Span, entries: list, use_age: bool) -> list[Item]:
        """The entries of a complete reading as items, without those of the span's padding (an age window has none)."""
        items = [(entry_time(entry), entry) for entry in entries]
        if use_age:
            return items
        return [item for item in items if not span.drops(item[0])]

    # --- a refused pagination token --------------------------------------------------------------------------

    def _read_on(self, span: Span, events: str | None, use_age: bool, refused: Reading) -> list[Item] | None:
        """After the API refused a token it had handed out: the entries read, then the rest of the span read from
        where they end; None when they do not tell where that is (the span is to be read again whole)."""
        self._refusals += 1
        if self._refusals > MAX_TOKEN_REFUSALS:
            raise PaginationError('The IT-OT Access API refused %d pagination tokens it had handed out for '
                                  'category %r; giving up. Last answer: %s'
                                  % (self._refusals, self._query.event_category, refused.error.message))
        rest = None if use_age else rest_after(span, refused.entries)
        if rest is None:
            return None
        rest_span, boundary_ms = rest
        return self._merge(span, refused.entries, self._walk(rest_span, events, False), boundary_ms)

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
        ends = page_ends(span, data)
        if ends is None:
            return None
        own, ascending = ends
        first_ms, last_ms = own[0][0] // 1000, own[-1][0] // 1000
        before = beyond(span, first_ms, older=ascending)  # the side before the page's first entry
        after = beyond(span, last_ms, older=not ascending)  # the side after its last entry
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

    def _probe(self, span: Span, events: str | None, boundary_ms: int) -> list[Item] | None:
        """One request for ``span``: its entries when the API gave all of them (a short 200 page without a token) and
        they all lie in ``boundary_ms``; else None."""
        page = self._pages.post(self._pages.body(span, events, False))
        if page.status != 200 or page.token is not None or len(page.data) >= self._query.page_size:
            return None
        items = [(entry_time(entry), entry) for entry in page.data]
        items = [item for item in items if not span.drops(item[0])]
        if any(key is None or key // 1000 != boundary_ms for key, dummy in items):
            return None
        return items

    # --- splitting ------------------------------------------------------------------------------------------

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
            reading = self._read_small(span, events)
            if reading.outcome is Outcome.COMPLETE:
                return self._own(span, reading.entries, False)
            data = reading.entries
            keys = [entry_time(entry) for entry in data]
        own = sum(1 for key in keys if key is not None and key // 1000 == moment)
        if own >= self._query.page_size:
            items = self._unpadded(moment, events, own, tried)
            if items is not None:
                return items
        raise PaginationError(self._unreadable(moment, len(data)))

    def _unpadded(self, moment: int, events: str | None, own: int, tried: set[tuple[int, int]]) -> list[Item] | None:
        """The entries of millisecond ``moment`` asked without padding on one side or both, when an answer holds at
        least ``own`` of them; else None."""
        for trial in (Span(moment, moment), Span(moment - 1, moment, True, False), Span(moment, moment + 1, False, True)):
            if (trial.start, trial.end) in tried:
                continue
            tried.add((trial.start, trial.end))
            reading = self._read_small(trial, events)
            if reading.outcome is Outcome.TOO_MANY:
                continue
            items = self._own(trial, reading.entries, False)
            items = [item for item in items if item[0] is not None and item[0] // 1000 == moment]
            if len(items) >= own:
                return items
        return None

    def _read_small(self, span: Span, events: str | None) -> Reading:
        """A reading of a span of a few milliseconds: complete, or too many. Such a span has no place to read on
        from after a refused pagination token, so the API's refusal is the task's error."""
        reading = self._pages.read(span, events, False)
        if reading.outcome is Outcome.TOKEN_REFUSED:
            raise reading.error
        return reading

    def _unreadable(self, moment_ms: int, returned: int) -> str:
        query = self._query
        narrow = narrowing_advice(query.event_category)
        if query.page_size < MAX_PAGE_SIZE:
            advice = 'raise page_size (now %d) to its maximum of %d' % (query.page_size, MAX_PAGE_SIZE)
            advice += narrow and ', or ' + narrow
        else:
            advice = 'page_size is at its maximum of %d already: ' % MAX_PAGE_SIZE
            advice += (narrow and narrow + '; or ') + ('report it to OPSWAT, since the API gives no way to read more '
                                                       'than a page of entries of one millisecond')
        return ('The IT-OT Access API answered HTTP 406 without a pagination token for category %r even for the '
                'single millisecond %s (epoch ms %d): it holds more than page_size=%d entries at that time and gives '
                'no way to read past the %d it returned, so at least one entry of that millisecond cannot be read; %s'
                % (query.event_category, format_ms(moment_ms), moment_ms, query.page_size, returned, advice))
