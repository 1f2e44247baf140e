# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A large window read in chunks (``max_results`` + ``next_token``, issue 18): every chunk continues where the one
before stopped, so N entries in chunks of any size cost the requests of one walk plus at most one per chunk, and the
chunks together are exactly the window's entries (counted from the fake API's store, not by the client)."""

from __future__ import annotations

import base64
import email.utils
import json

import pytest
import responses

from ansible_collections.opswat.itot.plugins.module_utils._errors import OptionError
from ansible_collections.opswat.itot.plugins.module_utils._timeparse import parse_entry_time
from ansible_collections.opswat.itot.tests.unit.plugins.itot_fake_api import LOGS_URL

NOW = 1795939200000  # 2026-11-29T08:00:00Z
HOUR = 3600000
START = NOW - HOUR
EXPIRED = {'error': {'code': 400, 'message': 'token: the pagination token has expired; start again without token'}}


def times(count):
    """``count`` times within the hour before NOW, in runs of 1, 2, 3 equal times (page boundaries fall in runs)."""
    out, at, run = [], START + 1000, 0
    while len(out) < count:
        out.extend([at] * min(1 + run % 3, count - len(out)))
        at += 4000
        run += 1
    return out


def expected_seqs(api, order):
    """The window's entries as the store holds them, oldest first (equal times in the server's order)."""
    rows = [(at, seq, entry['seq']) for category, at, seq, entry in api.store
            if category == 'device' and START <= at <= NOW]
    rows.sort(key=lambda row: (row[0], row[1] if order == 'asc' else -row[1]))
    return [row[2] for row in rows]


def read_in_chunks(client, make_query, size, page_size=100):
    token, chunks = None, []
    while True:
        result = client.fetch(make_query(start_time=START, end_time=NOW, max_results=size, page_size=page_size,
                                         token=token))
        assert len(result.logs) <= size
        chunks.append(result.logs)
        token = result.next_token
        if token is None:
            return chunks
        assert len(chunks) < 2000, 'did not finish'


def expire_between_chunks(rsps, api):
    """Put an expiry in front of the fake API: a pagination token handed out before the current chunk is answered
    400 (as the emulator answers a token older than --page-token-ttl). ``mark()`` starts a chunk."""
    issued = {}  # (body without token, token) -> chunk that handed it out
    chunk = [0]

    def route(request):
        body = json.loads(request.body)
        plain = json.dumps({k: v for k, v in body.items() if k != 'token'}, sort_keys=True)
        if body.get('token') and issued.get((plain, body['token']), chunk[0]) < chunk[0]:
            api.bodies.append(body)
            return 400, {}, json.dumps(EXPIRED)
        status, headers, text = api._logs(request)  # pylint: disable=protected-access
        token = json.loads(text).get('token') if status in (200, 406) else None
        if token:
            issued.setdefault((plain, token), chunk[0])
        return status, headers, text

    rsps.remove(responses.POST, LOGS_URL)
    rsps.add_callback(responses.POST, LOGS_URL, callback=route)

    def mark():
        chunk[0] += 1
    return mark


READINGS = ['token406', 'token200', 'token413', 'narrow406']


def entries_for(size):
    """800 entries (8 pages), or 250 (3 pages, runs of equal times across their ends) in chunks of one: a fetch per
    entry is what takes the time."""
    return 250 if size == 1 else 800


@pytest.mark.parametrize('size', [500, 100, 10, 1])
@pytest.mark.parametrize('reading', READINGS)
def test_chunks_cost_one_walk_plus_one_request_per_chunk(api, make_client, make_query, reading, size):
    api.reading = reading
    count = entries_for(size)
    api.add_many('device', times(count))
    client = make_client()
    whole = client.fetch(make_query(start_time=START, end_time=NOW))
    assert [entry['seq'] for entry in whole.logs] == expected_seqs(api, 'asc')
    before = len(api.bodies)
    chunks = read_in_chunks(client, make_query, size)
    spent = len(api.bodies) - before
    assert [entry['seq'] for chunk in chunks for entry in chunk] == expected_seqs(api, 'asc')
    assert all(len(chunk) == size for chunk in chunks[:-1])
    # A chunk that ends at a page's end reads the next page too (an entry there may state a time up to a second
    # before the last one read: SLACK_US), once per page.
    assert spent <= whole.api_requests + len(chunks) + -(-count // 100), (spent, whole.api_requests, len(chunks))


@pytest.mark.parametrize('size', [500, 100, 10, 1])
@pytest.mark.parametrize('reading', READINGS)
def test_chunks_of_a_newest_first_server_are_exact(api, make_client, make_query, reading, size):
    """A server that pages newest first gives the oldest entries last: a chunk cannot stop early, but the chunks are
    still exactly the window's entries."""
    api.reading, api.order = reading, 'desc'
    api.add_many('device', times(300))
    chunks = read_in_chunks(make_client(), make_query, size)
    entries = [entry for chunk in chunks for entry in chunk]
    keys = [parse_entry_time(entry['timestamp']) for entry in entries]
    assert keys == sorted(keys)
    assert sorted(entry['seq'] for entry in entries) == sorted(expected_seqs(api, 'desc'))


@pytest.mark.parametrize('size', [500, 100, 10, 1])
@pytest.mark.parametrize('server', ['newest first', 'tail of 406'])
def test_chunks_of_a_server_that_gives_the_oldest_last_cost_about_two_walks(api, make_client, make_query, server,
                                                                            size):
    """Where the oldest entries come last (pages newest first, or 406 pages holding a window's newest entries), the
    first chunk reads its slice whole; its next_token then says where each coming chunk ends, so each reads only
    its own part of the window: two walks plus about one request per chunk, not a walk of the rest per chunk."""
    if server == 'newest first':
        api.order = 'desc'
    else:
        api.reading, api.pick = 'narrow406', 'tail'
    api.add_many('device', times(800))
    client = make_client()
    whole = client.fetch(make_query(start_time=START, end_time=NOW))
    before = len(api.bodies)
    chunks = read_in_chunks(client, make_query, size)
    spent = len(api.bodies) - before
    assert [entry['seq'] for chunk in chunks for entry in chunk] == expected_seqs(api, api.order)
    assert all(len(chunk) == size for chunk in chunks[:-1])
    assert spent <= 2 * whole.api_requests + len(chunks), (spent, whole.api_requests, len(chunks))


@pytest.mark.parametrize('size', [100, 10, 1])
@pytest.mark.parametrize('reading', ['token406', 'token200', 'token413'])
def test_an_expired_page_token_loses_and_doubles_nothing(rsps, api, make_client, make_query, reading, size):
    api.reading = reading
    count = entries_for(size)
    api.add_many('device', times(count))
    mark = expire_between_chunks(rsps, api)
    client = make_client()
    token, entries, chunks = None, [], 0
    while True:
        mark()
        result = client.fetch(make_query(start_time=START, end_time=NOW, max_results=size, token=token))
        entries.extend(result.logs)
        chunks += 1
        token = result.next_token
        if token is None:
            break
    assert [entry['seq'] for entry in entries] == expected_seqs(api, 'asc')
    assert any(body.get('token') for body in api.bodies)  # tokens were followed, and some refused
    assert chunks == -(-count // size)


def test_the_first_chunk_reads_only_the_pages_it_needs(api, make_client, make_query):
    api.add_many('device', times(800))
    first = make_client().fetch(make_query(start_time=START, end_time=NOW, max_results=500))
    # the 500th entry ends page 5; page 6 could hold an entry stating a time up to a second earlier
    assert len(first.logs) == 500 and first.api_requests == 6


def tampered(token, change):
    body = token[len('itot1.'):]
    doc = json.loads(base64.urlsafe_b64decode(body + '=' * (-len(body) % 4)))
    change(doc)
    raw = json.dumps(doc, separators=(',', ':'), sort_keys=True).encode('utf-8')
    return 'itot1.' + base64.urlsafe_b64encode(raw).decode('ascii').rstrip('=')


@pytest.mark.parametrize('change', [
    lambda doc: doc.update(a=doc['a'] + 1),  # the time cursor moved
    lambda doc: doc.update(o=doc['o'] + 1),  # the position within the page moved
    lambda doc: doc.update(t='p-0'),  # another page
])
def test_a_tampered_token_fails_clearly(api, make_client, make_query, change):
    api.add_many('device', times(300))
    client = make_client()
    first = client.fetch(make_query(start_time=START, end_time=NOW, max_results=150))
    bad = tampered(first.next_token, change)
    with pytest.raises(OptionError) as err:
        client.fetch(make_query(start_time=START, end_time=NOW, max_results=150, token=bad))
    assert 'was altered' in err.value.message


def test_a_token_of_another_query_fails_clearly(api, make_client, make_query):
    api.add_many('device', times(300))
    client = make_client()
    first = client.fetch(make_query(start_time=START, end_time=NOW, max_results=150))
    with pytest.raises(OptionError) as err:
        client.fetch(make_query(start_time=START, end_time=NOW, events='added', max_results=150,
                                token=first.next_token))
    assert 'was returned for a different query' in err.value.message


def test_the_token_carries_no_secret(api, make_client, make_query):
    api.add_many('device', times(300))
    first = make_client().fetch(make_query(start_time=START, end_time=NOW, max_results=150))
    body = first.next_token[len('itot1.'):]
    text = base64.urlsafe_b64decode(body + '=' * (-len(body) % 4)).decode('utf-8')
    assert 'tok-' not in text and 'sec-' not in text


@pytest.mark.parametrize('ends', ['inclusive', 'start_excl', 'end_excl', 'both_excl'])
@pytest.mark.parametrize('order', ['asc', 'desc'])
@pytest.mark.parametrize('reading', READINGS)
def test_chunks_of_one_on_a_window_whose_ends_hold_entries(api, make_client, make_query, reading, order, ends):
    """The integration target's edges: entries on both ends of the window and three in its last millisecond, in
    pages of 3, one entry per chunk."""
    api.reading, api.order, api.ends = reading, order, ends
    edge = NOW - 20 * 24 * HOUR
    for at in [edge, edge, edge + 1, edge + 500, edge + 1000, edge + 1000, edge + 1000, edge + 1001]:
        api.add('device', at, seq=len(api.store))
    client = make_client()
    token, entries = None, []
    for dummy in range(20):
        result = client.fetch(make_query(start_time=edge, end_time=edge + 1000, page_size=3, max_results=1,
                                         token=token))
        entries.extend(result.logs)
        token = result.next_token
        if token is None:
            break
    assert sorted(entry['seq'] for entry in entries) == list(range(7))


@pytest.mark.parametrize('size', [25, 7, 1])
@pytest.mark.parametrize('reading', READINGS)
@pytest.mark.parametrize('order', ['asc', 'desc'])
@pytest.mark.parametrize('ends', ['inclusive', 'both_excl'])
def test_chunks_lose_nothing_where_entries_state_whole_seconds(
        api, make_client, make_query, reading, order, ends, size):
    """Every third entry states its time in RFC 1123 (whole seconds: up to 999 ms before the time the server files
    it under, and before entries the server puts ahead of it). A chunk that stopped after the pages holding its
    entries lost such an entry of the next page; a chunk's part of a newest-first window cut at a mark lost one."""
    api.reading, api.order, api.ends = reading, order, ends
    # Chunks of one end at every entry: 100 entries in pages of 30 put as many page ends among them as 280 entries
    # in pages of 100 do for the larger chunks, at a third of the requests.
    count, page_size = (280, 100) if size > 1 else (100, 30)
    for seq in range(count):
        at = START + 1000 + seq * 370
        api.add('device', at, timestamp=email.utils.formatdate(at / 1000, usegmt=True) if seq % 3 == 0 else None,
                seq=seq)
    chunks = read_in_chunks(make_client(), make_query, size, page_size)
    assert sorted(entry['seq'] for chunk in chunks for entry in chunk) == list(range(count))


def adjacent_times(count):
    """``count`` times one or two milliseconds apart (no two equal): a page's boundary millisecond often has an entry
    in the millisecond next to it, the one a narrowed window is sent wider by."""
    return [START + 1000 + index + index // 3 for index in range(count)]


@pytest.mark.parametrize('ends', ['inclusive', 'start_excl', 'end_excl', 'both_excl'])
@pytest.mark.parametrize('size', [None, 100, 10])
def test_narrowing_past_406_pages_is_not_thrown_off_by_padding_entries(api, make_client, make_query, ends, size):
    """A 406 page without a token whose first entry lies in the padding millisecond (the millisecond before the
    narrowed window's own part) is still narrowed past, one request per page (it was split instead, and a chunk
    then read the whole rest of the window)."""
    api.reading, api.ends = 'narrow406', ends
    api.add_many('device', adjacent_times(800))
    pages = -(-800 // 98)  # a page of 100 keeps all but the entries of its last millisecond (at most 2 here)
    client = make_client()
    if size is None:
        whole = client.fetch(make_query(start_time=START, end_time=NOW))
        assert [entry['seq'] for entry in whole.logs] == expected_seqs(api, 'asc')
        assert whole.api_requests <= pages + 3, whole.api_requests  # + two probes for the held end + the last page
        return
    before = len(api.bodies)
    chunks = read_in_chunks(client, make_query, size)
    assert [entry['seq'] for chunk in chunks for entry in chunk] == expected_seqs(api, 'asc')
    assert len(api.bodies) - before <= pages + 3 + len(chunks), (len(api.bodies) - before, len(chunks))
