# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The log_archive_tenants filter: the tenants one host archives, from its variables."""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.opswat.itot.plugins.filter.itot_connection_args import itot_connection_args
from ansible_collections.opswat.itot.plugins.module_utils._errors import OptionError
from ansible_collections.opswat.itot.plugins.module_utils._tenant import host_tenants

DOCUMENTATION = r"""
---
name: log_archive_tenants
short_description: The tenants a host of the log_archive role archives
version_added: 1.1.0
author: opswat.itot maintainers (@opswat-itot)
description:
  - Used by the C(opswat.itot.log_archive) role. A tenant is what a set of connection settings points at, the
    normalised C(base_url) plus the credential's identity (the client id, or a SHA-256 hash of the access token).
  - Without C(itot_log_archive_tenants), the host archives one tenant, the one its own connection variables
    (C(itot_base_url), C(itot_access_token), ...; the E(ITOT_*) environment variables of the controller below them)
    point at. It is named C(itot_tenant) and archived under C({itot_log_archive_dir}/{itot_tenant}/), or, without
    C(itot_tenant), given a derived name (C(<host>-<port>-<8 hex>)) and archived under C(itot_log_archive_dir) itself,
    the 1.0 layout.
  - With C(itot_log_archive_tenants), the host archives each tenant of the list under
    C({itot_log_archive_dir}/{name}/). Each item holds C(name) and the connection options of
    M(opswat.itot.itot_logs_info) by their names; C(base_url) and the credentials must be in the item, the other
    options default to the host's C(itot_*) variables.
  - Every definition is checked (names, duplicate names, one tenant under two names, missing credentials, every
    option's value); the first problem fails the filter, naming the tenant.
options:
  _input:
    description: The host's variables by name (the role's variables, as P(opswat.itot.log_archive_vars#filter) names them).
    type: dict
    required: true
  connection:
    description:
      - Add each tenant's connection options (C(connection)), secrets included. Only for the arguments of the task
        that reads; never store the result as a fact or print it.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: The tenants this host archives
  ansible.builtin.debug:
    msg: "{{ dict(names | zip(query('ansible.builtin.vars', *names))) | opswat.itot.log_archive_tenants }}"
  vars:
    names: "{{ query('ansible.builtin.varnames', '^itot_') | opswat.itot.log_archive_vars }}"
"""

RETURN = r"""
_value:
  description: One item per tenant, in the order given.
  type: list
  elements: dict
  contains:
    name:
      description: The tenant's name.
      type: str
    named:
      description: Whether the name was given (C(itot_tenant) or an item of C(itot_log_archive_tenants)) or derived.
      type: bool
    root:
      description: The folder on the host that holds the tenant's category folders.
      type: str
    identity:
      description: C(<base_url> client:<id>) or C(<base_url> token:<sha256 of the token>).
      type: str
    slice_seconds:
      description: The tenant's C(max_window), the longest window the role reads at once.
      type: int
    connection:
      description: The connection options (only with O(connection=true)), secrets included.
      type: dict
"""


def log_archive_tenants(variables: Any, connection: bool = False) -> list[dict[str, Any]]:
    """The tenants of a host, checked; without their connection (secrets) unless asked."""
    if not isinstance(variables, Mapping):
        raise AnsibleFilterError('log_archive_tenants: a value of type %s is not a dict of variables' % type(variables).__name__)
    root = variables.get('itot_log_archive_dir')
    if not isinstance(root, str) or not root:
        raise AnsibleFilterError('log_archive_tenants: itot_log_archive_dir is not set')
    try:
        tenants = host_tenants(variables, itot_connection_args(variables), os.environ, root.rstrip('/') or '/')
    except OptionError as exc:
        raise AnsibleFilterError(exc.message) from None
    if not connection:
        for tenant in tenants:
            del tenant['connection']
    return tenants


class FilterModule:
    """opswat.itot filters."""

    def filters(self) -> dict[str, Any]:
        return {'log_archive_tenants': log_archive_tenants}
