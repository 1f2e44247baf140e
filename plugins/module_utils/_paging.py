# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The pages of one request: the body, the pagination token it is resent with, and what reading them came to;
for internal collection use only.

``PageReader.read(span, ...)`` follows the tokens the API hands out, whichever paging style it uses (a 406 with a
token per page, 200 pages with a cursor, 413 past the last page, a token repeated with its page), and returns a
``Reading``: an explicit ``Outcome`` with the entries it holds. What to do about an outcome other than ``COMPLETE``
(narrow, split, resume, slice) is the walk's business (_walk.py). Errors that end the task are ``ItotError``s.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from ansible_collections.opswat.itot.plugins.module_utils._errors import ApiError, PaginationError
from ansible_collections.opswat.itot.plugins.module_utils._http import Page
from ansible_collections.opswat.itot.plugins.module_utils._limits import ChainGuard, page_digest
from ansible_collections.opswat.itot.plugins.module_utils._query import LogQuery
from ansible_collections.opswat.itot.plugins.module_utils._windows import Span, WindowLimit

MAX_PAGES_PER_WINDOW = 10000  # a server that hands out new tokens forever must not keep us here forever (and see
# _limits.py: pages that repeat, requests beyond what the entries need, MAX_ENTRIES_PER_WINDOW)


class Outcome(enum.Enum):
    """How reading the pages of one span ended."""

    COMPLETE = 'complete'  # every entry the API offers for the span: the last page, or a 413 past it
    TOO_MANY = 'too many'  # HTTP 406 without a token to follow: more entries than a page ("narrow the query")
    TOKEN_REFUSED = 'token refused'  # HTTP 400 to a page that carried the token the API had handed out
    TOO_WIDE = 'too wide'  # HTTP 400 to a slice's first page: the tenant takes no window wider than 24 h
    PARTIAL = 'partial'  # the caller had enough (``stop``): the pages read so far, and the token of the next one


@dataclass(frozen=True)
class Reading:
    """What reading one span came to.

    ``entries``, in the API's order: every entry (``COMPLETE``); the data of the 406 page, or nothing when pages with
    tokens came before it (``TOO_MANY``); those of the pages before the refused one (``TOKEN_REFUSED``); nothing
    (``TOO_WIDE``); the pages read so far (``PARTIAL``). ``error``: what the API answered to the refused token
    (``TOKEN_REFUSED``). ``token``: the token of the next page (``PARTIAL``). ``pages``: per page whose entries are in
    ``entries``, the pagination token it was asked with (None: none) and how many entries it gave.
    """

    outcome: Outcome
    entries: list = field(default_factory=list)
    error: ApiError | None = None
    token: str | None = None
    pages: list = field(default_factory=list)


class PageReader:
    """Reads the pages of one query's requests, through ``post`` (one request, see ``Transport.post_logs``)."""

    def __init__(self, query: LogQuery, post: Callable[[dict[str, Any]], Page], limit: WindowLimit) -> None:
        self._query = query
        self._post = post
        self._limit = limit
        # Called with each page's entries once the reading is done with them as the API sent them (a ``Keeper``,
        # set by the walk while a chunk reads a slice whole): it may hollow some out in place.
        self.keep: Callable[[list], None] | None = None

    def body(self, span: Span, events: str | None, use_age: bool) -> dict[str, Any]:
        """The request for ``span`` (or for the query's ``age`` when ``use_age``) and ``events``."""
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

    def post(self, body: dict[str, Any]) -> Page:
        """One request; the answer tells the window limit that the API took its window."""
        page = self._post(body)
        self._limit.answered(body)
        return page

    def read(self, span: Span, events: str | None, use_age: bool, first: bool = False, token: str | None = None,
             stop: Callable[[list], bool] | None = None) -> Reading:
        """Every entry of one span: resend the same body plus the token while the API offers more.

        ``first``: this is a slice's first request, the only one a refusal of wide windows can answer (every later
        request of a walk lies inside a window the API answered, or is no wider than 24 h). ``token``: start at the
        page this pagination token (handed out by an earlier run) asks for. ``stop(page data)``: called with each
        page before the token of the next is followed; True ends the reading there (``PARTIAL``).
        """
        body = self.body(span, events, use_age)
        entries: list[Any] = []
        record: list[tuple[str | None, int]] = []
        seen: dict[str, str | None] = {}  # token -> the page_digest of the page it came with
        if token is not None:
            seen[token] = None  # a page that hands out the token it was asked with again is the last one
        guard = ChainGuard(body, self._query.page_size)
        pages = 0
        while True:
            page = self._request(body, token, entries, first and token is None)
            if isinstance(page, Reading):
                # a 413 past the last page: the pages before it are the reading's
                return replace(page, pages=record) if page.outcome is Outcome.COMPLETE else page
            pages += 1
            fresh = page.token is not None and page.token not in seen
            if page.status == 406 and not fresh:
                # Pages that came with tokens, then a 406 without one: read the window again by other means.
                return Reading(Outcome.TOO_MANY, [] if entries else page.data)
            digest = page_digest(page.data)
            added = fresh or seen.get(page.token) != digest
            if added:
                entries.extend(page.data)
                record.append((token, len(page.data)))
            # else: a repeated token with the very page it came with: the server is going round in circles.
            if not fresh or (page.status == 200 and len(page.data) < self._query.page_size):
                self._kept(added, page)
                return Reading(Outcome.COMPLETE, entries, pages=record)
            if stop is not None and stop(page.data):
                self._kept(added, page)
                return Reading(Outcome.PARTIAL, entries, token=page.token, pages=record)
            if pages >= MAX_PAGES_PER_WINDOW:
                raise PaginationError('The IT-OT Access API kept offering more pages for category %r after %d '
                                      'pages of one window; giving up' % (self._query.event_category, pages))
            guard.follow(page.data, digest)
            seen[page.token] = digest
            self._kept(added, page)
            token = page.token

    def _kept(self, added: bool, page: Page) -> None:
        """``keep`` sees the page's entries, when they were added to the reading (and nothing needs them whole)."""
        if added and self.keep is not None:
            self.keep(page.data)

    def _request(self, body: dict[str, Any], token: str | None, entries: list, first: bool) -> Page | Reading:
        """The next page of ``body`` (sent with ``token``), or how the reading ends when the API refuses it."""
        request = dict(body)
        if token is not None:
            request['token'] = token
        try:
            return self.post(request)
        except ApiError as exc:
            return self._refused(request, token, exc, entries, first)

    def _refused(self, request: dict[str, Any], token: str | None, error: ApiError, entries: list,
                 first: bool) -> Reading:
        """How a reading ends on an error answer; an answer that says nothing about paging stays an error."""
        if token is not None and error.status == 413:
            return Reading(Outcome.COMPLETE, entries)  # past the last page: how the vendor's own client ends a walk ("No items for current page")
        if token is None and error.status == 413:
            raise ApiError('%s; HTTP 413 ends a walk only as the answer to a pagination token, and this '
                           'request carried none' % error.message, status=413) from None
        if token is None and error.status == 400 and first and self._limit.refuses(request, error):
            return Reading(Outcome.TOO_WIDE)
        if token is None or error.status != 400:
            raise error
        # The body was accepted without a token: the token is what the API refused now.
        return Reading(Outcome.TOKEN_REFUSED, entries, error)
