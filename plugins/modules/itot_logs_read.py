#!/usr/bin/python
# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: itot_logs_read
short_description: Read the event logs of several IT-OT Access tenants side by side
version_added: 1.1.0
description:
  - Reads queries of several tenants (accounts of OPSWAT MetaDefender IT-OT Access, each with its own C(base_url) or
    credentials and its own request budget) at once, on the controller, one thread per tenant, each through the
    collection's client (paging, pacing with the tenant's own ledger, retries, secret scrubbing) exactly as
    M(opswat.itot.itot_logs_info) reads one query. A tenant's queries are read one after another.
  - Used by the C(opswat.itot.log_archive) role to read every tenant of a round once. It runs on the controller only
    (an action plugin); the secrets stay in the controller's process, no module file holding them is written.
  - Every argument is checked before the first request. A tenant whose read fails fails the task, naming the tenant;
    the other tenants' reads are finished first but not returned.
  - The options of M(opswat.itot.itot_logs_info) given to the task (usually through C(module_defaults) for
    C(group/opswat.itot.itot)) apply to every tenant and query below the tenant's own connection and the query's
    own options.
author:
  - opswat.itot maintainers (@opswat-itot)
requirements:
  - requests (Python library, on the controller)
options:
  tenants:
    description: The tenants, each once.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The tenant's name, letters, digits, C(-) and C(_).
        type: str
        required: true
      connection:
        description:
          - The tenant's connection options (secrets included, never logged), named as the options of M(opswat.itot.itot_logs_info) (C(base_url),
            C(access_token) or C(client_id) and C(client_secret), C(timeout), ...).
        type: dict
        required: true
  reads:
    description: The queries, in the order their answers are returned.
    type: list
    elements: dict
    required: true
    suboptions:
      tenant:
        description: The name of the tenant to read, one of O(tenants).
        type: str
        required: true
      query:
        description:
          - The query options of M(opswat.itot.itot_logs_info) (C(event_category), C(start_time), C(end_time),
            C(events), C(agent_types), C(search), C(page_size), C(max_results), C(token)).
        type: dict
        required: true
extends_documentation_fragment:
  - opswat.itot.connection
  - opswat.itot.query
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
attributes:
  check_mode:
    support: full
    details: The module only reads; check mode returns the same result.
  diff_mode:
    support: none
  platform:
    platforms: posix
    details: Runs on the controller.
  action_group:
    support: full
    membership:
      - opswat.itot.itot
seealso:
  - module: opswat.itot.itot_logs_info
"""

EXAMPLES = r"""
- name: Read the last day of admin logs of two tenants side by side
  opswat.itot.itot_logs_read:
    tenants:
      - name: site-a
        connection: {base_url: https://site-a.example.com, access_token: "{{ vault_site_a_token }}"}
      - name: site-b
        connection: {base_url: https://site-b.example.com, client_id: audit, client_secret: "{{ vault_site_b_secret }}"}
    reads:
      - {tenant: site-a, query: {event_category: admin, start_time: -1d}}
      - {tenant: site-b, query: {event_category: admin, start_time: -1d}}
  register: read

- name: Failed logins per tenant
  ansible.builtin.debug:
    msg: "{{ item.tenant }}: {{ item.logs | selectattr('event', 'equalto', 'failed_auth') | list | length }}"
  loop: "{{ read.reads }}"
  loop_control:
    label: "{{ item.tenant }}"
"""

RETURN = r"""
reads:
  description: One answer per item of O(reads), in that order, each as M(opswat.itot.itot_logs_info) returns one.
  returned: success
  type: list
  elements: dict
  contains:
    tenant:
      description: The tenant read.
      type: str
    event_category:
      description: The category read.
      type: str
    logs:
      description: The entries, oldest first, fields as the API gave them.
      type: list
      elements: dict
    count:
      description: How many entries RV(reads[].logs) holds.
      type: int
    next_token:
      description: The token to resume with when C(max_results) stopped the read, else V(null).
      type: str
    truncated:
      description: Whether C(max_results) stopped the read.
      type: bool
    api_requests:
      description: The logs requests this read sent.
      type: int
    window:
      description: The window read, C(start_time) and C(end_time) in epoch ms.
      type: dict
api_requests:
  description: The logs requests of all the reads.
  returned: success
  type: int
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.opswat.itot.plugins.module_utils._options import module_argument_spec


def main() -> None:
    """Only reached when the action plugin is not (the read runs in the controller's process)."""
    spec = {name: option for name, option in module_argument_spec().items() if name not in ('event_category', 'token')}
    spec.update(tenants=dict(type='list', elements='dict', required=True,
                             options=dict(name=dict(type='str', required=True),
                                          connection=dict(type='dict', required=True, no_log=True))),
                reads=dict(type='list', elements='dict', required=True,
                           options=dict(tenant=dict(type='str', required=True), query=dict(type='dict', required=True))))
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    module.fail_json(msg='opswat.itot.itot_logs_read runs on the controller, through its action plugin')


if __name__ == '__main__':
    main()
