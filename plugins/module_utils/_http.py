# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""HTTP to the IT-OT Access API: transport, auth, pacing, retries and 429s, secret scrubbing; for internal collection
use only.

``Transport.post_logs(body)`` sends one logs request and returns its ``Page`` (HTTP 200 or 406), getting and renewing
the access token (in the query or an ``Authorization`` header; OAuth client credentials), pacing it with the shared
``RateBudget`` and retrying connection errors, 5xx and 429 (honouring ``Retry-After``; without it, waiting a whole
``rate_window``). Each request ends within ``timeout`` seconds, connect to last byte, and reads no answer larger than
``MAX_ANSWER_BYTES`` (_answer.py). Every other answer is an ``ItotError`` whose message holds no token, secret or URL
(but a redirect's target: scheme, host, port and path, without user info or query). What the pages mean is the walk's
business (_paging.py, _walk.py).
"""

from __future__ import annotations

import functools
import http
import math
import random
import re
import time
import traceback
import warnings
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import urljoin, urlsplit

from ansible_collections.opswat.itot.plugins.module_utils._answer import (
    AnswerTooLarge,
    Deadline,
    DeadlinePassed,
    TooDeep,
    parse_json,
    read_body,
    size_text,
)
from ansible_collections.opswat.itot.plugins.module_utils._errors import (
    ApiError,
    AuthenticationError,
    ItotError,
    RetryError,
)
from ansible_collections.opswat.itot.plugins.module_utils._options import ConnectionSettings
from ansible_collections.opswat.itot.plugins.module_utils._rate_budget import RateBudget, connection_identity
from ansible_collections.opswat.itot.plugins.module_utils._timeparse import parse_http_date
from ansible_collections.opswat.itot.plugins.module_utils._vocabulary import LOGS_PATH, MAX_ANSWER_BYTES, TOKEN_PATH

try:
    import requests
    from urllib3.exceptions import InsecureRequestWarning
except ImportError:
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR: str | None = traceback.format_exc()
else:
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None

RETRY_STATUSES = (500, 502, 503, 504)
# A 429 without Retry-After waits ``rate_window`` seconds (or the retry's backoff, when longer), lengthened by up to
# this share at random: the server's window has turned by then whatever its budget and wherever its window began.
RATE_LIMITED_JITTER = 0.1


class Scrubber:
    """Removes secrets, ``access_token=...`` and URLs from text meant for a message."""

    _PARAM = re.compile(r'(?i)\b((?:access_token|client_secret|refresh_token)=)[^&\s\'",;)]+')
    _URL = re.compile(r'(?i)\b(?:https?://|url: )\S+')

    def __init__(self, secrets: list[str | None] | None = None) -> None:
        self._secrets: set[str] = set()
        for secret in secrets or ():
            self.add(secret)

    def add(self, secret: str | None) -> None:
        if secret:
            self._secrets.add(secret)

    def secrets(self, text: str) -> str:
        """``text`` without the secrets known, URLs kept."""
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, '***')
        return text

    def __call__(self, text: str) -> str:
        text = self._PARAM.sub(r'\1***', self.secrets(text))
        return self._URL.sub('<URL>', text)


def describe_exception(exc: BaseException, scrub: Scrubber) -> str:
    """``ClassName (short reason)`` for a transport exception, without URL, token or secret."""
    text = str(exc)
    lowered = text.lower()
    errno = re.search(r'\[Errno -?\d+\] ([^\'"()\]]+)', text) or re.search(r"Error\(-?\d+, '([^']+)'\)", text)
    if 'certificate verify failed' in lowered:
        reason = 'certificate verify failed'
    elif errno:
        reason = errno.group(1).strip().rstrip('.').lower()
    elif 'timed out' in lowered:
        reason = 'timed out'
    else:
        reason = re.sub(r"\w+ConnectionPool\(host='[^']*', port=\d+\): ", '', text)
        reason = re.sub(r'Max retries exceeded with url: \S+ ', '', reason)
        reason = scrub(reason).strip()
        if len(reason) > 200:
            reason = reason[:200] + '...'
    reason = scrub(reason)
    return '%s (%s)' % (type(exc).__name__, reason) if reason else type(exc).__name__


def http_status_text(status: int) -> str:
    try:
        return 'HTTP %d %s' % (status, http.HTTPStatus(status).phrase)
    except ValueError:
        return 'HTTP %d' % status


def parse_retry_after(value: str | None, now: float, cap: float) -> float | None:
    """Retry-After (seconds or an HTTP date) as seconds to wait, clamped to [0, cap]; None if absent or bad."""
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        when = parse_http_date(text)
        if when is None:
            return None
        seconds = when.timestamp() - now
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), cap)


def redirect_target(response: Any) -> str | None:
    """Where a redirect answer points, as ``scheme://host[:port]/path``: never its user info, query or fragment (they
    may carry a secret); None without a usable ``Location``."""
    location = response.headers.get('Location')
    if not isinstance(location, str) or not location.strip():
        return None
    try:
        parts = urlsplit(urljoin(getattr(response, 'url', None) or '', location.strip()))
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if parts.scheme not in ('http', 'https') or not host:
        return None
    netloc = ('[%s]' % host if ':' in host else host) + ('' if port is None else ':%d' % port)
    return '%s://%s%s' % (parts.scheme, netloc, parts.path or '/')


def redirect_text(response: Any, api_path: str, scrub: Scrubber) -> str:
    """What a message says of a redirect answer to ``api_path``: where it points, and the ``base_url`` to try."""
    target = redirect_target(response)
    if target is None:
        return 'a redirect without a usable Location, which is not followed (the token must not leave base_url); check base_url'
    target = scrub.secrets(target)
    if target.endswith(api_path) and len(target) > len(api_path):
        advice = 'if that is the API, set base_url to %s' % target[:-len(api_path)]
    else:
        advice = 'check base_url; the server points to that address instead'
    return 'a redirect to %s, which is not followed (the token must not leave base_url); %s' % (target, advice)


def _why(exc: ValueError) -> str:
    """`` (JSON nested too deep to parse)`` for an answer too deep to parse; nothing for other malformed ones."""
    return ' (%s)' % exc if isinstance(exc, TooDeep) else ''


@dataclass(frozen=True)
class _Retry:
    """An attempt worth repeating (a connection error, a 5xx, a 429, a malformed answer), and why."""

    reason: str
    status: int | None = None
    rate_limited: bool = False
    retry_after: float | None = None


@dataclass(frozen=True)
class _Unauthorized:
    """HTTP 401 from the logs endpoint, with what the API said (scrubbed)."""

    api_message: str = ''


@dataclass(frozen=True)
class Page:
    """One answer of the logs endpoint: HTTP 200 or 406, its ``data`` and the pagination token it offers (or None)."""

    status: int
    data: list
    token: str | None


class Transport:
    """One connection to the IT-OT Access API (transport, auth, pacing, retries)."""

    def __init__(self, settings: ConnectionSettings, *, budget: RateBudget | None = None, session: Any = None,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep,
                 rand: Callable[[], float] = random.random, backoff_base: float = 1.0, backoff_cap: float = 30.0,
                 retry_after_cap: float = 120.0, warn: Callable[[str], None] | None = None,
                 on_secret: Callable[[str], None] | None = None) -> None:
        if not HAS_REQUESTS:
            raise ItotError("The Python library 'requests' is required by opswat.itot but is not installed")
        self.settings = settings
        self.api_requests = 0
        self._token = settings.access_token
        self._accepted = 0  # logs requests answered (200 or 406) with the current token
        self._scrub = Scrubber([settings.access_token, settings.client_secret])
        self._clock = clock
        self._sleep = sleep
        self._rand = rand
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._retry_after_cap = retry_after_cap
        self._on_secret = on_secret
        if budget is None:
            identity = connection_identity(settings.client_id, settings.access_token)
            # It warns (once) when its ledger cannot be shared safely, and when it cuts an absurd wait.
            budget = RateBudget.for_connection(settings.base_url, identity, settings.rate_limit,
                                               window=settings.rate_window, clock=clock, sleep=sleep, warn=warn,
                                               max_block=retry_after_cap)
        self.budget = budget
        self._session = session if session is not None else requests.Session()
        self._logs_url = settings.base_url + LOGS_PATH
        self._token_url = settings.base_url + TOKEN_PATH

    def close(self) -> None:
        self._session.close()

    def scrub(self, text: str) -> str:
        """``text`` without this connection's secrets (the tokens it got too), ``access_token=...`` or URLs."""
        return self._scrub(text)

    def post_logs(self, body: dict[str, Any]) -> Page:
        """One page: POST the body, with auth refresh, pacing and retries."""
        category = body.get('event_category')
        what = "Logs request for category '%s'" % category
        refreshed = False
        while True:
            if self._token is None:
                self._refresh_token()
            if self.settings.access_token_location == 'header':
                auth: dict[str, Any] = {'headers': {'Authorization': 'Bearer %s' % self._token}}
            else:
                auth = {'params': {'access_token': self._token}}
            send = functools.partial(self._session.post, self._logs_url, json=body, verify=self.settings.verify,
                                     allow_redirects=False, **auth)
            answer = self._send(what, send, functools.partial(self._accept_logs, category=category), paced=True)
            if not isinstance(answer, _Unauthorized):
                return answer
            if refreshed or not self.settings.has_client_credentials:
                raise AuthenticationError(self._unauthorized(refreshed, answer.api_message), status=401)
            refreshed = True
            self._refresh_token()

    def _unauthorized(self, refreshed: bool, api_message: str) -> str:
        message = 'Authentication to the IT-OT Access API failed (HTTP 401)'
        said = ' (the API says: %s)' % api_message if api_message else ''
        if refreshed:
            return message + ', also with a new token from client_id and client_secret' + said
        if self._accepted:
            # Mid-walk: the token worked before, so it expired (or was revoked) while we read.
            return message + (': the access_token was accepted by %d earlier request%s and is refused now, so it has '
                              'expired or was revoked%s; give client_id and client_secret to get new tokens '
                              'automatically, or a fresh access_token'
                              % (self._accepted, '' if self._accepted == 1 else 's', said))
        return message + said + '; check access_token, or client_id and client_secret'

    def _refresh_token(self) -> None:
        form = {'client_id': self.settings.client_id, 'client_secret': self.settings.client_secret,
                'grant_type': 'client_credentials'}
        if not self.settings.has_client_credentials:
            raise AuthenticationError('Authentication to the IT-OT Access API failed: no access_token, and no '
                                      'client_id and client_secret to get one')
        send = functools.partial(self._session.post, self._token_url, data=form, verify=self.settings.verify,
                                 allow_redirects=False)
        token = self._send('Token request', send, self._accept_token, paced=False)
        self._accepted = 0
        self._scrub.add(token)
        if self._on_secret is not None:
            self._on_secret(token)  # e.g. the module's no_log values
        self._token = token

    def _send(self, what: str, send: Callable[[], Any], accept: Callable[[Any], Any], paced: bool) -> Any:
        """Send with pacing and bounded retries; ``accept`` turns an answer into a result, a ``_Retry``, or raises."""
        attempts = 0
        while True:
            attempts += 1
            answer = self._attempt(what, send, accept, paced)
            if not isinstance(answer, _Retry):
                return answer
            if attempts > self.settings.max_retries:
                raise RetryError(self._scrub('%s failed after %d attempt%s: last error %s'
                                             % (what, attempts, '' if attempts == 1 else 's', answer.reason)),
                                 status=answer.status, attempts=attempts)
            self._sleep(self._retry_wait(answer, attempts))

    def _attempt(self, what: str, send: Callable[..., Any], accept: Callable[[Any], Any], paced: bool) -> Any:
        """One request (paced when ``paced``): what ``accept`` makes of the answer, or a ``_Retry`` when none came.

        The request has ``timeout`` seconds in all, from connecting to the answer's last byte: the connect and each
        read of the status line and headers wait at most that long, and the body is read against what is left.
        """
        stamp = None
        if paced:
            stamp = self.budget.reserve()
            self.api_requests += 1
        deadline = Deadline(self.settings.timeout)
        try:
            try:
                with warnings.catch_warnings():
                    if not self.settings.validate_certs:
                        warnings.simplefilter('ignore', InsecureRequestWarning)
                    response = send(timeout=self.settings.timeout, stream=True)
                    read_body(response, deadline, MAX_ANSWER_BYTES)
            finally:
                if stamp is not None:
                    self.budget.settle(stamp)
            return accept(response)
        except DeadlinePassed:
            return _Retry('no whole answer within timeout=%g s (the time one request may take, connect to last '
                          'byte)' % self.settings.timeout)
        except AnswerTooLarge as exc:
            said = ' (its Content-Length says %d bytes)' % exc.declared if exc.declared is not None else ''
            raise ApiError('%s failed: the answer is larger than %s%s, the most the client reads of one answer '
                           '(MAX_ANSWER_BYTES); refused' % (what, size_text(exc.cap), said)) from None
        except requests.exceptions.SSLError as exc:
            raise ApiError('%s failed: %s' % (what, describe_exception(exc, self._scrub))) from None
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
            return _Retry(describe_exception(exc, self._scrub))
        except requests.RequestException as exc:
            raise ApiError('%s failed: %s' % (what, describe_exception(exc, self._scrub))) from None

    def _retry_wait(self, failure: _Retry, attempts: int) -> float:
        if failure.rate_limited:
            wait = failure.retry_after if failure.retry_after is not None else self._rate_limited_wait(attempts)
            # Tell the other processes of this connection (this tenant's ledger) too.
            self.budget.block_until(self._clock() + wait)
            return wait
        return self._backoff(attempts) * (0.5 + 0.5 * self._rand())

    def _backoff(self, attempts: int) -> float:
        return min(self._backoff_cap, self._backoff_base * 2 ** (attempts - 1))

    def _rate_limited_wait(self, attempts: int) -> float:
        """A 429 that says nothing of when: a whole ``rate_window`` (the server's budget may be smaller than ours,
        spent by others, or counted in other windows), never less, at most the ledger's cap on a block."""
        wait = max(self.settings.rate_window, self._backoff(attempts)) * (1 + RATE_LIMITED_JITTER * self._rand())
        return min(wait, max(self.budget.max_block, self.settings.rate_window))

    def _retry_status(self, response: Any) -> _Retry | None:
        """A ``_Retry`` for an answer whose status is worth retrying (429, 5xx); else None."""
        status = response.status_code
        if status == 429:
            retry_after = parse_retry_after(response.headers.get('Retry-After'), self._clock(),
                                            self._retry_after_cap)
            return _Retry(http_status_text(status), status, rate_limited=True, retry_after=retry_after)
        if status in RETRY_STATUSES:
            return _Retry(http_status_text(status), status)
        return None

    def _accept_logs(self, response: Any, category: Any = None) -> Page | _Retry | _Unauthorized:
        status = response.status_code
        if status in (200, 406):
            return self._page(response, status)
        if status == 401:
            return _Unauthorized(self._api_message(response))
        retry = self._retry_status(response)
        if retry is not None:
            return retry
        raise ApiError(self._rejection(response, status, category), status=status)

    def _page(self, response: Any, status: int) -> Page | _Retry:
        """A 200 or 406 answer as a ``Page``; a ``_Retry`` when its JSON holds no list of entries."""
        try:
            doc = parse_json(response.content)
        except ValueError as exc:
            return _Retry('%s with a malformed JSON answer%s' % (http_status_text(status), _why(exc)), status)
        data = doc.get('data', []) if isinstance(doc, dict) else None
        if data is None and isinstance(doc, dict):
            data = []
        if not isinstance(data, list):
            return _Retry('%s with a malformed JSON answer' % http_status_text(status), status)
        token = doc.get('token')
        if isinstance(token, (int, float)) and not isinstance(token, bool):
            token = str(token)
        token = token if isinstance(token, str) and token.strip() else None
        self._accepted += 1
        return Page(status, data, token)

    def _accept_token(self, response: Any) -> str | _Retry:
        status = response.status_code
        if status == 200:
            try:
                doc = parse_json(response.content)
            except ValueError as exc:
                return _Retry('%s with a malformed JSON answer%s' % (http_status_text(status), _why(exc)), status)
            token = doc.get('access_token') if isinstance(doc, dict) else None
            if not isinstance(token, str) or not token:
                raise AuthenticationError('Authentication to the IT-OT Access API failed: the token endpoint '
                                          'answered without an access_token')
            return token
        if status in (400, 401, 403):
            raise AuthenticationError('Authentication to the IT-OT Access API failed (%s from the token endpoint); '
                                      'check client_id and client_secret' % http_status_text(status), status=status)
        retry = self._retry_status(response)
        if retry is not None:
            return retry
        if 300 <= status < 400:
            raise ApiError('Token request failed (%s): %s' % (http_status_text(status),
                                                              redirect_text(response, TOKEN_PATH, self._scrub)),
                           status=status)
        raise ApiError('Token request failed: %s; check base_url' % http_status_text(status), status=status)

    def _rejection(self, response: Any, status: int, category: Any) -> str:
        message = 'The IT-OT Access API rejected the logs request for category %r (%s)' % (
            category, http_status_text(status))
        if 300 <= status < 400:
            message += ': ' + redirect_text(response, LOGS_PATH, self._scrub)
        elif status == 404:
            message += ': check base_url'
        api_message = self._api_message(response)
        if api_message:
            message += ': %s' % api_message
        return message

    def _api_message(self, response: Any) -> str:
        text = ''
        try:
            doc = parse_json(response.content)
        except ValueError:
            doc = None
        if isinstance(doc, dict):
            for key in ('message', 'error_description', 'error', 'msg', 'detail'):
                value = doc.get(key)
                if isinstance(value, dict):
                    value = value.get('message')
                if isinstance(value, str) and value.strip():
                    text = value
                    break
        if not text:
            text = response.text or ''
        text = self._scrub(' '.join(text.split()))
        return text[:300] + '...' if len(text) > 300 else text
