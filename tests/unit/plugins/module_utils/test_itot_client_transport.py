# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Transport: auth and token refresh, 429 and Retry-After, retries and give-ups, pacing, secrets."""

from __future__ import annotations

import email.utils
import json
import math
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from ansible_collections.opswat.itot.plugins.module_utils._client import LogsClient
from ansible_collections.opswat.itot.plugins.module_utils._errors import (
    ApiError,
    AuthenticationError,
    ItotError,
    RetryError,
)
from ansible_collections.opswat.itot.plugins.module_utils._http import Scrubber, parse_retry_after
from ansible_collections.opswat.itot.plugins.module_utils._options import OptionAdapter, connection_settings
from ansible_collections.opswat.itot.plugins.module_utils._rate_budget import RateBudget
from ansible_collections.opswat.itot.tests.unit.plugins.itot_fake_api import (
    ACCESS_TOKEN,
    BASE_URL,
    CLIENT_ID,
    CLIENT_SECRET,
    LOGS_URL,
    raiser,
    status_answer,
)

NOW = 1795939200000
SECRETS = (ACCESS_TOKEN, CLIENT_SECRET, 'issued-')

CONNECTION_REFUSED = requests.ConnectionError(
    "HTTPSConnectionPool(host='itot.example.test', port=443): Max retries exceeded with url: "
    "/o/api/v3.3/logs?access_token=%s (Caused by NewConnectionError('<urllib3.connection.HTTPSConnection object at "
    "0x7f00>: Failed to establish a new connection: [Errno 111] Connection refused'))" % ACCESS_TOKEN)
CONNECTION_RESET = requests.ConnectionError(
    "('Connection aborted.', ConnectionResetError(104, 'Connection reset by peer'))")
READ_TIMEOUT = requests.ReadTimeout(
    "HTTPSConnectionPool(host='itot.example.test', port=443): Read timed out. (read timeout=30)")
CERT_FAILED = requests.exceptions.SSLError(
    "HTTPSConnectionPool(host='itot.example.test', port=443): Max retries exceeded with url: /o/api/v3.3/logs?"
    "access_token=%s (Caused by SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate "
    "verify failed: self-signed certificate (_ssl.c:1006)')))" % ACCESS_TOKEN)


def assert_no_secret(text, shown=()):
    """No secret and no URL in ``text``, but the redirect targets ``shown`` (scheme, host, port and path)."""
    for secret in SECRETS:
        assert secret not in text
    assert 'access_token=' not in text.replace('access_token=***', '')
    for url in sorted(shown, key=len, reverse=True):
        text = text.replace(url, '<shown>')
    assert 'https://' not in text and 'http://' not in text and 'example.test' not in text


def fail(client, query, error=ItotError, shown=()):
    with pytest.raises(error) as err:
        client.fetch(query)
    assert_no_secret(err.value.message, shown)
    assert_no_secret(str(err.value), shown)
    return err.value


# --- auth ------------------------------------------------------------------------------------------------------

def test_401_gets_a_new_token_once_and_repeats_the_request(api, make_client, make_query):
    api.add('device', NOW - 1000)
    client = make_client(access_token='expired-0000', client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    result = client.fetch(make_query(start_time='-1h'))
    assert len(result.logs) == 1 and result.api_requests == 2
    assert api.url_tokens == ['expired-0000', 'issued-1-xxxxxxxxxxxx']
    assert api.bodies[0] == api.bodies[1]
    assert api.token_requests == [{'client_id': [CLIENT_ID], 'client_secret': [CLIENT_SECRET],
                                   'grant_type': ['client_credentials']}]
    client.fetch(make_query(start_time='-1h'))  # the new token is kept
    assert api.url_tokens[-1] == 'issued-1-xxxxxxxxxxxx' and len(api.token_requests) == 1


def test_client_credentials_alone_get_a_token_first(api, make_client, make_query):
    client = make_client(access_token=None, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    assert client.fetch(make_query(start_time='-1h')).api_requests == 1
    assert len(api.token_requests) == 1 and api.url_tokens == ['issued-1-xxxxxxxxxxxx']


def test_401_after_the_refresh_is_an_authentication_error(api, make_client, make_query):
    api.queue = [status_answer(401), status_answer(401)]
    client = make_client(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    error = fail(client, make_query(start_time='-1h'), AuthenticationError)
    assert error.message == ('Authentication to the IT-OT Access API failed (HTTP 401), also with a new token from '
                             'client_id and client_secret (the API says: failure 401)')
    assert client.api_requests == 2 and len(api.token_requests) == 1


def test_401_without_client_credentials(api, make_client, make_query):
    client = make_client(access_token='wrong-token-1234')
    error = fail(client, make_query(start_time='-1h'), AuthenticationError)
    assert error.message == ('Authentication to the IT-OT Access API failed (HTTP 401) (the API says: invalid token); '
                             'check access_token, or client_id and client_secret')
    assert error.status == 401 and client.api_requests == 1 and api.token_requests == []
    assert 'wrong-token-1234' not in error.message


def expire_token_after(rsps, api, token, answered):
    """``token`` works for ``answered`` logs requests, then the API refuses it as expired (as the emulator does)."""
    api.valid_tokens.add(token)
    count = [0]

    def route(request):
        if parse_qs(urlsplit(request.url).query).get('access_token') == [token]:
            if count[0] >= answered:
                api.bodies.append(json.loads(request.body))
                api.url_tokens.append(token)
                return 401, {}, json.dumps({'error': {'code': 401, 'message': 'access_token has expired'}})
            count[0] += 1
        return api._logs(request)  # pylint: disable=protected-access

    rsps.remove(responses.POST, LOGS_URL)
    rsps.add_callback(responses.POST, LOGS_URL, callback=route)


def test_a_token_that_expires_mid_walk_without_client_credentials_says_so(rsps, api, make_client, make_query):
    api.add_many('device', [NOW - 1000 * i for i in range(30)])
    expire_token_after(rsps, api, 'short-lived-7777', 2)
    client = make_client(access_token='short-lived-7777')
    error = fail(client, make_query(start_time='-1h', page_size=10), AuthenticationError)
    assert error.message == (
        'Authentication to the IT-OT Access API failed (HTTP 401): the access_token was accepted by 2 earlier requests '
        'and is refused now, so it has expired or was revoked (the API says: access_token has expired); give '
        'client_id and client_secret to get new tokens automatically, or a fresh access_token')
    assert error.status == 401 and client.api_requests == 3 and api.token_requests == []


def test_a_token_that_expires_mid_walk_with_client_credentials_is_renewed_silently(rsps, api, make_client, make_query):
    api.add_many('device', [NOW - 1000 * i for i in range(30)])
    expire_token_after(rsps, api, 'short-lived-7777', 2)
    client = make_client(access_token='short-lived-7777', client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    result = client.fetch(make_query(start_time='-1h', page_size=10))
    assert len(result.logs) == 30 and result.api_requests == 4
    assert api.url_tokens == ['short-lived-7777'] * 3 + ['issued-1-xxxxxxxxxxxx']
    assert [body.get('token') for body in api.bodies] == [None, 'p-10', 'p-20', 'p-20']


def test_token_endpoint_refuses(api, make_client, make_query):
    client = make_client(access_token=None, client_id=CLIENT_ID, client_secret='wrong-secret-5678')
    error = fail(client, make_query(start_time='-1h'), AuthenticationError)
    assert error.message == ('Authentication to the IT-OT Access API failed (HTTP 401 Unauthorized from the token '
                             'endpoint); check client_id and client_secret')
    assert 'wrong-secret-5678' not in error.message and client.api_requests == 0


def test_token_endpoint_answer_without_token(api, make_client, make_query):
    api.token_answers = [status_answer(200, {'token_type': 'Bearer'})]
    client = make_client(access_token=None, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    assert fail(client, make_query(start_time='-1h'), AuthenticationError).message.endswith(
        'the token endpoint answered without an access_token')


def test_token_endpoint_is_retried(api, make_client, make_query, clock):
    api.token_answers = [status_answer(503), raiser(CONNECTION_REFUSED)]
    client = make_client(access_token=None, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    client.fetch(make_query(start_time='-1h'))
    assert len(api.token_requests) == 3 and client.api_requests == 1 and clock.sleeps == [0.75, 1.5]


def test_token_endpoint_give_up(api, make_client, make_query):
    api.token_answers = [status_answer(502)] * 3
    client = make_client(access_token=None, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, max_retries=2)
    assert fail(client, make_query(start_time='-1h'), RetryError).message == (
        'Token request failed after 3 attempts: last error HTTP 502 Bad Gateway')


# --- 429 -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize('header, wait', [('7', 7.0), ('0', 0.0), ('2.5', 2.5), ('9999', 120.0), ('-3', 0.0)])
def test_429_waits_retry_after(api, make_client, make_query, clock, header, wait):
    api.queue = [status_answer(429, headers={'Retry-After': header})]
    result = make_client().fetch(make_query(start_time='-1h'))
    assert result.api_requests == 2 and clock.sleeps == [wait]


def test_429_retry_after_as_http_date(api, make_client, make_query, clock):
    date = email.utils.formatdate(clock.now + 30, usegmt=True)
    api.queue = [status_answer(429, headers={'Retry-After': date})]
    make_client().fetch(make_query(start_time='-1h'))
    assert clock.sleeps == [30.0]


def test_429_retry_after_is_shared_with_other_processes(api, make_client, make_query, clock, tmp_path):
    ledger = str(tmp_path / 'ledger.json')
    api.queue = [status_answer(429, headers={'Retry-After': '20'})]
    client = make_client(budget=RateBudget(ledger, 10, clock=clock.time, sleep=clock.sleep), rate_limit=10)
    start = clock.now
    client.fetch(make_query(start_time='-1h'))
    other = RateBudget(ledger, 10, clock=lambda: start + 5, sleep=clock.sleep)
    assert other.delay() == 15


# A 429 without Retry-After waits the rate window from the 429 (or the backoff, when longer), stretched by a jitter
# of up to 10 %: rand() 0.5 (make_client) waits 1.05 windows.
JITTER = 0.1


def test_429_without_retry_after_waits_the_rate_window(api, make_client, make_query, clock, tmp_path):
    budget = RateBudget(str(tmp_path / 'ledger.json'), 3, clock=clock.time, sleep=clock.sleep)
    client = make_client(budget=budget, rate_limit=3)
    client.fetch(make_query(start_time='-1h'))
    clock.now += 25
    api.queue = [status_answer(429)]
    client.fetch(make_query(start_time='-1h'))
    # Not only until the first request (25 s ago) leaves the client's window: the server's window may be elsewhere.
    assert clock.sleeps == [60 * (1 + JITTER * 0.5)]


def test_429_without_retry_after_and_without_pacing_waits_the_rate_window(api, make_client, make_query, clock):
    api.queue = [status_answer(429), status_answer(429)]
    assert make_client(rate_window=6).fetch(make_query(start_time='-1h')).api_requests == 3
    assert clock.sleeps == [6 * (1 + JITTER * 0.5)] * 2


@pytest.mark.parametrize('rand, window, wait', [
    (0.0, 60, 60.0),  # the jitter only lengthens the wait
    (1.0, 60, 60 * (1 + JITTER)),
    (1.0, 3600, 3600.0),  # the longest window: the ledger's cap (a window, or 120 s) is not exceeded
    (1.0, 2, [2 * (1 + JITTER), 2 * (1 + JITTER), 4 * (1 + JITTER)]),  # the backoff (1, 2, 4 s) when longer
])
def test_429_without_retry_after_wait_bounds(api, make_query, clock, tmp_path, rand, window, wait):
    api.queue = [status_answer(429)] * (3 if isinstance(wait, list) else 1)
    settings = connection_settings(OptionAdapter.from_dict({'base_url': BASE_URL, 'access_token': ACCESS_TOKEN,
                                                            'rate_limit': 10, 'rate_window': window}))
    client = LogsClient(settings, budget=RateBudget(str(tmp_path / 'l.json'), 10, window=window, clock=clock.time,
                                                    sleep=clock.sleep), clock=clock.time, sleep=clock.sleep,
                        rand=lambda: rand)
    client.fetch(make_query(start_time='-1h'))
    assert clock.sleeps == (wait if isinstance(wait, list) else [wait])


def test_429_without_retry_after_blocks_the_ledger_for_other_processes(api, make_client, make_query, clock, tmp_path):
    ledger = str(tmp_path / 'ledger.json')
    api.queue = [status_answer(429)]
    client = make_client(budget=RateBudget(ledger, 10, clock=clock.time, sleep=clock.sleep), rate_limit=10)
    refused_at = clock.now
    client.fetch(make_query(start_time='-1h'))
    # Another task of the same tenant, 5 s after the 429, reads the block from the ledger file.
    other = RateBudget(ledger, 10, clock=lambda: refused_at + 5, sleep=clock.sleep)
    assert other.delay() == pytest.approx(60 * (1 + JITTER * 0.5) - 5)
    slept = []
    later = RateBudget(ledger, 10, clock=lambda: refused_at + 5 + sum(slept), sleep=slept.append)
    later.reserve()
    assert sum(slept) == pytest.approx(60 * (1 + JITTER * 0.5) - 5)


@pytest.mark.parametrize('count_refused', [False, True], ids=['refusals-free', 'refusals-counted'])
def test_a_server_budget_a_third_of_the_clients_without_retry_after(
        api, make_client, make_query, clock, tmp_path, count_refused):
    # Issue 18 item 7: the client paces at 9 per 60 s, the server allows 3 per 60 s and says no Retry-After.  A first
    # task read 2 pages 45 s before; each answer takes 3 s.  The read succeeds, draws at most one 429 per window, and
    # the next request after a 429 comes a window later (at most the jitter, 10 %, plus an answer's 3 s more).
    window, latency = 60.0, 3.0
    api.add_many('device', [NOW - 3000000 + i * 1000 for i in range(900)])
    api.add_many('admin', [NOW - 3000000 + i * 1000 for i in range(150)])
    api.limit_rate(3, window, clock, latency=latency, count_refused=count_refused)
    client = make_client(budget=RateBudget(str(tmp_path / 'l.json'), 9, clock=clock.time, sleep=clock.sleep),
                         rate_limit=9)
    client.fetch(make_query(event_category='admin', start_time='-1h', page_size=100))
    clock.now += 45
    result = client.fetch(make_query(start_time='-1h', page_size=100))
    assert len(result.logs) == 900
    refusals = [at for at, status in api.arrivals if status == 429]
    assert refusals, 'the server budget was never reached: the test shows nothing'
    assert all(b - a >= window for a, b in zip(refusals, refusals[1:]))
    for (at, status), (following, dummy) in zip(api.arrivals, api.arrivals[1:]):
        if status == 429:
            assert window <= following - at <= window * (1 + JITTER) + latency
    # No retry budget was used up by luck: each 429 was followed by an answered request.
    assert all(api.arrivals[i + 1][1] != 429 for i in range(len(api.arrivals) - 1) if api.arrivals[i][1] == 429)


def test_a_server_budget_with_retry_after_is_waited_as_it_says(api, make_client, make_query, clock, tmp_path):
    # The same server, now with Retry-After (whole seconds until its oldest counted request leaves its window): the
    # client waits exactly that, not a window.
    window = 60.0
    api.add_many('device', [NOW - 3000000 + i * 1000 for i in range(900)])
    api.limit_rate(3, window, clock, retry_after=True, latency=2.0)
    client = make_client(budget=RateBudget(str(tmp_path / 'l.json'), 9, clock=clock.time, sleep=clock.sleep),
                         rate_limit=9)
    assert len(client.fetch(make_query(start_time='-1h', page_size=100)).logs) == 900
    counted = [at for at, status in api.arrivals if status != 429]
    expected = []
    for at, status in api.arrivals:
        if status == 429:
            in_window = [t for t in counted if at - window < t < at]
            expected.append(float(math.ceil(in_window[0] + window - at)))
    assert expected and clock.sleeps == expected


def test_429_retries_are_bounded(api, make_client, make_query, clock):
    api.queue = [status_answer(429, headers={'Retry-After': '1'})] * 4
    error = fail(make_client(max_retries=3), make_query(start_time='-1h'), RetryError)
    assert error.message == "Logs request for category 'device' failed after 4 attempts: last error HTTP 429 Too Many " \
                            "Requests"
    assert error.status == 429 and error.attempts == 4


# --- retries ---------------------------------------------------------------------------------------------------

def test_transient_failures_are_retried_with_growing_waits(api, make_client, make_query, clock):
    api.add('device', NOW - 1000)
    api.queue = [status_answer(503), status_answer(502), raiser(READ_TIMEOUT), status_answer(504),
                 status_answer(500), (200, {}, 'not json'), (406, {}, '{"data": 5}')]
    client = make_client(max_retries=7)
    result = client.fetch(make_query(start_time='-1h'))
    assert len(result.logs) == 1 and result.api_requests == 8
    assert clock.sleeps == [0.75, 1.5, 3.0, 6.0, 12.0, 22.5, 22.5]  # 1, 2, 4, ... capped at 30, times 0.75


def test_jitter_stays_within_half_and_full_delay(api, make_client, make_query, clock, tmp_path):
    values = iter([0.0, 1.0, 0.0, 1.0])
    api.queue = [status_answer(503)] * 4
    settings = connection_settings(OptionAdapter.from_dict({'base_url': BASE_URL, 'access_token': ACCESS_TOKEN,
                                                            'rate_limit': 0}))
    client = LogsClient(settings, budget=RateBudget(None, 0), clock=clock.time, sleep=clock.sleep,
                        rand=lambda: next(values))
    client.fetch(make_query(start_time='-1h'))
    assert clock.sleeps == [0.5, 2.0, 2.0, 8.0]


@pytest.mark.parametrize('answer, last_error', [
    (status_answer(503), 'HTTP 503 Service Unavailable'),
    (raiser(CONNECTION_REFUSED), 'ConnectionError (connection refused)'),
    (raiser(READ_TIMEOUT), 'ReadTimeout (timed out)'),
    (raiser(CONNECTION_RESET), 'ConnectionError (connection reset by peer)'),
    (raiser(requests.ConnectTimeout('connect timed out, url: https://itot.example.test/o/api/v3.3/logs?access_token='
                                    + ACCESS_TOKEN)), 'ConnectTimeout (timed out)'),
    (raiser(requests.exceptions.ChunkedEncodingError("Connection broken: IncompleteRead(0 bytes read)")),
     'ChunkedEncodingError (Connection broken: IncompleteRead(0 bytes read))'),
    ((200, {}, '<html>oops</html>'), 'HTTP 200 OK with a malformed JSON answer'),
])
def test_give_up_says_what_how_often_and_the_last_error(api, make_client, make_query, clock, answer, last_error):
    api.queue = [answer] * 6
    client = make_client()
    error = fail(client, make_query(start_time='-1h'), RetryError)
    assert error.message == "Logs request for category 'device' failed after 6 attempts: last error " + last_error
    assert error.attempts == 6 and client.api_requests == 6 and len(clock.sleeps) == 5


def test_no_retries(api, make_client, make_query, clock):
    api.queue = [status_answer(500)]
    error = fail(make_client(max_retries=0), make_query(event_category='admin', start_time='-1h'), RetryError)
    assert error.message == ("Logs request for category 'admin' failed after 1 attempt: last error HTTP 500 Internal "
                             "Server Error")
    assert clock.sleeps == []


# --- answers that are not retried ------------------------------------------------------------------------------

def test_400_quotes_the_api_scrubbed(api, make_client, make_query):
    api.queue = [status_answer(400, {'error': {'message': 'bad   end_time for access_token=%s' % ACCESS_TOKEN}})]
    error = fail(make_client(), make_query(start_time='-1h'), ApiError)
    assert error.message == ("The IT-OT Access API rejected the logs request for category 'device' (HTTP 400 Bad "
                             "Request): bad end_time for access_token=***")
    assert error.status == 400


@pytest.mark.parametrize('status, body, expected', [
    (403, {'message': 'not allowed'}, "(HTTP 403 Forbidden): not allowed"),
    (404, 'Not Found', "(HTTP 404 Not Found): check base_url: Not Found"),
    (302, '', '(HTTP 302 Found): a redirect to https://elsewhere.example/, which is not followed (the token must not '
              'leave base_url); check base_url; the server points to that address instead'),
    (418, {'detail': 'x' * 400}, '(HTTP 418 I\'m a Teapot): ' + 'x' * 300 + '...'),
])
def test_other_statuses_are_errors_without_retry(api, make_client, make_query, status, body, expected):
    headers = {'Location': 'https://elsewhere.example/?access_token=%s' % ACCESS_TOKEN} if status == 302 else {}
    api.queue = [(status, headers, body)]
    client = make_client()
    error = fail(client, make_query(start_time='-1h'), ApiError, shown=['https://elsewhere.example/'])
    assert error.message == "The IT-OT Access API rejected the logs request for category 'device' " + expected
    assert client.api_requests == 1


@pytest.mark.parametrize('status', [301, 302, 307])
@pytest.mark.parametrize('location, target, base_url', [
    ('https://ann:pw-31@API.example.net:8443/o/api/v3.3/logs?access_token=%s&x=1#top' % ACCESS_TOKEN,
     'https://api.example.net:8443/o/api/v3.3/logs', 'https://api.example.net:8443'),
    ('/v2/o/api/v3.3/logs?access_token=%s' % ACCESS_TOKEN, 'https://itot.example.test/v2/o/api/v3.3/logs',
     'https://itot.example.test/v2'),
    ('http://[2001:db8::7]/login?next=/o/api/v3.3/logs&access_token=%s' % ACCESS_TOKEN, 'http://[2001:db8::7]/login',
     None),
], ids=['absolute-with-user-info', 'relative', 'ipv6-login-page'])  # ids: the test names (junit, logs) hold no token
def test_a_redirect_names_its_target_without_query_or_user_info(api, make_client, make_query, status, location, target,
                                                                base_url):
    api.queue = [(status, {'Location': location}, '')]
    error = fail(make_client(), make_query(start_time='-1h'), ApiError, shown=[target] + [base_url] * bool(base_url))
    assert 'a redirect to %s, which is not followed' % target in error.message
    if base_url:
        assert error.message.endswith('; if that is the API, set base_url to %s' % base_url)
    else:
        assert error.message.endswith('; check base_url; the server points to that address instead')
    for secret in (ACCESS_TOKEN, 'access_token', '?', 'x=1', '#', 'ann', 'pw-31'):
        assert secret not in error.message
    assert error.status == status


def test_a_redirect_without_location_says_so(api, make_client, make_query):
    api.queue = [(302, {}, '')]
    assert fail(make_client(), make_query(start_time='-1h'), ApiError).message.endswith(
        '(HTTP 302 Found): a redirect without a usable Location, which is not followed (the token must not leave '
        'base_url); check base_url')


def test_a_redirected_token_request_names_the_target(api, make_client, make_query):
    api.token_answers = [(308, {'Location': 'https://login.example.net/o/oauth/token?client_secret=%s' % CLIENT_SECRET},
                          '')]
    client = make_client(access_token=None, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    error = fail(client, make_query(start_time='-1h'), ApiError,
                 shown=['https://login.example.net/o/oauth/token', 'https://login.example.net'])
    assert error.message == ('Token request failed (HTTP 308 Permanent Redirect): a redirect to '
                             'https://login.example.net/o/oauth/token, which is not followed (the token must not leave '
                             'base_url); if that is the API, set base_url to https://login.example.net')
    assert CLIENT_SECRET not in error.message and client.api_requests == 0


def test_certificate_failure_is_not_retried(api, make_client, make_query):
    api.queue = [raiser(CERT_FAILED)]
    client = make_client()
    error = fail(client, make_query(start_time='-1h'), ApiError)
    assert error.message == "Logs request for category 'device' failed: SSLError (certificate verify failed)"
    assert client.api_requests == 1


def test_secrets_refreshed_later_are_scrubbed_too(api, make_client, make_query):
    api.queue = [status_answer(401), status_answer(400, {'message': 'token issued-1-xxxxxxxxxxxx is odd'})]
    client = make_client(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    assert fail(client, make_query(start_time='-1h'), ApiError).message.endswith('(HTTP 400 Bad Request): token *** '
                                                                                 'is odd')


# --- requests options ------------------------------------------------------------------------------------------

def test_requests_get_timeout_and_verify(rsps, api, make_client, make_query, tmp_path):
    bundle = tmp_path / 'ca.pem'
    bundle.write_text('x')
    make_client(timeout=7, ca_path=str(bundle)).fetch(make_query(start_time='-1h'))
    make_client(validate_certs=False).fetch(make_query(start_time='-1h'))
    kwargs = [call.request.req_kwargs for call in rsps.calls]
    assert [(k['timeout'], k['verify']) for k in kwargs] == [(7.0, str(bundle)), (30.0, False)]


# --- pacing ----------------------------------------------------------------------------------------------------

def test_client_keeps_the_budget_across_clients(api, make_client, make_query, clock):
    settings = connection_settings(OptionAdapter.from_dict({'base_url': BASE_URL, 'access_token': ACCESS_TOKEN,
                                                            'rate_limit': 2}))
    start = clock.now
    for dummy in range(3):  # three tasks in a row, each with its own client
        client = LogsClient(settings, clock=clock.time, sleep=clock.sleep)
        client.fetch(make_query(start_time='-1h'))
        client.fetch(make_query(start_time='-1h'))
        assert client.budget.shared
    assert len(api.bodies) == 6
    assert clock.sleeps == [60.0, 60.0] and clock.now == start + 120


def test_rate_window_sets_the_budget_window(api, make_client, make_query, clock):
    # An endpoint that allows 2 requests per 3 s: the third and fifth request wait 3 s, not a minute.
    settings = connection_settings(OptionAdapter.from_dict({'base_url': BASE_URL, 'access_token': ACCESS_TOKEN,
                                                            'rate_limit': 2, 'rate_window': 3}))
    client = LogsClient(settings, clock=clock.time, sleep=clock.sleep)
    assert client.budget.window == 3.0
    for dummy in range(5):
        client.fetch(make_query(start_time='-1h'))
    assert len(api.bodies) == 5
    assert clock.sleeps == [3.0, 3.0]


def test_slow_requests_are_counted_from_their_answer(api, make_client, make_query, clock, tmp_path):
    def slow(request):
        clock.now += 5
        return 200, {}, '{"data": []}'
    api.queue = [slow, slow]
    client = make_client(budget=RateBudget(str(tmp_path / 'ledger.json'), 1, clock=clock.time, sleep=clock.sleep),
                         rate_limit=1)
    client.fetch(make_query(start_time='-1h'))
    client.fetch(make_query(start_time='-1h'))
    assert clock.sleeps == [60.0]


def test_scrubber_and_retry_after_helpers():
    scrub = Scrubber(['s3cr3t', None, ''])
    assert scrub('x s3cr3t https://a.b/c?access_token=zzz&y=1 client_secret=abc url: /o/x?a') == \
        'x *** <URL> client_secret=*** <URL>'
    assert parse_retry_after(None, 0, 120) is None
    assert parse_retry_after('soon', 0, 120) is None
    assert parse_retry_after('nan', 0, 120) is None
