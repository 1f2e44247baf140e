# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # Query options shared by the module and the lookup. Keep in step with QUERY_OPTIONS in
    # plugins/module_utils/_options.py (a unit test compares them). The module adds event_category and token.
    DOCUMENTATION = r'''
options:
  events:
    description:
      - Only entries of these events, a list of event names. Every event must be one the API lists for the category.
      - A string is split on commas (V(login, failed_auth)); blanks around each name are dropped, by the module, the
        lookup and the C(opswat.itot.log_archive) role alike. An empty name (V(login,)) is refused.
      - V(admin) - V(cac_change), V(changed_password), V(config), V(failed_auth), V(login), V(rev_mobile_code),
        V(submit_ticket), V(whitelist).
      - V(device) - V(access_granted), V(access_revoked), V(added), V(added_duplicate_mac), V(compliance_check),
        V(compliant), V(deleted), V(deleted_api), V(deleted_user), V(exempt_all), V(fetch_log), V(noncompliant),
        V(scan_threat), V(unexempt), V(unseen).
      - V(webhook) - V(added), V(deleted), V(status_changed_to_compliant), V(status_changed_to_exempted),
        V(status_changed_to_non_compliant).
      - Not allowed for V(device_report).
      - Several events are sent as one comma-separated filter; if the API refuses that, each event is read on its own
        and the entries are merged by time.
    type: raw
  agent_types:
    description:
      - Only entries of devices with these agent types, V(0) (MetaDefender Endpoint) or V(2) (OPSWAT Domain
        Controller Client).
      - A list of agent types (or one, or a string of them separated by commas).
      - Only allowed for the V(device) category.
    type: raw
  search:
    description:
      - Only entries whose device name or device ID matches this text.
      - Only allowed for the V(device), V(device_report) and V(webhook) categories.
    type: str
  age:
    description:
      - Read the entries of the last O(age) seconds, an integer V(1) to V(86400).
      - Cannot be combined with O(start_time) or O(end_time).
      - When neither O(age) nor O(start_time)/O(end_time) is given, the API's default applies (the last hour).
    type: raw
  start_time:
    description:
      - Start of the window to read (included).
      - Epoch milliseconds (V(1795935600000)) or epoch seconds (V(1795935600)), a number or a digit string; a
        number below 1e11 is read as epoch seconds, any other as epoch milliseconds, the same rule the client applies
        to the C(timestamp) of the API's entries. ISO 8601 (V(2026-11-29T07:00:00Z),
        V(2026-11-29T08:00:00.250+01:00), a time without offset is UTC); RFC 1123 (V(Sun, 29 Nov 2026 07:00:00 GMT), the
        form of some entries' C(timestamp)); V(now); or a time relative to now,
        V(-30s), V(-15m), V(-2h), V(-7d), V(-1w) (seconds, minutes, hours, days, weeks).
      - The time must lie from V(2000-01-01T00:00:00Z) to one day after now. Any other time is refused before the
        first request, with the time the value was read as and, for a number, what was probably meant (for example
        V(1796000000000000) read as epoch milliseconds is after the year 9999; as epoch microseconds it is
        V(1796000000000)). A time before 1970 is refused as such, not as an unknown form.
      - All relative times of one run are resolved against the same now.
      - Without O(end_time) the window ends now.
      - A window longer than O(max_window) (24 hours by default) is read in slices of at most that width, oldest
        first.
    type: raw
  end_time:
    description:
      - End of the window to read (included), in any form O(start_time) takes. Must not be before O(start_time).
      - Without O(start_time) the window starts one hour before O(end_time) (the API's default window).
    type: raw
  page_size:
    description:
      - Entries per API request (the API's C(limit)), an integer V(1) to V(100).
      - Larger pages need fewer requests against the budget of 10 requests per minute.
    type: raw
    default: 100
  max_results:
    description:
      - Stop after this many entries, an integer. V(0) reads every entry of the window.
      - Where the API pages oldest first, the read stops after the page that holds the last entry wanted (or a
        second past it, since an entry stated in whole seconds may come on the next page with an earlier time), and the
        module's next chunk (its next_token) goes on with the API's own page where this one stopped. A window read
        in chunks then costs about the requests of one read of it plus one per chunk (the page a chunk stopped
        inside is asked again).
      - Where the API pages newest first (or not in order), the oldest entries come last, so the first chunk reads
        its slice (at most O(max_window)) whole, and its next_token says where each of the coming chunks (up to
        1,000) ends; each of them then reads only its own part of the window. A window read in chunks then costs
        about the requests of two reads of it plus one per chunk. While it reads its slice whole, the first chunk keeps
        whole only the entries it returns; the others are emptied down to their time (about 0.4 KB each).
    type: raw
    default: 0
# The user guide, for the module and the lookup alike.
seealso:
  - name: The user guide, archiving the logs
    link: https://github.com/opswat-itot/opswat.itot/blob/main/docs/docsite/rst/guide_archive.rst
    description: The opswat.itot.log_archive role and the opswat.itot.audit playbook, which archive these logs on hosts
      exactly once and report on them. Also installed with the collection as ansible_collections/opswat/itot/docs/docsite/rst/guide_archive.rst.
  - name: The user guide, troubleshooting
    link: https://github.com/opswat-itot/opswat.itot/blob/main/docs/docsite/rst/guide_troubleshooting.rst
    description: What HTTP 406, 429, 401 and TLS errors mean, and what to do about them. Also
      installed with the collection as ansible_collections/opswat/itot/docs/docsite/rst/guide_troubleshooting.rst.
'''
