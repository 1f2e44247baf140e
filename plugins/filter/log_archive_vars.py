# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The log_archive_vars filter: which of the given variable names the log_archive role reads."""
from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.opswat.itot.plugins.filter.log_archive_problems import ROLE_CHECKS
from ansible_collections.opswat.itot.plugins.module_utils._options import CONNECTION_VARIABLES

DOCUMENTATION = r"""
---
name: log_archive_vars
short_description: The variables of the log_archive role among some variable names
version_added: 1.1.0
author: opswat.itot maintainers (@opswat-itot)
description:
  - Used by the C(opswat.itot.log_archive) role to collect its variables without naming them by hand, from the names
    of the variables that are set (P(ansible.builtin.varnames#lookup)); their values then come from
    P(ansible.builtin.vars#lookup), which templates them.
  - The role reads its own variables (C(itot_log_archive_*)) and every connection variable the
    P(opswat.itot.itot_logs#lookup) lookup reads (C(itot_base_url), C(itot_access_token), C(itot_timeout),
    C(itot_max_retries), ...), so a connection option added to the collection reaches the role by itself.
options:
  _input:
    description: Variable names.
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: The role's variables that are set, by name, with their values
  ansible.builtin.debug:
    msg: "{{ dict(names | zip(query('ansible.builtin.vars', *names))) | opswat.itot.log_archive_problems }}"
  vars:
    names: "{{ query('ansible.builtin.varnames', '^itot_') | opswat.itot.log_archive_vars }}"
"""

RETURN = r"""
_value:
  description: The names the role reads, the role's own first, then the connection variables; each once.
  type: list
  elements: str
"""

ROLE_VARIABLES = tuple(ROLE_CHECKS) + tuple(CONNECTION_VARIABLES)


def log_archive_vars(names: Any) -> list[str]:
    """The names among ``names`` that the log_archive role reads, in a fixed order."""
    if not isinstance(names, (list, tuple)) or not all(isinstance(name, str) for name in names):
        raise AnsibleFilterError('log_archive_vars: %r is not a list of variable names' % (names,))
    given = set(names)
    return [name for name in ROLE_VARIABLES if name in given]


class FilterModule:
    """opswat.itot filters."""

    def filters(self) -> dict[str, Any]:
        return {'log_archive_vars': log_archive_vars}
