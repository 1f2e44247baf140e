# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The itot_logs lookup: the event logs of the categories given as terms, options checked as the module checks them."""

from __future__ import annotations

DOCUMENTATION = r'''
name: itot_logs
short_description: Read the event logs of OPSWAT MetaDefender IT-OT Access
version_added: 1.0.0
description:
  - Returns the entries of the event logs of the categories given as terms, for the window asked for, each once
    (a repeated term is read once), oldest first within a category, categories in term order. Entries are returned
    as the API gave them.
  - The same client as M(opswat.itot.itot_logs_info) reads them, with the same checks and messages, the same
    pacing (O(rate_limit)), retries and pagination handling.
  - Runs on the controller. Use the C(query) function, or O(ignore:wantlist=true), to always get a list.
author:
  - opswat.itot maintainers (@opswat-itot)
requirements:
  - requests (Python library, on the controller)
options:
  _terms:
    description:
      - Event categories to read, V(admin), V(device), V(device_report) or V(webhook).
      - A category given more than once is read once, at its first place, so that every entry is returned once.
      - The query options apply to every category; O(events), O(agent_types) and O(search) must then be valid for
        every one of them.
    type: list
    elements: str
    required: true
extends_documentation_fragment:
  - opswat.itot.connection
  - opswat.itot.connection.plugins
  - opswat.itot.query
notes:
  - Options are taken, from highest precedence, from the lookup's keyword arguments, then the C(itot_*) variables,
    then the environment variables, then the C([opswat_itot]) section of C(ansible.cfg).
  - With O(max_results), each category stops after that many entries and a warning says that more exist; the
    lookup cannot resume. Use M(opswat.itot.itot_logs_info) with its RV(opswat.itot.itot_logs_info#module:next_token)
    to read a large window in chunks.
seealso:
  - module: opswat.itot.itot_logs_info
'''

EXAMPLES = r'''
- name: Failed admin logins of the last two hours
  ansible.builtin.debug:
    msg: "{{ query('opswat.itot.itot_logs', 'admin', events=['failed_auth'], age=7200) }}"
  vars:
    itot_access_token: "{{ vault_itot_access_token }}"

- name: Enrolments of devices and of webhooks in one list (device entries first)
  ansible.builtin.set_fact:
    enrolled: "{{ query('opswat.itot.itot_logs', 'device', 'webhook', events=['added'], start_time='-1d') }}"

- name: Devices that went non-compliant over a week (read in 24-hour slices)
  ansible.builtin.debug:
    msg: >-
      {{ query('opswat.itot.itot_logs', 'device', events=['noncompliant'], start_time='-7d', end_time='now')
         | map(attribute='device_name') | unique | sort }}

- name: A fixed window in ISO 8601, with client credentials from variables
  ansible.builtin.debug:
    msg: "{{ query('opswat.itot.itot_logs', 'device_report', search='LAPTOP-0042',
             start_time='2026-11-29T00:00:00Z', end_time='2026-11-29T06:00:00Z') }}"
  vars:
    itot_client_id: "{{ vault_itot_client_id }}"
    itot_client_secret: "{{ vault_itot_client_secret }}"

- name: Against the bundled emulator started with --rate-limit 0, no request budget (the token from ITOT_ACCESS_TOKEN on the controller)
  ansible.builtin.debug:
    msg: "{{ query('opswat.itot.itot_logs', 'admin', base_url='http://127.0.0.1:8080', rate_limit=0) }}"
'''

RETURN = r'''
_raw:
  description:
    - The API's entries of every category, in term order, each category's entries oldest first. Fields are those the
      API returns for the category (for example C(timestamp), C(event), C(details), C(device_id), C(device_name)).
  type: list
  elements: dict
'''

import time
from typing import Any

from ansible.errors import AnsibleLookupError
from ansible.module_utils.basic import missing_required_lib
from ansible.plugins.lookup import LookupBase
from ansible.utils.display import Display

from ansible_collections.opswat.itot.plugins.module_utils._client import HAS_REQUESTS, LogsClient
from ansible_collections.opswat.itot.plugins.module_utils._errors import ItotError, OptionError
from ansible_collections.opswat.itot.plugins.module_utils._options import (
    CONNECTION_VARIABLES,
    LOOKUP_OPTION_NAMES,
    ConnectionSettings,
    OptionAdapter,
    connection_settings,
)
from ansible_collections.opswat.itot.plugins.module_utils._query import LogQuery, build_query
from ansible_collections.opswat.itot.plugins.module_utils._vocabulary import CATEGORIES, allowed

display = Display()


def _categories(terms: Any) -> list[Any]:
    categories: list[Any] = []
    for term in terms if isinstance(terms, (list, tuple)) else [terms]:
        if isinstance(term, (list, tuple)):
            categories.extend(term)
        else:
            categories.append(term)
    if not categories:
        raise OptionError('_terms: no event category given; allowed: %s' % allowed(CATEGORIES))
    for category in categories:
        if not isinstance(category, str) or category not in CATEGORIES:
            raise OptionError('_terms: %r is not an event category; allowed: %s' % (category, allowed(CATEGORIES)))
    # A category given twice is read once, where it first appears: every entry is returned exactly once.
    return list(dict.fromkeys(categories))


class LookupModule(LookupBase):

    def run(self, terms: list[Any], variables: dict[str, Any] | None = None, **kwargs: Any) -> list[Any]:
        if not HAS_REQUESTS:
            raise AnsibleLookupError(missing_required_lib('requests'))
        unknown = sorted(set(kwargs) - set(LOOKUP_OPTION_NAMES))
        if unknown:
            # Ansible ignores unknown keywords; a mistyped option (or the module's token) must not go unnoticed.
            raise AnsibleLookupError('%s: not an option of opswat.itot.itot_logs; allowed: %s'
                                     % (', '.join(unknown), ', '.join(sorted(LOOKUP_OPTION_NAMES))))
        # Ansible hands lookups their variables untemplated: template the few this lookup reads.
        var_options = {name: self._templar.template(value) if self._templar is not None else value
                       for name, value in (variables or {}).items() if name in CONNECTION_VARIABLES}
        try:
            # Ansible gathers the values (keywords, then variables, then the environment, then ansible.cfg, then
            # the defaults); the options this collection checks are declared raw, so they arrive as given.
            self.set_options(var_options=var_options, direct=kwargs)
            options = OptionAdapter.from_plugin(self)
            settings = self._connection_settings(options)
            now_ms = int(time.time() * 1000)
            queries = [build_query(options, now_ms, event_category=category) for category in _categories(terms)]
            if not settings.validate_certs:
                display.warning('opswat.itot.itot_logs: validate_certs is false: the API certificate is not verified')
            return self._read(LogsClient(settings, warn=display.warning), queries)
        except ItotError as exc:
            raise AnsibleLookupError(exc.message) from None

    @staticmethod
    def _read(client: LogsClient, queries: list[LogQuery]) -> list[Any]:
        entries: list[Any] = []
        try:
            for query in queries:
                result = client.fetch(query)
                entries.extend(result.logs)
                if result.truncated:
                    display.warning('opswat.itot.itot_logs: category %r stopped after max_results=%d entries; '
                                    'the window holds more' % (query.event_category, query.max_results))
        finally:
            client.close()
        return entries

    def _connection_settings(self, options: OptionAdapter) -> ConnectionSettings:
        """The checked connection options; an error names the variable or environment variable the value came from."""
        try:
            return connection_settings(options)
        except OptionError as exc:
            source = self._source(exc.option)
            if source is None:
                raise
            raise OptionError('%s (from %s): %s' % (exc.option, source, exc.problem)) from None

    def _source(self, name: str | None) -> str | None:
        """``variable itot_x`` or ``environment variable ITOT_X`` when the option's value came from there."""
        if name not in LOOKUP_OPTION_NAMES:
            return None
        origin = self.get_option_and_origin(name)[1]
        kind, sep, where = str(origin).partition(': ')
        if sep and kind == 'var':
            return 'variable %s' % where
        if sep and kind == 'env':
            return 'environment variable %s' % where
        return None
