#!/usr/bin/python
# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The itot_logs_info module: read one category of event logs; main() builds the module, run() does the work."""

from __future__ import annotations

DOCUMENTATION = r'''
module: itot_logs_info
short_description: Read the event logs of OPSWAT MetaDefender IT-OT Access
version_added: 1.0.0
description:
  - Reads the admin, device, webhook or device report event logs of a MetaDefender IT-OT Access account through the
    Get Logs API v3.3, and returns every entry of the window asked for, once, oldest first.
  - Follows the API's pagination (a page token answered HTTP 413 "No items for current page" ends a walk, as the
    vendor's own client reads it), splits a window when the API answers that it holds too many entries, reads windows
    longer than O(max_window) (24 hours by default) in slices, and keeps to a budget of O(rate_limit) requests per
    O(rate_window) seconds (by default the API's 10 a minute) across tasks and processes.
  - Retries connection errors, timeouts, HTTP 5xx and HTTP 429 (O(max_retries)); gets a new token with O(client_id)
    and O(client_secret) when the API answers HTTP 401.
  - Every option is checked before the first request; a wrong value fails with a message that names the option,
    the value and what is allowed.
author:
  - opswat.itot maintainers (@opswat-itot)
requirements:
  - requests (Python library, on the host that runs the module)
options:
  event_category:
    description:
      - The event logs to read, V(admin), V(device), V(device_report) or V(webhook).
      - Required. A missing or unknown category fails with this collection's message, which says what is allowed
        (the module checks it, not Ansible's argument checks).
    type: str
  token:
    description:
      - Resume a read that O(max_results) stopped. Pass the RV(next_token) of the earlier run, with the same
        O(event_category), O(events), O(agent_types), O(search), O(age), O(start_time) and O(end_time).
      - The token is this collection's own. It holds the rest of the window (resolved to epoch milliseconds in the
        run that returned it, so V(-1d) or V(now) mean the same window when resumed), the time of the last entry
        returned and how many entries at exactly that time were returned, and, where the read stopped inside the
        API's chain of pages, the API's pagination token of that page and the place in it. The next chunk asks that
        page again and goes on from there, so a chunk costs at most one request more than its share of one read.
      - When the API refuses its pagination token (it expired), the read goes on from the time of the last entry
        returned instead, at the cost of the refused request. Nothing is lost and nothing is returned twice.
      - A token of another query, or one altered, fails with a clear message. The token holds no secret.
    type: str
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
  action_group:
    support: full
    membership:
      - opswat.itot.itot
notes:
  - The result holds the API's entries unchanged; each entry's fields depend on O(event_category) (see the API's
    documentation).
  - Entries are sorted oldest first by their C(timestamp) (ISO 8601, epoch seconds or milliseconds, or an RFC 1123
    date); an entry whose time cannot be read is kept and comes last in its slice.
  - Windows are read in slices of at most O(max_window) (24 hours by default). Every request is sent one millisecond
    wider than the part it reads (at the window's start and end, at each cut between slices, at a resume point), so
    that no entry is lost whether the API serves the ends of a window or not; the entries of those extra milliseconds
    are dropped, and the result holds exactly the window asked for, both ends included.
  - Two identical entries are two events; they are both returned.
seealso:
  - plugin: opswat.itot.itot_logs
    plugin_type: lookup
'''

EXAMPLES = r'''
- name: Read the device events of the last hour (the API's default window)
  opswat.itot.itot_logs_info:
    event_category: device
    access_token: "{{ itot_access_token }}"
  register: device_logs

- name: Failed admin logins of the last 24 hours, with client credentials
  opswat.itot.itot_logs_info:
    event_category: admin
    events:
      - failed_auth
    age: 86400
    client_id: "{{ itot_client_id }}"
    client_secret: "{{ itot_client_secret }}"
  register: failed_logins

- name: Devices that turned non-compliant in a fixed window (ISO 8601)
  opswat.itot.itot_logs_info:
    event_category: device
    events: [noncompliant]
    agent_types: [0]
    start_time: "2026-11-29T00:00:00Z"
    end_time: "2026-11-29T12:00:00Z"

- name: One week of webhook deliveries, read in 24-hour slices
  opswat.itot.itot_logs_info:
    event_category: webhook
    start_time: -7d
    end_time: now

- name: The same week in one request, from a tenant that takes wide windows, with the token in a header
  opswat.itot.itot_logs_info:
    event_category: webhook
    start_time: -7d
    end_time: now
    max_window: 604800
    access_token_location: header
    access_token: "{{ itot_access_token }}"

- name: Set the connection once for every task of the group
  module_defaults:
    group/opswat.itot.itot:
      base_url: https://gears.opswat.com
      client_id: "{{ itot_client_id }}"
      client_secret: "{{ itot_client_secret }}"
  block:
    - name: Device reports of one device
      opswat.itot.itot_logs_info:
        event_category: device_report
        search: LAPTOP-0042
        start_time: -2h

- name: Read a large window in chunks of 500 entries
  block:
    - name: First chunk
      opswat.itot.itot_logs_info:
        event_category: device
        start_time: -1d
        max_results: 500
      register: chunk

    - name: Next chunk (same query options, plus the token)
      opswat.itot.itot_logs_info:
        event_category: device
        start_time: -1d
        max_results: 500
        token: "{{ chunk.next_token }}"
      register: next_chunk
      when: chunk.truncated

- name: The bundled API emulator with a self-signed certificate (it allows 10 requests a minute, as the API does)
  opswat.itot.itot_logs_info:
    event_category: admin
    base_url: https://127.0.0.1:8443
    access_token: test-token
    validate_certs: false

- name: The bundled emulator started with --rate-window 3 (10 requests per 3 s)
  opswat.itot.itot_logs_info:
    event_category: admin
    base_url: https://127.0.0.1:8443
    access_token: test-token
    validate_certs: false
    rate_limit: 10
    rate_window: 3
'''

RETURN = r'''
logs:
  description:
    - The API's entries, fields unchanged, oldest first, each exactly once.
  returned: success
  type: list
  elements: dict
  sample:
    - timestamp: "2026-11-29T07:00:01.123Z"
      event: noncompliant
      details: Device is non-compliant
      device_id: 3c3a8c1e6f
      device_name: LAPTOP-0042
      device_username: alice
      device_group: Finance
count:
  description: Number of entries in RV(logs).
  returned: success
  type: int
  sample: 1
next_token:
  description:
    - Set when O(max_results) stopped the read before the end of the window; pass it back as O(token) (with the same
      query options) to read the rest. V(null) otherwise.
    - A chunk that ends with the last entry of a full page of the API does not ask for the next page, so it cannot
      tell whether more follow; when none do, the next run returns no entries and no RV(next_token).
  returned: success
  type: str
  sample: itot1.eyJhIjpudWxsLCJlIjoxNzY0NDAzMjAwMDAwfQ
truncated:
  description: V(true) exactly when RV(next_token) is set.
  returned: success
  type: bool
  sample: false
api_requests:
  description: HTTP requests made to the logs endpoint, retries included.
  returned: success
  type: int
  sample: 3
window:
  description:
    - The window actually read, in epoch milliseconds, both ends included.
    - Absent when only O(age) (or no time option) was used, since the API's clock then decides the window.
  returned: when O(start_time), O(end_time) or O(token) was used
  type: dict
  contains:
    start_time:
      description: Start of the window, epoch milliseconds.
      type: int
      returned: always
      sample: 1795935600000
    end_time:
      description: End of the window, epoch milliseconds.
      type: int
      returned: always
      sample: 1795939200000
'''

import time
from typing import Any, Callable

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.opswat.itot.plugins.module_utils._client import (
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
    LogsClient,
)
from ansible_collections.opswat.itot.plugins.module_utils._errors import ItotError, failure
from ansible_collections.opswat.itot.plugins.module_utils._options import OptionAdapter, connection_settings, module_argument_spec
from ansible_collections.opswat.itot.plugins.module_utils._query import build_query


def run(module: AnsibleModule, client_factory: Callable[..., Any]) -> dict[str, Any]:
    """Validate, read, shape the answer. ``client_factory(settings, warn=..., on_secret=...)`` builds the client.

    The argument spec leaves every value this collection checks as the task gave it (``raw``, or ``str`` without
    ``choices``): the checks below are the first to judge it, and their message is the one the user reads.
    """
    options = OptionAdapter.from_module(module)
    settings = connection_settings(options)
    query = build_query(options, now_ms=int(time.time() * 1000))
    if not settings.validate_certs:
        module.warn('validate_certs is false: the API certificate is not verified')
    # Tokens obtained with client credentials are secrets too: AnsibleModule masks them in any output.
    client = client_factory(settings, warn=module.warn, on_secret=module.no_log_values.add)
    try:
        result = client.fetch(query)
    finally:
        client.close()
    return dict(changed=False, **result.as_dict())


def main() -> None:
    module = AnsibleModule(argument_spec=module_argument_spec(), supports_check_mode=True)
    if not HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib('requests'), exception=REQUESTS_IMPORT_ERROR)
    try:
        module.exit_json(**run(module, LogsClient))
    except ItotError as exc:
        module.fail_json(**failure(exc))


if __name__ == '__main__':
    main()
