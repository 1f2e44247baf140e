# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # Connection options of every module and lookup. Keep in step with CONNECTION_OPTIONS in
    # plugins/module_utils/_options.py (a unit test compares them).
    DOCUMENTATION = r'''
options:
  base_url:
    description:
      - Base URL of the MetaDefender IT-OT Access API of your tenant, scheme and host (and port) only.
      - The client adds the API paths (C(/o/api/v3.3/logs), C(/o/oauth/token)).
      - The E(ITOT_BASE_URL) environment variable is used when the option is not set.
    type: str
    default: https://gears.opswat.com
  access_token:
    description:
      - OAuth access token for the API. It is sent in the URL query string, as the vendor's page says, or as a
        C(Bearer) token in the C(Authorization) header (O(access_token_location)), and never appears in a message, a
        warning or a return value.
      - Either O(access_token), or O(client_id) and O(client_secret), must be given. With both, the token is used
        first and the client credentials get a new one when the API answers HTTP 401.
      - The E(ITOT_ACCESS_TOKEN) environment variable is used when the option is not set.
    type: str
  client_id:
    description:
      - OAuth client ID, for the client credentials grant (C(POST {base_url}/o/oauth/token)).
      - Requires O(client_secret).
      - The E(ITOT_CLIENT_ID) environment variable is used when the option is not set.
    type: str
  client_secret:
    description:
      - OAuth client secret that goes with O(client_id).
      - The E(ITOT_CLIENT_SECRET) environment variable is used when the option is not set.
    type: str
  validate_certs:
    description:
      - Whether to verify the API's TLS certificate, a boolean (V(true), V(false), V(yes), V(no), ...).
      - Set to V(false) only for test endpoints; a warning says so.
      - The E(ITOT_VALIDATE_CERTS) environment variable is used when the option is not set.
    type: raw
    default: true
  ca_path:
    description:
      - A CA bundle file (or a directory of CA certificates) to verify the API's certificate with, for a private CA.
      - A path; C(~) and environment variables in it are expanded, and it must exist.
      - The E(ITOT_CA_PATH) environment variable is used when the option is not set.
    type: str
  timeout:
    description:
      - Seconds one HTTP request may take in all, from connecting to the last byte of the answer, a number more than
        V(0) and at most V(3600). A server that sends its answer slowly (however often a byte comes) is cut off when
        the time is up, and the request counts as failed (it is retried, see O(max_retries)).
      - An answer larger than 20 MiB is refused without being read whole, and not retried.
    type: raw
    default: 30
  max_retries:
    description:
      - How many times one request is retried after a connection error, a timeout, an HTTP 500, 502, 503 or 504, a
        malformed answer, or an HTTP 429. After a 429 the client waits what C(Retry-After) asks (at most 120 s); a
        429 without C(Retry-After) waits a whole O(rate_window) (or the backoff below, when longer), plus up to
        10 % at random, so the server's window has turned before the retry, whatever its budget. Every task and
        process of the same tenant on the machine waits as long. The waits between other retries grow (1 s, 2 s,
        4 s, ... at most 30 s, with jitter).
      - V(0) gives up at the first failure. The error says what failed, how often it was tried and the last status.
      - An integer, V(0) to V(100).
    type: raw
    default: 5
  rate_limit:
    description:
      - Requests per O(rate_window) seconds (default 60, per minute) the client allows itself (the API allows 10 a
        minute).
      - The budget is kept in a small locked file under C(${XDG_CACHE_HOME:-~/.cache}/opswat.itot/), named by a hash
        of O(base_url) and O(client_id) (or of a hash of O(access_token)), so every task and process of the same
        user on the same machine shares it, and a play never draws an HTTP 429 from its own traffic.
      - A server that allows fewer requests than this (or whose budget others spend too) answers HTTP 429; one
        without C(Retry-After) costs at most one 429 per O(rate_window) (see O(max_retries)).
      - V(0) turns pacing off, for endpoints without a budget (such as the bundled emulator started with
        C(--rate-limit 0)).
      - An integer, at least V(0).
      - The E(ITOT_RATE_LIMIT) environment variable is used when the option is not set.
    type: raw
    default: 10
  rate_window:
    description:
      - The length, in seconds, of the window that O(rate_limit) counts requests in. The API's window is a minute;
        change it only for an endpoint with another budget, such as an emulator that allows 10 requests per 3 s
        (O(rate_limit=10), O(rate_window=3)).
      - A number more than V(0) and at most V(3600).
      - The E(ITOT_RATE_WINDOW) environment variable is used when the option is not set.
    type: raw
    default: 60
  access_token_location:
    description:
      - Where the access token travels with each logs request, V(query) or V(header).
      - V(query) puts it in the URL query string (C(?access_token=...)), as the vendor's API page says.
      - V(header) sends it as a C(Bearer) token in the C(Authorization) header, as the vendor's own log client (its Splunk
        add-on) does; the URL then carries no secret. Use it when the tenant answers HTTP 401 "missing" to the
        query string, or when proxies log URLs.
      - The E(ITOT_ACCESS_TOKEN_LOCATION) environment variable is used when the option is not set.
    type: str
    default: query
    version_added: 1.1.0
  max_window:
    description:
      - The widest C(start_time)..C(end_time) window, in seconds, sent in one request (V(60) to V(2592000), 30 days).
        A longer window is read in slices of at most this width.
      - The vendor's page limits only C(age) to a day, and its own log client sends windows of up to 30 days. Where a
        tenant takes wide windows, a wider O(max_window) reads a sparse category with fewer requests (a week in one
        request instead of eight).
      - "When the API refuses a window wider than 24 hours with HTTP 400 before it accepted one, the client reads
        the rest of the task in 24 hour slices, warns once (C(this tenant accepts windows of at most 24 h; set
        max_window: 86400)), and loses nothing; that costs one request."
      - An integer.
      - The E(ITOT_MAX_WINDOW) environment variable is used when the option is not set.
    type: raw
    default: 86400
    version_added: 1.1.0
notes:
  - Options of type C(raw) take what their description says; they are declared C(raw) so that this collection,
    not Ansible's type conversion, checks the value as given and says what is wrong with it.
  - Only HTTP requests to the logs endpoint count against O(rate_limit); token requests do not.
'''

    # Where lookups also read the connection options from (modules use the environment variables only).
    PLUGINS = r'''
options:
  base_url:
    env:
      - name: ITOT_BASE_URL
    ini:
      - section: opswat_itot
        key: base_url
    vars:
      - name: itot_base_url
  access_token:
    env:
      - name: ITOT_ACCESS_TOKEN
    ini:
      - section: opswat_itot
        key: access_token
    vars:
      - name: itot_access_token
  client_id:
    env:
      - name: ITOT_CLIENT_ID
    ini:
      - section: opswat_itot
        key: client_id
    vars:
      - name: itot_client_id
  client_secret:
    env:
      - name: ITOT_CLIENT_SECRET
    ini:
      - section: opswat_itot
        key: client_secret
    vars:
      - name: itot_client_secret
  validate_certs:
    env:
      - name: ITOT_VALIDATE_CERTS
    vars:
      - name: itot_validate_certs
  ca_path:
    env:
      - name: ITOT_CA_PATH
    vars:
      - name: itot_ca_path
  timeout:
    vars:
      - name: itot_timeout
  max_retries:
    vars:
      - name: itot_max_retries
  rate_limit:
    env:
      - name: ITOT_RATE_LIMIT
    vars:
      - name: itot_rate_limit
  rate_window:
    env:
      - name: ITOT_RATE_WINDOW
    vars:
      - name: itot_rate_window
  access_token_location:
    env:
      - name: ITOT_ACCESS_TOKEN_LOCATION
    ini:
      - section: opswat_itot
        key: access_token_location
    vars:
      - name: itot_access_token_location
  max_window:
    env:
      - name: ITOT_MAX_WINDOW
    ini:
      - section: opswat_itot
        key: max_window
    vars:
      - name: itot_max_window
'''
