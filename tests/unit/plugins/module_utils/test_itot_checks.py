# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The single-value checks: each error keeps its option and its problem apart; the archive root's rule."""

from __future__ import annotations

import pytest

from ansible_collections.opswat.itot.plugins.module_utils._checks import absolute_path_problem, int_value
from ansible_collections.opswat.itot.plugins.module_utils._errors import OptionError
from ansible_collections.opswat.itot.plugins.module_utils._options import VALUE_CHECKS, check_values


def test_an_option_error_keeps_its_option_and_its_problem():
    with pytest.raises(OptionError) as err:
        int_value('page_size', 'x', 1, 100)
    assert err.value.option == 'page_size' and err.value.problem == "'x' is not an integer; allowed: 1 to 100"
    assert err.value.message == 'page_size: ' + err.value.problem


@pytest.mark.parametrize('name, value', [
    ('base_url', 'ftp://x'), ('validate_certs', 'maybe'), ('ca_path', ''), ('timeout', 0), ('max_retries', -1),
    ('rate_limit', 'fast'), ('rate_window', 'x'), ('access_token_location', 'url'), ('max_window', 59),
    ('events', {'a': 1}), ('agent_types', [7]), ('age', 0), ('page_size', 0), ('max_results', -1),
])
def test_every_value_check_names_its_option(name, value):
    assert name in VALUE_CHECKS
    with pytest.raises(OptionError) as err:
        check_values({name: value})
    assert err.value.option == name and err.value.message == '%s: %s' % (name, err.value.problem)


@pytest.mark.parametrize('value, problem', [
    ('/var/log/itot', None), ('/', None), ('/a/..b', None),
    ('var/log', 'relative'), ('/var/../etc', 'dotdot'), ('/var/log/..', 'dotdot'),
    ('', 'not a path'), ('  ', 'not a path'), (None, 'not a path'), (['/x'], 'not a path'), ('/a\x00b', 'not a path'),
])
def test_absolute_path_problem(value, problem):
    assert absolute_path_problem(value) == problem
