# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The client's bounds on a hostile server's answers (issue 13): the whole request's time, the size of an answer,
JSON nested too deep (over a real socket, a tiny local server, where the socket is the point; else the fake API);
pages that repeat, bring too little or never end; entries that are not objects."""

from __future__ import annotations

import http.server
import json
import threading
import time

import pytest

from ansible_collections.opswat.itot.plugins.module_utils import _http, _limits, _paging
from ansible_collections.opswat.itot.plugins.module_utils._answer import CHUNK_BYTES, TooDeep, parse_json
from ansible_collections.opswat.itot.plugins.module_utils._client import LogsClient
from ansible_collections.opswat.itot.plugins.module_utils._errors import ApiError, ItotError, PaginationError, RetryError
from ansible_collections.opswat.itot.plugins.module_utils._options import OptionAdapter, connection_settings
from ansible_collections.opswat.itot.plugins.module_utils._rate_budget import RateBudget
from ansible_collections.opswat.itot.plugins.module_utils._vocabulary import (
    MAX_ANSWER_BYTES,
    MAX_ENTRIES_PER_WINDOW,
    PAGE_SLACK,
)
from ansible_collections.opswat.itot.tests.unit.plugins.itot_fake_api import ACCESS_TOKEN, iso_ms, status_answer

NOW = 1795939200000


def assert_clean(message):
    assert ACCESS_TOKEN not in message and 'http://' not in message and '127.0.0.1' not in message


# --- a tiny local server --------------------------------------------------------------------------------------

class Hostile(http.server.BaseHTTPRequestHandler):
    """Answers every POST with ``server.answer`` bytes: at once, or its first ``server.drip_bytes`` one every
    ``server.drip`` seconds and then the rest, with a true Content-Length (or none, ``server.length = False``)."""

    protocol_version = 'HTTP/1.1'

    def do_POST(self):  # noqa: N802 (the stdlib's name)
        self.rfile.read(int(self.headers.get('Content-Length') or 0))
        body = self.server.answer
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        if self.server.length:
            self.send_header('Content-Length', str(len(body)))
        else:
            self.send_header('Connection', 'close')
        self.end_headers()
        try:
            dripped = self.server.drip_bytes if self.server.drip else 0
            for index in range(dripped):
                self.wfile.write(body[index:index + 1])
                self.wfile.flush()
                time.sleep(self.server.drip)
            for start in range(dripped, len(body), CHUNK_BYTES):
                self.wfile.write(body[start:start + CHUNK_BYTES])
        except OSError:
            pass  # the client hung up
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Hostile)
    httpd.daemon_threads = True
    httpd.answer, httpd.drip, httpd.drip_bytes, httpd.length = b'{"data": [], "token": ""}', 0.0, 0, True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def local_client(httpd, **options):
    values = {'base_url': 'http://127.0.0.1:%d' % httpd.server_address[1], 'access_token': ACCESS_TOKEN,
              'rate_limit': 0}
    values.update(options)
    return LogsClient(connection_settings(OptionAdapter.from_dict(values)), budget=RateBudget(None, 0))


def page(count):
    return {'data': [{'timestamp': iso_ms(NOW - 1000 - i), 'seq': i} for i in range(count)], 'token': ''}


# --- timeout: the whole request ---------------------------------------------------------------------------------

def test_a_dripping_answer_ends_at_the_timeout_not_at_its_last_byte(server, make_query):
    # Each byte comes well within the timeout, so a timeout per socket read never fires: the answer takes 6 s.
    server.answer, server.drip, server.drip_bytes = json.dumps(page(20)).encode(), 0.3, 20
    client = local_client(server, timeout=1.5, max_retries=0)
    started = time.monotonic()
    with pytest.raises(RetryError) as err:
        client.fetch(make_query(start_time='-1h'))
    took = time.monotonic() - started
    assert 1.4 < took < 4, took
    assert err.value.message == ("Logs request for category 'device' failed after 1 attempt: last error no whole answer "
                                 "within timeout=1.5 s (the time one request may take, connect to last byte)")
    assert_clean(err.value.message)


def test_an_answer_in_time_is_read_whole_over_a_socket(server, make_query):
    server.answer = json.dumps(page(100)).encode()
    result = local_client(server, timeout=5).fetch(make_query(start_time='-1h', page_size=100))
    assert len(result.logs) == 100


def test_a_slow_but_timely_drip_is_read(server, make_query):
    server.answer, server.drip, server.drip_bytes = json.dumps(page(1)).encode(), 0.002, 60
    result = local_client(server, timeout=10).fetch(make_query(start_time='-1h'))
    assert len(result.logs) == 1


# --- the size of an answer -------------------------------------------------------------------------------------

def test_the_cap_is_twenty_mib():
    assert MAX_ANSWER_BYTES == 20 * 1024 * 1024


@pytest.mark.parametrize('length', [True, False])
def test_an_answer_above_the_cap_is_refused_unread(server, make_query, monkeypatch, length):
    # Without a Content-Length the cap stops the read as the bytes pass it; with one, before reading any.
    monkeypatch.setattr(_http, 'MAX_ANSWER_BYTES', 200000)
    doc = page(1)
    doc['padding'] = 'x' * 3000000
    server.answer, server.length = json.dumps(doc).encode(), length
    with pytest.raises(ApiError) as err:
        local_client(server).fetch(make_query(start_time='-1h'))
    said = ' (its Content-Length says %d bytes)' % len(server.answer) if length else ''
    assert err.value.message == ("Logs request for category 'device' failed: the answer is larger than 200000 bytes%s, "
                                 "the most the client reads of one answer (MAX_ANSWER_BYTES); refused" % said)
    assert_clean(err.value.message)


def test_an_answer_above_the_cap_is_refused_on_the_fake_api(api, make_client, make_query, monkeypatch):
    monkeypatch.setattr(_http, 'MAX_ANSWER_BYTES', 1 << 20)
    api.queue = [status_answer(200, {'data': [], 'token': '', 'padding': 'x' * (1 << 20)})]
    with pytest.raises(ApiError, match=r"larger than 1 MiB.*\(MAX_ANSWER_BYTES\); refused$"):
        make_client().fetch(make_query(start_time='-1h'))
    assert len(api.bodies) == 1  # not retried: the same answer would come again


def test_an_answer_at_the_cap_is_read(api, make_client, make_query, monkeypatch):
    body = json.dumps({'data': [{'timestamp': NOW - 1000, 'seq': 0}], 'token': ''})
    monkeypatch.setattr(_http, 'MAX_ANSWER_BYTES', len(body))
    api.queue = [(200, {}, body)]
    assert len(make_client().fetch(make_query(start_time='-1h')).logs) == 1


# --- JSON nested too deep --------------------------------------------------------------------------------------

DEEP = '{"data": [], "token": "", "deep": ' + '[' * 200000 + ']' * 200000 + '}'


def test_deep_json_is_a_malformed_answer_not_a_recursion_error():
    with pytest.raises(TooDeep):
        parse_json(DEEP)
    with pytest.raises(ValueError):
        parse_json(DEEP.encode())


def test_deep_json_is_retried_then_named(api, make_client, make_query, clock):
    api.queue = [(200, {}, DEEP)] * 3
    with pytest.raises(RetryError) as err:
        make_client(max_retries=2).fetch(make_query(event_category='admin', start_time='-1h'))
    assert err.value.message == ("Logs request for category 'admin' failed after 3 attempts: last error HTTP 200 OK "
                                 "with a malformed JSON answer (JSON nested too deep to parse)")
    assert len(clock.sleeps) == 2


def test_deep_json_then_a_good_answer(api, make_client, make_query):
    api.add('device', NOW - 1000)
    api.queue = [(406, {}, DEEP)]
    assert len(make_client().fetch(make_query(start_time='-1h')).logs) == 1


def test_a_deep_error_answer_is_still_an_error(api, make_client, make_query):
    api.queue = [(400, {}, DEEP)]
    with pytest.raises(ItotError) as err:
        make_client().fetch(make_query(start_time='-1h'))
    assert err.value.message.startswith("The IT-OT Access API rejected the logs request for category 'device' "
                                        "(HTTP 400 Bad Request): {")
    assert len(err.value.message) < 500


# --- pages that never end ---------------------------------------------------------------------------------------

WINDOW = "the window 2026-11-29T06:59:59.999Z .. 2026-11-29T08:00:00.001Z"


@pytest.fixture
def short_cap(monkeypatch):
    """A page cap of 60: a walk these bounds do not stop ends within a second, failing its test, instead of hanging."""
    monkeypatch.setattr(_paging, 'MAX_PAGES_PER_WINDOW', 60)


def fails(client, query, error=PaginationError):
    with pytest.raises(error) as err:
        client.fetch(query)
    assert_clean(err.value.message)
    assert 'p-' not in err.value.message  # no pagination token either
    return err.value.message


@pytest.mark.parametrize('reading', ['token406', 'token200', 'token413'])
def test_a_page_repeated_under_a_new_token_stops_the_walk(api, make_client, make_query, short_cap, reading):
    api.reading, api.endless = reading, 'repeat'
    api.add_many('device', [NOW - 1000 * i for i in range(12)])
    message = fails(make_client(), make_query(start_time='-1h', page_size=5))
    assert message == ("The IT-OT Access API kept offering more pages for category 'device' in %s: page 2 repeats "
                       "page 1 under a new pagination token: the server hands out the same entries again, so following "
                       "it would double them; giving up" % WINDOW)
    assert len(api.bodies) == 2


def test_a_run_of_one_identical_entry_may_fill_pages_alike(api, make_client, make_query, short_cap):
    # Exact duplicates are real events: [A] [A] [A] [B] with page_size 1 are four honest pages.
    for ms, seq in ((NOW - 5000, 0), (NOW - 5000, 0), (NOW - 5000, 0), (NOW - 4000, 1)):
        api.add('device', ms, seq=seq, device_id='dev-1', device_name='host-1')
    result = make_client().fetch(make_query(start_time='-1h', page_size=1))
    assert [entry['seq'] for entry in result.logs] == [0, 0, 0, 1]


def test_a_run_of_one_entry_repeated_forever_stops(api, make_client, make_query, short_cap):
    api.endless = 'repeat'
    api.add('device', NOW - 5000)
    message = fails(make_client(), make_query(start_time='-1h', page_size=1))
    assert 'page 7 repeats page 6 under a new pagination token' in message
    assert len(api.bodies) == 1 + 1 + PAGE_SLACK


@pytest.mark.parametrize('endless, requests, entries', [('sparse', 1 + PAGE_SLACK, 1 + PAGE_SLACK),
                                                        ('empty', PAGE_SLACK, 0)])
def test_pages_that_bring_too_little_stop_the_walk(api, make_client, make_query, short_cap, endless, requests,
                                                   entries):
    api.endless = endless
    message = fails(make_client(), make_query(start_time='-1h', page_size=100))
    needed = -(-entries // 100) + PAGE_SLACK
    assert message == ("The IT-OT Access API kept offering more pages for category 'device' in %s: %d requests brought "
                       "%d entries, and it offers more: %d entries need at most ceil(entries / page_size=100) + %d = %d "
                       "requests; giving up" % (WINDOW, requests, entries, entries, PAGE_SLACK, needed))
    assert len(api.bodies) == requests


def test_fresh_full_pages_forever_stop_at_the_entries_cap(api, make_client, make_query, short_cap, monkeypatch):
    monkeypatch.setattr(_limits, 'MAX_ENTRIES_PER_WINDOW', 1000)
    api.endless = 'fresh'
    message = fails(make_client(), make_query(start_time='-1h', page_size=100))
    assert message == ("The IT-OT Access API kept offering more pages for category 'device' in %s: more than 1000 "
                       "entries (the most one window is read for) after 11 requests, and it still offers more; giving "
                       "up. If the tenant holds that many, read narrower windows (max_window, or a shorter "
                       "start_time..end_time)" % WINDOW)
    assert len(api.bodies) == 11


def test_the_entries_cap_is_a_hundred_thousand_and_ends_a_fresh_server_in_bounded_time(api, make_client, make_query):
    assert MAX_ENTRIES_PER_WINDOW == 100000 and _paging.MAX_PAGES_PER_WINDOW == 10000 and PAGE_SLACK == 5
    api.endless = 'fresh'
    started = time.monotonic()
    message = fails(make_client(), make_query(start_time='-1h', page_size=100))
    assert 'more than 100000 entries (the most one window is read for) after 1001 requests' in message
    assert len(api.bodies) == 1001 and time.monotonic() - started < 60


def test_honest_pages_are_unaffected(api, make_client, make_query):
    for reading in ('token406', 'token200', 'token413'):
        api.reading = reading
        api.store.clear()
        api.add_many('device', [NOW - 100000 + i for i in range(1000)])
        before = len(api.bodies)
        result = make_client().fetch(make_query(start_time='-1h', page_size=10))
        assert len(result.logs) == 1000
        assert len(api.bodies) - before == 100 + (reading == 'token413')  # a 413 past the last page


# --- entries that are not objects -------------------------------------------------------------------------------

@pytest.mark.parametrize('odd, kind', [('oops', 'a string'), (42, 'a number'), (None, 'null'), ([1], 'an array'),
                                       (True, 'a boolean')])
def test_an_entry_that_is_not_an_object_is_refused_naming_where(api, make_client, make_query, odd, kind):
    api.add_many('device', [NOW - 1000 * i for i in range(12)])
    api.odd_entries, api.odd_at = [odd], 2
    client = make_client()
    message = fails(client, make_query(start_time='-1h', page_size=5, max_results=3), ApiError)
    assert message == ("The IT-OT Access API answered an entry that is not a JSON object for category 'device' in %s: "
                       "request 1 of that window, entry 3 of 6 is %s; an entry is an object (the archive keeps nothing "
                       "else), so the answer is refused rather than the entry dropped or passed on" % (WINDOW, kind))


def test_an_odd_entry_on_a_later_page_names_its_request(api, make_client, make_query):
    api.add_many('device', [NOW - 1000 * i for i in range(12)])
    api.queue = [status_answer(406, {'data': [{'timestamp': NOW - 1000, 'seq': 0}], 'token': 'p-1'}),
                 status_answer(200, {'data': [{'timestamp': NOW - 900, 'seq': 1}, 'oops'], 'token': ''})]
    message = fails(make_client(), make_query(age=600), ApiError)
    assert ("for category 'device' in the window of the last 600 s (age): request 2 of that window, entry 2 of 2 is a "
            "string" in message)
