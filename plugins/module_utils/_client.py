# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The Get Logs API v3.3 client, the one face the module and the lookup use; for internal collection use only.

``LogsClient.iter_entries(query)`` returns a ``LogWalk``: an iterator over every entry of the query's window,
each once, oldest first, whatever the API's paging and sort order (see API-NOTES.md for the readings it
handles). ``LogsClient.fetch(query)`` collects a walk, honouring ``max_results`` with a resumable ``next_token``.
The client composes the transport (_http.py: auth, pacing, retries) and the walk (_walk.py: windows, paging,
recovery); ``LogsResult`` is the module's result shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ansible_collections.opswat.itot.plugins.module_utils._http import HAS_REQUESTS, REQUESTS_IMPORT_ERROR, Transport
from ansible_collections.opswat.itot.plugins.module_utils._limits import ObjectsOnly
from ansible_collections.opswat.itot.plugins.module_utils._options import ConnectionSettings
from ansible_collections.opswat.itot.plugins.module_utils._query import LogQuery
from ansible_collections.opswat.itot.plugins.module_utils._rate_budget import RateBudget
from ansible_collections.opswat.itot.plugins.module_utils._walk import LogWalk
from ansible_collections.opswat.itot.plugins.module_utils._windows import WindowLimit

# The client's face: what the module, the lookup, the bench and the tests import from here.
__all__ = ['HAS_REQUESTS', 'REQUESTS_IMPORT_ERROR', 'LogWalk', 'LogsClient', 'LogsResult']


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
        self._limit = WindowLimit(settings.max_window, warn)  # shared by the walks of this client

    @property
    def api_requests(self) -> int:
        """Logs requests sent so far (retries included)."""
        return self._transport.api_requests

    @property
    def budget(self) -> RateBudget:
        return self._transport.budget

    def close(self) -> None:
        self._transport.close()

    def scrub(self, text: str) -> str:
        """``text`` without this client's secrets, ``access_token=...`` or URLs (for log lines of other libraries)."""
        return self._transport.scrub(text)

    def iter_entries(self, query: LogQuery) -> LogWalk:
        """Every entry of the query, once, oldest first (a lazy iterator, see LogWalk), as the API gave it."""
        return LogWalk(query, self._transport.post_logs, self._limit)

    def fetch(self, query: LogQuery) -> LogsResult:
        """The entries of the query, at most ``max_results`` of them, and the token to get the rest.

        An answer holding an entry that is not a JSON object is refused (ApiError naming category, window and
        position): the module's and the lookup's entries are objects, as the archive needs them.
        """
        before = self.api_requests
        walk = LogWalk(query, ObjectsOnly(self._transport.post_logs), self._limit, want=query.max_results)
        logs = []
        next_token = None
        for entry in walk:
            logs.append(entry)
            if query.max_results and len(logs) >= query.max_results:
                next_token = walk.resume_token()
                break
        return LogsResult(logs=logs, next_token=next_token, window=walk.window,
                          api_requests=self.api_requests - before)
