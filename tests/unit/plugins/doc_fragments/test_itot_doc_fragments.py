# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The doc fragments are static text: hold them to the option tables the code uses."""

from __future__ import annotations

import pytest
import yaml
from ansible.plugins.loader import fragment_loader
from ansible.utils.plugin_docs import get_docstring

from ansible_collections.opswat.itot.plugins.doc_fragments import connection, query
from ansible_collections.opswat.itot.plugins.lookup import itot_logs
from ansible_collections.opswat.itot.plugins.module_utils._checks import RATE_UNIT
from ansible_collections.opswat.itot.plugins.module_utils._options import (
    CONNECTION_OPTIONS,
    LOOKUP_OPTION_NAMES,
    MODULE_QUERY_OPTIONS,
    QUERY_OPTIONS,
    module_argument_spec,
)
from ansible_collections.opswat.itot.plugins.modules import itot_logs_info

DOC_KEYS = ('type', 'elements', 'default', 'choices', 'required')


def doc_options(text):
    return yaml.safe_load(text)['options']


def stated(option):
    """The fields of an option that matter to a user (``required: false`` and ``default: null`` say nothing)."""
    return {key: option[key] for key in DOC_KEYS
            if key in option and option[key] is not None and not (key == 'required' and option[key] is False)}


@pytest.mark.parametrize('fragment, table', [
    (connection.ModuleDocFragment.DOCUMENTATION, CONNECTION_OPTIONS),
    (query.ModuleDocFragment.DOCUMENTATION, QUERY_OPTIONS),
])
def test_fragments_match_the_tables(fragment, table):
    options = doc_options(fragment)
    assert list(options) == list(table)
    for name, option in options.items():
        assert stated(option) == stated(table[name]), name
        assert option['description'], name


def test_rate_limit_counts_per_rate_window_everywhere():
    # rate_limit counts requests per rate_window seconds (60 by default), not per minute whatever rate_window says.
    text = ' '.join(doc_options(connection.ModuleDocFragment.DOCUMENTATION)['rate_limit']['description'])
    assert 'Requests per O(rate_window) seconds (default 60, per minute)' in text
    assert RATE_UNIT.startswith(' requests per rate_window seconds (default 60: per minute')


def test_plugins_fragment_holds_only_sources_that_match_the_table():
    sources = doc_options(connection.ModuleDocFragment.PLUGINS)
    assert set(sources) == set(CONNECTION_OPTIONS)
    for name, option in sources.items():
        entry = CONNECTION_OPTIONS[name]
        assert set(option) <= {'env', 'ini', 'vars'}, name
        assert option.get('env') == ([{'name': entry['env']}] if 'env' in entry else None), name
        assert option.get('vars') == [{'name': entry['var']}], name
        assert option.get('ini') == ([{'section': 'opswat_itot', 'key': entry['ini']}] if 'ini' in entry else None)


def test_module_documents_its_own_options():
    own = doc_options(itot_logs_info.DOCUMENTATION)
    assert list(own) == list(MODULE_QUERY_OPTIONS)
    for name, option in own.items():
        assert stated(option) == stated(MODULE_QUERY_OPTIONS[name]), name


def test_module_documentation_with_fragments_matches_the_argument_spec():
    doc = get_docstring(itot_logs_info.__file__, fragment_loader, collection_name='opswat.itot')[0]
    spec = module_argument_spec()
    assert set(doc['options']) == set(spec)
    for name, option in doc['options'].items():
        assert stated(option) == stated(spec[name]), name
    assert doc['attributes']['action_group']['membership'] == ['opswat.itot.itot']
    assert doc['attributes']['check_mode']['support'] == 'full'
    assert doc['attributes']['diff_mode']['support'] == 'none'
    assert 'ITOT_ACCESS_TOKEN' in ' '.join(doc['options']['access_token']['description'])


def test_secrets_are_no_log_and_the_token_is_not():
    spec = module_argument_spec()
    assert {name for name, entry in spec.items() if entry.get('no_log')} == {
        name for name, entry in CONNECTION_OPTIONS.items() if entry.get('no_log')} == {'access_token', 'client_secret'}
    assert spec['token']['no_log'] is False


def test_lookup_documents_exactly_the_contract_options():
    doc = get_docstring(itot_logs.__file__, fragment_loader, collection_name='opswat.itot')[0]
    assert set(doc['options']) == set(LOOKUP_OPTION_NAMES) | {'_terms'}
    for name in CONNECTION_OPTIONS:
        assert doc['options'][name]['vars'] == [{'name': CONNECTION_OPTIONS[name]['var']}]
    assert 'env' not in doc['options']['timeout'] and 'env' not in doc['options']['max_retries']
    for name in QUERY_OPTIONS:
        assert not {'env', 'vars', 'ini'} & set(doc['options'][name]), name


def test_examples_and_return_parse():
    for text in (itot_logs_info.EXAMPLES, itot_logs_info.RETURN, itot_logs.EXAMPLES, itot_logs.RETURN):
        assert yaml.safe_load(text)
    returned = yaml.safe_load(itot_logs_info.RETURN)
    assert set(returned) == {'logs', 'count', 'next_token', 'truncated', 'api_requests', 'window'}
