# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A walk read in chunks (``max_results`` + ``next_token``): when a slice's reading may stop early, and where the
API's own pages go on; for internal collection use only.

A chunk reads no more pages than it hands out entries from (``Stopper``: the pages so far are oldest first, and they
hold what the chunk still wants), and its ``next_token`` says where the API's chain of pagination tokens goes on
(``Chain.position``, ``Continuation``): the next chunk asks that page again and skips what was handed out, so N
entries in chunks cost the requests of one walk plus at most one per chunk. Where the pages are not oldest first
(a server that pages newest first gives the oldest entries last) the slice is read whole, as without chunks, but held
in bounded memory (``Keeper``): the entries the chunk may hand out whole, every other one hollowed out to its time
alone (the coming chunks' marks need the times).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.opswat.itot.plugins.module_utils._entries import Item, entry_identity, entry_time
from ansible_collections.opswat.itot.plugins.module_utils._timeparse import parse_entry_time
from ansible_collections.opswat.itot.plugins.module_utils._windows import Span

# An entry's time as the API states it may lie up to a second before the time the API files it under: RFC 1123
# times have whole seconds (the emulator's "mixed" format; entry timestamps of the vendor's page use it). So an entry
# on a page not read yet may state a time up to this much before the newest one read.
SLACK_US = 1000 * 1000


class _Hollowed:
    """The mark of an entry hollowed out by a ``Keeper`` (no JSON value is one, so no entry of the API has it)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return 'hollowed out'

    __str__ = __repr__


HOLLOWED = _Hollowed()


class Stopper:
    """``stop(page data)`` for ``PageReader.read``: True once the pages read are oldest first (every entry with a
    time, none older than the newest before it by more than ``SLACK_US``) and hold ``want`` entries of ``span``'s own
    part that no later page can precede: older than the newest read by more than ``SLACK_US`` (so entries of one time
    alone never end a reading: they do not tell the order, and a server that pages newest first may go on with older
    ones);
    False for good once they are not. Entries handed out by an earlier chunk are not counted: the first ``skip``, and
    those up to the time cursor ``after`` (time, entries at that time)."""

    def __init__(self, span: Span, want: int, skip: int = 0, after: tuple[int | None, int] = (None, 0)) -> None:
        self._span = span
        self._want = want
        self._skip = skip
        self._after, self._same = after
        self._top: int | None = None  # the newest time read
        self._own: list[int] = []  # the times of the entries counted, as read
        self.ordered = True

    def __call__(self, data: list) -> bool:
        for entry in data:
            key = entry_time(entry)
            if key is None or (self._top is not None and key < self._top - SLACK_US):
                self.ordered = False
            if not self.ordered:
                return False
            self._top = key if self._top is None else max(self._top, key)
            if self._skip:
                self._skip -= 1
            elif not self._span.drops(key) and not self._handed(key):
                self._own.append(key)
        if len(self._own) < self._want:
            return False
        settled = self._top - SLACK_US
        return sum(1 for key in self._own if key < settled) >= self._want

    def _handed(self, key: int) -> bool:
        """Whether the entry at ``key`` lies up to the time cursor (an earlier chunk handed it out)."""
        if self._after is None or key > self._after:
            return False
        if key == self._after:
            if not self._same:
                return False
            self._same -= 1
        return True


@dataclass(frozen=True)
class Continuation:
    """Where the current slice goes on after the entries read: the page asked with ``token`` for ``span`` from its
    entry ``offset`` on (``narrowed``: none, the rest is the whole of ``span``, read like a slice)."""

    span: Span
    events: str | None
    token: str | None = None
    offset: int = 0
    narrowed: bool = False


@dataclass
class Chain:
    """The items of one reading of a chain of pagination tokens, in the API's order: which page each came from."""

    span: Span
    pages: list = field(default_factory=list)  # (token asked with, entries given) per page
    origin: list = field(default_factory=list)  # per item, its index among the reading's entries

    def position(self, index: int) -> tuple[str | None, int] | None:
        """The page holding item ``index`` (the token it was asked with) and the item's place in that page; None when
        the pages do not say (the next_token then holds the time cursor alone)."""
        raw = self.origin[index]
        for token, count in self.pages:
            if raw < count:
                return token, raw
            raw -= count
        return None


def chained(span: Span, entries: list, pages: list, skip: int) -> tuple[list[Item], Chain | None]:
    """The items of a chain's entries (without the first ``skip``, handed out before, and those of the span's
    padding), and the chain when they are oldest first (as handed out: a next_token can point into its pages)."""
    items: list[Item] = []
    chain: Chain | None = Chain(span, pages)
    last = None
    for index, entry in enumerate(entries):
        if index < skip:
            continue
        key = entry_time(entry)
        if span.drops(key):
            continue
        items.append((key, entry))
        if chain is not None:
            if key is None or (last is not None and key < last):
                chain = None  # not oldest first (and the origins need not be held for a slice read whole)
            else:
                chain.origin.append(index)
                last = key
    return items, chain


def before_all(items: list[Item], span: Span) -> bool:
    """Whether every item has a time before ``span``'s own part (so they precede every entry still to be read)."""
    return all(key is not None and key < span.lo_us for key, dummy in items)


class Keeper:
    """The entries a chunk may hand out of a slice read whole, kept whole; the others hollowed out in place.

    ``keep(data)`` is called with every page's entries as they are read (``PageReader.keep``, and the entries a 406
    page leaves to keep): of the entries that lie in ``span``'s own part and not before the time cursor ``after``,
    those of the oldest ``want + skip + same`` identities stay whole (every copy of them: a page read twice is not
    counted twice, identical twins are kept together); each other entry is emptied in place but for its time (its
    ``timestamp``, or the same time as an epoch-ms number) and a mark, as its readers need it (the order of pages,
    the marks of the coming chunks). So a chunk holds about ``want`` whole entries, whatever the slice's volume.
    ``hollowed(entry)`` tells the ones hollowed out: the walk hands none of them out (where one would be, it reads
    that part of the slice again, cut to the chunk, without a keeper: ``LogWalk._hollow_ends``).
    """

    def __init__(self, span: Span, want: int, skip: int = 0, after: tuple[int | None, int] = (None, 0)) -> None:
        self._span = span
        self._room = want + skip + after[1]
        self._after = after[0]
        self._heap: list = []  # (-time, -arrival, identity) of the identities kept whole: the newest on top
        self._whole: dict[str, list] = {}  # identity -> its copies read so far
        self._arrivals = 0

    @staticmethod
    def hollowed(entry: Any) -> bool:
        return isinstance(entry, dict) and entry.get('') is HOLLOWED

    def keep(self, data: list) -> None:
        for entry in data:
            if not isinstance(entry, dict) or self.hollowed(entry):
                continue
            key = entry_time(entry)
            if key is None:
                continue  # no time: handed out last, never hollowed out
            if self._span.drops(key) or (self._after is not None and key < self._after):
                self._empty(entry, key)  # the span's padding, or handed out before: never handed out from here
                continue
            full = len(self._heap) >= self._room
            if full and key > -self._heap[0][0]:
                self._empty(entry, key)  # newer than every entry kept whole
                continue
            identity = entry_identity(entry)
            copies = self._whole.get(identity)
            if copies is not None:
                copies.append(entry)
                continue
            self._arrivals += 1
            if full and (-key, -self._arrivals) <= self._heap[0][:2]:
                self._empty(entry, key)  # of the time of the newest entry kept whole, and read after it
                continue
            heapq.heappush(self._heap, (-key, -self._arrivals, identity))
            self._whole[identity] = [entry]
            if len(self._heap) > self._room:
                newest = heapq.heappop(self._heap)
                for twin in self._whole.pop(newest[2]):
                    self._empty(twin, -newest[0])

    @staticmethod
    def _empty(entry: dict, key: int | None) -> None:
        stamp = entry.get('timestamp')
        if key is not None and key % 1000 == 0 and parse_entry_time(key // 1000) == key:
            stamp = key // 1000  # the same time as epoch ms, a number: smaller than most strings of it
        entry.clear()
        entry['timestamp'] = stamp
        entry[''] = HOLLOWED


def chunk_ends(items: list[Item], first: int, size: int) -> set[int]:
    """The times (ms) of ``items`` (sorted) at ``first``, ``first + size``, ...: where chunks of ``size`` end, the
    first at ``first``; up to the first entry without a time."""
    ends: set[int] = set()
    for index in range(first, len(items), size):
        key = items[index][0]
        if key is None:
            break
        ends.add(key // 1000)
    return ends
