# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Servers as the vendor's own log client expects them (API-NOTES.md): HTTP 413 past the last page, the access
token in an ``Authorization: Bearer`` header, windows wider than 24 h."""

from __future__ import annotations

import json

import pytest

from ansible_collections.opswat.itot.plugins.module_utils._client import LogsClient
from ansible_collections.opswat.itot.plugins.module_utils._errors import ApiError, AuthenticationError
from ansible_collections.opswat.itot.plugins.module_utils._options import OptionAdapter, connection_settings
from ansible_collections.opswat.itot.plugins.module_utils._rate_budget import RateBudget
from ansible_collections.opswat.itot.tests.unit.plugins.itot_fake_api import (
    ACCESS_TOKEN,
    BASE_URL,
    CLIENT_ID,
    CLIENT_SECRET,
    status_answer,
)

NOW = 1795939200000  # 2026-11-29T08:00:00Z
HOUR = 3600000
DAY = 86400000


def seqs(entries):
    return [entry['seq'] for entry in entries]


def requests_for(count, page_size):
    """What a walk of ``count`` entries (in one slice) costs when a full last page is followed by a 413."""
    return max(1, count // page_size + 1) if count % page_size == 0 else -(-count // page_size)


# --- 413 past the last page ----------------------------------------------------------------------------------

@pytest.mark.parametrize('order', ['asc', 'desc'])
@pytest.mark.parametrize('count', [400, 350, 100, 99, 0])
def test_413_after_the_last_page_ends_the_window(api, make_client, make_query, order, count):
    api.reading, api.order = 'token413', order
    times = [NOW - HOUR + 1000 + i * 7 for i in range(count)]
    api.add_many('device', times)
    client = make_client()
    result = client.fetch(make_query(start_time='-1h', end_time='now'))
    assert seqs(result.logs) == list(range(count))
    assert result.api_requests == requests_for(count, 100)
    tokens = [body.get('token') for body in api.bodies]
    assert tokens[0] is None and all(tokens[1:])


def test_413_ends_each_slice_and_the_walk_goes_on(api, make_client, make_query):
    api.reading = 'token413'
    start = NOW - 2 * DAY
    first_day = [start + 5000 + i for i in range(200)]
    second_day = [start + DAY + 5000 + i for i in range(100)]
    api.add_many('device', first_day + second_day)
    result = make_client().fetch(make_query(start_time=start, end_time=NOW))
    assert seqs(result.logs) == list(range(300))
    # Each day: its full pages, then the 413; the cuts are padded by 1 ms, so a last slice of 2 ms is left (empty).
    assert result.api_requests == 3 + 2 + 1
    assert [body.get('token') is None for body in api.bodies] == [True, False, False, True, False, True]


def test_413_resume_with_next_token(api, make_client, make_query):
    api.reading = 'token413'
    api.add_many('device', [NOW - HOUR + 1000 + i * 3 for i in range(300)])
    client = make_client()
    seen = []
    token = None
    for dummy in range(10):
        result = client.fetch(make_query(start_time=NOW - HOUR, end_time=NOW, max_results=100, token=token))
        seen.extend(seqs(result.logs))
        token = result.next_token
        if token is None:
            break
    assert seen == list(range(300))


def test_413_without_a_token_is_an_error(api, make_client, make_query):
    api.queue = [status_answer(413, {'error': {'code': 413, 'message': 'No items for current page'}})]
    with pytest.raises(ApiError) as err:
        make_client().fetch(make_query(start_time='-1h'))
    assert err.value.status == 413
    # (The status phrase is Python's: "Request Entity Too Large" up to 3.12, "Content Too Large" from 3.13.)
    assert err.value.message.startswith(
        "The IT-OT Access API rejected the logs request for category 'device' (HTTP 413 ")
    assert err.value.message.endswith(
        "): No items for current page; HTTP 413 ends a walk only as the answer to a pagination token, and this request "
        "carried none")
    assert len(api.bodies) == 1


# --- the access token in a header ----------------------------------------------------------------------------

def test_header_location_sends_no_token_in_the_url(api, make_client, make_query):
    api.reading, api.auth = 'token413', 'header'
    api.add_many('device', [NOW - 1000 * i for i in range(150)])
    result = make_client(access_token_location='header').fetch(make_query(start_time='-1h'))
    assert len(result.logs) == 150
    assert api.url_tokens == [None, None]
    assert api.header_tokens == [ACCESS_TOKEN, ACCESS_TOKEN]


def test_query_location_is_the_default(api, make_client, make_query):
    api.auth = 'query'
    api.add('device', NOW - 1000)
    assert len(make_client().fetch(make_query(start_time='-1h')).logs) == 1
    assert api.url_tokens == [ACCESS_TOKEN] and api.header_tokens == [None]


def test_a_server_that_wants_the_header_refuses_the_query_token(api, make_client, make_query):
    api.auth = 'header'
    with pytest.raises(AuthenticationError) as err:
        make_client().fetch(make_query(start_time='-1h'))
    assert ACCESS_TOKEN not in err.value.message and err.value.status == 401


def test_header_location_with_client_credentials(api, make_client, make_query):
    api.auth = 'header'
    api.add('device', NOW - 1000)
    client = make_client(access_token=None, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                         access_token_location='header')
    assert len(client.fetch(make_query(start_time='-1h')).logs) == 1
    assert api.url_tokens == [None] and api.header_tokens[0].startswith('issued-')


# --- windows wider than 24 h ---------------------------------------------------------------------------------

def sparse_week(api):
    """Five device entries over the last 7 days."""
    return api.add_many('device', [NOW - 6 * DAY - 5, NOW - 4 * DAY, NOW - 2 * DAY + 77, NOW - DAY, NOW - 10])


def widths(api):
    return [body['end_time'] - body['start_time'] for body in api.bodies]


# A week less the two milliseconds each window is sent wider by (its ends may not be served): one week as sent.
WEEK_START = NOW - 7 * DAY + 2


def test_a_week_in_one_request_where_the_tenant_takes_it(api, make_client, make_query):
    sparse_week(api)
    result = make_client(max_window=604800).fetch(make_query(start_time=WEEK_START, end_time='now'))
    assert seqs(result.logs) == [0, 1, 2, 3, 4]
    assert result.api_requests == 1 and widths(api) == [7 * DAY]


def test_a_week_of_exactly_max_window_takes_a_second_request_for_its_padding(api, make_client, make_query):
    sparse_week(api)
    result = make_client(max_window=604800).fetch(make_query(start_time='-7d', end_time='now'))
    assert seqs(result.logs) == [0, 1, 2, 3, 4]
    assert result.api_requests == 2 and widths(api) == [7 * DAY, 3]


def test_default_max_window_is_24_hours(api, make_client, make_query):
    sparse_week(api)
    result = make_client().fetch(make_query(start_time='-7d', end_time='now'))
    assert seqs(result.logs) == [0, 1, 2, 3, 4]
    # Seven days in slices of at most 24 h as sent; each cut is sent 1 ms wider, so an eighth slice of 7 ms is left.
    assert result.api_requests == 8 and max(widths(api)) == DAY


def test_max_window_narrower_than_a_day(api, make_client, make_query):
    api.add_many('device', [NOW - 3 * HOUR + 1, NOW - HOUR - 1, NOW - 1])
    result = make_client(max_window=3600).fetch(make_query(start_time='-3h', end_time='now'))
    assert seqs(result.logs) == [0, 1, 2]
    assert result.api_requests == 4 and max(widths(api)) == HOUR


def warned_client(make_client, clock, tmp_path, **options):
    warnings = []
    values = {'base_url': BASE_URL, 'access_token': ACCESS_TOKEN, 'rate_limit': 0}
    values.update(options)
    settings = connection_settings(OptionAdapter.from_dict(values))
    budget = RateBudget(str(tmp_path / 'ledger.json'), 0, clock=clock.time, sleep=clock.sleep)
    client = LogsClient(settings, budget=budget, clock=clock.time, sleep=clock.sleep, rand=lambda: 0.5,
                        warn=warnings.append)
    return client, warnings


def test_a_tenant_that_refuses_wide_windows_costs_one_request_and_one_warning(api, make_query, make_client, clock,
                                                                              tmp_path):
    sparse_week(api)
    day_slices = make_client().fetch(make_query(start_time=WEEK_START, end_time='now')).api_requests
    api.bodies.clear()
    api.max_window_ms = DAY
    client, warnings = warned_client(make_client, clock, tmp_path, max_window=604800)
    result = client.fetch(make_query(start_time=WEEK_START, end_time='now'))
    assert seqs(result.logs) == [0, 1, 2, 3, 4]
    assert result.api_requests == 1 + day_slices
    assert widths(api)[0] == 7 * DAY and max(widths(api)[1:]) == DAY
    assert len(warnings) == 1
    assert 'this tenant accepts windows of at most 24 h; set max_window: 86400' in warnings[0]
    # The rest of the task (a lookup's next category) reads 24 h slices from the start: no refusal, no warning.
    api.add_many('admin', [NOW - 3 * DAY])
    again = client.fetch(make_query(event_category='admin', start_time=WEEK_START, end_time='now'))
    assert len(again.logs) == 1 and again.api_requests == day_slices and len(warnings) == 1


def test_a_refused_wide_window_after_one_was_accepted_is_an_error(api, make_query, make_client, clock, tmp_path):
    sparse_week(api)
    client, warnings = warned_client(make_client, clock, tmp_path, max_window=604800)
    assert len(client.fetch(make_query(start_time='-7d', end_time='now')).logs) == 5
    api.queue = [status_answer(400, {'error': {'code': 400, 'message': 'filter: bad'}})]
    with pytest.raises(ApiError) as err:
        client.fetch(make_query(start_time='-7d', end_time='now'))
    assert err.value.status == 400 and 'filter: bad' in err.value.message and warnings == []


def test_a_400_not_about_the_window_costs_at_most_one_extra_request(api, make_query, make_client, clock, tmp_path):
    refusal = status_answer(400, {'error': {'code': 400, 'message': 'event_category: not today'}})
    api.queue = [refusal, refusal, refusal]
    client, warnings = warned_client(make_client, clock, tmp_path, max_window=604800)
    with pytest.raises(ApiError) as err:
        client.fetch(make_query(start_time='-7d', end_time='now'))
    assert 'not today' in err.value.message
    assert len(api.bodies) == 2 and len(warnings) == 1


def test_the_request_bodies_carry_no_secret(api, make_client, make_query):
    api.add('device', NOW - 1000)
    make_client(access_token_location='header').fetch(make_query(start_time='-1h'))
    assert ACCESS_TOKEN not in json.dumps(api.bodies)


def test_every_wide_slice_left_is_read_in_24_hour_slices(api, make_query, make_client, clock, tmp_path):
    api.max_window_ms = DAY
    times = [NOW - 10 * DAY + 3, NOW - 8 * DAY, NOW - 5 * DAY, NOW - 3 * DAY - 1, NOW - 2 * DAY, NOW - 1]
    api.add_many('device', times)
    client, warnings = warned_client(make_client, clock, tmp_path, max_window=604800)
    result = client.fetch(make_query(start_time='-10d', end_time='now'))
    assert seqs(result.logs) == list(range(len(times)))
    assert len(warnings) == 1 and max(widths(api)[1:]) == DAY
