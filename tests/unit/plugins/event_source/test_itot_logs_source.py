# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The opswat.itot.itot_logs event source: main(queue, args) driven against the unit fake API."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from typing import Any

import pytest
import yaml

from ansible_collections.opswat.itot.extensions.eda.plugins.event_source import itot_logs
from ansible_collections.opswat.itot.plugins.module_utils._errors import OptionError
from ansible_collections.opswat.itot.plugins.module_utils._options import CONNECTION_OPTIONS
from ansible_collections.opswat.itot.plugins.module_utils._poll import SOURCE_ARGUMENTS
from ansible_collections.opswat.itot.tests.unit.plugins.itot_fake_api import (
    ACCESS_TOKEN,
    BASE_URL,
    CLIENT_ID,
    CLIENT_SECRET,
    status_answer,
)

ARGS = {'base_url': BASE_URL, 'access_token': ACCESS_TOKEN, 'rate_limit': 0, 'interval': 0.1,
        'categories': ['admin'], 'tenant': 'site-a'}


def now_ms() -> int:
    return int(time.time() * 1000)


def run(args: dict[str, Any], polls: int = 1, between: list[Any] | None = None) -> list[dict[str, Any]]:
    """The events of ``polls`` polls of main(queue, args); ``between[k]()`` runs before poll k + 2."""
    actions = list(between or [])
    make = itot_logs.make_poller

    def make_poller(source_args: dict[str, Any]) -> Any:
        poller = make(source_args)
        poll = poller.poll
        count = [0]

        def poll_with_actions() -> list[dict[str, Any]]:
            if count[0] and actions:
                actions.pop(0)()
            count[0] += 1
            return poll()
        poller.poll = poll_with_actions
        return poller

    queue: asyncio.Queue = asyncio.Queue()
    itot_logs.make_poller, saved = make_poller, make
    try:
        asyncio.run(itot_logs.main(queue, args, polls=polls))
    finally:
        itot_logs.make_poller = saved
    events = []
    while not queue.empty():
        events.append(queue.get_nowait())
    return events


def logs(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [event['itot']['log'] for event in events]


def test_new_entries_once_oldest_first_in_the_event_shape(api):
    now = now_ms()
    api.add('admin', now - 600000, event='login')  # before start: never
    older = api.add('admin', now - 240000, event='failed_auth')
    device = api.add('device', now - 120000, event='noncompliant')
    newer = api.add('admin', now - 60000, event='failed_auth')
    events = run(dict(ARGS, categories=['admin', 'device'], start='-5m'))
    # Both categories merged oldest first, in the contract's shape, the entries unchanged.
    assert events == [{'itot': {'category': 'admin', 'tenant': 'site-a', 'log': older}},
                      {'itot': {'category': 'device', 'tenant': 'site-a', 'log': device}},
                      {'itot': {'category': 'admin', 'tenant': 'site-a', 'log': newer}}]


def test_default_start_is_now_and_later_entries_come_at_the_next_poll(api):
    api.add('admin', now_ms() - 1000, event='login')  # before the source started
    late: list[dict[str, Any]] = []
    events = run(dict(ARGS), polls=2, between=[lambda: late.append(api.add('admin', now_ms() - 5, event='config'))])
    assert logs(events) == late and len(late) == 1


def test_overlap_rereads_without_duplicates_and_catches_late_entries(api):
    now = now_ms()
    first = api.add('admin', now - 30000, event='login')
    twins = [api.add('admin', now - 20000, event='failed_auth', device_id='x', device_name='x') for dummy in range(2)]
    added: list[dict[str, Any]] = []

    def late_arrivals() -> None:
        # Stamped before the end of the first read (within overlap): a late entry, and a third identical twin.
        added.append(api.add('admin', now - 10000, event='config'))
        added.append(api.add('admin', now - 20000, event='failed_auth', device_id='x', device_name='x'))
    events = run(dict(ARGS, start='-1m', overlap=60), polls=3, between=[late_arrivals, lambda: None])
    assert twins[0] == twins[1]
    assert logs(events) == [first] + twins + [added[1], added[0]]  # every real event once; the re-reads are skipped
    assert len(api.bodies) == 3


def test_without_overlap_a_late_entry_is_not_read(api):
    now = now_ms()

    def late() -> None:
        api.add('admin', now - 10000, event='config')
    assert run(dict(ARGS, start='-1m', overlap=0), polls=2, between=[late]) == []


def test_restart_with_state_file_repeats_nothing_and_misses_nothing(api, tmp_path):
    state = str(tmp_path / 'state.json')
    now = now_ms()
    before = [api.add('admin', now - 50000 + i, event='login', seq=i) for i in range(3)]
    assert logs(run(dict(ARGS, start='-1m', state_file=state))) == before
    # While the source is away: one entry late in the overlap, one new; start is read only without a position.
    away = [api.add('admin', now - 20000, event='config'), api.add('admin', now_ms() - 5, event='whitelist')]
    assert logs(run(dict(ARGS, start='-1m', state_file=state))) == away
    assert run(dict(ARGS, start='-1m', state_file=state)) == []
    # Without the state file, the same restart repeats them: the file is what prevents it.
    assert logs(run(dict(ARGS, start='-1m'))) == before + away
    doc = json.loads(open(state).read())
    assert set(doc['categories']) == {'admin'} and ACCESS_TOKEN not in json.dumps(doc)


def test_state_file_of_a_category_added_later_starts_that_category_at_start(api, tmp_path):
    state = str(tmp_path / 'state.json')
    run(dict(ARGS, start='-1m', state_file=state))
    device = api.add('device', now_ms() - 30000, event='noncompliant')
    events = run(dict(ARGS, categories=['admin', 'device'], start='-1m', state_file=state))
    assert events == [{'itot': {'category': 'device', 'tenant': 'site-a', 'log': device}}]


def test_state_file_never_follows_a_planted_link(api, tmp_path):
    target = tmp_path / 'target'
    target.write_text('keep')
    state = tmp_path / 'state.json'
    os.symlink(str(target), str(state))
    with pytest.raises(OptionError, match=r"^state_file: .*symbolic link"):
        run(dict(ARGS, state_file=str(state)))
    assert api.bodies == [] and target.read_text() == 'keep'
    # A link planted while the source runs is replaced, not written through.
    poller = itot_logs.make_poller(dict(ARGS, state_file=str(tmp_path / 'other.json')))
    os.symlink(str(target), str(tmp_path / 'other.json'))
    poller.save()
    assert target.read_text() == 'keep' and not os.path.islink(str(tmp_path / 'other.json'))
    assert json.loads((tmp_path / 'other.json').read_text())['format'] == 'opswat.itot.itot_logs/1'


def test_state_file_of_another_tenant_is_refused(api, tmp_path):
    state = str(tmp_path / 'state.json')
    run(dict(ARGS, state_file=state))
    with pytest.raises(OptionError, match=r"^state_file: .* another tenant"):
        run(dict(ARGS, state_file=state, access_token='another-token-value'))
    (tmp_path / 'bad.json').write_text('{"format": "something else"}')
    with pytest.raises(OptionError, match=r"^state_file: .* is not a state file"):
        run(dict(ARGS, state_file=str(tmp_path / 'bad.json')))


@pytest.mark.parametrize('failure', [status_answer(500), status_answer(503), status_answer(429)])
def test_a_give_up_is_logged_without_secrets_and_the_next_poll_reads_it(api, caplog, failure):
    entry = api.add('admin', now_ms() - 30000, event='failed_auth')
    api.queue = [failure]  # max_retries 0: the first request gives up
    with caplog.at_level(logging.WARNING, logger='opswat.itot.itot_logs'):
        events = run(dict(ARGS, start='-1m', max_retries=0), polls=2)
    assert logs(events) == [entry]
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1 and "reading category 'admin' of tenant site-a failed" in warnings[0]
    assert ACCESS_TOKEN not in caplog.text and 'HTTP %d' % failure[0] in warnings[0]


def test_faults_are_retried_as_the_client_does(api, monkeypatch):
    monkeypatch.setattr(time, 'sleep', lambda seconds: None)  # the client's backoff, not under test here
    entry = api.add('admin', now_ms() - 30000, event='failed_auth')
    api.queue = [status_answer(502), status_answer(504)]
    assert logs(run(dict(ARGS, start='-1m', max_retries=2))) == [entry]
    assert len(api.bodies) == 3


def test_an_expired_token_is_renewed_with_the_client_credentials(api, caplog):
    entry = api.add('admin', now_ms() - 30000, event='failed_auth')
    api.valid_tokens.discard(ACCESS_TOKEN)  # expired
    args = dict(ARGS, start='-1m', client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    with caplog.at_level(logging.DEBUG):
        assert logs(run(args)) == [entry]
    assert len(api.token_requests) == 1
    assert ACCESS_TOKEN not in caplog.text and CLIENT_SECRET not in caplog.text


def test_connection_options_fall_back_to_the_environment(api, monkeypatch):
    entry = api.add('admin', now_ms() - 30000, event='login')
    monkeypatch.setenv('ITOT_BASE_URL', BASE_URL)
    monkeypatch.setenv('ITOT_ACCESS_TOKEN', ACCESS_TOKEN)
    monkeypatch.setenv('ITOT_RATE_LIMIT', '0')
    events = run({'categories': 'admin', 'start': '-1m', 'interval': 0.5})
    assert logs(events) == [entry]
    assert events[0]['itot']['tenant'].startswith('itot-example-test-443-')


def test_the_pacing_ledger_is_the_tenants_shared_one(api, cache_home):
    run(dict(ARGS, rate_limit=10, interval=6))
    ledgers = list((cache_home / 'opswat.itot').glob('budget-*.json'))
    assert len(ledgers) == 1 and len(json.loads(ledgers[0].read_text())['sent']) == 1


@pytest.mark.parametrize('change, message', [
    ({'categories': None}, r"^categories: not given"),
    ({'categories': ['admin', 'audit']}, r"^categories: 'audit' is not an event category; allowed: a list of admin"),
    ({'categories': []}, r"^categories: \[\] is not a list"),
    ({'filters': {'admin': {'events': ['noncompliant']}}}, r"^filters\.admin\.events: 'noncompliant' is not an event"),
    ({'filters': {'device': {'events': ['added']}}}, r"^filters: 'device' has filters but is not polled"),
    ({'filters': {'admin': {'colour': 'red'}}}, r"^filters\.admin: 'colour' is not a filter"),
    ({'interval': 1, 'rate_limit': 10}, r"^interval: 1 is not allowed; polling 1 category with rate_limit 10 per "
                                        r"rate_window 60 s allows seconds from 6 to 86400"),
    ({'interval': 'often'}, r"^interval: 'often' is not allowed"),
    ({'start': 'yesterday'}, r"^start: 'yesterday'"),
    ({'start': '+1h'}, r"^start: "),
    ({'overlap': -1}, r"^overlap: -1"),
    ({'state_file': 'relative.json'}, r"^state_file: 'relative.json' is not an absolute path"),
    ({'state_file': '/nonexistent-folder/state.json'}, r"^state_file: .* its folder does not exist"),
    ({'tenant': 'a b'}, r"^tenant: 'a b' is not a tenant name"),
    ({'access_token': None}, r"^access_token: not given or empty"),
    ({'rate_limit': 'lots'}, r"^rate_limit: 'lots'"),
    ({'base_url': 'ftp://x'}, r"^base_url: "),
    ({'event_category': 'admin'}, r"^event_category: not an argument of opswat.itot.itot_logs; allowed: "),
])
def test_bad_arguments_fail_at_start_naming_the_argument_before_any_request(api, rsps, change, message):
    args = {key: value for key, value in dict(ARGS, **change).items() if value is not None}
    with pytest.raises(OptionError, match=message):
        run(args)
    assert len(rsps.calls) == 0


def test_interval_default_leaves_half_the_budget():
    poller = itot_logs.make_poller({'base_url': BASE_URL, 'access_token': ACCESS_TOKEN, 'categories': ['admin', 'device']})
    try:
        # Two categories, 10 requests per 60 s: one request per category per poll needs 12 s; the default doubles it.
        assert poller.settings.interval == 24.0
    finally:
        poller.close()


def test_documentation_names_every_argument_with_the_tables_defaults():
    doc = yaml.safe_load(itot_logs.DOCUMENTATION)
    assert sorted(doc['options']) == sorted(SOURCE_ARGUMENTS)
    for name, option in CONNECTION_OPTIONS.items():
        assert doc['options'][name].get('default') == option.get('default'), name
    examples = yaml.safe_load(itot_logs.EXAMPLES)
    assert list(examples[0]['sources'][0]) == ['opswat.itot.itot_logs']


def test_urllib3_debug_lines_lose_the_token(api, caplog):
    url_logger = logging.getLogger('urllib3.connectionpool')

    def answer(request: Any) -> tuple:
        # As urllib3 logs each request at DEBUG (ansible-rulebook -vv shows it): the URL carries the token.
        url_logger.debug('%s "POST %s HTTP/1.1" 200 %d', BASE_URL, request.path_url, 20)
        return 200, {}, json.dumps({'data': [], 'token': ''})
    api.queue = [answer]
    with caplog.at_level(logging.DEBUG):
        assert run(dict(ARGS, start='-1m')) == []
        url_logger.debug('after the source: %s', 'untouched')  # the filter goes with the source
    lines = [record.getMessage() for record in caplog.records if record.name == 'urllib3.connectionpool']
    assert len(lines) == 2 and 'access_token=***' in lines[0] and '/o/api/v3.3/logs' in lines[0]
    assert ACCESS_TOKEN not in caplog.text
    assert caplog.records[-1].getMessage() == 'after the source: untouched'
