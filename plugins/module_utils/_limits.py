# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The walk's bounds on what the pages of a hostile server hand it; for internal collection use only.

``ObjectsOnly`` wraps the transport's ``post`` for ``LogsClient.fetch`` (the module, the lookup): it refuses an answer
whose ``data`` holds something other than JSON objects (an entry is an object: nothing downstream, the archive least,
can keep anything else). ``LogsClient.iter_entries`` hands out what the API gave. ``ChainGuard`` watches the chain of pagination
tokens of one window: it ends the walk when a page comes again under a new token, when the requests outgrow what
the entries read could need (``ceil(entries / page_size) + PAGE_SLACK``), or when the window's entries pass
``MAX_ENTRIES_PER_WINDOW``. Every message names the category and the window, never a URL or a token.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Callable

from ansible_collections.opswat.itot.plugins.module_utils._errors import ApiError, PaginationError
from ansible_collections.opswat.itot.plugins.module_utils._timeparse import format_ms
from ansible_collections.opswat.itot.plugins.module_utils._vocabulary import MAX_ENTRIES_PER_WINDOW, PAGE_SLACK

JSON_TYPES = ((str, 'a string'), (bool, 'a boolean'), (int, 'a number'), (float, 'a number'), (list, 'an array'))


def window_text(body: dict[str, Any]) -> str:
    """The window a request asked for, as a message names it."""
    if 'start_time' in body:
        return 'the window %s .. %s' % (format_ms(body['start_time']), format_ms(body['end_time']))
    return 'the window of the last %d s (age)' % body.get('age', 3600)


def _json_type(value: Any) -> str:
    if value is None:
        return 'null'
    return next((name for kind, name in JSON_TYPES if isinstance(value, kind)), type(value).__name__)


def check_entries(data: list, body: dict[str, Any], request: int) -> None:
    """Raise when an answer's ``data`` holds something other than objects: category, window, request, position."""
    for index, entry in enumerate(data):
        if not isinstance(entry, dict):
            raise ApiError('The IT-OT Access API answered an entry that is not a JSON object for category %r in %s: '
                           'request %d of that window, entry %d of %d is %s; an entry is an object (the archive keeps '
                           'nothing else), so the answer is refused rather than the entry dropped or passed on'
                           % (body.get('event_category'), window_text(body), request, index + 1, len(data),
                              _json_type(entry)))


class ObjectsOnly:
    """``post`` (one logs request), refusing answers with entries that are not objects (``check_entries``)."""

    def __init__(self, post: Callable[[dict[str, Any]], Any]) -> None:
        self._post = post
        self._chain = 0  # requests of the current window's chain of pagination tokens

    def __call__(self, body: dict[str, Any]) -> Any:
        page = self._post(body)
        self._chain = self._chain + 1 if body.get('token') else 1
        check_entries(page.data, body, self._chain)
        return page


def page_digest(data: list) -> str:
    """A page's entries as one SHA-256 (canonical JSON): pages are compared by it, not held."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(',', ':'),
                                     ensure_ascii=False).encode('utf-8')).hexdigest()


class ChainGuard:
    """The bounds of one window's chain of pagination tokens (the pages of one ``PageReader.read``)."""

    def __init__(self, body: dict[str, Any], page_size: int) -> None:
        self._body = body
        self._page_size = page_size
        self._pages = 0
        self._entries = 0
        self._digests: dict[str, int] = {}  # the data of each page (non-empty) -> the last page that held it
        self._run = 0  # pages in a row that repeated the one before (a run of one identical entry)

    def follow(self, data: list, digest: str) -> None:
        """Before the token of the next page is followed: ``data`` is the page just read, under a new token, and
        ``digest`` its ``page_digest``."""
        self._pages += 1
        if data:
            self._check_repeat(data, digest)
        self._entries += len(data)
        if self._entries > MAX_ENTRIES_PER_WINDOW:
            raise PaginationError(self._prefix() + 'more than %d entries (the most one window is read for) after %d '
                                  'requests, and it still offers more; giving up. If the tenant holds that many, read '
                                  'narrower windows (max_window, or a shorter start_time..end_time)'
                                  % (MAX_ENTRIES_PER_WINDOW, self._pages))
        needed = -(-self._entries // self._page_size) + PAGE_SLACK
        if self._pages + 1 > needed:
            raise PaginationError(self._prefix() + '%d requests brought %d entries, and it offers more: %d entries '
                                  'need at most ceil(entries / page_size=%d) + %d = %d requests; giving up'
                                  % (self._pages, self._entries, self._entries, self._page_size, PAGE_SLACK,
                                     needed))

    def _check_repeat(self, data: list, digest: str) -> None:
        """Raise when ``data`` is a page read before in this chain, unless it continues a run of one identical entry
        (exact duplicates are real events; such a run may fill consecutive pages alike, at most ``PAGE_SLACK`` of
        them)."""
        earlier = self._digests.get(digest)
        self._digests[digest] = self._pages
        if earlier is None:
            self._run = 0
            return
        self._run += 1
        if earlier != self._pages - 1 or self._run > PAGE_SLACK or any(entry != data[0] for entry in data):
            raise PaginationError(self._prefix() + 'page %d repeats page %d under a new pagination token: the server '
                                  'hands out the same entries again, so following it would double them; giving up'
                                  % (self._pages, earlier))

    def _prefix(self) -> str:
        return ('The IT-OT Access API kept offering more pages for category %r in %s: '
                % (self._body.get('event_category'), window_text(self._body)))
