# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest
from ansible.errors import AnsibleLookupError
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import lookup_loader
from ansible.template import Templar

from ansible_collections.opswat.itot.plugins.lookup import itot_logs
from ansible_collections.opswat.itot.plugins.module_utils._errors import OptionError
from ansible_collections.opswat.itot.plugins.module_utils._options import OptionAdapter
from ansible_collections.opswat.itot.plugins.module_utils._query import build_query
from ansible_collections.opswat.itot.tests.unit.plugins.itot_fake_api import (
    ACCESS_TOKEN,
    BASE_URL,
    CLIENT_ID,
    CLIENT_SECRET,
    status_answer,
)

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core < 2.19 templates every string
    def trust_as_template(value):
        return value

NOW = 1795939200000
VARS = {'itot_base_url': BASE_URL, 'itot_access_token': ACCESS_TOKEN, 'itot_rate_limit': 0}


@pytest.fixture
def lookup():
    loader = DataLoader()
    return lookup_loader.get('opswat.itot.itot_logs', loader=loader, templar=Templar(loader=loader))


@pytest.fixture
def warnings(monkeypatch):
    seen = []
    monkeypatch.setattr(itot_logs.display, 'warning', seen.append)
    return seen


def test_terms_in_order_each_oldest_first(api, lookup):
    api.order = 'desc'
    api.add('admin', NOW - 3000, event='login', seq='a1')
    api.add('device', NOW - 2000, seq='d2')
    api.add('device', NOW - 4000, seq='d1')
    api.add('admin', NOW - 1000, event='login', seq='a2')
    result = lookup.run(['device', 'admin'], variables=VARS, start_time=NOW - 10000, end_time=NOW)
    assert [entry['seq'] for entry in result] == ['d1', 'd2', 'a1', 'a2']
    assert [body['event_category'] for body in api.bodies] == ['device', 'admin']
    assert api.url_tokens == [ACCESS_TOKEN, ACCESS_TOKEN]


def test_nested_term_lists_are_flattened(api, lookup):
    lookup.run([['device', 'webhook']], variables=VARS, age=60)
    assert [body['event_category'] for body in api.bodies] == ['device', 'webhook']


def test_a_repeated_term_is_read_once(api, lookup):
    # query(..., 'admin', 'admin') returned every entry twice; the contract says each exactly once (issue 20, item 7).
    api.add('admin', NOW - 3000, event='login', seq='a1')
    api.add('device', NOW - 2000, seq='d1')
    result = lookup.run(['admin', 'device', 'admin', ['device']], variables=VARS, start_time=NOW - 10000,
                        end_time=NOW)
    assert [entry['seq'] for entry in result] == ['a1', 'd1']
    assert [body['event_category'] for body in api.bodies] == ['admin', 'device']


@pytest.mark.parametrize('events', ['login, failed_auth', [' login', 'failed_auth ']])
def test_events_with_blanks_are_read_as_the_module_reads_them(api, lookup, events):
    # The module, the lookup and the role's check split and strip alike (issue 20, item 6).
    lookup.run(['admin'], variables=VARS, events=events, age=60)
    assert api.bodies == [{'event_category': 'admin', 'limit': 100, 'age': 60,
                           'filter': {'events': 'login,failed_auth'}}]


def test_epoch_seconds_are_read_as_entries_are_read(api, lookup):
    # start_time=1796000000 read as milliseconds was January 1970 (issue 20, item 5).
    for seq, at in enumerate([NOW - 60001, NOW - 60000, NOW - 1, NOW]):
        api.add('admin', at, event='login', seq=seq)
    result = lookup.run(['admin'], variables=VARS, start_time=(NOW - 60000) // 1000, end_time=str(NOW // 1000))
    assert [entry['seq'] for entry in result] == [1, 2, 3]
    assert len(api.bodies) == 1


def test_query_options_are_sent(api, lookup):
    lookup.run(['device'], variables=VARS, events=['added', 'unseen'], agent_types=[2], search='LAPTOP', age=7200,
               page_size=25)
    assert api.bodies == [{'event_category': 'device', 'limit': 25, 'age': 7200,
                           'filter': {'events': 'added,unseen', 'agent_types': [2], 'search': 'LAPTOP'}}]


def test_keywords_beat_variables_and_variables_beat_the_environment(api, lookup, monkeypatch):
    monkeypatch.setenv('ITOT_ACCESS_TOKEN', 'from-env-0000')
    monkeypatch.setenv('ITOT_BASE_URL', BASE_URL)
    monkeypatch.setenv('ITOT_RATE_LIMIT', '0')
    api.valid_tokens.update(['from-env-0000', 'from-vars-0000', 'from-kw-0000'])
    lookup.run(['admin'], variables={}, age=60)
    lookup.run(['admin'], variables={'itot_access_token': 'from-vars-0000'}, age=60)
    lookup.run(['admin'], variables={'itot_access_token': 'from-vars-0000'}, access_token='from-kw-0000', age=60)
    assert api.url_tokens == ['from-env-0000', 'from-vars-0000', 'from-kw-0000']


def test_token_location_and_max_window_from_variables_and_the_environment(api, lookup, monkeypatch):
    api.auth = 'header'
    api.add('admin', NOW - 3 * 86400000, event='login', seq='old')
    variables = dict(VARS, itot_access_token_location='header', itot_max_window=604800)
    result = lookup.run(['admin'], variables=variables, start_time=NOW - 7 * 86400000 + 2, end_time=NOW)
    assert [entry['seq'] for entry in result] == ['old']
    assert api.url_tokens == [None] and api.header_tokens == [ACCESS_TOKEN]
    assert [body['end_time'] - body['start_time'] for body in api.bodies] == [7 * 86400000]
    monkeypatch.setenv('ITOT_ACCESS_TOKEN_LOCATION', 'header')
    monkeypatch.setenv('ITOT_MAX_WINDOW', '3600')
    lookup.run(['admin'], variables=VARS, start_time=NOW - 7200000, end_time=NOW)
    assert api.url_tokens[1:] == [None, None, None] and len(api.bodies) == 4


def test_variables_are_templated(api, lookup):
    variables = {'itot_host': 'itot.example.test', 'itot_base_url': trust_as_template('https://{{ itot_host }}'),
                 'itot_access_token': trust_as_template('{{ vault_token }}'), 'vault_token': ACCESS_TOKEN,
                 'itot_rate_limit': trust_as_template('{{ 0 }}')}
    lookup._templar.available_variables = variables
    assert lookup.run(['admin'], variables=variables, age=60) == []
    assert api.url_tokens == [ACCESS_TOKEN]


def test_client_credentials_from_variables(api, lookup):
    variables = {'itot_base_url': BASE_URL, 'itot_client_id': CLIENT_ID, 'itot_client_secret': CLIENT_SECRET,
                 'itot_rate_limit': '0'}
    assert lookup.run(['device'], variables=variables, age=60) == []
    assert len(api.token_requests) == 1 and api.url_tokens == ['issued-1-xxxxxxxxxxxx']


@pytest.mark.parametrize('terms, options', [
    (['admin'], {'events': ['logn']}),
    (['device', 'admin'], {'agent_types': [0]}),
    (['device', 'device_report'], {'events': ['added']}),
    (['admin'], {'search': 'x'}),
    (['admin'], {'age': 0}),
    (['admin'], {'age': 60, 'start_time': '-1h'}),
    (['admin'], {'start_time': 'yesterday'}),
    (['admin'], {'start_time': NOW - 1000, 'end_time': NOW - 2000}),
    (['admin'], {'page_size': 101}),
    (['admin'], {'max_results': -1}),
])
def test_same_messages_as_the_module_and_no_request(api, lookup, terms, options):
    with pytest.raises(AnsibleLookupError) as err:
        lookup.run(terms, variables=VARS, **options)
    expected = None
    for category in terms:
        try:
            build_query(OptionAdapter.from_dict(dict(options, event_category=category)), now_ms=NOW)
        except OptionError as exc:
            expected = exc.message
            break
    assert expected is not None and str(err.value.message) == expected
    assert api.bodies == []


@pytest.mark.parametrize('terms, message', [
    ([], '_terms: no event category given; allowed: admin, device, device_report, webhook'),
    (['devices'], "_terms: 'devices' is not an event category; allowed: admin, device, device_report, webhook"),
    (['admin', 5], "_terms: 5 is not an event category; allowed: admin, device, device_report, webhook"),
    ([['device', '']], "_terms: '' is not an event category; allowed: admin, device, device_report, webhook"),
])
def test_bad_terms(api, lookup, terms, message):
    with pytest.raises(AnsibleLookupError) as err:
        lookup.run(terms, variables=VARS)
    assert str(err.value.message) == message and api.bodies == []


def test_connection_errors_are_lookup_errors(lookup):
    with pytest.raises(AnsibleLookupError) as err:
        lookup.run(['admin'], variables={'itot_base_url': 'ftp://x'})
    assert str(err.value.message).startswith("base_url (from variable itot_base_url): 'ftp://x' is not allowed")


@pytest.mark.parametrize('variables, options, message', [
    # Ansible's config reads a mistyped boolean as false: it must fail instead, wherever it comes from.
    ({}, {'validate_certs': 'maybe'}, "validate_certs: 'maybe' is not a boolean; allowed: true or false"),
    ({'itot_validate_certs': 'maybe'}, {},
     "validate_certs (from variable itot_validate_certs): 'maybe' is not a boolean; allowed: true or false"),
    # Ansible's config reads an empty path as the current folder.
    ({'itot_ca_path': ''}, {}, "ca_path (from variable itot_ca_path): '' is not a path"),
    ({}, {'ca_path': ''}, "ca_path: '' is not a path"),
    ({}, {'page_size': 'x'}, "page_size: 'x' is not an integer; allowed: 1 to 100"),
    ({}, {'agent_types': ['x']}, "agent_types: 'x' is not an agent type"),
    ({}, {'start_time': 179600000}, 'start_time: 179600000 read as epoch seconds is 1975-09-10T16:53:20.000Z, before '
                                    '2000-01-01T00:00:00Z; allowed: a time from 2000-01-01T00:00:00Z to 1 day after now'),
    ({}, {'end_time': 1796000000000000}, 'end_time: 1796000000000000 read as epoch milliseconds is a time after the '
                                         'year 9999, more than 1 day after now'),
    ({'itot_rate_limit': 'fast'}, {}, "rate_limit (from variable itot_rate_limit): 'fast' is not an integer"),
    ({'itot_rate_limit': -1}, {}, 'rate_limit (from variable itot_rate_limit): -1 is out of range'),
    ({'itot_timeout': 0}, {}, 'timeout (from variable itot_timeout): 0 is out of range'),
    ({'itot_rate_window': -3}, {}, 'rate_window (from variable itot_rate_window): -3 is out of range'),
    ({'itot_max_retries': -1}, {}, 'max_retries (from variable itot_max_retries): -1 is out of range'),
    ({'itot_base_url': ''}, {}, "base_url (from variable itot_base_url): '' is not a URL"),
    ({'itot_access_token': ''}, {}, 'access_token (from variable itot_access_token): not given or empty'),
    ({'itot_access_token': None, 'itot_client_id': 'cid'}, {},
     "client_id (from variable itot_client_id): 'cid' given without client_secret"),
    ({'itot_ca_path': '/nonexistent/ca.pem'}, {},
     "ca_path (from variable itot_ca_path): '/nonexistent/ca.pem' does not exist"),
    ({'itot_access_token_location': 'url'}, {},
     "access_token_location (from variable itot_access_token_location): 'url' is not allowed; allowed: query, header"),
    ({}, {'access_token_location': 'bearer'}, "access_token_location: 'bearer' is not allowed; allowed: query, header"),
    ({'itot_max_window': 30}, {}, 'max_window (from variable itot_max_window): 30 is out of range; allowed: 60 to 2592000'),
    ({}, {'max_window': '30d'}, "max_window: '30d' is not an integer; allowed: 60 to 2592000"),
])
def test_bad_values_name_the_option_the_value_and_their_source(api, lookup, variables, options, message):
    with pytest.raises(AnsibleLookupError) as err:
        lookup.run(['admin'], variables=dict(VARS, **variables), **options)
    assert str(err.value.message).startswith(message)
    assert api.bodies == [] and api.token_requests == []


def test_validate_certs_from_the_environment_is_strict(api, lookup, monkeypatch):
    monkeypatch.setenv('ITOT_VALIDATE_CERTS', 'maybe')
    with pytest.raises(AnsibleLookupError) as err:
        lookup.run(['admin'], variables=VARS, age=60)
    assert str(err.value.message) == ("validate_certs (from environment variable ITOT_VALIDATE_CERTS): 'maybe' is not "
                                      "a boolean; allowed: true or false")
    assert api.bodies == []
    monkeypatch.setenv('ITOT_VALIDATE_CERTS', 'yes')
    assert lookup.run(['admin'], variables=VARS, age=60) == []


def test_api_errors_are_lookup_errors_without_secrets(api, lookup):
    api.queue = [status_answer(401)]
    with pytest.raises(AnsibleLookupError) as err:
        lookup.run(['admin'], variables=VARS, age=60)
    assert str(err.value.message).startswith('Authentication to the IT-OT Access API failed (HTTP 401)')
    assert ACCESS_TOKEN not in str(err.value) and err.value.__cause__ is None


@pytest.mark.parametrize('keyword', ['token', 'event_category', 'agent_type'])
def test_unknown_keywords_are_refused(api, lookup, keyword):
    with pytest.raises(AnsibleLookupError) as err:
        lookup.run(['admin'], variables=VARS, **{keyword: 'x'})
    assert str(err.value.message).startswith('%s: not an option of opswat.itot.itot_logs; allowed: ' % keyword)
    assert api.bodies == []


def test_max_results_warns_about_the_rest(api, lookup, warnings):
    api.add_many('device', [NOW - 3000, NOW - 2000, NOW - 1000])
    result = lookup.run(['device'], variables=VARS, start_time=NOW - 5000, end_time=NOW, max_results=2)
    assert [entry['seq'] for entry in result] == [0, 1]
    assert warnings == ["opswat.itot.itot_logs: category 'device' stopped after max_results=2 entries; the window "
                        "holds more"]


def test_validate_certs_false_warns(api, lookup, warnings):
    lookup.run(['admin'], variables=dict(VARS, itot_validate_certs=False), age=60)
    assert warnings == ['opswat.itot.itot_logs: validate_certs is false: the API certificate is not verified']


def test_missing_requests(lookup, monkeypatch):
    monkeypatch.setattr(itot_logs, 'HAS_REQUESTS', False)
    with pytest.raises(AnsibleLookupError) as err:
        lookup.run(['admin'], variables=VARS)
    assert 'Failed to import the required Python library (requests)' in str(err.value.message)


@pytest.mark.parametrize('name, value, message', [
    ('ITOT_RATE_LIMIT', 'fast', "rate_limit (from environment variable ITOT_RATE_LIMIT): 'fast' is not an integer"),
    ('ITOT_ACCESS_TOKEN_LOCATION', 'url', "access_token_location (from environment variable "
                                          "ITOT_ACCESS_TOKEN_LOCATION): 'url' is not allowed; allowed: query, header"),
    ('ITOT_MAX_WINDOW', '59', "max_window (from environment variable ITOT_MAX_WINDOW): '59' is out of range"),
])
def test_environment_values_are_checked_as_keywords_are(api, lookup, monkeypatch, name, value, message):
    # One path: Ansible gathers the value, the collection's check judges it and the message names where it came from.
    monkeypatch.setenv(name, value)
    with pytest.raises(AnsibleLookupError) as err:
        lookup.run(['admin'], variables={'itot_base_url': BASE_URL, 'itot_access_token': ACCESS_TOKEN}, age=60)
    assert str(err.value.message).startswith(message)
    assert api.bodies == []
