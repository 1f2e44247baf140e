# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The vocabulary of the Get Logs API v3.3 (the vendor's page), each fact once; for internal collection use only.

Categories, events per category, agent types, the API's paths and limits. Imports nothing: every other file of the
collection may import it. The YAML and documentation copies (doc fragments, the role's argument specs) are held to
these values by unit tests.
"""

from __future__ import annotations

DEFAULT_BASE_URL = 'https://gears.opswat.com'
LOGS_PATH = '/o/api/v3.3/logs'
TOKEN_PATH = '/o/oauth/token'

# The event categories, in the order of the vendor's page (and of the reports); messages list them sorted.
CATEGORIES = ('admin', 'device', 'webhook', 'device_report')
# Events per category, as the vendor's page lists them (device_report has none).
EVENTS = {
    'admin': ('cac_change', 'changed_password', 'config', 'failed_auth', 'login', 'rev_mobile_code',
              'submit_ticket', 'whitelist'),
    'device': ('access_granted', 'access_revoked', 'added', 'added_duplicate_mac', 'compliance_check', 'compliant',
               'deleted', 'deleted_api', 'deleted_user', 'exempt_all', 'fetch_log', 'noncompliant', 'scan_threat',
               'unexempt', 'unseen'),
    'webhook': ('added', 'deleted', 'status_changed_to_compliant', 'status_changed_to_exempted',
                'status_changed_to_non_compliant'),
    'device_report': (),
}
# The fields of an entry per category, as the page's "Response Parameters" list them (data.*).
_DEVICE_FIELDS = ('timestamp', 'event', 'details', 'device_id', 'device_name', 'device_username', 'device_group')
FIELDS = {
    'admin': ('timestamp', 'event', 'details', 'admin_name', 'admin_email'),
    'device': _DEVICE_FIELDS,
    'webhook': ('timestamp', 'event', 'details', 'device_id', 'device_name', 'response_code', 'response_body'),
    'device_report': _DEVICE_FIELDS + ('status', 'severity', 'policy_name', 'last_seen', 'public_ip'),
}
# The categories filter.search applies to.
SEARCH_CATEGORIES = ('device', 'device_report', 'webhook')
# The categories filter.agent_types applies to.
AGENT_TYPE_CATEGORIES = ('device',)
# filter.agent_types: value -> what the page calls it.
AGENT_TYPES = {0: 'MetaDefender Endpoint', 2: 'OPSWAT Domain Controller Client'}

MAX_AGE = 86400  # age: at most one day, in seconds
API_DEFAULT_AGE = 3600  # what the API uses when neither age nor start/end is sent
MAX_PAGE_SIZE = 100
DAY_SECONDS = 86400  # the widest window the page implies (age at most 86400 s), and max_window's default
DAY_MS = DAY_SECONDS * 1000
MAX_WINDOW_RANGE = (60, 30 * DAY_SECONDS)  # max_window: the vendor's own client sends windows of up to 30 days
TOKEN_LOCATIONS = ('query', 'header')  # access_token_location: the page's ?access_token=, or Authorization: Bearer
RATE_LIMIT = 10  # requests per RATE_WINDOW seconds, per account: the page's limit
RATE_WINDOW = 60

# The client's own bounds on what a server may hand it (not the API's: the page names none of these).
MAX_ANSWER_BYTES = 20 * 1024 * 1024  # one answer's body; a larger one is refused unread
MAX_ENTRIES_PER_WINDOW = 100000  # entries one window's chain of pagination tokens may bring (memory and time)
PAGE_SLACK = 5  # requests a window's chain may send beyond ceil(entries / page_size)


def allowed(values) -> str:
    """``a, b, c``: a vocabulary list as messages show what is allowed (sorted, so easy to scan)."""
    return ', '.join(sorted(values))
