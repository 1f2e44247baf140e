# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The itot_connection_args filter: the module's connection options from the itot_* variables the lookup reads."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.opswat.itot.plugins.module_utils._options import CONNECTION_VARIABLES

DOCUMENTATION = r"""
---
name: itot_connection_args
short_description: The connection options of itot_logs_info from the itot_* variables
version_added: 1.1.0
author: opswat.itot maintainers (@opswat-itot)
description:
  - Turns the connection variables the P(opswat.itot.itot_logs#lookup) lookup reads (C(itot_base_url),
    C(itot_access_token), C(itot_timeout), C(itot_max_retries), ...) into the options of the same names without the
    C(itot_) prefix of M(opswat.itot.itot_logs_info), so that a task passes every one of them without naming them.
  - Used by the C(opswat.itot.log_archive) role for its reads.
  - A variable whose value is V(null) or C(omit) is left out (the module then takes its E(ITOT_*) environment
    variable or its default), and so are names that are not connection variables.
  - The result holds the secrets (C(access_token), C(client_secret)) as they were given; the module's argument spec
    marks them C(no_log). Pass it to the module, never to a task that prints it.
options:
  _input:
    description: Variables by name, for example the role's variables as P(opswat.itot.log_archive_vars#filter) names them.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Read the last hour of admin logs with the connection the itot_* variables describe
  opswat.itot.itot_logs_info: "{{ connection | combine({'event_category': 'admin', 'age': 3600}) }}"
  vars:
    names: "{{ query('ansible.builtin.varnames', '^itot_') | opswat.itot.log_archive_vars }}"
    connection: "{{ dict(names | zip(query('ansible.builtin.vars', *names))) | opswat.itot.itot_connection_args }}"
    # The arguments carry the token: with pipelining no module file holding it is written on the target.
    ansible_pipelining: true
"""

RETURN = r"""
_value:
  description: Module options by name, one per connection variable that is set and not V(null).
  type: dict
"""


def omitted(value: Any) -> bool:
    """Whether a variable's value is None or ``omit`` (a placeholder string before ansible-core 2.19, an object after)."""
    if value is None:
        return True
    if isinstance(value, str):
        return value.startswith('__omit_place_holder__')
    return type(value).__name__.lstrip('_').lower().startswith('omit')


def itot_connection_args(variables: Any) -> dict[str, Any]:
    """``{option: value}`` for every connection variable (``itot_<option>``) set in ``variables``, not None nor omit."""
    if not isinstance(variables, Mapping):
        # Never show the value: it may be the variables with their secrets.
        raise AnsibleFilterError('itot_connection_args: a value of type %s is not a dict of variables'
                                 % type(variables).__name__)
    return {option: variables[variable] for variable, option in CONNECTION_VARIABLES.items()
            if not omitted(variables.get(variable))}


class FilterModule:
    """opswat.itot filters."""

    def filters(self) -> dict[str, Any]:
        return {'itot_connection_args': itot_connection_args}
