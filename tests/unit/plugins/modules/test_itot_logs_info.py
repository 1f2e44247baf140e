# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import functools

import pytest

from ansible_collections.opswat.itot.plugins.module_utils._client import LogsClient, LogsResult
from ansible_collections.opswat.itot.plugins.modules import itot_logs_info
from ansible_collections.opswat.itot.tests.unit.plugins import module_runner
from ansible_collections.opswat.itot.tests.unit.plugins.itot_fake_api import (
    ACCESS_TOKEN,
    BASE_URL,
    CLIENT_ID,
    CLIENT_SECRET,
    status_answer,
)

NOW = 1795939200000  # 2026-11-29T08:00:00Z
CONTRACT_KEYS = {'changed', 'logs', 'count', 'next_token', 'truncated', 'api_requests'}


def make_module(**args):
    args.setdefault('base_url', BASE_URL)
    args.setdefault('rate_limit', 0)
    return module_runner.make_module(itot_logs_info.module_argument_spec(), args, supports_check_mode=True)


def fast_client(clock):
    return functools.partial(LogsClient, clock=clock.time, sleep=clock.sleep)


def run_main(capsys, **args):
    args.setdefault('base_url', BASE_URL)
    args.setdefault('rate_limit', 0)
    return module_runner.run_module_output(capsys, itot_logs_info.main, args)


class FakeClient:
    def __init__(self, result):
        self.result = result
        self.queries = []
        self.closed = False

    def fetch(self, query):
        self.queries.append(query)
        return self.result

    def close(self):
        self.closed = True


def test_run_shapes_the_contract_keys():
    fake = FakeClient(LogsResult(logs=[{'timestamp': 1}], next_token=None, window=(NOW - 1, NOW),
                                 api_requests=3))
    seen = {}

    def factory(settings, warn, on_secret):
        seen['settings'] = settings
        return fake
    module = make_module(event_category='admin', access_token=ACCESS_TOKEN, events=['login'], start_time=NOW - 1,
                         end_time=NOW)
    result = itot_logs_info.run(module, factory)
    assert result == {'changed': False, 'logs': [{'timestamp': 1}], 'count': 1, 'next_token': None,
                      'truncated': False, 'api_requests': 3, 'window': {'start_time': NOW - 1, 'end_time': NOW}}
    assert fake.queries[0].events == ('login',) and fake.closed
    assert seen['settings'].access_token == ACCESS_TOKEN and seen['settings'].base_url == BASE_URL


def test_run_without_window_has_no_window_key():
    fake = FakeClient(LogsResult(logs=[], next_token='itot1.x', window=None, api_requests=1))
    result = itot_logs_info.run(make_module(event_category='device', access_token=ACCESS_TOKEN, age=60),
                                lambda settings, **kwargs: fake)
    assert set(result) == CONTRACT_KEYS and result['truncated'] is True and result['next_token'] == 'itot1.x'


def test_run_against_the_api(api, clock):
    api.add_many('device', [1795939200000 - 3000, 1795939200000 - 1000])
    module = make_module(event_category='device', access_token=ACCESS_TOKEN, start_time=1795939200000 - 5000,
                         end_time=1795939200000, page_size=1)
    result = itot_logs_info.run(module, fast_client(clock))
    assert [entry['seq'] for entry in result['logs']] == [0, 1]
    assert result['api_requests'] == 2 and result['count'] == 2
    assert result['window'] == {'start_time': 1795939200000 - 5000, 'end_time': 1795939200000}


def test_check_mode_gives_the_same_answer(api, clock):
    api.add_many('device', [1795939200000 - 3000])
    args = dict(event_category='device', access_token=ACCESS_TOKEN, start_time=1795939200000 - 5000,
                end_time=1795939200000)
    normal = itot_logs_info.run(make_module(**args), fast_client(clock))
    checked = itot_logs_info.run(make_module(_ansible_check_mode=True, **args), fast_client(clock))
    assert normal == checked and checked['changed'] is False


def test_next_token_round_trip_through_the_module(api, clock):
    base = 1795939200000 - 10000
    api.add_many('device', [base + 1000 * i for i in range(5)])
    args = dict(event_category='device', access_token=ACCESS_TOKEN, start_time=base, end_time=base + 9000,
                max_results=2)
    seen, token = [], None
    while True:
        result = itot_logs_info.run(make_module(token=token, **args), fast_client(clock))
        seen.extend(entry['seq'] for entry in result['logs'])
        token = result['next_token']
        assert result['truncated'] == (token is not None)
        if not token:
            break
    assert seen == [0, 1, 2, 3, 4]


def test_main_exit_json(api, capsys):
    api.add('admin', 1795939200000 - 1000, event='login')
    code, result, out = run_main(capsys, event_category='admin', access_token=ACCESS_TOKEN,
                                 start_time=1795939200000 - 5000, end_time=1795939200000)
    assert code == 0 and result['count'] == 1 and result['changed'] is False
    assert CONTRACT_KEYS <= set(result)
    assert ACCESS_TOKEN not in out


def test_main_validation_fails_before_any_request(api, capsys):
    code, result, out = run_main(capsys, event_category='admin', access_token=ACCESS_TOKEN, events=['logn'])
    assert code == 1 and result['failed'] is True
    assert result['msg'].startswith("events: 'logn' is not an event of category 'admin'; allowed: cac_change, ")
    assert api.bodies == []


def test_tokens_from_client_credentials_become_no_log_values(api, clock):
    module = make_module(event_category='device', client_id=CLIENT_ID, client_secret=CLIENT_SECRET, age=60)
    itot_logs_info.run(module, fast_client(clock))
    assert 'issued-1-xxxxxxxxxxxx' in module.no_log_values


def test_main_auth_failure_does_not_leak(api, capsys, monkeypatch):
    api.queue = [status_answer(401), status_answer(401)]
    monkeypatch.setenv('ITOT_CLIENT_ID', CLIENT_ID)
    monkeypatch.setenv('ITOT_CLIENT_SECRET', CLIENT_SECRET)
    code, result, out = run_main(capsys, event_category='device', access_token=ACCESS_TOKEN, start_time='-1h')
    assert code == 1 and result['msg'].startswith('Authentication to the IT-OT Access API failed (HTTP 401)')
    for secret in (ACCESS_TOKEN, CLIENT_SECRET, 'issued-1'):
        assert secret not in out
    assert api.token_requests[0]['client_id'] == [CLIENT_ID]


def test_connection_options_from_the_environment(api, capsys, monkeypatch):
    monkeypatch.setenv('ITOT_ACCESS_TOKEN', ACCESS_TOKEN)
    monkeypatch.setenv('ITOT_BASE_URL', BASE_URL)
    monkeypatch.setenv('ITOT_RATE_LIMIT', '0')
    code, result, out = module_runner.run_module_output(capsys, itot_logs_info.main,
                                                        {'event_category': 'webhook', 'age': 60})
    assert result['count'] == 0 and 'window' not in result
    assert api.url_tokens == [ACCESS_TOKEN] and api.bodies[0]['age'] == 60


def test_validate_certs_false_warns_once(api, clock):
    module = make_module(event_category='device', access_token=ACCESS_TOKEN, validate_certs=False, age=60)
    warnings = []
    module.warn = warnings.append
    result = itot_logs_info.run(module, fast_client(clock))
    assert result['count'] == 0
    assert warnings == ['validate_certs is false: the API certificate is not verified']


def test_missing_requests(capsys, monkeypatch):
    monkeypatch.setattr(itot_logs_info, 'HAS_REQUESTS', False)
    monkeypatch.setattr(itot_logs_info, 'REQUESTS_IMPORT_ERROR', 'Traceback: No module named requests')
    code, result, out = run_main(capsys, event_category='device', access_token=ACCESS_TOKEN)
    assert code == 1
    assert 'Failed to import the required Python library (requests)' in result['msg']


@pytest.mark.parametrize('args, message', [
    # Ansible's own type checks fail first; the message is the collection's (option, value, what is allowed).
    ({'page_size': 'x'}, "page_size: 'x' is not an integer; allowed: 1 to 100"),
    ({'agent_types': ['x']}, "agent_types: 'x' is not an agent type; allowed: 0 (MetaDefender Endpoint), 2 "),
    ({'agent_types': [0, 'x']}, "agent_types: 'x' is not an agent type"),
    ({'validate_certs': 'maybe'}, "validate_certs: 'maybe' is not a boolean; allowed: true or false"),
    ({'timeout': 'soon'}, "timeout: 'soon' is not a number; allowed: seconds, more than 0 and at most 3600"),
    ({'event_category': 'devices'}, "event_category: 'devices' is not a category; allowed: admin, device, "),
    ({'event_category': ''}, "event_category: '' is not a category; allowed: admin, device, "),
    ({'base_url': ''}, "base_url: '' is not a URL; allowed: "),
    ({'start_time': ''}, "start_time: '' is not a time; allowed: "),
    # Not a value the collection checks: Ansible's message stays.
    ({'bogus': 1}, 'Unsupported parameters for ('),
])
def test_main_bad_values_name_option_and_value(api, capsys, args, message):
    args = dict({'event_category': 'device', 'access_token': ACCESS_TOKEN}, **args)
    code, result, out = run_main(capsys, **args)
    assert code == 1 and result['msg'].startswith(message), result['msg']
    assert 'bogus' not in args or ' module: bogus. Supported parameters include: ' in result['msg']
    assert api.bodies == [] and api.token_requests == []


def test_main_type_error_with_credentials_from_the_environment(api, capsys, monkeypatch):
    # The environment's fallbacks count: the message is about the bad value, not about missing credentials.
    monkeypatch.setenv('ITOT_ACCESS_TOKEN', ACCESS_TOKEN)
    code, result, out = run_main(capsys, event_category='device', agent_types=['x'])
    assert code == 1 and result['msg'].startswith("agent_types: 'x' is not an agent type"), result['msg']
    assert ACCESS_TOKEN not in out


@pytest.mark.parametrize('args, message', [
    # Ansible converts these (0 to 0.0, '5' to 5): the message still shows the value as the task gave it.
    ({'timeout': 0}, 'timeout: 0 is out of range; allowed: seconds, more than 0 and at most 3600'),
    ({'page_size': '0'}, "page_size: '0' is out of range; allowed: 1 to 100"),
    ({'start_time': 1795939200, 'end_time': '1795939199'},
     "start_time: 1795939200 (1795939200000) is later than end_time '1795939199' (1795939199000)"),
])
def test_main_messages_show_the_value_as_given(api, capsys, args, message):
    code, result, out = run_main(capsys, event_category='device', access_token=ACCESS_TOKEN, **args)
    assert code == 1 and result['msg'].startswith(message), result['msg']
    assert api.bodies == []


@pytest.mark.parametrize('events', ['login, failed_auth', [' login', 'failed_auth '], 'login,failed_auth,login'])
def test_main_events_with_blanks(api, capsys, events):
    # Ansible's list type splits 'login, failed_auth' without stripping; the lookup and the role's check strip
    # (issue 20, item 6).
    code, result, out = run_main(capsys, event_category='admin', access_token=ACCESS_TOKEN, events=events, age=60)
    assert code == 0, result['msg']
    assert api.bodies[0]['filter'] == {'events': 'login,failed_auth'}


@pytest.mark.parametrize('events', ['login, ', 'login, bogus'])
def test_main_events_stripped_then_checked(api, capsys, events):
    code, result, out = run_main(capsys, event_category='admin', access_token=ACCESS_TOKEN, events=events, age=60)
    shown = events.split(',')[1].strip()
    assert code == 1 and result['msg'].startswith("events: %r is not an event of category 'admin'" % shown)
    assert api.bodies == []


def test_main_reads_epoch_seconds_as_entries_are_read(api, capsys):
    # start_time: 1796000000 was January 1970, 20,767 requests at the real budget (issue 20, item 5).
    code, result, out = run_main(capsys, event_category='admin', access_token=ACCESS_TOKEN, start_time=1795935600,
                                 end_time='1795939200')
    assert code == 0 and result['window'] == {'start_time': 1795935600000, 'end_time': 1795939200000}
    assert len(api.bodies) == 1


@pytest.mark.parametrize('args, message', [
    ({'start_time': 179600000}, "start_time: 179600000 read as epoch seconds is 1975-09-10T16:53:20.000Z, before "
                                "2000-01-01T00:00:00Z; allowed: a time from 2000-01-01T00:00:00Z to 1 day after now"),
    ({'start_time': 1796000000000000}, "start_time: 1796000000000000 read as epoch milliseconds is a time after the "
                                       "year 9999, more than 1 day after now"),
    ({'end_time': '1969-12-31T23:59:59Z'}, "end_time: '1969-12-31T23:59:59Z' is 1969-12-31T23:59:59.000Z, before "
                                           "1970-01-01T00:00:00Z, the start of epoch time"),
    ({'start_time': '-3000w'}, "start_time: '-3000w' is 19"),
])
def test_main_refuses_implausible_times_before_any_request(api, capsys, args, message):
    code, result, out = run_main(capsys, event_category='admin', access_token=ACCESS_TOKEN, **args)
    assert code == 1 and result['msg'].startswith(message), result['msg']
    assert api.bodies == []
