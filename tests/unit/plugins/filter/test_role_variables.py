# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The log_archive role's variables, declared once: its argument spec, its checks and the read's connection options
all follow CONNECTION_OPTIONS, so a new connection option cannot be forgotten by the role (issue 12)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.opswat.itot.plugins.filter import itot_connection_args as args_plugin
from ansible_collections.opswat.itot.plugins.filter import log_archive_vars as vars_plugin
from ansible_collections.opswat.itot.plugins.filter.itot_connection_args import itot_connection_args
from ansible_collections.opswat.itot.plugins.filter.log_archive_problems import CHECKS, ROLE_CHECKS, log_archive_problems
from ansible_collections.opswat.itot.plugins.filter.log_archive_vars import log_archive_vars
from ansible_collections.opswat.itot.plugins.module_utils._options import (
    CONNECTION_OPTIONS,
    CONNECTION_VARIABLES,
    module_argument_spec,
)

ROLE = Path(__file__).resolve().parents[4] / 'roles' / 'log_archive'
NOW = 1795939200000


def load(path):
    with open(ROLE / path, encoding='utf-8') as stream:
        return yaml.safe_load(stream)


def test_every_connection_option_with_a_variable_reaches_the_module_arguments():
    variables = {option['var']: 'value of %s' % name for name, option in CONNECTION_OPTIONS.items() if 'var' in option}
    assert len(variables) == len(CONNECTION_OPTIONS)  # every connection option has its variable
    args = itot_connection_args(dict(variables, itot_log_archive_dir='/x', unrelated=1))
    assert args == {name: 'value of %s' % name for name in CONNECTION_OPTIONS}
    assert set(args) <= set(module_argument_spec())
    # the variables the role reads: all of them, whatever else is set
    assert set(log_archive_vars(sorted(variables) + ['itot_audit_period', 'x'])) == set(variables)


def test_timeout_and_max_retries_reach_the_module():
    assert itot_connection_args({'itot_timeout': 2.5, 'itot_max_retries': 0, 'itot_access_token': 't'}) == {
        'timeout': 2.5, 'max_retries': 0, 'access_token': 't'}


def test_null_and_unknown_variables_are_left_out():
    assert itot_connection_args({'itot_timeout': None, 'itot_base_url': 'http://x', 'itot_log_archive_dir': '/x',
                                 'timeout': 3}) == {'base_url': 'http://x'}
    assert itot_connection_args({}) == {}


def test_a_bad_input_is_refused_without_showing_it():
    with pytest.raises(AnsibleFilterError) as err:
        itot_connection_args(['itot_access_token', 'secret-token'])
    assert 'secret-token' not in str(err.value) and 'list' in str(err.value)


def test_the_role_reads_its_own_and_the_connection_variables_in_a_fixed_order():
    assert log_archive_vars(['itot_timeout', 'itot_audit_period', 'itot_log_archive_dir', 'itot_test_x',
                             'itot_log_archive_categories']) == [
        'itot_log_archive_categories', 'itot_log_archive_dir', 'itot_timeout']
    assert log_archive_vars([]) == []
    with pytest.raises(AnsibleFilterError):
        log_archive_vars('itot_timeout')


def test_every_variable_the_role_reads_is_checked():
    assert set(CHECKS) >= set(ROLE_CHECKS) | set(CONNECTION_VARIABLES)


@pytest.mark.parametrize('name, value, message', [
    ('itot_timeout', 0, 'itot_timeout: 0 is out of range; allowed: seconds, more than 0 and at most 3600'),
    ('itot_timeout', 'soon', "itot_timeout: 'soon' is not a number; allowed: seconds, more than 0 and at most 3600"),
    ('itot_max_retries', 101, 'itot_max_retries: 101 is out of range; allowed: 0 to 100'),
    ('itot_max_retries', 'often', "itot_max_retries: 'often' is not an integer; allowed: 0 to 100"),
])
def test_timeout_and_max_retries_are_checked_as_the_module_checks_them(name, value, message):
    assert log_archive_problems({name: value}, now_ms=NOW) == [message]


def test_the_argument_spec_declares_every_variable_the_role_reads():
    options = load('meta/argument_specs.yml')['argument_specs']['main']['options']
    assert list(options) == list(ROLE_CHECKS) + list(CONNECTION_VARIABLES)
    for variable, name in CONNECTION_VARIABLES.items():
        option = CONNECTION_OPTIONS[name]
        spec = options[variable]
        assert spec['type'] == option['type'], variable
        assert spec.get('no_log', False) == option.get('no_log', False), variable
        assert 'default' not in spec, variable  # unset: the module's environment variable or default decides
        text = ' '.join(spec['description']) if isinstance(spec['description'], list) else spec['description']
        if 'env' in option:
            assert 'E(%s)' % option['env'] in text, variable
        if option.get('default') is not None and name not in ('base_url', 'validate_certs'):
            assert str(option['default']) in text, variable
    assert 'requests per O(itot_rate_window) seconds (default 60, per minute' in ' '.join(
        options['itot_rate_limit']['description'])


def test_the_role_page_has_an_example():
    # ansible-doc -t role shows short_description, description and options only: the example lives in description.
    text = ' '.join(load('meta/argument_specs.yml')['argument_specs']['main']['description'])
    assert 'Example' in text and 'role: opswat.itot.log_archive' in text and 'ITOT_*' in text


def test_the_argument_spec_has_the_defaults_of_the_defaults_file():
    options = load('meta/argument_specs.yml')['argument_specs']['main']['options']
    defaults = load('defaults/main.yml')
    # itot_tenant alone has no default: unset, the tenant gets a derived name and keeps the 1.0 layout.
    assert set(ROLE_CHECKS) - set(defaults) == {'itot_tenant'} and 'default' not in options['itot_tenant']
    assert set(defaults) <= set(ROLE_CHECKS)
    assert {name: options[name]['default'] for name in defaults} == defaults


def test_the_filters_are_registered():
    assert args_plugin.FilterModule().filters() == {'itot_connection_args': itot_connection_args}
    assert vars_plugin.FilterModule().filters() == {'log_archive_vars': log_archive_vars}
