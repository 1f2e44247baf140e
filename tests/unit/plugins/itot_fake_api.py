# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A small in-process Get Logs API v3.3 for the unit tests, served through the ``responses`` library.

It stores entries with an internal time, filters like the real API could (window ends included or not, events,
agent types, search, age), and pages under each reading of API-NOTES.md:

- ``token406``: more entries than ``limit`` -> HTTP 406 with a page and a token; the last page is a 200.
- ``token200``: every page is a 200; a token while more remain.
- ``narrow406``: more entries than ``limit`` -> HTTP 406 with ``limit`` entries and no token ("narrow the query");
  which ones is ``pick``: ``head`` (the first of the answer's order), ``tail`` (the last ones, still in the answer's
  order), ``scattered`` (every n-th one, neither the first nor the last).
- ``token413``: the vendor's own client's reading: every page with data is a 200 with a token, the last one too;
  a token past the last entry is answered HTTP 413 "No items for current page"; nothing at all: 200, [] and "".
- ``repeat``: every answer is the first page with the same token (a broken server).

Hostile servers (issue 13; the emulator's ``endless`` and ``odd_entries`` modes), in every reading above:
``endless`` = ``fresh``: every page is full (``limit`` new entries, 1 ms apart from the window's start) with a new
token, forever; ``repeat``: every page is the first one again, under a new token; ``sparse``: one new entry per page,
under a new token (HTTP 406), forever; ``empty``: no entries, a new token (HTTP 406), forever. ``odd_entries``: JSON
values (not objects) inserted into every page's data before its ``odd_at``-th entry.

``auth`` says where the access token is looked for (``query``, ``header`` = ``Authorization: Bearer``, ``both``);
``url_tokens`` and ``header_tokens`` record what each request carried. ``max_window_ms`` (None: no limit) answers
HTTP 400 to a start/end window longer than that.

Failures are injected with ``queue`` (answers served before the normal ones).

A server budget (the emulator's ``--rate-limit``, ``--rate-window``, ``--no-retry-after``): ``limit_rate(limit,
window, clock)`` answers HTTP 429 to a logs request when ``limit`` requests arrived in the last ``window`` seconds of
``clock`` (a sliding window; a request answered 429 is counted only when ``count_refused``), with ``Retry-After`` only when ``retry_after``;
``latency`` seconds pass on ``clock`` while each logs request is answered. ``arrivals`` records (time, status) of each.
"""

from __future__ import annotations

import datetime
import json
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

import responses

BASE_URL = 'https://itot.example.test'
LOGS_URL = BASE_URL + '/o/api/v3.3/logs'
TOKEN_URL = BASE_URL + '/o/oauth/token'
ACCESS_TOKEN = 'tok-4f9c2a77e1b0d3'
CLIENT_ID = 'client-7788'
CLIENT_SECRET = 'sec-9a8b7c6d5e4f'


def iso_ms(ms: int) -> str:
    when = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(milliseconds=ms)
    return when.strftime('%Y-%m-%dT%H:%M:%S.') + '%03dZ' % (ms % 1000)


class FakeLogsApi:
    def __init__(self, rsps: responses.RequestsMock, reading: str = 'token406', order: str = 'asc',
                 ends: str = 'inclusive', multi_events: str = 'comma', now_ms: int = 1795939200000,
                 pick: str = 'head', auth: str = 'both') -> None:
        self.reading = reading
        self.auth = auth
        self.max_window_ms: int | None = None
        self.header_tokens: list[str | None] = []
        self.pick = pick
        self.order = order
        self.ends = ends  # inclusive, start_excl, end_excl, both_excl
        self.multi_events = multi_events  # comma (accepted) or single (a comma gives HTTP 400)
        self.now_ms = now_ms
        self.store: list[tuple[str, int | None, int, dict[str, Any]]] = []
        self.bodies: list[dict[str, Any]] = []
        self.url_tokens: list[str | None] = []
        self.queue: list[Any] = []
        self.valid_tokens = {ACCESS_TOKEN}
        self.token_requests: list[dict[str, list[str]]] = []
        self.token_answers: list[Any] = []
        self._issued = 0
        self.endless: str | None = None
        self.odd_entries: list[Any] = []
        self.odd_at = 0
        self.rate_limit = 0
        self.rate_window = 60.0
        self.retry_after = False
        self.latency = 0.0
        self.count_refused = False
        self._clock: Any = None
        self._hits: list[float] = []
        self.arrivals: list[tuple[float, int]] = []
        rsps.add_callback(responses.POST, LOGS_URL, callback=self._logs)
        rsps.add_callback(responses.POST, TOKEN_URL, callback=self._oauth)

    # --- content ---------------------------------------------------------------------------------------------

    def add(self, category: str, ms: int | None, timestamp: Any = None, **fields: Any) -> dict[str, Any]:
        """Store an entry at ``ms`` (None: an entry the server keeps at ``fields['_at']``); returns its public form."""
        entry = {'timestamp': iso_ms(ms) if timestamp is None else timestamp}
        entry.update(event='added', details='d', device_id='dev-%d' % len(self.store), device_name='host-%d' % (
            len(self.store) % 7))
        entry.update(fields)
        at = entry.pop('_at', ms)
        self.store.append((category, at, len(self.store), entry))
        return entry

    def add_many(self, category: str, times: list[int], **fields: Any) -> list[dict[str, Any]]:
        return [self.add(category, ms, seq=i, **fields) for i, ms in enumerate(times)]

    def limit_rate(self, limit: int, window: float, clock: Any, retry_after: bool = False,
                   latency: float = 0.0, count_refused: bool = False) -> None:
        """A server budget of ``limit`` logs requests per ``window`` seconds of ``clock`` (a FakeClock)."""
        self.rate_limit, self.rate_window, self._clock = limit, window, clock
        self.retry_after, self.latency, self.count_refused = retry_after, latency, count_refused

    # --- handlers --------------------------------------------------------------------------------------------

    def _oauth(self, request: Any) -> tuple[int, dict[str, str], str]:
        form = parse_qs(request.body)
        self.token_requests.append(form)
        if self.token_answers:
            return self._answer(self.token_answers.pop(0), request)
        if form.get('client_id') == [CLIENT_ID] and form.get('client_secret') == [CLIENT_SECRET] and \
                form.get('grant_type') == ['client_credentials']:
            self._issued += 1
            token = 'issued-%d-%s' % (self._issued, 'x' * 12)
            self.valid_tokens.add(token)
            return 200, {}, json.dumps({'access_token': token, 'expires_in': 43199, 'token_type': 'Bearer'})
        return 401, {}, json.dumps({'error': 'invalid_client'})

    def _answer(self, answer: Any, request: Any) -> tuple[int, dict[str, str], str]:
        if callable(answer):
            return answer(request)
        if isinstance(answer, BaseException):
            raise answer
        status, headers, body = answer
        return status, headers, body if isinstance(body, str) else json.dumps(body)

    def _logs(self, request: Any) -> tuple[int, dict[str, str], str]:
        if self._clock is None:
            return self._logs_answer(request)
        arrived = self._clock.now
        answer = self._rate_limited(arrived) or self._logs_answer(request)
        self.arrivals.append((arrived, answer[0]))
        self._clock.now += self.latency
        return answer

    def _rate_limited(self, now: float) -> tuple[int, dict[str, str], str] | None:
        """The 429 of the server budget (see limit_rate), or None after counting the request."""
        self._hits = [t for t in self._hits if t > now - self.rate_window]
        if len(self._hits) < self.rate_limit:
            self._hits.append(now)
            return None
        wait = '%d' % max(1, -(-(self._hits[0] + self.rate_window - now) // 1))
        if self.count_refused:
            self._hits.append(now)
        headers = {'Retry-After': wait} if self.retry_after else {}
        return 429, headers, json.dumps({'error': {'code': 429, 'message': 'API rate limit reached'}})

    def _logs_answer(self, request: Any) -> tuple[int, dict[str, str], str]:
        body = json.loads(request.body)
        self.bodies.append(body)
        query = parse_qs(urlsplit(request.url).query)
        url_token = query.get('access_token', [None])[0]
        self.url_tokens.append(url_token)
        scheme, dummy, header_token = (request.headers.get('Authorization') or '').partition(' ')
        self.header_tokens.append(header_token if scheme == 'Bearer' else None)
        if self.queue:
            return self._answer(self.queue.pop(0), request)
        refusal = self._refusal(body, url_token, self.header_tokens[-1])
        if refusal is not None:
            return refusal
        selected = self.select(body)
        limit = body.get('limit', 20)
        offset = 0
        if body.get('token'):
            offset = int(body['token'].split('-')[1])
        if self.endless:
            return self._endless(body, selected, offset, limit)
        return self._page(body, selected, offset, limit)

    def _endless(self, body: dict[str, Any], selected: list[dict[str, Any]], offset: int,
                 limit: int) -> tuple[int, dict[str, str], str]:
        """A page of a server that never ends (``endless``)."""
        start = body.get('start_time', self.now_ms - 3600000)
        if self.endless == 'fresh':
            page = [{'timestamp': iso_ms(start + offset + i), 'seq': offset + i} for i in range(limit)]
        elif self.endless == 'repeat':
            page = selected[:limit]
        elif self.endless == 'sparse':
            page = [{'timestamp': iso_ms(start + offset), 'seq': offset}]
        else:
            page = []
        step = limit if self.endless == 'fresh' else 1
        status = 200 if self.reading in ('token200', 'token413') and len(page) == limit else 406
        return status, {}, json.dumps({'data': self._with_odd(page), 'token': 'p-%d' % (offset + step)})

    def _with_odd(self, page: list[Any]) -> list[Any]:
        return page[:self.odd_at] + list(self.odd_entries) + page[self.odd_at:]

    def _refusal(self, body: dict[str, Any], url_token: str | None,
                 header_token: str | None) -> tuple[int, dict[str, str], str] | None:
        """The error answer to a request the server refuses (token, window, events), or None."""
        tokens = [url_token] if self.auth == 'query' else [header_token] if self.auth == 'header' else [
            url_token, header_token]
        if not any(token in self.valid_tokens for token in tokens):
            return 401, {}, json.dumps({'error': 'invalid token'})
        if self.max_window_ms is not None and 'start_time' in body and 'end_time' in body and \
                body['end_time'] - body['start_time'] > self.max_window_ms:
            return 400, {}, json.dumps({'error': {'code': 400, 'message': 'start_time/end_time: window too long'}})
        events = (body.get('filter') or {}).get('events')
        if isinstance(events, str) and ',' in events and self.multi_events == 'single':
            return 400, {}, json.dumps({'error': 'filter.events: invalid value'})
        return None

    def _page(self, body: dict[str, Any], selected: list[dict[str, Any]], offset: int,
              limit: int) -> tuple[int, dict[str, str], str]:
        """The answer holding the page at ``offset`` of ``selected``, under the server's reading of the API."""
        page = selected[offset:offset + limit]
        more = offset + limit < len(selected)
        next_token = 'p-%d' % (offset + limit)
        if self.reading == 'token406':
            status, token = (406, next_token) if more else (200, '')
        elif self.reading == 'token200':
            status, token = 200, next_token if more else ''
        elif self.reading == 'token413':
            if body.get('token') and not page:
                return 413, {}, json.dumps({'error': {'code': 413, 'message': 'No items for current page'}})
            status, token = 200, next_token if page else ''
        elif self.reading == 'narrow406':
            status, token = (406, None) if len(selected) > limit else (200, None)
            page = self._narrowed(selected, limit)
        elif self.reading == 'repeat':
            status, token = 200, 'p-0'
            page = selected[:limit]
        else:
            raise AssertionError(self.reading)
        answer: dict[str, Any] = {'data': self._with_odd(page)}
        if token is not None:
            answer['token'] = token
        return status, {}, json.dumps(answer)

    def _narrowed(self, selected: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
        """The ``limit`` entries a narrow406 server answers, chosen per ``pick``."""
        if self.pick == 'tail':
            return selected[-limit:]
        if self.pick == 'scattered':
            step = -(-len(selected) // limit)
            return selected[step // 2::step][:limit]
        return selected[:limit]

    def select(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        """The entries the server holds for a body (category, window, filters), in the server's order."""
        if 'start_time' in body or 'end_time' in body:
            start, end = body.get('start_time', 0), body.get('end_time', self.now_ms)
        else:
            start, end = self.now_ms - body.get('age', 3600) * 1000, self.now_ms
        lo_ok = (lambda t: t > start) if self.ends in ('start_excl', 'both_excl') else (lambda t: t >= start)
        hi_ok = (lambda t: t < end) if self.ends in ('end_excl', 'both_excl') else (lambda t: t <= end)
        filters = body.get('filter') or {}
        wanted_events = set(filters['events'].split(',')) if filters.get('events') else None
        agents = filters.get('agent_types')
        search = filters.get('search')
        rows = []
        for category, at, seq, entry in self.store:
            if category != body['event_category'] or at is None or not (lo_ok(at) and hi_ok(at)):
                continue
            if wanted_events is not None and entry.get('event') not in wanted_events:
                continue
            if agents is not None and entry.get('agent_type') not in agents:
                continue
            if search is not None and search not in entry.get('device_name', '') + entry.get('device_id', ''):
                continue
            rows.append((at, seq, entry))
        rows.sort(key=lambda row: (row[0], row[1]), reverse=self.order == 'desc')
        return [row[2] for row in rows]


def status_answer(status: int, body: Any = None, headers: dict[str, str] | None = None) -> tuple:
    return status, headers or {}, json.dumps(body if body is not None else {'error': 'failure %d' % status})


def raiser(exc: BaseException) -> Callable[[Any], Any]:
    def answer(request: Any) -> Any:
        raise exc
    return answer
