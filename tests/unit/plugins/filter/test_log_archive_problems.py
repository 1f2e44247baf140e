# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import os

import pytest
import yaml

from ansible_collections.opswat.itot.plugins.filter.log_archive_problems import FilterModule, log_archive_problems

NOW = 1795939200000  # 2026-11-29T08:00:00Z

ROLE_DEFAULTS = {
    'itot_log_archive_categories': ['admin', 'device', 'webhook', 'device_report'],
    'itot_log_archive_dir': '/var/log/itot',
    'itot_log_archive_initial_lookback': '-1d',
    'itot_log_archive_overlap': 300,
    'itot_log_archive_filters': {},
    'itot_log_archive_owner': 'root',
    'itot_log_archive_group': 'root',
    'itot_log_archive_mode': '0640',
    'itot_log_archive_dir_mode': '0750',
    'itot_log_archive_retention_days': 0,
    'itot_log_archive_verify': True,
}


def problems(**variables):
    return log_archive_problems(dict(ROLE_DEFAULTS, **variables), now_ms=NOW)


def test_the_defaults_and_good_values_have_no_problem(tmp_path):
    assert problems() == []
    assert problems(itot_log_archive_mode='u=rw,g=r,o=', itot_log_archive_dir_mode=0o750, itot_log_archive_overlap='60',
                    itot_log_archive_initial_lookback='2026-11-01T00:00:00Z', itot_base_url='https://127.0.0.1:8443',
                    itot_validate_certs='no', itot_ca_path=str(tmp_path), itot_rate_limit=0,
                    itot_log_archive_filters={'device': {'events': ['added'], 'agent_types': [0], 'search': 'WS'},
                                              'admin': {'events': 'login,failed_auth'}, 'webhook': None},
                    itot_audit_period='-7d', itot_audit_max_failed_auth='', itot_audit_max_noncompliant=3) == []


@pytest.mark.parametrize('name, value, message', [
    ('itot_log_archive_dir', 'var/log/itot', "itot_log_archive_dir: 'var/log/itot' is a relative path; allowed: an "
                                             "absolute path without '..' components"),
    ('itot_log_archive_dir', '/var/log/../tmp', "itot_log_archive_dir: '/var/log/../tmp' has a '..' component"),
    ('itot_log_archive_dir', '', "itot_log_archive_dir: '' is not a path"),
    ('itot_log_archive_dir', ['/x'], "itot_log_archive_dir: ['/x'] is not a path"),
    ('itot_log_archive_initial_lookback', 'yesterday', "itot_log_archive_initial_lookback: 'yesterday' is not a time; "
                                                       "allowed: epoch milliseconds"),
    ('itot_log_archive_initial_lookback', '2026-11-29T09:00:00Z', "itot_log_archive_initial_lookback: "
                                                                  "'2026-11-29T09:00:00Z' is in the future"),
    ('itot_log_archive_initial_lookback', '2099-01-01T00:00:00Z', "itot_log_archive_initial_lookback: "
                                                                  "'2099-01-01T00:00:00Z' is 2099-01-01T00:00:00.000Z, "
                                                                  "more than 1 day after now"),
    # The same rule for numbers as the module and the lookup (issue 20, item 5): seconds are seconds, and a time
    # nobody means is refused with how it was read.
    ('itot_log_archive_initial_lookback', 179600000, "itot_log_archive_initial_lookback: 179600000 read as epoch "
                                                     "seconds is 1975-09-10T16:53:20.000Z, before 2000-01-01T00:00:00Z"),
    ('itot_log_archive_initial_lookback', '1969-12-31T23:59:59Z', "itot_log_archive_initial_lookback: "
                                                                  "'1969-12-31T23:59:59Z' is 1969-12-31T23:59:59.000Z, "
                                                                  "before 1970-01-01T00:00:00Z"),
    ('itot_audit_period', 1796000000000000, "itot_audit_period: 1796000000000000 read as epoch milliseconds is a time "
                                            "after the year 9999"),
    ('itot_log_archive_overlap', -5, 'itot_log_archive_overlap: -5 is out of range; allowed: an integer of at least 0 '
                                     'seconds'),
    ('itot_log_archive_overlap', 'soon', "itot_log_archive_overlap: 'soon' is not an integer"),
    ('itot_log_archive_retention_days', -1, 'itot_log_archive_retention_days: -1 is out of range'),
    ('itot_log_archive_mode', '0999', "itot_log_archive_mode: '0999' is not a file mode; allowed: an octal mode"),
    ('itot_log_archive_dir_mode', 'rwx', "itot_log_archive_dir_mode: 'rwx' is not a file mode"),
    ('itot_log_archive_owner', '', "itot_log_archive_owner: '' is not a user or group name"),
    ('itot_log_archive_categories', ['admin', 'devices'], "itot_log_archive_categories: 'devices' is not an event "
                                                          "category"),
    ('itot_log_archive_categories', 'admin', "itot_log_archive_categories: 'admin' is not a list"),
    ('itot_log_archive_verify', 'maybe', "itot_log_archive_verify: 'maybe' is not a boolean; allowed: true or false"),
    ('itot_base_url', 'gears.opswat.com', "itot_base_url: 'gears.opswat.com' is not allowed: the scheme must be http"),
    ('itot_base_url', 'https://gears.opswat.com/o/api',
     "itot_base_url: 'https://gears.opswat.com/o/api' is not allowed: it must not have a path"),
    ('itot_validate_certs', 'maybe', "itot_validate_certs: 'maybe' is not a boolean"),
    ('itot_ca_path', '/nonexistent/ca.pem', "itot_ca_path: '/nonexistent/ca.pem' does not exist"),
    ('itot_rate_limit', -1, 'itot_rate_limit: -1 is out of range'),
    ('itot_rate_window', 'fast', "itot_rate_window: 'fast' is not a number; allowed: seconds, more than 0 and at most 3600"),
    ('itot_audit_period', 'last week', "itot_audit_period: 'last week' is not a time"),
    ('itot_audit_max_failed_auth', 'many', "itot_audit_max_failed_auth: 'many' is not an integer; allowed: an integer "
                                           "of at least 0 (or empty for no threshold)"),
    ('itot_audit_max_deleted_user', -1, 'itot_audit_max_deleted_user: -1 is out of range'),
])
def test_each_problem_names_the_variable_and_the_value(name, value, message):
    found = problems(**{name: value})
    assert len(found) == 1 and found[0].startswith(message), found


@pytest.mark.parametrize('filters, message', [
    ({'bogus': {'events': ['added']}}, "itot_log_archive_filters: 'bogus' is not an event category; allowed: admin, "),
    ({'admin': {'events': ['added']}}, "itot_log_archive_filters.admin.events: 'added' is not an event of category "
                                       "'admin'; allowed: "),
    ({'admin': {'search': 'x'}}, "itot_log_archive_filters.admin.search: 'x' is only allowed for event_category "),
    ({'device': {'agent_types': [1]}}, 'itot_log_archive_filters.device.agent_types: 1 is not an agent type'),
    ({'device_report': {'events': ['added']}}, "itot_log_archive_filters.device_report.events: ['added'] is not "
                                               "allowed for event_category 'device_report'"),
    ({'device': {'event': ['added']}}, "itot_log_archive_filters.device: 'event' is not a filter; allowed: events, "
                                       "agent_types, search"),
    ({'device': ['added']}, "itot_log_archive_filters.device: ['added'] is not a dict"),
    (['device'], "itot_log_archive_filters: ['device'] is not a dict"),
])
def test_filters(filters, message):
    found = problems(itot_log_archive_filters=filters)
    assert len(found) == 1 and found[0].startswith(message), found


@pytest.mark.parametrize('events', ['login, failed_auth', ['login', ' failed_auth '], ' login ,failed_auth'])
def test_events_with_blanks_pass_as_they_pass_the_module(events):
    # The check promises that what it passes, the read takes (issue 20, item 6).
    assert problems(itot_log_archive_filters={'admin': {'events': events}}) == []


@pytest.mark.parametrize('events, shown', [('login, bogus', "'bogus'"), ('login,', "''"), (['login', ' '], "''")])
def test_events_are_split_and_stripped_before_they_are_checked(events, shown):
    assert problems(itot_log_archive_filters={'admin': {'events': events}}) == [
        "itot_log_archive_filters.admin.events: %s is not an event of category 'admin'; allowed: cac_change, "
        "changed_password, config, failed_auth, login, rev_mobile_code, submit_ticket, whitelist" % shown]


def test_every_problem_is_reported_in_order():
    found = problems(itot_log_archive_dir='rel', itot_log_archive_overlap=-1,
                     itot_log_archive_filters={'bogus': {}, 'admin': {'search': 'x'}})
    assert [message.split(':')[0] for message in found] == [
        'itot_log_archive_dir', 'itot_log_archive_overlap', 'itot_log_archive_filters',
        'itot_log_archive_filters.admin.search']


def test_unknown_and_null_variables_are_not_checked():
    assert log_archive_problems({'itot_log_archive_dir': None, 'something_else': 'rel'}, now_ms=NOW) == []
    assert log_archive_problems('x', now_ms=NOW) == ["log_archive_problems: 'x' is not a dict of variables"]


def test_the_filter_is_registered():
    assert FilterModule().filters() == {'log_archive_problems': log_archive_problems}


def test_the_audit_rules_are_checked_and_the_example_file_passes():
    here = os.path.dirname(os.path.abspath(__file__))
    example = os.path.join(here, '..', '..', '..', '..', 'playbooks', 'vars', 'audit_rules_example.yml')
    with open(example, encoding='utf-8') as stream:
        rules = yaml.safe_load(stream)['itot_audit_rules']
    assert len(rules) == 5 and problems(itot_audit_rules=rules) == []
    bad = [dict(rules[0]), dict(rules[1], match={'device_group': {'regex': '(['}})]
    found = problems(itot_audit_rules=bad)
    assert len(found) == 1 and found[0].startswith(
        "itot_audit_rules[1] (rule plc-noncompliant-4h).match.device_group.regex: '([' is not a valid regular expression"), found
