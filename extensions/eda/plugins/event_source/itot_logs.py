# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The opswat.itot.itot_logs event source: new IT-OT Access log entries as Event-Driven Ansible events.

Thin: the arguments are checked and the categories polled by the collection's shared code (module_utils/_poll.py,
through the one client); this file runs the blocking reads in a thread and puts the events on the queue.
"""

from __future__ import annotations

DOCUMENTATION = r"""
---
short_description: New event log entries of OPSWAT MetaDefender IT-OT Access, as they arrive.
description:
  - 'Polls the event logs of the chosen categories and puts each new entry on the queue once, oldest first, as
    C({"itot": {"category": ..., "tenant": ..., "log": {...}}}); C(log) is the entry as the API gave it, fields
    unchanged.'
  - Reads through the same client as the module, the lookup and the role (paging, retries, token refresh, secret
    scrubbing), and paces its requests in the same ledger, so that a rulebook and a playbook of the same tenant on
    the same machine together stay within O(rate_limit) and draw no HTTP 429.
  - A request that still fails after the client's retries is logged (without any secret) and the category is read
    again at the next poll, from where it stood; the source keeps polling.
  - Arguments are checked before any request; a bad one stops the source with a message naming it.
  - Each poll reads from O(overlap) seconds before the end of the previous read; entries returned before are
    recognised by their identity (the SHA-256 of their canonical JSON, as the archive does) and not returned again.
    Two identical entries (two real events) are both returned.
options:
  categories:
    description:
      - Event categories to poll, V(admin), V(device), V(webhook) or V(device_report); a list, or a comma-separated
        string.
    type: list
    elements: str
    required: true
  filters:
    description:
      - "Per category, C({events: [...], agent_types: [...], search: ...}), as the options of the same names of
        the opswat.itot.itot_logs_info module and the role's C(itot_log_archive_filters), for example
        C({admin: {events: [failed_auth]}}). Only for categories in O(categories)."
    type: dict
  interval:
    description:
      - Seconds between the starts of two polls.
      - At least the number of categories times O(rate_window) / O(rate_limit), so that one request per category
        per poll stays within the budget (6 s for one category with the API's 10 requests per minute); the default
        is twice that, leaving half the budget to playbooks of the same tenant. Without pacing (O(rate_limit=0)),
        at least 0.1 and by default 10.
      - At most 86400.
    type: float
  start:
    description:
      - Where the first poll starts, when O(state_file) holds no position for the category yet. Epoch milliseconds
        or seconds, ISO 8601, RFC 1123, V(now), or relative to now (V(-15m), V(-2h), V(-1d)).
      - By default V(now) - only entries that arrive after the source started.
    type: raw
  overlap:
    description:
      - Seconds each poll reads back before the end of the previous read, for entries that reach the API late
        (with a time earlier than when they arrive). Entries returned before are not returned again.
      - V(0) to V(86400).
    type: int
    default: 60
  state_file:
    description:
      - Absolute path of a file where the source keeps its position per category (and the identities of the
        entries of the overlap), written atomically after the events of every poll are on the queue. A restart
        with the same file returns nothing twice and misses nothing.
      - Its folder must exist. A link in its place is refused, never followed; the file of another tenant is
        refused. It holds no secret.
    type: str
  tenant:
    description:
      - The tenant's name in the events (C(itot.tenant)), 1 to 64 letters, digits, C(-) and C(_).
      - By default a name derived from O(base_url) and the credential, as the role derives it.
    type: str
  base_url:
    description:
      - Base URL of the tenant's API; E(ITOT_BASE_URL) when not given.
    type: str
    default: https://gears.opswat.com
  access_token:
    description:
      - OAuth access token; E(ITOT_ACCESS_TOKEN) when not given. Prefer the environment variable (or a vault) to
        writing it into a rulebook.
    type: str
  client_id:
    description:
      - OAuth client ID for the client credentials grant, with O(client_secret); E(ITOT_CLIENT_ID) when not given.
    type: str
  client_secret:
    description:
      - OAuth client secret; E(ITOT_CLIENT_SECRET) when not given.
    type: str
  validate_certs:
    description:
      - Whether to verify the API's certificate; E(ITOT_VALIDATE_CERTS) when not given.
    type: bool
    default: true
  ca_path:
    description:
      - CA bundle file or folder for a private CA; E(ITOT_CA_PATH) when not given.
    type: str
  timeout:
    description:
      - Seconds one request may take in all.
    type: float
    default: 30
  max_retries:
    description:
      - Retries of one request after a connection error, a timeout, an HTTP 5xx or 429.
    type: int
    default: 5
  rate_limit:
    description:
      - Requests per O(rate_window) the client allows itself, shared with every task and source of the same
        tenant on the machine; V(0) turns pacing off. E(ITOT_RATE_LIMIT) when not given.
    type: int
    default: 10
  rate_window:
    description:
      - Seconds that O(rate_limit) counts requests in; E(ITOT_RATE_WINDOW) when not given.
    type: float
    default: 60
  access_token_location:
    description:
      - V(query) or V(header); E(ITOT_ACCESS_TOKEN_LOCATION) when not given.
    type: str
    default: query
  max_window:
    description:
      - The widest window sent in one request, in seconds; E(ITOT_MAX_WINDOW) when not given.
    type: int
    default: 86400
notes:
  - The connection options mean what they mean for the opswat.itot.itot_logs_info module (see its documentation).
  - An entry that reaches the API more than O(overlap) seconds after its time, and after the poll that covered its
    time, is not returned.
"""

EXAMPLES = r"""
- name: Failed admin logins, as they happen
  hosts: localhost
  sources:
    - opswat.itot.itot_logs:
        categories: [admin]
        filters:
          admin:
            events: [failed_auth]
        state_file: /var/lib/eda/itot-admin.json
  rules:
    - name: Five failed logins of one admin within ten minutes
      condition: event.itot.log.event == "failed_auth"
      throttle:
        group_by_attributes:
          - event.itot.log.admin_email
        accumulate_within: 10 minutes
        threshold: 5
      action:
        run_playbook:
          name: opswat.itot.eda_failed_logins
"""

import asyncio
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

# ansible-rulebook runs a source by its path: the collection's shared code is importable once the folder that holds
# ansible_collections/ is on sys.path (the collection's own copy first).
for _path in (Path(os.path.abspath(__file__)), Path(__file__).resolve()):
    if len(_path.parents) > 7 and _path.parents[6].name == 'ansible_collections':
        if str(_path.parents[7]) not in sys.path:
            sys.path.insert(0, str(_path.parents[7]))
        break

from ansible_collections.opswat.itot.plugins.module_utils._client import LogsClient  # noqa: E402
from ansible_collections.opswat.itot.plugins.module_utils._poll import Poller, poll_settings  # noqa: E402

logger = logging.getLogger('opswat.itot.itot_logs')
# ansible-rulebook -vv logs at DEBUG for every logger: urllib3's request lines carry the URL, and with it the access
# token when it travels in the query string (access_token_location: query, the API's way).
URLLIB3_LOGGERS = ('urllib3.connectionpool', 'urllib3.poolmanager', 'urllib3.util.retry', 'urllib3.response')


class ScrubbedRecords(logging.Filter):
    """Rewrites the records of other libraries' loggers without the client's secrets."""

    def __init__(self, client: LogsClient) -> None:
        super().__init__()
        self._client = client

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._client.scrub(record.getMessage())
        record.args = None
        return True


def _now_ms() -> int:
    return int(time.time() * 1000)


def make_poller(args: dict[str, Any]) -> Poller:
    """The poller of these arguments: every argument checked (OptionError) before the client is made."""
    settings = poll_settings(args, os.environ, _now_ms())
    if not settings.connection.validate_certs:
        logger.warning('opswat.itot.itot_logs: validate_certs is false: the API certificate is not verified')
    client = LogsClient(settings.connection, warn=logger.warning)
    return Poller(settings, client, _now_ms, logger.warning)


async def main(queue: asyncio.Queue, args: dict[str, Any], *, polls: int | None = None) -> None:
    """Poll until cancelled (or ``polls`` times), putting every new entry on ``queue`` once, oldest first."""
    poller = make_poller(args)
    scrubbed = ScrubbedRecords(poller.client)
    for name in URLLIB3_LOGGERS:
        logging.getLogger(name).addFilter(scrubbed)
    loop = asyncio.get_running_loop()
    logger.info('opswat.itot.itot_logs: polling %s of tenant %s every %g s',
                ', '.join(poller.settings.categories), poller.settings.tenant, poller.settings.interval)
    try:
        await loop.run_in_executor(None, poller.save)  # an unwritable state_file fails now, not after a poll
        done = 0
        while polls is None or done < polls:
            started = loop.time()
            events = await loop.run_in_executor(None, poller.poll)
            for event in events:
                await queue.put(event)
            await loop.run_in_executor(None, poller.save)
            done += 1
            if events:
                logger.info('opswat.itot.itot_logs: %d new entries', len(events))
            if polls is None or done < polls:
                await asyncio.sleep(max(0.0, poller.settings.interval - (loop.time() - started)))
    finally:
        for name in URLLIB3_LOGGERS:
            logging.getLogger(name).removeFilter(scrubbed)
        poller.close()


if __name__ == '__main__':
    # Print the events of one poll, for a quick look: python itot_logs.py admin (connection from ITOT_*).

    class _PrintQueue(asyncio.Queue):
        async def put(self, item: Any) -> None:
            print(item)

    asyncio.run(main(_PrintQueue(), {'categories': sys.argv[1:] or ['admin'], 'start': '-1h'}, polls=1))
