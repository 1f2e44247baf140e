# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The filters of the chain-heads work (issue 13): hosts that disagree about a day, the heads file variable.
(Filters import ansible.errors, so these tests live beside the filters' tests.)"""

from __future__ import annotations

import pytest

from ansible_collections.opswat.itot.plugins.filter.archive_day_disagreements import archive_day_disagreements
from ansible_collections.opswat.itot.plugins.filter.log_archive_problems import log_archive_problems
from ansible_collections.opswat.itot.tests.unit.plugins.module_utils.test_archive_heads import day, days


def test_the_filter_groups_by_category_and_filters():
    result = {'item': 'admin', 'days': days(day(1), day(2), day(3))}
    other = {'item': 'admin', 'days': days(day(1), day(9), day(3))}
    held = {'a': {'results': [result], 'filters': {}}, 'b': {'results': [result], 'filters': {}},
            'c': {'results': [other], 'filters': {'admin': {'events': ['login']}}}}
    assert archive_day_disagreements(held) == {}
    held['c']['filters'] = {}
    assert list(archive_day_disagreements(held)) == ['c']
    assert 'tenant default, category admin' in archive_day_disagreements(held)['c'][0]


@pytest.mark.parametrize('value', ['itot-heads.json', '/a/../heads.json', '', 3])
def test_the_role_checks_its_heads_file_variable(value):
    [problem] = log_archive_problems({'itot_log_archive_heads_file': value})
    assert problem.startswith('itot_log_archive_heads_file: ') and 'absolute path on the controller' in problem
    assert log_archive_problems({'itot_log_archive_heads_file': '/etc/ansible/itot-heads.json'}) == []
