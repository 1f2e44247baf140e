# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The paging walk: request bodies, the three readings of a 406, slicing, sorting, resuming."""

from __future__ import annotations

import random

import pytest

from ansible_collections.opswat.itot.plugins.module_utils import _paging
from ansible_collections.opswat.itot.plugins.module_utils import _windows as _client  # Span, slice_window: moved out of _client.py
from ansible_collections.opswat.itot.plugins.module_utils._errors import ApiError, PaginationError
from ansible_collections.opswat.itot.plugins.module_utils._timeparse import parse_entry_time
from ansible_collections.opswat.itot.plugins.module_utils._walk import narrowing_advice
from ansible_collections.opswat.itot.tests.unit.plugins.itot_fake_api import ACCESS_TOKEN, status_answer

NOW = 1795939200000  # 2026-11-29T08:00:00Z
HOUR = 3600000
DAY = 86400000


def walk(client, query):
    return list(client.iter_entries(query))


def seqs(entries):
    return [entry['seq'] for entry in entries]


def spread(count, start, length, seed=7, dup_every=5):
    """``count`` times in [start, start + length], a few of them equal."""
    rng = random.Random(seed)
    times = []
    for i in range(count):
        if i and i % dup_every == 0:
            times.append(times[-1])
        else:
            times.append(rng.randint(start, start + length))
    return times


def assert_oldest_first_each_once(entries, expected_count):
    keys = [parse_entry_time(entry['timestamp']) for entry in entries]
    assert keys == sorted(keys)
    assert sorted(seqs(entries)) == list(range(expected_count))


# --- request bodies --------------------------------------------------------------------------------------------

def test_body_of_a_filtered_window(api, make_client, make_query):
    api.add('device', NOW - 10, event='added', agent_type=0, device_name='LAPTOP-1')
    client = make_client()
    entries = walk(client, make_query(events=['added', 'deleted'], agent_types=[0], search='LAPTOP',
                                      start_time=NOW - HOUR, end_time='now', page_size=50))
    assert len(entries) == 1
    # The window is sent one millisecond wider on each side: a server that does not serve its ends still does.
    assert api.bodies == [{'event_category': 'device', 'limit': 50, 'start_time': NOW - HOUR - 1, 'end_time': NOW + 1,
                           'filter': {'events': 'added,deleted', 'agent_types': [0], 'search': 'LAPTOP'}}]
    assert api.url_tokens == [ACCESS_TOKEN]
    assert client.api_requests == 1


def test_one_event_is_a_plain_string(api, make_client, make_query):
    walk(make_client(), make_query(event_category='webhook', events=['deleted'], age=60))
    assert api.bodies == [{'event_category': 'webhook', 'limit': 100, 'age': 60, 'filter': {'events': 'deleted'}}]


def test_device_report_sends_search_only(api, make_client, make_query):
    walk(make_client(), make_query(event_category='device_report', search='dev-1'))
    assert api.bodies == [{'event_category': 'device_report', 'limit': 100, 'filter': {'search': 'dev-1'}}]


def test_no_time_option_leaves_the_window_to_the_api(api, make_client, make_query):
    api.add('admin', NOW - HOUR + 5, event='login')
    api.add('admin', NOW - HOUR - 5, event='login')
    result = make_client().fetch(make_query(event_category='admin'))
    assert api.bodies == [{'event_category': 'admin', 'limit': 100}]
    assert len(result.logs) == 1 and result.as_dict()['count'] == 1
    assert result.window is None and 'window' not in result.as_dict()


# --- readings of the API's paging ------------------------------------------------------------------------------

@pytest.mark.parametrize('order', ['asc', 'desc'])
@pytest.mark.parametrize('reading', ['token406', 'token200', 'token413', 'narrow406'])
def test_every_entry_once_oldest_first(api, make_client, make_query, reading, order):
    api.reading, api.order = reading, order
    api.add_many('device', spread(137, NOW - 2 * HOUR, HOUR))
    api.add_many('admin', spread(20, NOW - 2 * HOUR, HOUR))  # another category: never returned
    entries = walk(make_client(), make_query(start_time='-2h', end_time='-1h', page_size=10))
    assert_oldest_first_each_once(entries, 137)


@pytest.mark.parametrize('reading', ['token406', 'token200', 'token413', 'narrow406'])
def test_every_entry_once_with_age_only(api, make_client, make_query, reading):
    api.reading, api.order = reading, 'desc'
    api.add_many('device', spread(64, NOW - 1800 * 1000, 1800 * 1000))
    api.add('device', NOW - 2 * HOUR, seq=999)  # outside the age window
    entries = walk(make_client(), make_query(age=1800, page_size=10))
    assert_oldest_first_each_once(entries, 64)


def test_token_pages_resend_the_same_body(api, make_client, make_query):
    api.add_many('device', spread(25, NOW - HOUR, HOUR))
    walk(make_client(), make_query(start_time='-1h', page_size=10, search='host'))
    assert [body.get('token') for body in api.bodies] == [None, 'p-10', 'p-20']
    first = dict(api.bodies[0])
    for body in api.bodies[1:]:
        assert {key: value for key, value in body.items() if key != 'token'} == first


def test_narrow406_splits_the_window_when_the_page_is_from_neither_end(api, make_client, make_query):
    api.reading, api.pick = 'narrow406', 'scattered'
    api.add_many('device', spread(30, NOW - HOUR, HOUR))
    entries = walk(make_client(), make_query(start_time='-1h', page_size=10))
    assert_oldest_first_each_once(entries, 30)
    assert len(api.bodies) > 3 and all('token' not in body for body in api.bodies)
    first = api.bodies[0]
    assert (first['start_time'], first['end_time']) == (NOW - HOUR - 1, NOW + 1)
    # The first page is from neither end (both sides of it hold more): one probe on each side, then halves.
    halves = api.bodies[3]['end_time'], api.bodies[-1]['start_time']
    assert NOW - HOUR < halves[0] < NOW and halves[1] < NOW
    # The cut halves the window's own part [NOW - HOUR, NOW]: the left half is sent up to the cut (its padding).
    assert halves[0] - (NOW - HOUR) == (HOUR + 1) // 2


@pytest.mark.parametrize('ends', ['inclusive', 'start_excl', 'end_excl', 'both_excl'])
@pytest.mark.parametrize('order', ['asc', 'desc'])
@pytest.mark.parametrize('pick', ['head', 'tail'])
def test_narrow406_narrows_past_each_page(api, make_client, make_query, pick, order, ends):
    api.reading, api.pick, api.order, api.ends = 'narrow406', pick, order, ends
    api.add_many('device', spread(300, NOW - HOUR + 1000, HOUR - 2000))  # pairs of equal times: pages end inside one
    entries = walk(make_client(), make_query(start_time='-1h', page_size=20))
    assert_oldest_first_each_once(entries, 300)
    assert all('token' not in body for body in api.bodies)
    # Every page but the boundary millisecond's entries is kept: at least 18 new entries per request, plus the
    # requests that find out which end a page holds (one for "head", two for "tail") and the last page.
    assert len(api.bodies) <= 300 // 18 + (2 if pick == 'head' else 3)


def test_narrow406_keeps_every_entry_of_a_crowded_boundary_millisecond(api, make_client, make_query):
    api.reading, api.order = 'narrow406', 'desc'
    times = [NOW - 50000 + i * 1000 for i in range(14)] + [NOW - 20000] * 9 + [NOW - 10000 + i for i in range(12)]
    api.add_many('device', times)
    entries = walk(make_client(), make_query(start_time='-1h', page_size=10))
    assert_oldest_first_each_once(entries, len(times))


def test_narrow406_splits_when_a_page_has_one_millisecond_or_unparseable_times(api, make_client, make_query):
    api.reading = 'narrow406'
    api.add_many('device', [NOW - 7000] * 5 + [NOW - 3000] * 5)
    entries = walk(make_client(), make_query(start_time='-1h', page_size=5))
    assert_oldest_first_each_once(entries, 10)
    # A half of the window's own part [NOW - HOUR, NOW] (sent from its padding to the cut), not a narrowed window.
    assert api.bodies[1]['end_time'] - api.bodies[1]['start_time'] == (HOUR + 1) // 2 + 1


def test_narrow406_is_not_recursive(api, make_client, make_query):
    # 1,100 narrowed requests in a row: deeper than Python's recursion limit if each one nested.
    api.reading, api.order = 'narrow406', 'desc'
    api.add_many('device', [NOW - HOUR + 1000 + i * 3 for i in range(2200)])
    entries = walk(make_client(), make_query(start_time='-1h', page_size=3))
    assert_oldest_first_each_once(entries, 2200)
    assert len(api.bodies) == 1101


def test_narrow406_with_age_resolves_the_window_first(api, make_client, make_query):
    api.reading = 'narrow406'
    api.add_many('device', spread(30, NOW - 600000, 600000))
    entries = walk(make_client(), make_query(age=600, page_size=10))
    assert_oldest_first_each_once(entries, 30)
    assert api.bodies[0] == {'event_category': 'device', 'limit': 10, 'age': 600}
    assert api.bodies[1]['start_time'] == NOW - 600000 and 'age' not in api.bodies[1]
    assert api.bodies[-1]['end_time'] == NOW


def test_narrow406_gives_up_at_one_millisecond_and_names_it(api, make_client, make_query):
    api.reading = 'narrow406'
    api.add_many('device', [NOW - 5000] * 11)
    with pytest.raises(PaginationError) as err:
        walk(make_client(), make_query(start_time='-1h', page_size=10))
    message = err.value.message
    assert message == (
        "The IT-OT Access API answered HTTP 406 without a pagination token for category 'device' even for the single "
        "millisecond 2026-11-29T07:59:55.000Z (epoch ms %d): it holds more than page_size=10 entries at that time and "
        "gives no way to read past the 10 it returned, so at least one entry of that millisecond cannot be read; "
        "raise page_size (now 10) to its maximum of 100, or narrow the query with events, agent_types or search so "
        "that fewer entries share that millisecond" % (NOW - 5000))
    assert all(body['end_time'] - body['start_time'] >= 0 for body in api.bodies)
    # Halving an hour down to one millisecond: 22 levels of two requests (the quiet half and the crowded one).
    assert len(api.bodies) <= 2 * 22 + 4


def test_narrow406_at_the_largest_page_size_advises_a_narrower_query(api, make_client, make_query):
    api.reading = 'narrow406'
    api.add_many('admin', [NOW - 5000] * 101)
    with pytest.raises(PaginationError) as err:
        walk(make_client(), make_query(event_category='admin', start_time='-1h', page_size=100))
    assert err.value.message.endswith('page_size is at its maximum of 100 already: narrow the query with events so '
                                      'that fewer entries share that millisecond; or report it to OPSWAT, since the '
                                      'API gives no way to read more than a page of entries of one millisecond')


@pytest.mark.parametrize('page_size', [20, 100])
def test_narrow406_advice_follows_page_size_and_names_the_real_span(api, make_client, make_query, page_size):
    # What the user can change: page_size only while it is below the maximum; the filters the category takes; and
    # the span is the single millisecond the walk gave up at (not a second, not the query's window).
    api.reading = 'narrow406'
    api.add_many('device', spread(50, NOW - 600000, 600000) + [NOW - 5412] * (page_size + 1))
    with pytest.raises(PaginationError) as err:
        walk(make_client(), make_query(start_time='-1h', page_size=page_size))
    message = err.value.message
    assert 'the single millisecond 2026-11-29T07:59:54.588Z (epoch ms %d)' % (NOW - 5412) in message
    assert 'second' not in message.replace('millisecond', '')
    assert ('raise page_size (now 20) to its maximum of 100' in message) is (page_size == 20)
    assert ('page_size is at its maximum of 100 already' in message) is (page_size == 100)
    assert 'narrow the query with events, agent_types or search so that fewer entries share that millisecond' in message
    assert ('report it to OPSWAT' in message) is (page_size == 100)


def test_narrowing_advice_names_the_filters_each_category_takes():
    assert narrowing_advice('device').startswith('narrow the query with events, agent_types or search so')
    assert narrowing_advice('webhook').startswith('narrow the query with events or search so')
    assert narrowing_advice('admin').startswith('narrow the query with events so')
    assert narrowing_advice('device_report').startswith('narrow the query with search so')


def test_narrow406_reads_two_crowded_adjacent_milliseconds(api, make_client, make_query):
    # 60 entries at T and 60 at T + 1 ms: more than a page in the window, less than a page in each millisecond.
    api.reading = 'narrow406'
    api.add_many('device', [NOW - 5000] * 60 + [NOW - 4999] * 60)
    entries = walk(make_client(), make_query(start_time='-1h', page_size=100))
    assert_oldest_first_each_once(entries, 120)


def test_repeated_token_stops_and_the_repeated_page_is_not_doubled(api, make_client, make_query):
    api.reading = 'repeat'
    api.add_many('device', [NOW - 1000 * i for i in range(12)])
    entries = walk(make_client(), make_query(start_time='-1h', page_size=5))
    assert len(api.bodies) == 2 and api.bodies[1]['token'] == 'p-0'
    assert len(entries) == 5 and len(set(seqs(entries))) == 5


def test_200_with_a_token_is_followed_only_while_pages_are_full(api, make_client, make_query):
    page = [{'timestamp': NOW - 10 * i, 'seq': i} for i in range(3)]
    api.queue = [status_answer(200, {'data': page, 'token': 'a'}),
                 status_answer(200, {'data': page[:2], 'token': 'b'})]
    entries = walk(make_client(), make_query(start_time='-1h', page_size=3))
    assert len(api.bodies) == 2 and api.bodies[1]['token'] == 'a'
    assert len(entries) == 5


@pytest.mark.parametrize('answer', [
    {'data': [], 'token': 'more'},
    {'data': [{'timestamp': NOW, 'seq': 0}, {'timestamp': NOW, 'seq': 1}], 'token': ''},
    {'data': [{'timestamp': NOW, 'seq': 0}, {'timestamp': NOW, 'seq': 1}], 'token': None},
    {'data': [{'timestamp': NOW, 'seq': 0}, {'timestamp': NOW, 'seq': 1}]},
    {'token': 'x'},
])
def test_walk_stops_on_empty_page_or_missing_token(api, make_client, make_query, answer):
    api.queue = [status_answer(200, answer)]
    entries = walk(make_client(), make_query(start_time='-1h', page_size=2))
    assert len(api.bodies) == 1 and len(entries) == len(answer.get('data', []))


def test_406_with_a_token_and_no_data_is_followed(api, make_client, make_query):
    api.queue = [status_answer(406, {'data': [], 'token': 't1'}),
                 status_answer(200, {'data': [{'timestamp': NOW, 'seq': 0}], 'token': ''})]
    assert len(walk(make_client(), make_query(start_time='-1h'))) == 1


def test_page_cap(api, make_client, make_query, monkeypatch):
    monkeypatch.setattr(_paging, 'MAX_PAGES_PER_WINDOW', 3)
    api.add_many('device', [NOW - i for i in range(50)])
    with pytest.raises(PaginationError) as err:
        walk(make_client(), make_query(start_time='-1h', page_size=5))
    assert 'kept offering more pages' in err.value.message and len(api.bodies) == 3


# --- events ----------------------------------------------------------------------------------------------------

def test_events_refused_as_one_string_are_read_one_by_one(api, make_client, make_query):
    api.multi_events = 'single'
    api.order = 'desc'
    for i in range(10):
        api.add('device', NOW - 1000 * i, event=('added', 'deleted', 'unseen')[i % 3], seq=i)
    client = make_client()
    result = client.fetch(make_query(events=['added', 'deleted'], start_time='-1h', page_size=2))
    assert seqs(result.logs) == [9, 7, 6, 4, 3, 1, 0]
    assert api.bodies[0]['filter']['events'] == 'added,deleted'
    assert {body['filter']['events'] for body in api.bodies[1:]} == {'added', 'deleted'}
    assert result.api_requests == len(api.bodies)


def test_a_400_on_one_event_is_an_error(api, make_client, make_query):
    api.queue = [status_answer(400, {'message': 'bad filter'})]
    with pytest.raises(ApiError) as err:
        walk(make_client(), make_query(events=['added'], start_time='-1h'))
    assert err.value.message == ("The IT-OT Access API rejected the logs request for category 'device' "
                                 "(HTTP 400 Bad Request): bad filter")
    assert len(api.bodies) == 1


def test_a_400_in_per_event_mode_is_an_error(api, make_client, make_query):
    api.queue = [status_answer(400, {'error': 'no lists'}), status_answer(400, {'error': 'still no'})]
    with pytest.raises(ApiError) as err:
        walk(make_client(), make_query(events=['added', 'deleted'], start_time='-1h'))
    assert err.value.message.endswith('(HTTP 400 Bad Request): still no')
    assert len(api.bodies) == 2


# --- time ------------------------------------------------------------------------------------------------------

def test_sorting_by_every_timestamp_form_and_unparseable_last(api, make_client, make_query):
    base = NOW - HOUR
    api.order = 'desc'
    api.add('device', base + 5000, timestamp='Sun, 29 Nov 2026 07:00:05 GMT', seq=5)
    api.add('device', base + 4000, timestamp=str(base + 4000), seq=4)
    api.add('device', base + 3000, timestamp=(base + 3000) // 1000, seq=3)
    api.add('device', base + 2500, timestamp='not a time', seq=90)
    api.add('device', base + 2000, timestamp='2026-11-29T08:00:02+01:00', seq=2)
    api.add('device', base + 1500, seq=91).pop('timestamp')
    api.add('device', base + 1000, timestamp='2026-11-29T07:00:01.000Z', seq=1)
    entries = walk(make_client(), make_query(start_time=base, end_time=base + 10000))
    assert seqs(entries) == [1, 2, 3, 4, 5, 90, 91]  # unparseable ones last, in the API's order


def test_sort_is_stable_for_equal_times(api, make_client, make_query):
    api.order = 'desc'  # equal times come in reverse insertion order from this server
    api.add_many('device', [NOW - 2000, NOW - 1000, NOW - 1000, NOW - 1000, NOW - 3000])
    entries = walk(make_client(), make_query(start_time='-1h', page_size=2))
    assert seqs(entries) == [4, 0, 3, 2, 1]


def test_identical_entries_are_both_kept(api, make_client, make_query):
    api.add('device', NOW - 1000, event='added', device_id='x', seq=1)
    api.add('device', NOW - 1000, event='added', device_id='x', seq=1)
    assert len(walk(make_client(), make_query(start_time='-1h'))) == 2


def test_entries_that_are_not_objects_are_kept(api, make_client, make_query):
    api.queue = [status_answer(200, {'data': ['odd', {'timestamp': NOW, 'seq': 0}]})]
    assert walk(make_client(), make_query(start_time='-1h')) == [{'timestamp': NOW, 'seq': 0}, 'odd']


# --- slices ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize('ends', ['inclusive', 'start_excl', 'end_excl', 'both_excl'])
def test_long_windows_are_read_in_slices_without_loss_or_doubles(api, make_client, make_query, ends):
    api.ends = ends
    start = NOW - 3 * DAY - HOUR
    cuts = [start + DAY, start + 2 * DAY - 1, start + 3 * DAY - 2]
    times = []
    for cut in cuts:
        times.extend([cut - 2, cut - 1, cut - 1, cut, cut + 1])
    times.extend(spread(40, start + 1, 3 * DAY + HOUR - 2))
    api.order = 'desc'
    api.add_many('device', times)
    entries = walk(make_client(), make_query(start_time=start, end_time=NOW, page_size=7))
    assert_oldest_first_each_once(entries, len(times))
    windows = sorted({(body['start_time'], body['end_time']) for body in api.bodies})
    # Sent one millisecond wider at the window's ends and at every cut, each slice at most 24 h as sent.
    assert windows == [(start - 1, start - 1 + DAY), (start + DAY - 2, start + 2 * DAY - 2),
                       (start + 2 * DAY - 3, start + 3 * DAY - 3), (start + 3 * DAY - 4, NOW + 1)]
    assert all(end - begin <= DAY for begin, end in windows)


def test_a_window_of_24_hours_less_its_padding_is_one_request(api, make_client, make_query):
    result = make_client().fetch(make_query(start_time=NOW - DAY + 2, end_time='now'))
    assert [(b['start_time'], b['end_time']) for b in api.bodies] == [(NOW - DAY + 1, NOW + 1)]
    assert result.window == (NOW - DAY + 2, NOW)


def test_a_window_of_exactly_24_hours_takes_a_second_request_for_its_padding(api, make_client, make_query):
    api.ends = 'both_excl'
    api.add_many('device', [NOW - DAY, NOW - DAY + 1, NOW - 2, NOW - 1, NOW])
    result = make_client().fetch(make_query(start_time='-1d', end_time='now'))
    assert [(b['start_time'], b['end_time']) for b in api.bodies] == [(NOW - DAY - 1, NOW - 1), (NOW - 2, NOW + 1)]
    assert seqs(result.logs) == [0, 1, 2, 3, 4] and result.window == (NOW - DAY, NOW)


def test_slices_are_read_lazily(api, make_client, make_query):
    api.add_many('device', [NOW - 7 * DAY + 10, NOW - 7 * DAY + 20])
    iterator = make_client().iter_entries(make_query(start_time='-7d', page_size=1))
    assert next(iterator)['seq'] == 0
    assert len({(b['start_time'], b['end_time']) for b in api.bodies}) == 1


def test_slice_window_lengths():
    spans = _client.slice_window(_client.Span(0, 3 * DAY))
    assert [(s.start, s.end, s.pad_lo, s.pad_hi) for s in spans] == [
        (0, DAY, False, True), (DAY - 1, 2 * DAY - 1, True, True), (2 * DAY - 2, 3 * DAY - 2, True, True),
        (3 * DAY - 3, 3 * DAY, True, False)]
    assert _client.slice_window(_client.Span(0, 2 * DAY - 1)) == [
        _client.Span(0, DAY, False, True), _client.Span(DAY - 1, 2 * DAY - 1, True, False)]
    assert _client.slice_window(_client.Span(5, 5)) == [_client.Span(5, 5)]


# --- max_results and next_token --------------------------------------------------------------------------------

def read_in_chunks(client, make_query, size, **options):
    token, chunks = None, []
    for dummy in range(500):
        result = client.fetch(make_query(max_results=size, token=token, **options))
        assert len(result.logs) <= size
        assert result.truncated == (result.next_token is not None)
        chunks.append(result.logs)
        token = result.next_token
        if token is None:
            return chunks
    raise AssertionError('did not finish')


@pytest.mark.parametrize('order', ['asc', 'desc'])
@pytest.mark.parametrize('reading', ['token406', 'token200', 'token413', 'narrow406'])
@pytest.mark.parametrize('size', [1, 4, 13])
def test_chunks_resume_exactly(api, make_client, make_query, reading, order, size):
    api.reading, api.order = reading, order
    start = NOW - 2 * DAY - HOUR
    times = spread(40, start, 2 * DAY + HOUR, dup_every=3) + [start + DAY] * 2 + [start + DAY - 1] * 2
    api.add_many('device', times)
    api.add('device', start + 100, timestamp='garbled', seq=len(times))
    api.add('device', start + 200, timestamp='garbled 2', seq=len(times) + 1)
    api.add('device', start + 300, timestamp='garbled 3', seq=len(times) + 2)
    api.add('device', start + DAY + 100, timestamp='garbled too', seq=len(times) + 3)
    client = make_client()
    options = {'start_time': start, 'end_time': 'now', 'page_size': 5}
    full = walk(client, make_query(**options))
    assert sorted(seqs(full)) == list(range(len(times) + 4))
    chunks = read_in_chunks(client, make_query, size, **options)
    assert [entry for chunk in chunks for entry in chunk] == full


@pytest.mark.parametrize('size', [1, 3, 7])
def test_chunks_resume_exactly_with_age(api, make_client, make_query, size):
    api.order = 'desc'
    api.add_many('device', spread(20, NOW - 3000 * 1000, 3000 * 1000, dup_every=2))
    client = make_client()
    full = walk(client, make_query(age=3000, page_size=4))
    chunks = read_in_chunks(client, make_query, size, age=3000, page_size=4)
    assert [entry for chunk in chunks for entry in chunk] == full
    later = client.fetch(make_query(age=3000, max_results=size, token=None))
    assert later.window is None


def test_chunks_with_age_keep_entries_newer_than_our_clock(api, make_client, make_query):
    # The server's clock is 20 s ahead of ours: its age window holds entries "from our future".
    api.add_many('device', [NOW - 30000, NOW - 15000, NOW - 10000, NOW - 5000])
    client = make_client()
    chunks = read_in_chunks(client, make_query, 1, now_ms=NOW - 20000, age=60)
    assert [entry['seq'] for chunk in chunks for entry in chunk] == [0, 1, 2, 3]


def test_no_next_token_when_max_results_meets_the_end(api, make_client, make_query):
    api.add_many('device', [NOW - 3000, NOW - 2000, NOW - 1000])
    result = make_client().fetch(make_query(start_time='-1h', max_results=3))
    assert len(result.logs) == 3 and result.next_token is None and not result.truncated
    assert result.as_dict()['window'] == {'start_time': NOW - HOUR, 'end_time': NOW}


def test_next_token_at_the_end_of_a_slice_points_to_the_next(api, make_client, make_query):
    api.add_many('device', [NOW - 2 * DAY + 10, NOW - 2 * DAY + 20, NOW - 10])
    client = make_client()
    first = client.fetch(make_query(start_time='-2d', max_results=2))
    assert seqs(first.logs) == [0, 1] and first.next_token
    second = client.fetch(make_query(start_time='-2d', max_results=2, token=first.next_token))
    assert seqs(second.logs) == [2] and second.next_token is None
    assert second.window[1] == NOW and second.window[0] == NOW - DAY - 1


def test_resumed_run_keeps_the_first_window_whatever_now_is(api, make_client, make_query):
    api.add_many('device', [NOW - 30 * 60000, NOW - 20 * 60000, NOW - 10 * 60000])
    client = make_client()
    first = client.fetch(make_query(start_time='-1h', max_results=1))
    later_now = NOW + 5 * HOUR
    api.add('device', NOW + 60000, seq=3)  # after the first run's window: not part of this read
    second = client.fetch(make_query(now_ms=later_now, start_time='-1h', token=first.next_token))
    assert seqs(second.logs) == [1, 2]
    assert second.window == (NOW - 30 * 60000, NOW)


def test_api_requests_counts_this_fetch(api, make_client, make_query):
    api.add_many('device', [NOW - i * 1000 for i in range(25)])
    client = make_client()
    assert client.fetch(make_query(start_time='-1h', page_size=10)).api_requests == 3
    assert client.fetch(make_query(start_time='-1h', page_size=50)).api_requests == 1
    assert client.api_requests == 4
