# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A pagination token refused mid-walk (expired, or used up by a retry): the rest of the window is read again."""

from __future__ import annotations

import itertools
import json

import pytest
import responses

from ansible_collections.opswat.itot.plugins.module_utils import _walk as _client  # MAX_WHOLE_REREADS, MAX_TOKEN_REFUSALS: moved out of _client.py
from ansible_collections.opswat.itot.plugins.module_utils._errors import ApiError, PaginationError
from ansible_collections.opswat.itot.plugins.module_utils._timeparse import parse_entry_time
from ansible_collections.opswat.itot.tests.unit.plugins.itot_fake_api import LOGS_URL

NOW = 1795939200000  # 2026-11-29T08:00:00Z
HOUR = 3600000
EXPIRED = {'error': {'code': 400,
                     'message': 'token: the pagination token has expired (tokens live 1 s); start again without token'}}


def refuse_tokens(rsps, api, refuse):
    """Put ``refuse(n)`` in front of the fake API: ``n`` counts the requests that carry a token; when it says
    True, that request is answered 400 (as the emulator answers an expired pagination token)."""
    count = [0]

    def route(request):
        body = json.loads(request.body)
        if body.get('token'):
            count[0] += 1
            if refuse(count[0]):
                api.bodies.append(body)
                return 400, {}, json.dumps(EXPIRED)
        return api._logs(request)  # pylint: disable=protected-access

    rsps.remove(responses.POST, LOGS_URL)
    rsps.add_callback(responses.POST, LOGS_URL, callback=route)


def times_with_ties(count, start):
    """``count`` times from ``start`` on, in runs of 1, 2, 3, 1, 2, 3, ... equal times, 700 ms apart."""
    times, at, run = [], start, 0
    while len(times) < count:
        times.extend([at] * min(1 + run % 3, count - len(times)))
        at += 700
        run += 1
    return times


def test_times_with_ties_has_runs_split_by_pages():
    times = times_with_ties(95, 0)
    runs = [len(list(group)) for dummy, group in itertools.groupby(times)]
    assert runs[:6] == [1, 2, 3, 1, 2, 3] and len(times) == 95
    # Pages of 10 end inside a run of equal times, read oldest first (after 1 or 2 pages) and newest first (after
    # 3 pages): where a resumed read starts matters.
    assert times[9] == times[10] and times[19] == times[20] and times[-31] == times[-30]


def assert_exactly(entries, expected_seqs):
    keys = [parse_entry_time(entry['timestamp']) for entry in entries]
    assert keys == sorted(keys), 'not oldest first'
    assert sorted(entry['seq'] for entry in entries) == sorted(expected_seqs)


@pytest.mark.parametrize('ends', ['inclusive', 'start_excl', 'end_excl', 'both_excl'])
@pytest.mark.parametrize('order', ['asc', 'desc'])
@pytest.mark.parametrize('reading', ['token406', 'token200', 'token413'])
@pytest.mark.parametrize('refused_at', [1, 2, 3])
def test_a_refused_token_reads_the_rest_from_where_the_entries_end(rsps, api, make_client, make_query, reading, order,
                                                                   ends, refused_at):
    """The token after page ``refused_at`` is refused. For some of these pages (in each order) the page ends inside a
    run of equal times, so the rest must be read from the meeting millisecond on, one millisecond wider, whatever the
    API's ends."""
    api.reading, api.order, api.ends = reading, order, ends
    api.add_many('device', times_with_ties(95, NOW - HOUR + 1000))
    refuse_tokens(rsps, api, lambda n: n == refused_at)
    entries = list(make_client().iter_entries(make_query(start_time='-1h', end_time='now', page_size=10)))
    assert_exactly(entries, range(95))
    refused = next(i for i, body in enumerate(api.bodies) if body.get('token') and i >= refused_at)
    again = api.bodies[refused + 1]
    assert 'token' not in again
    # Only the rest of the window is read again, not the whole window.
    # (The window is sent one millisecond wider on each side.)
    if order == 'asc':
        assert again['start_time'] > NOW - HOUR and again['end_time'] == NOW + 1
    else:
        assert again['start_time'] == NOW - HOUR - 1 and again['end_time'] < NOW
    assert len(api.bodies) <= 10 + 2 + 1


def test_identical_entries_at_the_meeting_point_are_kept_as_often_as_served(rsps, api, make_client, make_query):
    for i in range(8):
        api.add('device', NOW - 50000 + i, seq=i)
    for dummy in range(4):  # four identical entries: the page boundary falls between them
        api.add('device', NOW - 40000, seq=100, device_id='same', device_name='same')
    for i in range(8):
        api.add('device', NOW - 30000 + i, seq=200 + i)
    refuse_tokens(rsps, api, lambda n: n == 1)
    entries = list(make_client().iter_entries(make_query(start_time='-1h', end_time='now', page_size=10)))
    assert_exactly(entries, list(range(8)) + [100] * 4 + list(range(200, 208)))


@pytest.mark.parametrize('order', ['asc', 'desc'])
def test_every_token_refused_still_reads_everything_one_page_per_pass(rsps, api, make_client, make_query, order):
    api.order = order
    api.add_many('device', times_with_ties(60, NOW - HOUR + 1000))
    refuse_tokens(rsps, api, lambda n: True)
    entries = list(make_client().iter_entries(make_query(start_time='-1h', end_time='now', page_size=10)))
    assert_exactly(entries, range(60))


def test_with_age_the_whole_window_is_read_again(rsps, api, make_client, make_query):
    api.order = 'desc'
    api.add_many('device', times_with_ties(30, NOW - 1200 * 1000))
    refuse_tokens(rsps, api, lambda n: n == 1)
    entries = list(make_client().iter_entries(make_query(age=1800, page_size=10)))
    assert_exactly(entries, range(30))
    assert [body.get('token') for body in api.bodies[:4]] == [None, 'p-10', None, 'p-10']
    assert api.bodies[2] == {'event_category': 'device', 'limit': 10, 'age': 1800}


def test_entries_without_order_read_the_whole_window_again_a_bounded_number_of_times(rsps, api, make_client, make_query):
    api.add_many('device', [NOW - 1000] * 25)  # one time only: no place to resume at
    refuse_tokens(rsps, api, lambda n: True)
    with pytest.raises(PaginationError) as err:
        list(make_client().iter_entries(make_query(start_time='-1h', end_time='now', page_size=10)))
    message = err.value.message
    assert message.startswith("The IT-OT Access API refused a pagination token it had handed out for category "
                              "'device', and reading the whole window again did not help (3 times); giving up. ")
    assert 'the pagination token has expired' in message
    assert len(api.bodies) == 2 * (1 + _client.MAX_WHOLE_REREADS)


def test_refusals_are_capped(rsps, api, make_client, make_query, monkeypatch):
    monkeypatch.setattr(_client, 'MAX_TOKEN_REFUSALS', 3)
    api.add_many('device', times_with_ties(60, NOW - HOUR + 1000))
    refuse_tokens(rsps, api, lambda n: True)
    with pytest.raises(PaginationError) as err:
        list(make_client().iter_entries(make_query(start_time='-1h', end_time='now', page_size=10)))
    assert err.value.message.startswith("The IT-OT Access API refused 4 pagination tokens it had handed out for "
                                        "category 'device'; giving up. Last answer: ")


def test_refusals_with_several_events_are_not_taken_for_an_events_refusal(rsps, api, make_client, make_query):
    api.add_many('device', [NOW - 1000] * 25, event='added')
    refuse_tokens(rsps, api, lambda n: True)
    with pytest.raises(PaginationError):
        list(make_client().iter_entries(make_query(events=['added', 'deleted'], start_time='-1h', page_size=10)))
    assert all(body['filter']['events'] == 'added,deleted' for body in api.bodies)


def test_a_400_without_a_token_is_still_an_api_error(rsps, api, make_client, make_query):
    api.queue = [(400, {}, json.dumps({'error': {'code': 400, 'message': 'limit: 0 is not allowed'}}))]
    with pytest.raises(ApiError) as err:
        list(make_client().iter_entries(make_query(start_time='-1h', page_size=10)))
    assert err.value.status == 400 and len(api.bodies) == 1
