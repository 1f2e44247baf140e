# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A walk read in chunks (``max_results`` + ``next_token``): when a slice's reading may stop early, and where the
API's own pages go on; for internal collection use only.

A chunk reads no more pages than it hands out entries from (``Stopper``: the pages so far are oldest first, and they
hold what the chunk still wants), and its ``next_token`` says where the API's chain of pagination tokens goes on
(``Chain.position``, ``Continuation``): the next chunk asks that page again and skips what was handed out, so N
entries in chunks cost the requests of one walk plus at most one per chunk. Where the pages are not oldest first
(a server that pages newest first gives the oldest entries last) the slice is read whole, as without chunks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ansible_collections.opswat.itot.plugins.module_utils._entries import Item, entry_time
from ansible_collections.opswat.itot.plugins.module_utils._windows import Span

# An entry's time as the API states it may lie up to a second before the time the API files it under: RFC 1123
# times have whole seconds (the emulator's "mixed" format; entry timestamps of the vendor's page use it). So an entry
# on a page not read yet may state a time up to this much before the newest one read.
SLACK_US = 1000 * 1000


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
    chain = Chain(span, pages)
    for index, entry in enumerate(entries):
        if index < skip:
            continue
        key = entry_time(entry)
        if span.drops(key):
            continue
        items.append((key, entry))
        chain.origin.append(index)
    keys = [key for key, dummy in items]
    if any(key is None for key in keys) or any(a > b for a, b in zip(keys, keys[1:])):
        return items, None
    return items, chain


def before_all(items: list[Item], span: Span) -> bool:
    """Whether every item has a time before ``span``'s own part (so they precede every entry still to be read)."""
    return all(key is not None and key < span.lo_us for key, dummy in items)
