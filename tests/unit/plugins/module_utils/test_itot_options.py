# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest
from ansible.module_utils.basic import env_fallback

from ansible_collections.opswat.itot.plugins.module_utils._errors import OptionError
from ansible_collections.opswat.itot.plugins.module_utils._options import OptionAdapter, check_values, connection_settings, first_problem, module_argument_spec
from ansible_collections.opswat.itot.plugins.module_utils._query import ResumePoint, build_query
from ansible_collections.opswat.itot.plugins.module_utils._vocabulary import EVENTS

NOW = 1795939200000  # 2026-11-29T08:00:00Z
TOKEN = 'tok-4f9c2a77e1b0d3'


def query(**options):
    options.setdefault('event_category', 'device')
    return build_query(OptionAdapter.from_dict(options), now_ms=NOW)


def settings(**options):
    values = {'access_token': TOKEN}
    values.update(options)
    return connection_settings(OptionAdapter.from_dict({k: v for k, v in values.items() if v is not Ellipsis}))


def query_error(**options):
    with pytest.raises(OptionError) as err:
        query(**options)
    return err.value.message


def settings_error(**options):
    with pytest.raises(OptionError) as err:
        settings(**options)
    return err.value.message


# --- categories and filters ----------------------------------------------------------------------------------

def test_defaults():
    q = query()
    assert (q.event_category, q.events, q.agent_types, q.search, q.age) == ('device', (), (), None, None)
    assert (q.start_ms, q.end_ms, q.window, q.page_size, q.max_results, q.resume) == (None, None, None, 100, 0, None)
    assert q.now_ms == NOW


@pytest.mark.parametrize('category', ['', 'Device', 'devices', 3, ['device']])
def test_category_must_be_known(category):
    assert query_error(event_category=category) == (
        'event_category: %r is not a category; allowed: admin, device, device_report, webhook' % (category,))


def test_category_must_be_given():
    assert query_error(event_category=None) == 'event_category: not given; allowed: admin, device, device_report, webhook'


def test_event_of_another_category():
    assert query_error(event_category='admin', events=['logn']) == (
        "events: 'logn' is not an event of category 'admin'; allowed: cac_change, changed_password, config, "
        "failed_auth, login, rev_mobile_code, submit_ticket, whitelist")
    message = query_error(event_category='webhook', events=['compliant'])
    assert message.startswith("events: 'compliant' is not an event of category 'webhook'; allowed: added, deleted, ")


@pytest.mark.parametrize('category', ['admin', 'device', 'webhook'])
def test_every_listed_event_is_accepted(category):
    assert query(event_category=category, events=list(EVENTS[category])).events == EVENTS[category]


def test_events_not_allowed_for_device_report():
    assert query_error(event_category='device_report', events=['added']).startswith(
        "events: ['added'] is not allowed for event_category 'device_report'")
    assert query(event_category='device_report', events=[]).events == ()


def test_events_keep_order_drop_duplicates_and_accept_a_comma_string():
    assert query(events=['unseen', 'added', 'unseen']).events == ('unseen', 'added')
    assert query(events='added, deleted').events == ('added', 'deleted')


def test_agent_types():
    assert query(agent_types=[2, 0, 2]).agent_types == (2, 0)
    assert query(agent_types=['0']).agent_types == (0,)
    assert query_error(agent_types=[1]) == (
        'agent_types: 1 is not an agent type; allowed: 0 (MetaDefender Endpoint), 2 (OPSWAT Domain Controller Client)')
    assert query_error(agent_types=[True]).startswith('agent_types: True is not an agent type')


@pytest.mark.parametrize('category', ['admin', 'webhook', 'device_report'])
def test_agent_types_only_for_device(category):
    assert query_error(event_category=category, agent_types=[0]) == (
        "agent_types: [0] is only allowed for event_category 'device', not %r" % category)


@pytest.mark.parametrize('category', ['device', 'device_report', 'webhook'])
def test_search_allowed(category):
    assert query(event_category=category, search='LAPTOP').search == 'LAPTOP'


def test_search_not_for_admin_and_empty_search_is_none():
    assert query_error(event_category='admin', search='x') == (
        "search: 'x' is only allowed for event_category device, device_report, webhook, not 'admin'")
    assert query(search='  ').search is None


# --- numbers ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize('value, message', [
    (0, 'page_size: 0 is out of range; allowed: 1 to 100'),
    (101, 'page_size: 101 is out of range; allowed: 1 to 100'),
    ('many', "page_size: 'many' is not an integer; allowed: 1 to 100"),
    (True, 'page_size: True is not an integer; allowed: 1 to 100'),
])
def test_page_size(value, message):
    assert query_error(page_size=value) == message


def test_page_size_bounds_and_strings():
    assert query(page_size=1).page_size == 1
    assert query(page_size='100').page_size == 100


def test_max_results():
    assert query(max_results=5).max_results == 5
    assert query_error(max_results=-1) == 'max_results: -1 is out of range; allowed: an integer of at least 0 (0: no cap)'


@pytest.mark.parametrize('value', [0, 86401, -3])
def test_age_range(value):
    assert query_error(age=value) == 'age: %d is out of range; allowed: 1 to 86400 seconds' % value


def test_age_bounds():
    assert query(age=1).age == 1
    assert query(age=86400).age == 86400
    assert query(age=600).window is None


@pytest.mark.parametrize('other', ['start_time', 'end_time'])
def test_age_excludes_start_and_end(other):
    assert query_error(age=600, **{other: '-1h'}).startswith('age: 600 cannot be combined with start_time or end_time')


# --- windows ---------------------------------------------------------------------------------------------------

def test_window_from_start_and_end():
    q = query(start_time='2026-11-29T07:00:00Z', end_time=1795939200000)
    assert q.window == (1795935600000, 1795939200000)


def test_only_start_ends_now_and_only_end_starts_an_hour_before():
    assert query(start_time='-2h').window == (NOW - 7200000, NOW)
    assert query(end_time='-1h').window == (NOW - 7200000, NOW - 3600000)


def test_relative_times_share_one_now():
    assert query(start_time='-1d', end_time='now').window == (NOW - 86400000, NOW)


def test_start_after_end():
    message = query_error(start_time='-1h', end_time='-2h')
    assert message.startswith("start_time: '-1h' (%d) is later than end_time '-2h' (%d)" % (NOW - 3600000, NOW - 7200000))
    assert query(start_time=NOW - 5, end_time=NOW - 5).window == (NOW - 5, NOW - 5)


def test_bad_time_names_the_option():
    assert query_error(start_time='yesterday').startswith("start_time: 'yesterday' is not a time; allowed: epoch ")
    assert query_error(end_time='soon').startswith("end_time: 'soon' is not a time; allowed: epoch ")


@pytest.mark.parametrize('option', ['start_time', 'end_time'])
@pytest.mark.parametrize('value', ['', ' '])
def test_empty_time_strings_are_errors(option, value):
    # An empty time is a variable that templated to nothing, not "the last hour".
    assert query_error(**{option: value}).startswith('%s: %r is not a time; allowed: epoch ' % (option, value))


# --- resume tokens ---------------------------------------------------------------------------------------------

def test_resume_token_round_trip():
    q = query(start_time='-1d')
    point = ResumePoint(start_ms=10, end_ms=20, pad_lo=True, after_us=10500, same=2, all_parsed=False, unparsed=0)
    token = point.encode(q.fingerprint)
    assert token.startswith('itot1.')
    assert query(start_time='-1d', token=token).resume == point
    # The window's own start: with pad_lo the first millisecond as sent is padding, not part of the window.
    assert query(start_time='-1d', token=token).window == (11, 20)


@pytest.mark.parametrize('change', [
    {'event_category': 'admin'}, {'events': ['added']}, {'agent_types': [0]}, {'search': 'x'},
    {'start_time': '-2d'}, {'end_time': 'now'},
])
def test_resume_token_of_another_query(change):
    token = ResumePoint(start_ms=10, end_ms=20).encode(query(start_time='-1d').fingerprint)
    options = {'start_time': '-1d', 'token': token}
    options.update(change)
    assert query_error(**options) == (
        'token: %r was returned for a different query; pass the same event_category, events, agent_types, search, '
        'age, start_time and end_time as the run that returned it' % token)


def test_resume_token_ignores_page_size_max_results_and_order_of_filters():
    start = NOW - 5000
    token = ResumePoint(start_ms=10, end_ms=20).encode(query(events=['added', 'deleted'], start_time=start).fingerprint)
    assert query(events=['deleted', 'added'], start_time=str(start), page_size=7, max_results=3, token=token).resume


@pytest.mark.parametrize('token', ['garbage', 'itot1.', 'itot1.!!!!', 'itot1.eyJmIjoxfQ', 'p-100'])
def test_resume_token_garbage(token):
    assert query_error(token=token).startswith('token: %r is not a next_token returned by opswat.itot.itot_logs_info'
                                               % token)


def test_token_is_checked_last_so_option_errors_come_first():
    assert query_error(token='garbage', page_size=0).startswith('page_size')


# --- connection ------------------------------------------------------------------------------------------------

def test_connection_defaults():
    s = settings()
    assert (s.base_url, s.access_token, s.client_id, s.client_secret) == ('https://gears.opswat.com', TOKEN, None, None)
    assert (s.validate_certs, s.ca_path, s.timeout, s.max_retries, s.rate_limit) == (True, None, 30.0, 5, 10)
    assert s.rate_window == 60.0
    assert (s.access_token_location, s.max_window) == ('query', 86400)
    assert s.verify is True and not s.has_client_credentials


def test_token_location_and_max_window_accepted():
    assert settings(access_token_location='header').access_token_location == 'header'
    assert settings(max_window='604800').max_window == 604800
    assert (settings(max_window=60).max_window, settings(max_window=2592000).max_window) == (60, 2592000)


def test_credentials_required():
    message = settings_error(access_token=None)
    assert message.startswith('access_token: not given or empty; set access_token, or client_id and client_secret')
    assert settings_error(access_token=' ').startswith('access_token: not given or empty; ')
    assert settings_error(access_token=None, client_id='c') == (
        "client_id: 'c' given without client_secret; client_id and client_secret must be given together")
    message = settings_error(client_secret='s3cr3t-value')
    assert message.startswith('client_secret: given (value not shown) without client_id') and 's3cr3t' not in message
    s = settings(access_token=None, client_id='c', client_secret='s')
    assert s.has_client_credentials and s.access_token is None


@pytest.mark.parametrize('url, expected', [
    ('https://gears.opswat.com/', 'https://gears.opswat.com'),
    ('HTTPS://Gears.Opswat.com', 'https://gears.opswat.com'),
    ('http://127.0.0.1:8080', 'http://127.0.0.1:8080'),
    ('https://[::1]:8443/', 'https://[::1]:8443'),
])
def test_base_url_accepted(url, expected):
    assert settings(base_url=url).base_url == expected


@pytest.mark.parametrize('url, problem', [
    ('ftp://gears.opswat.com', 'the scheme must be http or https'),
    ('gears.opswat.com', 'the scheme must be http or https'),
    ('https://', 'it has no host'),
    ('https://gears.opswat.com/o/api/v3.3/logs', 'it must not have a path'),
    ('https://gears.opswat.com?x=1', 'it must not have a query or a fragment'),
    ('https://gears.opswat.com/#top', 'it must not have a query or a fragment'),
])
def test_base_url_rejected(url, problem):
    message = settings_error(base_url=url)
    assert message.startswith('base_url: %r is not allowed: %s' % (url, problem))


def test_base_url_with_credentials_is_not_echoed():
    message = settings_error(base_url='https://user:hunter2@gears.opswat.com')
    assert 'hunter2' not in message and message.startswith("base_url: <redacted> is not allowed: it must not contain")


def test_base_url_bad_port():
    assert settings_error(base_url='https://gears.opswat.com:99999').startswith(
        "base_url: 'https://gears.opswat.com:99999' is not a URL")


@pytest.mark.parametrize('option, value, start', [
    ('timeout', 0, 'timeout: 0 is out of range'),
    ('timeout', 'slow', "timeout: 'slow' is not a number; allowed: seconds, more than 0 and at most 3600"),
    ('timeout', [1], 'timeout: [1] is not a number'),
    ('timeout', float('nan'), 'timeout: nan is out of range'),
    ('max_retries', '--5', "max_retries: '--5' is not an integer; allowed: 0 to 100"),
    ('validate_certs', [True], 'validate_certs: [True] is not a boolean'),
    ('ca_path', '', "ca_path: '' is not a path; allowed: a CA bundle file or a directory of CA certificates"),
    ('ca_path', 5, 'ca_path: 5 is not a path'),
    ('base_url', '', "base_url: '' is not a URL; allowed: http:// or https://"),
    ('base_url', ' ', "base_url: ' ' is not a URL"),
    ('max_retries', -1, 'max_retries: -1 is out of range; allowed: 0 to 100'),
    ('rate_limit', -1, 'rate_limit: -1 is out of range'),
    ('rate_window', 0, 'rate_window: 0 is out of range; allowed: seconds, more than 0 and at most 3600'),
    ('rate_window', 3601, 'rate_window: 3601 is out of range'),
    ('rate_window', 'a minute', "rate_window: 'a minute' is not a number; allowed: seconds"),
    ('validate_certs', 'maybe', "validate_certs: 'maybe' is not a boolean"),
    ('ca_path', '/nonexistent/ca.pem', "ca_path: '/nonexistent/ca.pem' does not exist"),
    ('access_token_location', 'cookie', "access_token_location: 'cookie' is not allowed; allowed: query, header"),
    ('access_token_location', 'Header', "access_token_location: 'Header' is not allowed; allowed: query, header"),
    ('access_token_location', ['query'], "access_token_location: ['query'] is not allowed; allowed: query, header"),
    ('max_window', 59, 'max_window: 59 is out of range; allowed: 60 to 2592000 seconds (86400 = 24 h'),
    ('max_window', 2592001, 'max_window: 2592001 is out of range; allowed: 60 to 2592000 seconds'),
    ('max_window', '7d', "max_window: '7d' is not an integer; allowed: 60 to 2592000 seconds"),
    ('max_window', 1.5, 'max_window: 1.5 is not an integer; allowed: 60 to 2592000 seconds'),
])
def test_connection_values(option, value, start):
    assert settings_error(**{option: value}).startswith(start)


def test_verify_follows_validate_certs_and_ca_path(tmp_path):
    bundle = tmp_path / 'ca.pem'
    bundle.write_text('x')
    assert settings(ca_path=str(bundle)).verify == str(bundle)
    assert settings(ca_path=str(bundle), validate_certs=False).verify is False
    assert settings(validate_certs='no').verify is False
    assert settings(timeout='2.5').timeout == 2.5
    assert settings(rate_window='3').rate_window == 3.0


def test_secrets_are_never_shown():
    assert settings_error(access_token=123456789) == 'access_token: a value of type int is not a string'
    assert '987654' not in settings_error(client_id='c', client_secret=987654)


def test_long_values_are_shortened():
    message = query_error(token='x' * 500)
    assert message.startswith("token: '%s..." % ('x' * 199)) and len(message) < 400


# --- raw values (lookup keywords and variables, failed module type checks) -------------------------------------

@pytest.mark.parametrize('values, message', [
    ({'validate_certs': 'maybe'}, "validate_certs: 'maybe' is not a boolean; allowed: true or false"),
    ({'page_size': 'x'}, "page_size: 'x' is not an integer; allowed: 1 to 100"),
    ({'page_size': 1.5}, 'page_size: 1.5 is not an integer; allowed: 1 to 100'),
    ({'age': '86401'}, "age: '86401' is out of range; allowed: 1 to 86400 seconds"),
    ({'max_results': -1}, 'max_results: -1 is out of range; allowed: an integer of at least 0 (0: no cap)'),
    ({'rate_limit': 'fast'}, "rate_limit: 'fast' is not an integer; allowed: an integer of at least 0 requests per "
                             "rate_window seconds (default 60: per minute; 0 turns pacing off)"),
    ({'timeout': '0'}, "timeout: '0' is out of range; allowed: seconds, more than 0 and at most 3600"),
    ({'events': {'a': 1}}, "events: {'a': 1} is not a list"),
    ({'agent_types': ['x']}, "agent_types: 'x' is not an agent type; allowed: 0 (MetaDefender Endpoint), 2 (OPSWAT "
                             "Domain Controller Client)"),
    ({'ca_path': ''}, "ca_path: '' is not a path; allowed: a CA bundle file or a directory of CA certificates"),
    ({'base_url': 'gears.opswat.com'}, "base_url: 'gears.opswat.com' is not allowed: the scheme must be http or https"),
])
def test_check_values(values, message):
    with pytest.raises(OptionError) as err:
        check_values(values)
    assert err.value.message.startswith(message)


def test_check_values_passes_good_and_unknown_values():
    check_values({'validate_certs': 'no', 'page_size': '7', 'timeout': 2.5, 'events': 'added', 'agent_types': 0,
                  'search': 5, 'token': None, 'age': None, 'unknown': object()})


def test_a_single_value_reads_as_a_list():
    assert query(agent_types=2).agent_types == (2,)
    assert query_error(agent_types=1).startswith('agent_types: 1 is not an agent type')


def test_first_problem():
    values = {'event_category': 'admin', 'access_token': TOKEN, 'agent_types': ['x']}
    assert first_problem(values, NOW).startswith("agent_types: 'x' is not an agent type")
    assert first_problem({'event_category': 'admin', 'access_token': TOKEN}, NOW) is None
    assert first_problem({'event_category': 'admin', 'access_token': TOKEN, 'page_size': 0}, NOW) == (
        'page_size: 0 is out of range; allowed: 1 to 100')


# --- argument spec and adapter ---------------------------------------------------------------------------------

def test_argument_spec():
    spec = module_argument_spec()
    assert spec['access_token']['no_log'] is True and spec['client_secret']['no_log'] is True
    assert spec['token'] == {'type': 'str', 'no_log': False}
    # Ansible only gathers what the collection's checks judge: not required, no choices, no conversion.
    assert spec['event_category'] == {'type': 'str'}
    assert spec['base_url']['fallback'] == (env_fallback, ['ITOT_BASE_URL'])
    assert 'fallback' not in spec['timeout'] and 'fallback' not in spec['max_retries']
    assert spec['agent_types'] == {'type': 'raw'}
    assert spec['page_size'] == {'type': 'raw', 'default': 100}
    assert [name for name, entry in spec.items() if entry.get('no_log')] == ['access_token', 'client_secret']


def test_adapter_from_plugin_reads_only_its_options():
    class Plugin:
        def get_option(self, name):
            if name not in ('base_url', 'events'):
                raise KeyError(name)
            return 'value-of-%s' % name
    adapter = OptionAdapter.from_plugin(Plugin(), names=('base_url', 'events'))
    assert adapter.get('base_url') == 'value-of-base_url'
    assert adapter.get('token') is None
