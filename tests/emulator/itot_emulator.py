"""Emulator of the OPSWAT MetaDefender IT-OT Access "Get Logs" API v3.3, for tests, demos and benchmarks.

Standard library only, Python 3.9 or newer.  One file: run it, or import it.

    python tests/emulator/itot_emulator.py [options]

    from itot_emulator import EmulatorConfig, make_server
    server = make_server(EmulatorConfig(pagination="200-cursor"))   # port 0: a free port
    threading.Thread(target=server.serve_forever, daemon=True).start()
    ... server.base_url, server.port ...
    server.shutdown(); server.server_close()

``run_in_thread(config, poll_interval=0.02)`` does the three lines above and returns the server;
``server.stop()`` shuts it down.  ``server.emulator`` is the state behind the control endpoints.  ``make_server``
validates the config (ValueError) and writes the ``--port-file`` but prints nothing; the command line prints one
line ``itot-emulator listening on http://HOST:PORT`` (``https://`` with TLS) to stdout, flushed, when ready.

Command line options (defaults in brackets)
-------------------------------------------
Server:
  --host HOST              listen address [127.0.0.1]; IPv6 addresses work too
  --port N                 port [0 = pick a free one]
  --port-file PATH         write the port number there (temp file + rename) once listening; removed again on a
                           clean exit when it still holds our port
  --log-file PATH          access log, one line per request (see "Access log") [none; stderr stays quiet]
  --tls-cert PEM --tls-key PEM
                           serve HTTPS instead of HTTP (the TLS handshake runs in the request's thread)
API behaviour (all changeable at run time through POST /_control/config):
  --pagination {406-token,200-cursor,406-split,200-413}  [406-token], see "Pagination styles"
  --order {asc,desc}       order of the entries inside an answer [desc]
  --rate-limit N           requests per window per access token value [10]; 0 = no limit
  --rate-window S          window of the sliding rate limit in seconds, float [60]
  --no-retry-after         429 answers carry no Retry-After header
  --page-token-ttl S       lifetime of pagination tokens, seconds, float [300]
  --bounds {inclusive,exclusive,half-open}
                           which ends of a resolved window it serves [inclusive]: inclusive [start, end],
                           exclusive (start, end), half-open [start, end) (the page does not say)
  --max-window S           a resolved start/end window longer than this is answered 400 naming the window and the
                           limit [86400]; 0 = no limit (the vendor's own client sends windows of up to 30 days)
  --events-format {csv,single,list}  what filter.events accepts [csv]: single = one event name (a string
                           with a comma is 400); csv = also "a,b" (blanks around names are ignored); list = also
                           a JSON array of names
Authentication:
  --auth {query,header,both}  where the logs endpoint takes the access token [both]: query = the URL's
                           ?access_token= (the vendor's page), header = "Authorization: Bearer <token>" (the
                           vendor's own client); a token in the other place is not looked at (401 "missing")
  --access-token TOKEN     a static access token that never expires (repeatable)
  --client-id ID --client-secret SECRET
                           OAuth client credentials (repeatable, in pairs) [demo-client / demo-secret]
  --token-lifetime S       lifetime of OAuth-issued access tokens, whole seconds >= 1 [43199]
Data (fixed at start; same seed + same anchor = byte-identical data):
  --seed N                 [1]
  --entries N              generated entries per category [500]
  --span S                 the entries are spread over the S seconds [86400] ...
  --anchor-ms MS           ... that end at this epoch-ms time [now, at start]: all lie in [anchor - span, anchor]
  --time-format {iso,epoch-ms,rfc1123,mixed}  how data.timestamp is rendered [iso]:
                           iso       "2026-11-29T07:00:00.123Z"  (JSON string)
                           epoch-ms  1795935600123               (JSON number)
                           rfc1123   "Sun, 29 Nov 2026 07:00:00 GMT"  (second resolution: ties happen)
                           mixed     per entry, a seeded choice among the three above plus
                                     "2026-11-29T07:00:00+00:00" and "1795935600123" (digit string)
                           Entries rendered at second resolution have whole-second times internally too, so
                           every rendered timestamp parses back to exactly the truth's timestamps_ms.
  --duplicates N           N exact duplicates per category (same content incl. timestamp, placed right after
                           their original; both are real events and both are served) [0]
Faults (logs endpoint only):
  --fault KIND=RATE        KIND: 500 502 503 504 reset slow badjson; RATE 0..1; rates add up to <= 1 (repeatable)
  --fault-seed N           [0]
  --slow-seconds S         delay of the "slow" fault, float [5]
Hostile server (logs endpoint only; every one off by default; see "Hostile server" for what each does):
  --drip-seconds S         send answer bodies one byte every S seconds, float [0 = off]
  --drip-bytes N           drip only the first N bytes of a body, then send the rest at once [0 = all of it]
  --endless {off,fresh,repeat}  every page full and with a new token, forever [off]
  --huge-bytes N           pad every page's answer to N bytes [0 = off]
  --deep-json N            add N nested arrays to every page's answer [0 = off]
  --odd-entry JSON         a JSON value (not an object: '"oops"', 42, null) mixed into every page's data
                           (repeatable, in order) [none]
  --odd-at N               where: before the page's N-th entry (0 = first; past the end = last) [0]
  --stray-time TIME        restamp some served entries with this time (ISO 8601, RFC 1123 or epoch; a digit
                           string is served as an epoch-ms number) [none = off]
  --stray-at N             which: the page's N-th entry (0 = first), repeatable [0]

Data
----
A seeded pool of 40 devices (32-hex device ids, names WS-0012, LT-0031, OT-PLC-07, OT-HMI-03, OT-ENG-01,
SRV-DC-01, SRV-APP-02; groups, usernames, policy, public IP in 203.0.113.0/24 or 198.51.100.0/24, a hidden agent
type: 2 for the SRV-DC-* domain controllers, 0 otherwise) and 8 admins (names, some non-ASCII, emails at
example.com).  Events are drawn, weighted, from the category's list on the vendor's page (device_report has
none: its event is "device_report").  device_report entries: status compliant / non-compliant / exempted,
severity critical / high / medium / low, policy_name, last_seen (RFC 1123 GMT, a little before the entry), public_ip.
webhook entries: response_code "200" mostly, some "404" and "500", with a matching response_body.  The agent type
is used by filter.agent_types and never rendered.  Answers are UTF-8 JSON (non-ASCII left unescaped).
Each category's store is kept sorted by (timestamp_ms, seq), seq being insertion order: ties keep insertion order.

The API
-------
POST /o/api/v3.3/logs?access_token=T   or with "Authorization: Bearer T" (see --auth; with both places allowed and
    both given, the query string's token is used; the first access_token value is used)
Checks, in this order (the first failing one answers):
  0. outage (see /_control/config): connection reset; not counted against the rate budget
  1. access token missing / unknown / expired: 401 {"error": {"code": 401, "message": "..."}} (never the token)
  2. rate limit: 429 {"error": {"code": 429, "message": ...}} + "Retry-After: <int s until the oldest counted
     request leaves the window, >= 1>" (unless --no-retry-after).  Counted per access_token value: every logs
     request that carries one (incl. 400 and 401 answers, faults) except those answered 429.
  3. faults: the queue fail_next first, else one draw of random.Random(fault_seed) per request reaching this
     step (drawn even when the queue decides, so the random sequence depends only on the arrival count).
     500 and 503: JSON body; 502 and 504: an nginx-like HTML body (Content-Type text/html); reset: the connection
     is closed with SO_LINGER 0 (the client sees ECONNRESET); slow: sleep slow_seconds, then answer normally;
     badjson: 200 with a truncated JSON body (correct Content-Length).  Faulted requests serve no entries
     (except slow).  Queue-only kinds: "429" (a 429 with Retry-After: 1, not counted against the budget),
     "401" (as if the token were revoked, counted), "none" (this request gets no fault at all).
  4. body validation, 400 {"error": {"code": 400, "message": "<field>: <value> ...; allowed: ..."}}, in order:
     body (valid UTF-8 JSON object, at most 1 MiB, else 413 when larger); event_category (required, one of device,
     admin, webhook, device_report); limit (int, not bool, 1..100, default 20); age (int 1..86400, default 3600);
     start_time, end_time (int >= 0, epoch ms); filter (an object; keys among events, agent_types, search;
     allowed per category: admin events; device events, agent_types, search; webhook events, search;
     device_report search); filter.events (per --events-format, each name from the category's list);
     filter.agent_types (a list of ints, each 0 or 2; [] = no filter); filter.search (a string, case-insensitive
     substring of device_name or device_id); token (a string; "" = no token); then the window: both given
     [start, end]; only start [start, now]; only end [end - age, end]; neither [now - age, now] (inclusive);
     start > end: 400; longer than max_window: 400; then the token: unknown: 400, expired: 400 ("... expired"),
     body (minus token, canonical JSON) different from the one that created the token: 400.  JSON null is
     not a value of any field (400).  Unknown top-level keys are ignored (but are part of the token's binding).
  5. the answer: {"data": [...], "token": "..."}; entry keys exactly as the page lists them per category, sorted
     by timestamp per the order; ties in insertion order in both orders (a stable sort), so a client's stable
     oldest-first sort of a desc walk gives exactly the truth.  token is "" when there is nothing more.
Pagination styles:
  406-token   a page after which more entries remain: 406 with its data and a non-empty token; last page: 200, "".
  200-cursor  always 200; a full page (len == limit) carries a token even when nothing remains (the next request
              then gets [] and ""); a short page carries "".
  406-split   more than limit matching entries in the window: 406 with the first limit (in order) and token "";
              otherwise 200 with all of them.  Any token is answered 400 (unknown).
  200-413     the vendor's own client's reading: every page with data is a 200 with a non-empty token, the last
              one too; a request with a token past the last entry is answered 413 {"error": {"code": 413,
              "message": "No items for current page"}}; nothing matching at all: 200 with [] and "".
Hostile server (all off by default; the answers are byte-for-byte the ones above while they are off):
  drip_seconds S, drip_bytes N   every answer of the logs endpoint (pages, errors, faults; not resets) sends its
              status line and headers (with the true Content-Length) at once, then waits S seconds before each
              byte of its body, for the first N bytes (N = 0: the whole body), then sends the rest at once.  A
              client whose timeout is per socket read and longer than S never times out; a whole-request deadline
              does.  Counter hostile.drip: answers dripped.
  endless fresh|repeat   a page request (first or with a token, in every pagination style) is answered with
              `limit` generated entries and a new, working token, forever: 406 under 406-token and 406-split (whose
              tokens are then accepted), 200 under 200-cursor and 200-413.  fresh: page n (0 = first) holds new
              entries, seeded by (seed, category, n), with distinct timestamps stepping 1 ms through the served
              window (from its end for desc, its start for asc; wrapping round in a short window) - page n of a
              walk has the same bytes in every run; repeat: every page holds the same entries (page 0's) under
              a new token.  The entries honour filter.events (not search or agent_types), are not stored (the
              truth does not hold them) and are counted in entries_served.  Counter hostile.endless: pages.
  huge_bytes N   every page's answer (a 200 or 406 with data and token, an empty page too) gains a last member
              "padding": "xxx..." so that its body is exactly N bytes (the shortest possible when the page itself
              is longer); written in pieces of at most 64 KiB after the page's own bytes, with a Content-Length,
              never built whole in memory.  Counter hostile.huge: answers padded.
  deep_json N   every page's answer gains a member "deep": [[[...]]] of N nested arrays (the innermost empty),
              before "padding" when both are set: syntactically valid JSON nested N + 1 levels deep; streamed
              as above.  Counter hostile.deep_json: answers.
  odd_entries [values], odd_at N   the values (any JSON; meant for non-objects: "oops", 42, null) are inserted
              in order into every page's data before its N-th entry (N past the end: after the last), in
              addition to the page's entries: a full page then holds limit + len(values) items.  Tokens and
              statuses are decided on the real entries as before; entries_served counts only those.
              Counter hostile.odd_entries: values served.
  stray_time T, stray_at [positions]   (T null = off) the page's entries at these positions (0 = first, in the
              order served; positions past the page's end are skipped; counted before odd_entries are inserted)
              are served with "timestamp": T exactly as configured (a string, or a number) instead of their
              own, e.g. "2099-01-01T00:00:00Z": a server clock error.  The truth keeps their true timestamps;
              pagination is unchanged.  Counter hostile.stray_entries: entries restamped.
Pagination tokens are opaque random strings mapped to (fingerprint of the body minus token, resolved window,
order, a snapshot of the store's sequence number at the first request - entries appended later are never
served by that walk - the (timestamp, seq) position of the last entry served, expiry).  A token is not consumed:
sending it again repeats the same page (safe retries); each page answers a new token.  Expiry is checked on use.

POST /o/oauth/token   form fields (x-www-form-urlencoded body, or the query string; the body wins; client
credentials may also come as HTTP Basic auth):
  grant_type=client_credentials&client_id=ID&client_secret=S  -> 200 {"access_token", "token_type": "bearer",
      "expires_in": token_lifetime, "refresh_token"}
  grant_type=refresh_token&refresh_token=R [&client_id&client_secret, checked when given] -> the same, new
      tokens; refresh tokens stay valid and never expire
  no grant_type or a missing field: 400 {"error": "invalid_request"}; other grant: 400
  {"error": "unsupported_grant_type"}; wrong credentials: 401 {"error": "invalid_client"}; unknown refresh
  token: 400 {"error": "invalid_grant"}.  Not rate limited, never faulted.

Control endpoints (no auth, JSON in and out, errors as 400 {"error": {"code": 400, "message": ...}})
----------------------------------------------------------------------------------------------------
GET  /_control/health      {"status": "ok"}
GET  /_control/truth?category=C[&start_time=MS][&end_time=MS][&events=a,b][&agent_types=0,2][&search=S]
     {"data": [every matching entry as the API renders it, oldest first, ties in insertion order],
      "timestamps_ms": [parallel list]}; no age default (no window = everything), bounds inclusive; filters
     as in the API (same rules per category; events comma-separated)
POST /_control/append      {"category": C, "count": N, "offset_seconds": 0, "spread_seconds": 0, "events": [...]}
     N generated entries timestamped now - offset_seconds (spread at random over spread_seconds before that when
     > 0), events drawn from "events" when given; and/or "entries": [{exact entry: the category's fields,
     timestamp in any form (ISO 8601, RFC 1123, epoch ms or s as number or digit string), rendered as given;
     device entries may carry "agent_type": 0|2 (default 0), not rendered}].  Answers {"appended": [...],
     "timestamps_ms": [...]} in insertion order (generated ones oldest first, after the exact ones).
GET  /_control/counters    (the usual codes and every fault kind are present, with 0)
     {"logs_requests", "by_status": {"200": n, ...}, "rate_limited", "entries_served",
     "token_in_query", "token_in_header" (logs requests that carried an access token there, whether or not --auth
     looks at that place),
     "oauth_requests", "oauth_by_status", "faults": {"500", "502", "503", "504", "reset", "slow", "badjson",
     "429", "401", "outage"}, "tokens_issued" (OAuth access tokens), "page_tokens_issued", "control_requests",
     "hostile": {"drip", "endless", "huge", "deep_json", "odd_entries", "stray_entries"} (see "Hostile server")}
POST /_control/reset_counters   zeroes them, answers the zeroed counters
GET  /_control/config      the current configuration (never a secret, token or client id)
POST /_control/config      any of {"pagination", "order", "auth", "bounds", "rate_limit", "rate_window", "retry_after": bool,
     "token_lifetime" (for tokens issued from now on), "page_token_ttl" (idem), "max_window", "events_format",
     "faults": {"500": 0.2, ...} (replaces the fault rates and restarts the fault random stream),
     "fault_seed" (restarts it too), "slow_seconds", "fail_next": ["500", "reset", "slow", "badjson", "429",
     "401", "none", ...] (replaces the queue), "outage_seconds": S (every logs request during the next S
     seconds gets a connection reset; 0 ends an outage), "expire_access_tokens": true (every OAuth-issued access
     token expires now; static ones do not), "expire_page_tokens": true, "reset_rate_limits": true (forget the
     counted requests), and the hostile-server settings "drip_seconds", "drip_bytes", "endless", "huge_bytes",
     "deep_json", "odd_entries", "odd_at", "stray_time", "stray_at" (see "Hostile server"; for the answers
     from now on)}.  All checked first, then applied together; a bad key or value: 400, nothing applied.
     Answers the resulting configuration.
POST /_control/shutdown    answers {"shutdown": true}, then stops the server
Other paths: 404 {"error": {"code": 404, ...}}; a known path with another method: 405 with an Allow header.

HTTP
----
HTTP/1.1 keep-alive (HTTP/1.0 too), ThreadingHTTPServer with daemon threads, Nagle off, every answer written
in one write with Content-Length (the hostile drip, huge_bytes and deep_json answers: headers, then the body in
pieces); Content-Type application/json (text/html for the 502/504 faults).  Request bodies by Content-Length or
chunked.  Idle connections are closed after 120 s.

Access log and secrets
----------------------
Each request is one line: "<UTC ISO time> <METHOD> <PATH> <status|reset> <seconds>s entries=<n>", the path
without query string; unparseable requests are logged as "- -".  Never a token, secret, query string or body.
Nothing else is written to stdout/stderr except the "listening" line and, for an emulator bug, the type of the
exception and its traceback frames (never its message).  Error answers never echo a token or secret.
"""

from __future__ import annotations

import argparse
import base64
import bisect
import collections
import email.utils
import hmac
import http.server
import json
import math
import os
import random
import re
import secrets
import signal
import socket
import socketserver
import ssl
import struct
import sys
import tempfile
import threading
import time
import traceback
import unicodedata
import urllib.parse
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http import HTTPStatus
from typing import Any, Callable

# pylint: disable=too-many-lines,too-many-instance-attributes,too-many-branches,too-many-return-statements
# pylint: disable=too-many-locals,too-many-statements,too-many-arguments,too-many-positional-arguments,too-few-public-methods

__all__ = ["EmulatorConfig", "EmulatorServer", "make_server", "run_in_thread", "main", "parse_timestamp_ms",
           "EVENTS", "FIELDS", "CATEGORIES"]

LOGS_PATH = "/o/api/v3.3/logs"
OAUTH_PATH = "/o/oauth/token"
CATEGORIES = ("device", "admin", "webhook", "device_report")
EVENTS: dict[str, tuple[str, ...]] = {
    "admin": ("cac_change", "config", "failed_auth", "login", "rev_mobile_code", "submit_ticket", "whitelist",
              "changed_password"),
    "device": ("access_granted", "access_revoked", "added", "added_duplicate_mac", "compliance_check", "compliant",
               "deleted", "deleted_user", "deleted_api", "exempt_all", "fetch_log", "noncompliant", "scan_threat",
               "unexempt", "unseen"),
    "webhook": ("added", "deleted", "status_changed_to_compliant", "status_changed_to_exempted",
                "status_changed_to_non_compliant"),
    "device_report": ("device_report",),
}
EVENT_WEIGHTS: dict[str, tuple[int, ...]] = {
    "admin": (4, 10, 6, 30, 2, 2, 3, 2),
    "device": (5, 4, 8, 1, 6, 20, 3, 2, 1, 2, 3, 12, 5, 2, 2),
    "webhook": (4, 3, 10, 2, 8),
    "device_report": (1,),
}
_DEVICE_FIELDS = ("timestamp", "event", "details", "device_id", "device_name", "device_username", "device_group")
FIELDS: dict[str, tuple[str, ...]] = {
    "admin": ("timestamp", "event", "details", "admin_name", "admin_email"),
    "device": _DEVICE_FIELDS,
    "device_report": _DEVICE_FIELDS + ("status", "severity", "policy_name", "last_seen", "public_ip"),
    "webhook": ("timestamp", "event", "details", "device_id", "device_name", "response_code", "response_body"),
}
FILTER_KEYS: dict[str, tuple[str, ...]] = {
    "admin": ("events",),
    "device": ("events", "agent_types", "search"),
    "webhook": ("events", "search"),
    "device_report": ("search",),
}
PAGINATION_STYLES = ("406-token", "200-cursor", "406-split", "200-413")
AUTH_PLACES = ("query", "header", "both")
ORDERS = ("asc", "desc")
EVENTS_FORMATS = ("csv", "single", "list")
BOUNDS = ("inclusive", "exclusive", "half-open")
TIME_FORMATS = ("iso", "epoch-ms", "rfc1123", "mixed")
FAULT_KINDS = ("500", "502", "503", "504", "reset", "slow", "badjson")
ENDLESS_MODES = ("off", "fresh", "repeat")
HOSTILE_KINDS = ("drip", "endless", "huge", "deep_json", "odd_entries", "stray_entries")
QUEUE_KINDS = FAULT_KINDS + ("429", "401", "none")
AGENT_TYPES = (0, 2)
MAX_BODY = 1024 * 1024
MAX_AGE = 86400
MAX_LIMIT = 100

_STYLE_FOR_FORMAT = {"iso": "iso_ms", "epoch-ms": "epoch_num", "rfc1123": "rfc1123"}
_MIXED_STYLES = ("iso_ms", "epoch_num", "rfc1123", "iso_sec_offset", "epoch_str")
_SECOND_STYLES = ("rfc1123", "iso_sec_offset")


# ------------------------------------------------------------------------------------------------ config --
@dataclass
class EmulatorConfig:
    """Everything the command line sets; see the module docstring for the meaning of each field."""

    host: str = "127.0.0.1"
    port: int = 0
    port_file: str | None = None
    log_file: str | None = None
    pagination: str = "406-token"
    order: str = "desc"
    rate_limit: int = 10
    rate_window: float = 60.0
    retry_after: bool = True
    auth: str = "both"
    access_tokens: list[str] = field(default_factory=list)
    clients: dict[str, str] = field(default_factory=lambda: {"demo-client": "demo-secret"})
    token_lifetime: int = 43199
    page_token_ttl: float = 300.0
    max_window: int = 86400
    bounds: str = "inclusive"
    events_format: str = "csv"
    seed: int = 1
    entries: int = 500
    span: int = 86400
    anchor_ms: int | None = None
    time_format: str = "iso"
    duplicates: int = 0
    faults: dict[str, float] = field(default_factory=dict)
    fault_seed: int = 0
    slow_seconds: float = 5.0
    tls_cert: str | None = None
    tls_key: str | None = None
    drip_seconds: float = 0.0
    drip_bytes: int = 0
    endless: str = "off"
    huge_bytes: int = 0
    deep_json: int = 0
    odd_entries: list[Any] = field(default_factory=list)
    odd_at: int = 0
    stray_time: str | int | None = None
    stray_at: list[int] = field(default_factory=lambda: [0])

    def validate(self) -> None:
        """Raise ValueError naming the first bad setting."""
        _choice("pagination", self.pagination, PAGINATION_STYLES)
        _choice("order", self.order, ORDERS)
        _choice("auth", self.auth, AUTH_PLACES)
        _choice("events_format", self.events_format, EVENTS_FORMATS)
        _choice("bounds", self.bounds, BOUNDS)
        _choice("time_format", self.time_format, TIME_FORMATS)
        _number("rate_limit", self.rate_limit, 0, integer=True)
        _number("rate_window", self.rate_window, 0.001)
        _number("token_lifetime", self.token_lifetime, 1, integer=True)
        _number("page_token_ttl", self.page_token_ttl, 0.001)
        _number("max_window", self.max_window, 0, integer=True)
        _number("seed", self.seed, None, integer=True)
        _number("entries", self.entries, 0, integer=True)
        _number("span", self.span, 1, integer=True)
        _number("duplicates", self.duplicates, 0, integer=True)
        _number("fault_seed", self.fault_seed, None, integer=True)
        _number("slow_seconds", self.slow_seconds, 0)
        _number("port", self.port, 0, integer=True)
        if self.anchor_ms is not None:
            _number("anchor_ms", self.anchor_ms, 0, integer=True)
        if self.duplicates and not self.entries:
            raise ValueError("duplicates: needs entries > 0 to duplicate")
        _check_faults(self.faults)
        if not self.clients and not self.access_tokens:
            raise ValueError("clients/access_tokens: at least one client or static access token is needed")
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ValueError("tls_cert/tls_key: give both or neither")
        for key in _HOSTILE_SETTINGS:
            _SETTING_CHECKS[key](getattr(self, key))


def _choice(name: str, value: Any, allowed: Sequence[str]) -> None:
    """Raise ValueError unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        raise ValueError(f"{name}: {_show(value)} is not allowed; allowed: {', '.join(allowed)}")


def _number(name: str, value: Any, low: float | None, integer: bool = False) -> None:
    """Raise ValueError unless ``value`` is a number (an int when ``integer``) >= ``low``."""
    kinds: tuple[type, ...] = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or (isinstance(value, float) and not math.isfinite(value)):
        raise ValueError(f"{name}: {_show(value)} is not {'an integer' if integer else 'a number'}")
    if low is not None and value < low:
        raise ValueError(f"{name}: {_show(value)} is too small; allowed: >= {low}")


def _check_faults(faults: Any) -> None:
    """Raise ValueError unless ``faults`` maps fault kinds to rates in [0, 1] adding up to <= 1."""
    if not isinstance(faults, dict):
        raise ValueError(f"faults: {_show(faults)} is not an object of KIND: RATE")
    for kind, rate in faults.items():
        _choice("faults kind", kind, FAULT_KINDS)
        _number(f"faults.{kind}", rate, 0)
        if rate > 1:
            raise ValueError(f"faults.{kind}: {_show(rate)} is not a rate in [0, 1]")
    if sum(faults.values()) > 1 + 1e-9:
        raise ValueError(f"faults: the rates add up to {sum(faults.values()):g}; allowed: at most 1")


def _show(value: Any, width: int = 80) -> str:
    """A short JSON rendering of a client-supplied value for an error message."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= width else text[:width - 3] + "..."


# ------------------------------------------------------------------------------------------------- times --
def now_ms() -> int:
    """The wall clock in epoch milliseconds."""
    return int(time.time() * 1000)


def _utc(ts_ms: int) -> datetime:
    return datetime.fromtimestamp(ts_ms // 1000, tz=timezone.utc)


def render_timestamp(ts_ms: int, style: str) -> Any:
    """Render ``ts_ms`` in one of the styles: iso_ms, epoch_num, rfc1123, iso_sec_offset, epoch_str."""
    if style == "iso_ms":
        return _utc(ts_ms).strftime("%Y-%m-%dT%H:%M:%S") + f".{ts_ms % 1000:03d}Z"
    if style == "epoch_num":
        return ts_ms
    if style == "epoch_str":
        return str(ts_ms)
    if style == "rfc1123":
        return email.utils.formatdate(ts_ms // 1000, usegmt=True)
    if style == "iso_sec_offset":
        return _utc(ts_ms).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    raise ValueError(style)


_ISO_RE = re.compile(r"^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:[.,](\d{1,9}))?\s*(Z|z|[+-]\d\d(?::?\d\d)?)?$")


def parse_timestamp_ms(value: Any) -> int:
    """Parse an ISO 8601, RFC 1123 or epoch (s or ms, number or digit string) time to epoch ms; ValueError else.

    Epoch values below 1e11 are taken as seconds.  ISO times without an offset are UTC.
    """
    if isinstance(value, bool):
        raise ValueError("a boolean is not a time")
    if isinstance(value, (int, float)):
        number = float(value)
        return int(round(number * 1000)) if abs(number) < 1e11 else int(round(number))
    if not isinstance(value, str):
        raise ValueError("not a time")
    text = value.strip()
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return parse_timestamp_ms(float(text) if "." in text else int(text))
    match = _ISO_RE.match(text)
    if match:
        year, month, day, hour, minute, second = (int(x) for x in match.groups()[:6])
        fraction, offset = match.group(7), match.group(8)
        base = datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)
        millis = int((fraction or "0")[:3].ljust(3, "0"))
        shift = 0
        if offset and offset not in ("Z", "z"):
            digits = offset[1:].replace(":", "")
            shift = (int(digits[:2]) * 60 + int(digits[2:4] or 0)) * 60
            shift = -shift if offset[0] == "+" else shift
        return (int(base.timestamp()) + shift) * 1000 + millis
    try:
        parsed = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError) as exc:
        raise ValueError(f"not a time: {text[:40]!r}") from exc
    if parsed is None:
        raise ValueError(f"not a time: {text[:40]!r}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return int(parsed.timestamp()) * 1000


def _iso_now() -> str:
    """The current UTC time as ISO 8601 with milliseconds."""
    return render_timestamp(now_ms(), "iso_ms")


# ------------------------------------------------------------------------------------------------- data --
_FIRST = ("Alice", "Bao", "Carlos", "Dana", "Elif", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Keiko", "Liam",
          "Maya", "Noah", "Olga", "Priya", "Quinn", "Ravi", "Sofia", "Tomas", "Zo\u00eb", "Jos\u00e9", "Bj\u00f6rn")
_LAST = ("Nguyen", "Tran", "Garcia", "Smith", "Yilmaz", "Haddad", "Kim", "Tanaka", "Moreau", "Becker", "Sato",
         "Walsh", "Patel", "Cohen", "Ivanova", "Sharma", "Rossi", "Novak", "M\u00fcller", "\u00c1lvarez", "Okafor")
_DEVICE_KINDS = (
    # name pattern, how many, number range, groups, os choices, policy choices, agent type
    ("WS-%04d", 16, 9999, ("Workstations", "Finance", "Engineering", "HR"),
     ("Windows 11 Pro 23H2", "Windows 10 Enterprise 22H2"), ("Workstation Baseline", "Default Policy"), 0),
    ("LT-%04d", 8, 9999, ("Laptops", "Sales", "Field Service"),
     ("Windows 11 Pro 23H2", "macOS 14.5 Sonoma"), ("Remote Workers", "Default Policy"), 0),
    ("OT-PLC-%02d", 5, 40, ("OT Plant A", "OT Plant B"),
     ("Windows 10 IoT Enterprise LTSC 2021",), ("OT Strict",), 0),
    ("OT-HMI-%02d", 4, 40, ("OT Plant A", "OT Plant B"),
     ("Windows 10 IoT Enterprise LTSC 2021", "Windows 7 Embedded SP1"), ("OT Strict",), 0),
    ("OT-ENG-%02d", 2, 20, ("OT Engineering",), ("Windows 10 Enterprise LTSC 2019",), ("OT Strict",), 0),
    ("SRV-DC-%02d", 3, 10, ("Servers",), ("Windows Server 2022", "Windows Server 2019"), ("Server Hardening",), 2),
    ("SRV-APP-%02d", 2, 20, ("Servers",), ("Windows Server 2022",), ("Server Hardening",), 0),
)
_CHECKS = ("Antivirus", "Firewall", "Disk Encryption", "Patch Management", "Screen Lock", "Password Policy",
           "Vulnerability Assessment", "Backup", "Unwanted Applications", "USB Protection", "Operating System",
           "Certificate")
_APPS = ("ERP Portal", "HMI Web Console", "SCADA Historian", "Jira", "VPN Gateway", "MES Dashboard")
_SETTINGS = (("Device inactivity timeout (days)", (14, 30, 45, 60, 90)),
             ("Compliance grace period (hours)", (0, 4, 24, 48)),
             ("Lost Devices cleanup (days)", (30, 60, 90)),
             ("Required MetaDefender Endpoint version", ("4.3.2800", "4.3.2950", "4.3.3041")),
             ("Notification e-mail digest", ("off", "daily", "weekly")))
_TICKETS = ("Agent not reporting after upgrade", "False positive on PLC firmware tool", "SSO login loop",
            "Question about webhook retries", "Device stuck in non-compliant state")
_WEBHOOK_URLS = ("https://hooks.example.com/itot/events", "https://siem.example.com/api/opswat/webhook")
_WEBHOOK_TEXT = {
    "added": "device {name} was enrolled",
    "deleted": "device {name} was deleted",
    "status_changed_to_compliant": "device {name} changed status to COMPLIANT",
    "status_changed_to_exempted": "device {name} was exempted",
    "status_changed_to_non_compliant": "device {name} changed status to NON-COMPLIANT",
}


def _ascii(text: str) -> str:
    """``text`` folded to ASCII (for e-mail addresses and user names)."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


class _Pools:
    """The seeded pools of devices and admins that generated entries draw from."""

    def __init__(self, seed: int) -> None:
        rng = random.Random(f"itot-emulator:{seed}:pools")
        people = [(first, last) for first in _FIRST for last in _LAST]
        chosen = rng.sample(people, 48)
        self.admins = []
        for first, last in chosen[:8]:
            self.admins.append({"name": f"{first} {last}",
                                "email": f"{_ascii(first).lower()}.{_ascii(last).lower()}@example.com"})
        users = [f"{_ascii(first)[0].lower()}{_ascii(last).lower()}" for first, last in chosen[8:]]
        self.devices: list[dict[str, Any]] = []
        for pattern, count, top, groups, systems, policies, agent in _DEVICE_KINDS:
            for number in sorted(rng.sample(range(1, top + 1), count)):
                name = pattern % number
                if name.startswith("OT-"):
                    username = rng.choice(("operator", "plc-eng", "hmi-kiosk"))
                elif name.startswith("SRV-"):
                    username = rng.choice(("SYSTEM", "svc-itot", "CORP\\administrator"))
                else:
                    username = ("CORP\\" if rng.random() < 0.4 else "") + rng.choice(users)
                net = rng.choice(("203.0.113", "198.51.100"))
                self.devices.append({
                    "id": f"{rng.getrandbits(128):032x}", "name": name, "group": rng.choice(groups),
                    "username": username, "os": rng.choice(systems), "policy": rng.choice(policies),
                    "ip": f"{net}.{rng.randrange(1, 255)}", "agent": agent,
                    "mac": ":".join(f"{rng.randrange(256):02X}" for _index in range(6)),
                })


class Entry:
    """One stored log entry: sort key, filter attributes and its pre-rendered JSON."""

    __slots__ = ("ts", "seq", "event", "agent", "name", "ident", "blob")

    def __init__(self, ts: int, seq: int, event: str, agent: int | None, name: str, ident: str, blob: bytes):
        self.ts, self.seq, self.event, self.agent = ts, seq, event, agent
        self.name, self.ident, self.blob = name, ident, blob

    def key(self) -> tuple[int, int]:
        """The sort key (timestamp_ms, seq)."""
        return (self.ts, self.seq)


def _blob(rendered: dict[str, Any]) -> bytes:
    return json.dumps(rendered, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class Generator:
    """Seeded generator of realistic entries for every category."""

    def __init__(self, seed: int, time_format: str) -> None:
        self.pools = _Pools(seed)
        self.time_format = time_format

    def style(self, rng: random.Random) -> str:
        """The timestamp rendering style of the next entry."""
        if self.time_format == "mixed":
            return rng.choice(_MIXED_STYLES)
        return _STYLE_FOR_FORMAT[self.time_format]

    def make(self, category: str, rng: random.Random, ts_ms: int, events: Sequence[str] | None = None,
             floor: int | None = None) -> tuple[int, dict[str, Any], int | None]:
        """One entry: (timestamp ms as stored, rendered fields, hidden agent type).

        Second-resolution styles truncate ``ts_ms`` to the second (rounding up instead when that would fall below
        ``floor``).
        """
        style = self.style(rng)
        if style in _SECOND_STYLES:
            ts_ms -= ts_ms % 1000
            if floor is not None and ts_ms < floor:
                ts_ms += 1000
        if events:
            event = rng.choice(list(events))
        else:
            event = rng.choices(EVENTS[category], EVENT_WEIGHTS[category])[0]
        admin = rng.choice(self.pools.admins)
        device = rng.choice(self.pools.devices)
        out: dict[str, Any] = {"timestamp": render_timestamp(ts_ms, style), "event": event}
        agent: int | None = None
        if category == "admin":
            out["details"] = self._admin_details(rng, event, admin)
            out["admin_name"], out["admin_email"] = admin["name"], admin["email"]
        elif category == "webhook":
            url = rng.choice(_WEBHOOK_URLS)
            text = _WEBHOOK_TEXT.get(event, "event {event} for device {name}").format(name=device["name"], event=event)
            out["details"] = f"POST {url}: {text}"
            out["device_id"], out["device_name"] = device["id"], device["name"]
            roll = rng.random()
            if roll < 0.86:
                code, body = "200", rng.choice(('{"status":"ok"}', f'{{"received":true,"id":"{rng.getrandbits(32):08x}"}}'))
            elif roll < 0.93:
                code, body = "404", "<html><body><h1>404 Not Found</h1></body></html>"
            else:
                code, body = "500", '{"error":"internal server error"}'
            out["response_code"], out["response_body"] = code, body
        else:
            agent = device["agent"] if category == "device" else None
            if category == "device":
                out["details"] = self._device_details(rng, event, device, admin)
            out["device_id"], out["device_name"] = device["id"], device["name"]
            out["device_username"], out["device_group"] = device["username"], device["group"]
            if category == "device_report":
                self._report(rng, out, ts_ms, device, admin)
        return ts_ms, {key: out[key] for key in FIELDS[category]}, agent

    @staticmethod
    def _admin_details(rng: random.Random, event: str, admin: dict[str, str]) -> str:
        name = admin["name"]
        if event == "login":
            return f"{name} logged in to the MetaDefender IT-OT Access console from 198.51.100.{rng.randrange(1, 255)}"
        if event == "failed_auth":
            reason = rng.choice(("invalid password", "MFA code rejected", "account locked"))
            return f"Failed to authenticate {admin['email']} with OPSWAT SSO: {reason}"
        if event == "config":
            setting, values = rng.choice(_SETTINGS)
            old, new = rng.sample(values, 2)
            return f"Changed setting '{setting}' from {old} to {new}"
        if event == "cac_change":
            return f"Updated Secure Access configuration of protected application '{rng.choice(_APPS)}'"
        if event == "rev_mobile_code":
            code = "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _index in range(8))
            return f"Revoked registration code {code[:4]}-{code[4:]}"
        if event == "submit_ticket":
            return f"Submitted support ticket #{rng.randrange(100000, 199999)}: '{rng.choice(_TICKETS)}'"
        if event == "whitelist":
            verb = rng.choice(("Added", "Removed"))
            cve = f"CVE-{rng.randrange(2019, 2026)}-{rng.randrange(1000, 49999)}"
            return f"{verb} {cve} {'to' if verb == 'Added' else 'from'} the CVE allowlist"
        return f"{name} changed the password with OPSWAT SSO"

    @staticmethod
    def _device_details(rng: random.Random, event: str, device: dict[str, Any], admin: dict[str, str]) -> str:
        by = admin["name"]
        app = rng.choice(_APPS)
        texts = {
            "access_granted": f"Temporary access to '{app}' granted for {rng.choice((1, 2, 4, 8))} hours by {by}",
            "access_revoked": f"Temporary access to '{app}' revoked by {by}",
            "added": f"Enrolled with MetaDefender Endpoint 4.3.{rng.randrange(2800, 3100)} ({device['os']})",
            "added_duplicate_mac": f"Enrolled with a MAC address already used by another device ({device['mac']})",
            "compliance_check": f"On-demand compliance check requested by {by}",
            "compliant": f"Device is COMPLIANT ({len(_CHECKS)} of {len(_CHECKS)} checks passed)",
            "deleted": f"Device deleted by {by}",
            "deleted_user": f"MetaDefender Endpoint was uninstalled by local user {device['username']}",
            "deleted_api": f"Device deleted via API (integration '{rng.choice(('cmdb-sync', 'servicenow', 'itam-cleanup'))}')",
            "exempt_all": f"Device exempted from all compliance checks by {by} for {rng.choice((1, 7, 30))} days",
            "fetch_log": f"MetaDefender Endpoint log fetched remotely by {by} ({rng.randrange(200, 9000)} KB)",
            "noncompliant": "Device is NON-COMPLIANT: " + "; ".join(f"{c} check failed" for c in rng.sample(_CHECKS, rng.randrange(1, 4))),
            "scan_threat": f"On-demand malware scan requested by {by}: {rng.choice((0, 0, 0, 1, 2))} threat(s) found",
            "unexempt": f"Exemption removed by {by}",
            "unseen": f"Device removed by Lost Devices after {rng.choice((30, 60, 90))} days without contact",
        }
        return texts.get(event, f"Event {event} on {device['name']}")

    @staticmethod
    def _report(rng: random.Random, out: dict[str, Any], ts_ms: int, device: dict[str, Any], admin: dict[str, str]) -> None:
        roll = rng.random()
        if roll < 0.6:
            status, severity = "compliant", "low"
            details = f"Compliance report: {len(_CHECKS)} of {len(_CHECKS)} checks passed"
        elif roll < 0.9:
            failed = rng.sample(_CHECKS, rng.randrange(1, 5))
            status, severity = "non-compliant", rng.choice(("critical", "high", "medium"))
            details = f"Compliance report: {len(_CHECKS) - len(failed)} of {len(_CHECKS)} checks passed; failed: {', '.join(failed)}"
        else:
            status, severity = "exempted", "low"
            details = f"Compliance report: device exempted from compliance checks by {admin['name']}"
        out["details"] = details
        out["status"], out["severity"], out["policy_name"] = status, severity, device["policy"]
        out["last_seen"] = email.utils.formatdate(ts_ms // 1000 - rng.randrange(0, 900), usegmt=True)
        out["public_ip"] = device["ip"]


# ------------------------------------------------------------------------------------------------ store --
class CategoryStore:
    """The entries of one category, kept sorted by (timestamp_ms, seq) for binary search."""

    def __init__(self, category: str) -> None:
        self.category = category
        self.keys: list[tuple[int, int]] = []
        self.entries: list[Entry] = []
        self.next_seq = 0

    def add(self, ts: int, rendered: dict[str, Any], agent: int | None) -> Entry:
        """Insert one entry (after every entry with the same timestamp) and return it."""
        name = rendered.get("device_name")
        ident = rendered.get("device_id")
        entry = Entry(ts, self.next_seq, str(rendered.get("event")), agent,
                      name.lower() if isinstance(name, str) else "", ident.lower() if isinstance(ident, str) else "",
                      _blob(rendered))
        self.next_seq += 1
        key = entry.key()
        if not self.keys or key > self.keys[-1]:
            self.keys.append(key)
            self.entries.append(entry)
        else:
            index = bisect.bisect_right(self.keys, key)
            self.keys.insert(index, key)
            self.entries.insert(index, entry)
        return entry

    def _bounds(self, start: int | None, end: int | None) -> tuple[int, int]:
        low = 0 if start is None else bisect.bisect_left(self.keys, (start,))
        high = len(self.keys) if end is None else bisect.bisect_left(self.keys, (end + 1,))
        return low, high

    def page(self, window: tuple[int, int], match: Callable[[Entry], bool] | None, snapshot: int,
             after: tuple[int, int] | None, order: str, limit: int) -> tuple[list[Entry], bool]:
        """Up to ``limit`` matching entries of ``window`` after position ``after`` in ``order``; and whether more remain.

        asc: by (timestamp, seq); desc: by timestamp descending, ties still in insertion (seq) order (a stable
        sort).  Entries with seq >= ``snapshot`` (appended after the walk began) are skipped.  Cost: a binary
        search plus a scan of the entries passed over, never the whole store.
        """
        low, high = self._bounds(*window)
        keys = self.keys
        out: list[Entry] = []
        if order == "asc":
            first = low if after is None else max(low, bisect.bisect_right(keys, after))
            return out, self._scan(first, high, snapshot, match, out, limit)
        if after is None:
            group_end = high
        else:
            rest = min(high, bisect.bisect_left(keys, (after[0] + 1,)))
            if self._scan(max(low, bisect.bisect_right(keys, after)), rest, snapshot, match, out, limit):
                return out, True
            group_end = max(low, min(high, bisect.bisect_left(keys, (after[0],))))
        while group_end > low:
            stamp = keys[group_end - 1][0]
            group_start = group_end - 1
            while group_start > low and keys[group_start - 1][0] == stamp:
                group_start -= 1
            if self._scan(group_start, group_end, snapshot, match, out, limit):
                return out, True
            group_end = group_start
        return out, False

    def _scan(self, first: int, stop: int, snapshot: int, match: Callable[[Entry], bool] | None,
              out: list[Entry], limit: int) -> bool:
        """Append the matching entries of indexes [first, stop) to ``out``; True when one beyond ``limit`` exists."""
        entries = self.entries
        for index in range(first, stop):
            entry = entries[index]
            if entry.seq < snapshot and (match is None or match(entry)):
                if len(out) == limit:
                    return True
                out.append(entry)
        return False

    def select(self, start: int | None, end: int | None, match: Callable[[Entry], bool] | None) -> list[Entry]:
        """Every matching entry of [start, end] (None = open), oldest first."""
        low, high = self._bounds(start, end)
        return [e for e in self.entries[low:high] if match is None or match(e)]


def make_matcher(events: frozenset | None, agent_types: frozenset | None,
                 search: str | None) -> Callable[[Entry], bool] | None:
    """A predicate for the filters given, or None when there is none."""
    if events is None and agent_types is None and search is None:
        return None

    def match(entry: Entry) -> bool:
        if events is not None and entry.event not in events:
            return False
        if agent_types is not None and entry.agent not in agent_types:
            return False
        if search is not None and search not in entry.name and search not in entry.ident:
            return False
        return True
    return match


# ------------------------------------------------------------------------------------------- validation --
class BadRequest(Exception):
    """A 400 answer; the message names the field, the value and what is allowed."""


def _int_field(body: dict[str, Any], key: str, low: int, high: int | None) -> int | None:
    if key not in body:
        return None
    value = body[key]
    allowed = f"an integer in [{low}, {high}]" if high is not None else f"an integer >= {low}"
    if key in ("start_time", "end_time"):
        allowed += " (epoch milliseconds)"
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"{key}: {_show(value)} is not an integer; allowed: {allowed}")
    if value < low or (high is not None and value > high):
        raise BadRequest(f"{key}: {value} is out of range; allowed: {allowed}")
    return value


def parse_events(value: Any, category: str, events_format: str, where: str = "filter.events") -> frozenset | None:
    """Check ``filter.events`` per the events format; the set of names, or None for an empty list."""
    allowed = EVENTS[category]
    forms = {"single": "one event name (a string)", "csv": "an event name or a comma-separated string of names",
             "list": "an event name, a comma-separated string of names or a JSON array of names"}[events_format]
    if isinstance(value, str):
        if events_format == "single":
            if "," in value:
                raise BadRequest(f"{where}: {_show(value)} contains a comma; allowed: {forms}")
            names = [value]
        else:
            names = [part.strip() for part in value.split(",")]
    elif isinstance(value, list) and events_format == "list":
        if not all(isinstance(name, str) for name in value):
            raise BadRequest(f"{where}: {_show(value)} is not a list of strings; allowed: {forms}")
        if not value:
            return None
        names = list(value)
    else:
        raise BadRequest(f"{where}: {_show(value)} is not accepted; allowed: {forms}")
    for name in names:
        if name not in allowed:
            raise BadRequest(f"{where}: {_show(name)} is not an event of event_category {category}; "
                             f"allowed: {', '.join(allowed)}")
    return frozenset(names)


def parse_agent_types(value: Any, where: str = "filter.agent_types") -> frozenset | None:
    """Check ``filter.agent_types``: a list of ints, each 0 or 2; None for an empty list."""
    if not isinstance(value, list):
        raise BadRequest(f"{where}: {_show(value)} is not a list; allowed: a list of integers, each 0 or 2")
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int) or item not in AGENT_TYPES:
            raise BadRequest(f"{where}: {_show(item)} is not an agent type; allowed: 0 (MetaDefender Endpoint), "
                             "2 (OPSWAT Domain Controller Client)")
    return frozenset(value) if value else None


@dataclass
class Query:
    """A validated logs request."""

    category: str
    limit: int
    age: int
    start: int | None
    end: int | None
    match: Callable[[Entry], bool] | None
    token: str | None
    fingerprint: str
    events: frozenset | None = None


def parse_filter(flt: Any, category: str, events_format: str) -> tuple[frozenset | None, frozenset | None, str | None]:
    """Check a logs request's ``filter`` object: (events, agent types, lower-cased search), each None when not given."""
    if not isinstance(flt, dict):
        raise BadRequest(f"filter: {_show(flt)} is not an object; allowed: an object with keys events, agent_types, search")
    for key in flt:
        if key not in ("events", "agent_types", "search"):
            raise BadRequest(f"filter.{key}: unknown filter key; allowed: events, agent_types, search")
    for key in ("events", "agent_types", "search"):
        if key in flt and key not in FILTER_KEYS[category]:
            raise BadRequest(f"filter.{key}: not allowed for event_category {category}; "
                             f"allowed filter keys for {category}: {', '.join(FILTER_KEYS[category])}")
    events = parse_events(flt["events"], category, events_format) if "events" in flt else None
    agents = parse_agent_types(flt["agent_types"]) if "agent_types" in flt else None
    search = None
    if "search" in flt:
        if not isinstance(flt["search"], str):
            raise BadRequest(f"filter.search: {_show(flt['search'])} is not a string; allowed: a string "
                             "(part of a device name or device id)")
        search = flt["search"].lower()
    return events, agents, search


def parse_query(body: Any, events_format: str) -> Query:
    """Validate a logs request body (every rule but the window and the token's state); BadRequest on the first."""
    if not isinstance(body, dict):
        raise BadRequest(f"body: {_show(body, 40)} is not a JSON object; allowed: a JSON object with event_category")
    category = body.get("event_category")
    if "event_category" not in body:
        raise BadRequest(f"event_category: required; allowed: {', '.join(CATEGORIES)}")
    if category not in CATEGORIES:
        raise BadRequest(f"event_category: {_show(category)} is not allowed; allowed: {', '.join(CATEGORIES)}")
    limit = _int_field(body, "limit", 1, MAX_LIMIT)
    age = _int_field(body, "age", 1, MAX_AGE)
    start = _int_field(body, "start_time", 0, None)
    end = _int_field(body, "end_time", 0, None)
    events, agents, search = parse_filter(body["filter"], category, events_format) if "filter" in body else (None, None, None)
    token = body.get("token")
    if "token" in body and not isinstance(token, str):
        raise BadRequest("token: the value is not a string; allowed: the token string of the previous answer")
    rest = {key: value for key, value in body.items() if key != "token"}
    fingerprint = json.dumps(rest, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return Query(category, 20 if limit is None else limit, 3600 if age is None else age, start, end,
                 make_matcher(events, agents, search), token or None, fingerprint, events)


def resolve_window(query: Query, now: int, max_window: int) -> tuple[int, int]:
    """The inclusive [start, end] window of a first request; BadRequest when reversed or too long."""
    age_ms = query.age * 1000
    if query.start is not None and query.end is not None:
        window = (query.start, query.end)
        if query.start > query.end:
            raise BadRequest(f"start_time: {query.start} is after end_time {query.end}; allowed: start_time <= end_time")
    elif query.start is not None:
        window = (query.start, now)
        if query.start > now:
            raise BadRequest(f"start_time: {query.start} is in the future (now is {now}) and no end_time is given; "
                             "allowed: start_time <= end_time (default now)")
    elif query.end is not None:
        window = (max(0, query.end - age_ms), query.end)
    else:
        window = (now - age_ms, now)
    if max_window and window[1] - window[0] > max_window * 1000:
        raise BadRequest(f"start_time/end_time: the window [{window[0]}, {window[1]}] is {(window[1] - window[0]) / 1000:g} s long; "
                         f"allowed: at most {max_window} s")
    return window


def served_part(window: tuple[int, int], bounds: str) -> tuple[int, int]:
    """The inclusive part of a resolved window that a server with these ``bounds`` serves (may be empty: lo > hi)."""
    start, end = window
    if bounds == "exclusive":
        return start + 1, end - 1
    if bounds == "half-open":
        return start, end - 1
    return start, end


# ---------------------------------------------------------------------------------------------- replies --
@dataclass
class Reply:
    """An answer to write: status, body, headers; or a connection reset."""

    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)
    entries: int = 0
    reset: bool = False
    close: bool = False
    after: Callable[[], None] | None = None
    chunks: Callable[[], Iterator[bytes]] | None = None  # the body in pieces (then ``length`` long), instead of ``body``
    length: int = 0
    drip: float = 0.0  # seconds before each byte of the first ``drip_bytes`` bytes of the body (0 = all of it)
    drip_bytes: int = 0

    def size(self) -> int:
        """The body's length in bytes."""
        return self.length if self.chunks is not None else len(self.body)


def json_reply(status: int, obj: Any, headers: list[tuple[str, str]] | None = None, entries: int = 0) -> Reply:
    """A JSON answer."""
    return Reply(status, json.dumps(obj, ensure_ascii=False).encode("utf-8"), headers=headers or [], entries=entries)


def error_reply(status: int, message: str, headers: list[tuple[str, str]] | None = None) -> Reply:
    """The API's error answer {"error": {"code": status, "message": message}}."""
    return json_reply(status, {"error": {"code": status, "message": message}}, headers)


_HTML_5XX = ('<html>\r\n<head><title>{code} {phrase}</title></head>\r\n<body>\r\n<center><h1>{code} {phrase}</h1></center>'
             '\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n')
_BAD_JSON = b'{"data":[{"timestamp":"2026-11-29T07:00:00.123Z","event":"compliant","details":"Device is COMPLIANT (12 of 1'


def fault_reply(kind: str) -> Reply:
    """The answer of an HTTP fault (500, 502, 503, 504, badjson)."""
    if kind == "badjson":
        return Reply(200, _BAD_JSON)
    code = int(kind)
    phrase = HTTPStatus(code).phrase
    if code in (502, 504):
        return Reply(code, _HTML_5XX.format(code=code, phrase=phrase).encode("ascii"), content_type="text/html")
    return error_reply(code, phrase)


# ------------------------------------------------------------------------------------------------ state --
class PageToken:
    """Server-side state of a pagination token."""

    __slots__ = ("fingerprint", "category", "window", "snapshot", "after", "order", "expires", "number")

    def __init__(self, fingerprint: str, category: str, window: tuple[int, int], snapshot: int,
                 after: tuple[int, int], order: str, expires: float, number: int = 0) -> None:
        self.fingerprint, self.category, self.window, self.snapshot = fingerprint, category, window, snapshot
        self.after, self.order, self.expires, self.number = after, order, expires, number


def _new_counters() -> dict[str, Any]:
    return {
        "logs_requests": 0,
        "by_status": {code: 0 for code in ("200", "400", "401", "406", "413", "429", "500", "502", "503", "504")},
        "rate_limited": 0, "entries_served": 0, "token_in_query": 0, "token_in_header": 0, "oauth_requests": 0,
        "oauth_by_status": {code: 0 for code in ("200", "400", "401")},
        "faults": {kind: 0 for kind in FAULT_KINDS + ("429", "401", "outage")},
        "tokens_issued": 0, "page_tokens_issued": 0, "control_requests": 0,
        "hostile": dict.fromkeys(HOSTILE_KINDS, 0),
    }


_DEEP_KEY = b',"deep":'
_PADDING_KEY = b',"padding":"'
_PIECE = 64 * 1024


def _repeated(byte: bytes, count: int) -> Iterator[bytes]:
    """``count`` copies of ``byte`` in pieces of at most 64 KiB."""
    while count > 0:
        size = min(count, _PIECE)
        yield byte * size
        count -= size


def _inflated(prefix: bytes, deep: int, padding: int | None) -> Iterator[bytes]:
    """A page's body without its closing brace, then ',"deep":' and ``deep`` nested arrays, then ',"padding":"x..."', then '}'."""
    yield prefix
    if deep:
        yield _DEEP_KEY
        yield from _repeated(b"[", deep)
        yield from _repeated(b"]", deep)
    if padding is not None:
        yield _PADDING_KEY
        yield from _repeated(b"x", padding)
        yield b'"'
    yield b"}"


class Emulator:
    """The emulator's state and the logic of every endpoint (HTTP-free, thread-safe)."""

    def __init__(self, config: EmulatorConfig) -> None:
        config.validate()
        self.config = config
        self.lock = threading.RLock()
        self.anchor_ms = config.anchor_ms if config.anchor_ms is not None else now_ms()
        self.generator = Generator(config.seed, config.time_format)
        self.stores = {category: CategoryStore(category) for category in CATEGORIES}
        self.append_rngs = {c: random.Random(f"itot-emulator:{config.seed}:{c}:append") for c in CATEGORIES}
        self._generate()
        self.static_tokens = set(config.access_tokens)
        self.clients = dict(config.clients)
        self.oauth_tokens: dict[str, float] = {}
        self.refresh_tokens: dict[str, str] = {}
        self.page_tokens: dict[str, PageToken] = {}
        self._last_sweep = time.monotonic()
        self.rate: dict[str, collections.deque[float]] = {}
        self.counters = _new_counters()
        self.fault_rng = random.Random(config.fault_seed)
        self.fail_next: collections.deque[str] = collections.deque()
        self.outage_until = 0.0

    # -- data --
    def _generate(self) -> None:
        cfg = self.config
        for category in CATEGORIES:
            rng = random.Random(f"itot-emulator:{cfg.seed}:{category}")
            made = []
            floor = self.anchor_ms - cfg.span * 1000
            for _index in range(cfg.entries):
                ts = self.anchor_ms - rng.randrange(cfg.span * 1000 + 1)
                made.append(self.generator.make(category, rng, ts, floor=floor))
            made.sort(key=lambda item: item[0])
            dupes = sorted(rng.randrange(len(made)) for _index in range(cfg.duplicates)) if made else []
            store = self.stores[category]
            position = 0
            for index, (ts, rendered, agent) in enumerate(made):
                store.add(ts, rendered, agent)
                while position < len(dupes) and dupes[position] == index:
                    store.add(ts, rendered, agent)
                    position += 1

    # -- logs endpoint --
    def admit_logs(self, query_string: str, authorization: str | None = None) -> tuple[Reply | None, str]:
        """Steps 0-3 (outage, token, rate limit, fault draw): an early answer or None, and the fault kind."""
        with self.lock:
            counters = self.counters
            counters["logs_requests"] += 1
            mono = time.monotonic()
            if mono < self.outage_until:
                counters["faults"]["outage"] += 1
                return Reply(0, reset=True), ""
            token = self._request_token(query_string, authorization)
            state = self._token_state(token, mono)
            if state != "ok":
                self._count_hit(token, mono)
                return self._unauthorized(state), ""
            limited = self._rate_limited(token, mono)
            if limited is not None:
                return limited, ""
            self._count_hit(token, mono)
            return self._inject_fault(token)

    def _request_token(self, query_string: str, authorization: str | None) -> str | None:
        """The access token of a logs request, from where the auth setting looks (counting both places seen)."""
        auth = self.config.auth
        in_query = _first_param(query_string, "access_token")
        in_header = _bearer(authorization)
        self.counters["token_in_query"] += in_query is not None
        self.counters["token_in_header"] += in_header is not None
        token = None
        if auth in ("query", "both"):
            token = in_query
        if not token and auth in ("header", "both"):
            token = in_header
        return token

    def _unauthorized(self, state: str) -> Reply:
        """The 401 answer for a token that is missing, invalid or expired."""
        where = {"query": " in the URL's query string (?access_token=)",
                 "header": " in an Authorization: Bearer header", "both": ""}[self.config.auth]
        message = {"missing": f"access_token is missing{where}; get one from /o/oauth/token",
                   "invalid": "access_token is not valid",
                   "expired": "access_token has expired; get a new one from /o/oauth/token"}[state]
        return error_reply(401, message)

    def _rate_limited(self, token: str | None, mono: float) -> Reply | None:
        """The 429 answer when this token used up its requests of the rate window, else None."""
        cfg = self.config
        if cfg.rate_limit <= 0:
            return None
        hits = self.rate.setdefault(token, collections.deque())
        while hits and hits[0] <= mono - cfg.rate_window:
            hits.popleft()
        if len(hits) < cfg.rate_limit:
            return None
        self.counters["rate_limited"] += 1
        wait = max(1, math.ceil(hits[0] + cfg.rate_window - mono))
        headers = [("Retry-After", str(wait))] if cfg.retry_after else []
        return error_reply(429, f"rate limit exceeded: at most {cfg.rate_limit} requests per "
                                f"{cfg.rate_window:g} s per access token", headers)

    def _inject_fault(self, token: str | None) -> tuple[Reply | None, str]:
        """Step 3: draw this request's fault; its early answer or None, and "slow" for a slow answer."""
        kind = self._draw_fault()
        if kind in ("none", ""):
            return None, ""
        self.counters["faults"][kind] += 1
        if kind == "429":
            self._uncount_hit(token)
            return error_reply(429, "rate limit exceeded (injected)", [("Retry-After", "1")] if self.config.retry_after else []), ""
        if kind == "401":
            return error_reply(401, "access_token is not valid (injected)"), ""
        if kind == "reset":
            return Reply(0, reset=True), ""
        if kind == "slow":
            return None, "slow"
        return fault_reply(kind), ""

    def _draw_fault(self) -> str:
        """The fault of this request: the queue first, else the random draw ('' = none)."""
        draw = self.fault_rng.random()
        if self.fail_next:
            return self.fail_next.popleft()
        total = 0.0
        for kind in FAULT_KINDS:
            total += self.config.faults.get(kind, 0.0)
            if draw < total:
                return kind
        return ""

    def _token_state(self, token: str | None, mono: float) -> str:
        if not token:
            return "missing"
        if token in self.static_tokens:
            return "ok"
        expires = self.oauth_tokens.get(token)
        if expires is None:
            return "invalid"
        return "ok" if mono < expires else "expired"

    def _count_hit(self, token: str | None, mono: float) -> None:
        if token and self.config.rate_limit > 0:
            hits = self.rate.setdefault(token, collections.deque())
            hits.append(mono)
            if len(self.rate) > 1000:
                horizon = mono - self.config.rate_window
                for key in [k for k, v in self.rate.items() if not v or v[-1] <= horizon]:
                    del self.rate[key]

    def _uncount_hit(self, token: str | None) -> None:
        hits = self.rate.get(token or "")
        if hits:
            hits.pop()

    def answer_logs(self, raw: bytes) -> Reply:
        """Step 4-5: validate the body and answer a page (400 on the first broken rule)."""
        cfg = self.config
        try:
            try:
                body = json.loads(raw.decode("utf-8")) if raw.strip() else None
            except (UnicodeDecodeError, ValueError) as exc:
                raise BadRequest("body: not valid JSON; allowed: a JSON object with event_category") from exc
            query = parse_query(body, cfg.events_format)
            with self.lock:
                reply = self._page(query)
        except BadRequest as exc:
            reply = error_reply(400, str(exc))
        with self.lock:
            self.counters["by_status"][str(reply.status)] = self.counters["by_status"].get(str(reply.status), 0) + 1
            self.counters["entries_served"] += reply.entries
        return reply

    def _page(self, query: Query) -> Reply:
        cfg = self.config
        store = self.stores[query.category]
        mono = time.monotonic()
        number = 0
        if query.token is not None:
            state = self._token_of(query, mono)
            window, snapshot, after, order, number = state.window, state.snapshot, state.after, state.order, state.number + 1
        else:
            window = served_part(resolve_window(query, now_ms(), cfg.max_window), cfg.bounds)
            snapshot, after, order = store.next_seq, None, cfg.order
        if cfg.endless != "off":
            return self._endless_page(query, window, snapshot, order, number, mono)
        page, more = store.page(window, query.match, snapshot, after, order, query.limit)
        token = ""
        if cfg.pagination == "406-token":
            status = 406 if more else 200
            issue = more
        elif cfg.pagination == "200-cursor":
            status, issue = 200, len(page) == query.limit
        elif cfg.pagination == "200-413":
            if query.token is not None and not page:
                return error_reply(413, "No items for current page")
            status, issue = 200, bool(page)
        else:
            status, issue = (406 if more else 200), False
        if issue:
            token = self._issue_page_token(PageToken(query.fingerprint, query.category, window, snapshot, page[-1].key(),
                                                     order, mono + cfg.page_token_ttl), mono)
        return self._page_reply(status, [e.blob for e in page], token)

    def _token_of(self, query: Query, mono: float) -> PageToken:
        """The state of the query's pagination token; BadRequest when unknown, expired or of another query."""
        cfg = self.config
        state = self.page_tokens.get(query.token or "") if cfg.pagination != "406-split" or cfg.endless != "off" else None
        if state is None or state.category != query.category:
            raise BadRequest("token: unknown pagination token; allowed: the token of the previous answer to the same "
                             "query, or no token to start")
        if mono >= state.expires:
            raise BadRequest(f"token: the pagination token has expired (tokens live {cfg.page_token_ttl:g} s); "
                             "start again without token")
        if state.fingerprint != query.fingerprint:
            raise BadRequest("token: the pagination token belongs to a different query; allowed: the same body "
                             "as the first request, plus token")
        return state

    def _issue_page_token(self, state: PageToken, mono: float) -> str:
        """A new pagination token for ``state``."""
        token = secrets.token_urlsafe(24)
        self.page_tokens[token] = state
        self.counters["page_tokens_issued"] += 1
        self._sweep_page_tokens(mono)
        return token

    def _page_reply(self, status: int, blobs: list[bytes], token: str) -> Reply:
        """A page's answer: its entries (with the stray and odd ones of the hostile settings) and token."""
        entries = len(blobs)
        blobs = self._odd(self._stray(blobs))
        body = b'{"data":[' + b",".join(blobs) + b'],"token":' + json.dumps(token).encode("ascii") + b"}"
        return self._inflate(Reply(status, body, entries=entries))

    # -- hostile server --
    def _endless_page(self, query: Query, window: tuple[int, int], snapshot: int, order: str, number: int, mono: float) -> Reply:
        """Page ``number`` (0 = first) of an endless walk: ``limit`` generated entries and a new token, forever."""
        cfg = self.config
        low, high = min(window), window[1]
        width = high - low + 1
        seed_page = number if cfg.endless == "fresh" else 0
        rng = random.Random(f"itot-emulator:{cfg.seed}:{query.category}:endless:{seed_page}")
        blobs = []
        for index in range(query.limit):
            step = (seed_page * query.limit + index) % width
            ts = high - step if order == "desc" else low + step
            _ts, rendered, _agent = self.generator.make(query.category, rng, ts, sorted(query.events or ()), floor=low)
            blobs.append(_blob(rendered))
        self.counters["hostile"]["endless"] += 1
        token = self._issue_page_token(PageToken(query.fingerprint, query.category, window, snapshot, (high, 0), order,
                                                 mono + cfg.page_token_ttl, number), mono)
        return self._page_reply(406 if cfg.pagination in ("406-token", "406-split") else 200, blobs, token)

    def _stray(self, blobs: list[bytes]) -> list[bytes]:
        """The page's entries at the stray_at positions restamped with stray_time (when set)."""
        cfg = self.config
        if cfg.stray_time is None:
            return blobs
        out = list(blobs)
        for position in sorted(set(cfg.stray_at)):
            if position < len(out):
                rendered = json.loads(out[position])
                rendered["timestamp"] = cfg.stray_time
                out[position] = _blob(rendered)
                self.counters["hostile"]["stray_entries"] += 1
        return out

    def _odd(self, blobs: list[bytes]) -> list[bytes]:
        """The page's entries with the odd_entries inserted before position odd_at (clamped to the page)."""
        cfg = self.config
        if not cfg.odd_entries:
            return blobs
        at = min(cfg.odd_at, len(blobs))
        self.counters["hostile"]["odd_entries"] += len(cfg.odd_entries)
        return blobs[:at] + [_blob(value) for value in cfg.odd_entries] + blobs[at:]

    def _inflate(self, reply: Reply) -> Reply:
        """A page's answer with the deep_json and huge_bytes members added, streamed in pieces (when set)."""
        deep, huge = self.config.deep_json, self.config.huge_bytes
        if not deep and not huge:
            return reply
        prefix = reply.body[:-1]
        length = len(prefix) + 1 + (len(_DEEP_KEY) + 2 * deep if deep else 0)
        padding = max(0, huge - length - len(_PADDING_KEY) - 1) if huge else None
        if padding is not None:
            length += len(_PADDING_KEY) + padding + 1
        self.counters["hostile"]["deep_json"] += bool(deep)
        self.counters["hostile"]["huge"] += bool(huge)
        reply.chunks = lambda: _inflated(prefix, deep, padding)
        reply.length = length
        return reply

    def drip(self, reply: Reply) -> Reply:
        """A logs answer to be sent slowly, per drip_seconds and drip_bytes (when set; never a reset)."""
        cfg = self.config
        if cfg.drip_seconds > 0 and not reply.reset:
            reply.drip, reply.drip_bytes = cfg.drip_seconds, cfg.drip_bytes
            with self.lock:
                self.counters["hostile"]["drip"] += 1
        return reply

    def _sweep_page_tokens(self, mono: float) -> None:
        """Forget tokens that expired more than an hour ago (kept until then to answer 'expired')."""
        if mono - self._last_sweep < 60:
            return
        self._last_sweep = mono
        for key in [k for k, v in self.page_tokens.items() if v.expires < mono - 3600]:
            del self.page_tokens[key]

    def count_logs_outcome(self, status: int | None) -> None:
        """Count an early answer (401, 429, faults) of the logs endpoint."""
        if status:
            with self.lock:
                self.counters["by_status"][str(status)] = self.counters["by_status"].get(str(status), 0) + 1

    # -- OAuth --
    def oauth(self, query_string: str, raw: bytes, authorization: str | None) -> Reply:
        """The OAuth token endpoint (client_credentials and refresh_token grants)."""
        params: dict[str, str] = {}
        for source in (raw.decode("utf-8", "replace"), query_string):
            for key, value in urllib.parse.parse_qsl(source, keep_blank_values=True):
                params.setdefault(key, value)
        if authorization and authorization[:6].lower() == "basic ":
            try:
                user, _sep, password = base64.b64decode(authorization[6:].strip()).decode("utf-8").partition(":")
                params.setdefault("client_id", urllib.parse.unquote(user))
                params.setdefault("client_secret", urllib.parse.unquote(password))
            except (ValueError, UnicodeDecodeError):
                pass
        with self.lock:
            self.counters["oauth_requests"] += 1
            reply = self._oauth(params)
            by = self.counters["oauth_by_status"]
            by[str(reply.status)] = by.get(str(reply.status), 0) + 1
        reply.headers += [("Cache-Control", "no-store"), ("Pragma", "no-cache")]
        return reply

    def _oauth(self, params: dict[str, str]) -> Reply:
        grant = params.get("grant_type")
        client_id, secret = params.get("client_id"), params.get("client_secret")
        if not grant:
            return json_reply(400, {"error": "invalid_request"})
        if grant == "client_credentials":
            if not client_id or not secret:
                return json_reply(400, {"error": "invalid_request"})
            if not self._client_ok(client_id, secret):
                return json_reply(401, {"error": "invalid_client"})
        elif grant == "refresh_token":
            refresh = params.get("refresh_token")
            if not refresh:
                return json_reply(400, {"error": "invalid_request"})
            if (client_id or secret) and not self._client_ok(client_id or "", secret or ""):
                return json_reply(401, {"error": "invalid_client"})
            if refresh not in self.refresh_tokens:
                return json_reply(400, {"error": "invalid_grant"})
            client_id = self.refresh_tokens[refresh]
        else:
            return json_reply(400, {"error": "unsupported_grant_type"})
        access, refresh_new = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        lifetime = self.config.token_lifetime
        self.oauth_tokens[access] = time.monotonic() + lifetime
        self.refresh_tokens[refresh_new] = client_id or ""
        self.counters["tokens_issued"] += 1
        return json_reply(200, {"access_token": access, "token_type": "bearer", "expires_in": lifetime,
                                "refresh_token": refresh_new})

    def _client_ok(self, client_id: str, secret: str) -> bool:
        expected = self.clients.get(client_id)
        return expected is not None and hmac.compare_digest(expected.encode("utf-8"), secret.encode("utf-8"))

    # -- control --
    def truth(self, query_string: str) -> Reply:
        """GET /_control/truth."""
        params = dict(urllib.parse.parse_qsl(query_string, keep_blank_values=True))
        category = params.get("category")
        if category not in CATEGORIES:
            raise BadRequest(f"category: {_show(category)} is not allowed; allowed: {', '.join(CATEGORIES)}")
        bounds = [_truth_bound(params, key) for key in ("start_time", "end_time")]
        matcher = _truth_matcher(params, category)
        with self.lock:
            found = self.stores[category].select(bounds[0], bounds[1], matcher)
            body = (b'{"data":[' + b",".join(e.blob for e in found) + b'],"timestamps_ms":['
                    + ",".join(str(e.ts) for e in found).encode("ascii") + b"]}")
        return Reply(200, body)

    def append(self, body: Any) -> Reply:
        """POST /_control/append."""
        if not isinstance(body, dict):
            raise BadRequest("body: not a JSON object")
        unknown = sorted(set(body) - {"category", "count", "offset_seconds", "spread_seconds", "events", "entries"})
        if unknown:
            raise BadRequest(f"{unknown[0]}: unknown key; allowed: category, count, offset_seconds, spread_seconds, events, entries")
        category = body.get("category")
        if category not in CATEGORIES:
            raise BadRequest(f"category: {_show(category)} is not allowed; allowed: {', '.join(CATEGORIES)}")
        count = body.get("count", 0)
        offset = body.get("offset_seconds", 0)
        spread = body.get("spread_seconds", 0)
        try:
            _number("count", count, 0, integer=True)
            _number("offset_seconds", offset, None)
            _number("spread_seconds", spread, 0)
        except ValueError as exc:
            raise BadRequest(str(exc)) from exc
        if count > 1_000_000:
            raise BadRequest(f"count: {count} is too large; allowed: at most 1000000")
        events = body.get("events")
        if events is not None:
            _check_append_events(events, category)
        if "entries" in body and not isinstance(body["entries"], list):
            raise BadRequest("entries: not a list of entry objects")
        exact = [self._exact_entry(category, item, index) for index, item in enumerate(body.get("entries") or [])]
        with self.lock:
            store = self.stores[category]
            rng = self.append_rngs[category]
            base = now_ms() - int(round(offset * 1000))
            made = [self.generator.make(category, rng, base - (int(rng.random() * spread * 1000) if spread > 0 else 0), events)
                    for _index in range(count)]
            made.sort(key=lambda item: item[0])
            added = [store.add(ts, rendered, agent) for ts, rendered, agent in exact + made]
            body_out = (b'{"appended":[' + b",".join(e.blob for e in added) + b'],"timestamps_ms":['
                        + ",".join(str(e.ts) for e in added).encode("ascii") + b"]}")
        return Reply(200, body_out)

    @staticmethod
    def _exact_entry(category: str, item: Any, index: int) -> tuple[int, dict[str, Any], int | None]:
        where = f"entries[{index}]"
        if not isinstance(item, dict):
            raise BadRequest(f"{where}: not an object")
        fields = FIELDS[category]
        extra = sorted(set(item) - set(fields) - ({"agent_type"} if category == "device" else set()))
        missing = [key for key in fields if key not in item]
        if extra or missing:
            raise BadRequest(f"{where}: fields must be exactly {', '.join(fields)}"
                             f"{' (and optionally agent_type)' if category == 'device' else ''}; "
                             f"missing: {', '.join(missing) or '-'}; unknown: {', '.join(extra) or '-'}")
        try:
            ts = parse_timestamp_ms(item["timestamp"])
        except ValueError as exc:
            raise BadRequest(f"{where}.timestamp: {_show(item['timestamp'])} is not a time") from exc
        agent = None
        if category == "device":
            agent = item.get("agent_type", 0)
            if isinstance(agent, bool) or agent not in AGENT_TYPES:
                raise BadRequest(f"{where}.agent_type: {_show(agent)} is not 0 or 2")
        return ts, {key: item[key] for key in fields}, agent

    def counters_snapshot(self) -> dict[str, Any]:
        """A deep copy of the counters."""
        with self.lock:
            return json.loads(json.dumps(self.counters))

    def reset_counters(self) -> dict[str, Any]:
        """Zero the counters."""
        with self.lock:
            self.counters = _new_counters()
        return self.counters_snapshot()

    def config_view(self) -> dict[str, Any]:
        """The current configuration, without secrets."""
        cfg = self.config
        with self.lock:
            return {
                "pagination": cfg.pagination, "order": cfg.order, "auth": cfg.auth, "rate_limit": cfg.rate_limit,
                "rate_window": cfg.rate_window, "retry_after": cfg.retry_after, "token_lifetime": cfg.token_lifetime,
                "page_token_ttl": cfg.page_token_ttl, "max_window": cfg.max_window, "bounds": cfg.bounds,
                "events_format": cfg.events_format,
                "faults": dict(cfg.faults), "fault_seed": cfg.fault_seed, "slow_seconds": cfg.slow_seconds,
                "fail_next": list(self.fail_next),
                "outage_remaining_seconds": round(max(0.0, self.outage_until - time.monotonic()), 3),
                "seed": cfg.seed, "entries": cfg.entries, "span": cfg.span, "anchor_ms": self.anchor_ms,
                "time_format": cfg.time_format, "duplicates": cfg.duplicates, "tls": bool(cfg.tls_cert),
                "static_access_tokens": len(self.static_tokens), "oauth_clients": len(self.clients),
                **{key: json.loads(json.dumps(getattr(cfg, key))) for key in _HOSTILE_SETTINGS},
            }

    def configure(self, body: Any) -> dict[str, Any]:
        """POST /_control/config: check every key first, then apply them together."""
        if not isinstance(body, dict):
            raise BadRequest("body: not a JSON object")
        for key, value in body.items():
            _check_setting(key, value)
        with self.lock:
            mono = time.monotonic()
            self._apply_settings(body, mono)
            self._apply_expiries(body, mono)
        return self.config_view()

    def _apply_settings(self, body: dict[str, Any], mono: float) -> None:
        """Set the checked settings of a /_control/config body (a new fault draw when its faults or seed change)."""
        cfg = self.config
        for key in _PLAIN_SETTINGS:
            if key in body:
                setattr(cfg, key, body[key])
        if "faults" in body:
            cfg.faults = {k: float(v) for k, v in body["faults"].items()}
        if "fault_seed" in body:
            cfg.fault_seed = body["fault_seed"]
        if "faults" in body or "fault_seed" in body:
            self.fault_rng = random.Random(cfg.fault_seed)
        if "fail_next" in body:
            self.fail_next = collections.deque(str(kind) for kind in body["fail_next"])
        if "outage_seconds" in body:
            self.outage_until = mono + body["outage_seconds"]

    def _apply_expiries(self, body: dict[str, Any], mono: float) -> None:
        """The one-off actions of a /_control/config body: expire tokens at ``mono``, forget the rate limits."""
        if body.get("expire_access_tokens"):
            for key in self.oauth_tokens:
                self.oauth_tokens[key] = min(self.oauth_tokens[key], mono)
        if body.get("expire_page_tokens"):
            for state in self.page_tokens.values():
                state.expires = min(state.expires, mono)
        if body.get("reset_rate_limits"):
            self.rate.clear()


def _check_append_events(events: Any, category: str) -> None:
    """The ``events`` of /_control/append: a non-empty list of event names of the category."""
    if not isinstance(events, list) or not events or not all(isinstance(e, str) for e in events):
        raise BadRequest(f"events: {_show(events)} is not a non-empty list of event names")
    for name in events:
        if name not in EVENTS[category]:
            raise BadRequest(f"events: {_show(name)} is not an event of {category}; allowed: {', '.join(EVENTS[category])}")


def _truth_bound(params: dict[str, str], key: str) -> int | None:
    """A window bound of /_control/truth (epoch milliseconds), None when absent or empty."""
    value = params.get(key)
    if value is None or value == "":
        return None
    if not re.fullmatch(r"-?\d+", value):
        raise BadRequest(f"{key}: {_show(value)} is not an integer (epoch milliseconds)")
    return int(value)


def _truth_matcher(params: dict[str, str], category: str) -> Callable[[Entry], bool] | None:
    """The filters of /_control/truth (events and agent_types comma-separated, search) as a matcher."""
    for key in ("events", "agent_types", "search"):
        if key in params and key not in FILTER_KEYS[category]:
            raise BadRequest(f"{key}: not allowed for category {category}; allowed: {', '.join(FILTER_KEYS[category])}")
    events = parse_events(params["events"], category, "csv", "events") if "events" in params else None
    agents = None
    if "agent_types" in params:
        items = [part.strip() for part in params["agent_types"].split(",") if part.strip()]
        if not all(re.fullmatch(r"\d+", part) for part in items):
            raise BadRequest(f"agent_types: {_show(params['agent_types'])} is not a comma-separated list of 0 and 2")
        agents = parse_agent_types([int(part) for part in items], "agent_types")
    search = params["search"].lower() if "search" in params else None
    return make_matcher(events, agents, search)


def _boolean(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"{name}: {_show(value)} is not a boolean")


def _check_fail_next(value: Any) -> None:
    if not isinstance(value, list):
        raise ValueError(f"fail_next: {_show(value)} is not a list; allowed: a list of {', '.join(QUEUE_KINDS)}")
    for kind in value:
        if str(kind) not in QUEUE_KINDS or isinstance(kind, bool):
            raise ValueError(f"fail_next: {_show(kind)} is not a fault kind; allowed: {', '.join(QUEUE_KINDS)}")


def _check_odd_entries(value: Any) -> None:
    """``odd_entries``: a list (at most 1000) of JSON values to mix into every page's data."""
    if not isinstance(value, list) or len(value) > 1000:
        raise ValueError(f"odd_entries: {_show(value)} is not a list of at most 1000 JSON values")
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError("odd_entries: not JSON values") from exc


def _check_stray_time(value: Any) -> None:
    """``stray_time``: null (off) or a time (a string or an integer) that parses as a timestamp."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(f"stray_time: {_show(value)} is not a time; allowed: null, or a timestamp string or epoch number")
    try:
        parse_timestamp_ms(value)
    except ValueError as exc:
        raise ValueError(f"stray_time: {_show(value)} is not a time; allowed: null, or a timestamp string or epoch number") from exc


def _check_stray_at(value: Any) -> None:
    """``stray_at``: a list (at most 1000) of page positions, integers >= 0."""
    if not isinstance(value, list) or len(value) > 1000:
        raise ValueError(f"stray_at: {_show(value)} is not a list of at most 1000 positions")
    for item in value:
        _number("stray_at", item, 0, integer=True)


# The settings of /_control/config and their checks (ValueError on a bad value), in the order the error message lists them.
_SETTING_CHECKS: dict[str, Callable[[Any], None]] = {
    "pagination": lambda v: _choice("pagination", v, PAGINATION_STYLES),
    "order": lambda v: _choice("order", v, ORDERS),
    "auth": lambda v: _choice("auth", v, AUTH_PLACES),
    "events_format": lambda v: _choice("events_format", v, EVENTS_FORMATS),
    "bounds": lambda v: _choice("bounds", v, BOUNDS),
    "rate_limit": lambda v: _number("rate_limit", v, 0, integer=True),
    "rate_window": lambda v: _number("rate_window", v, 0.001),
    "retry_after": lambda v: _boolean("retry_after", v),
    "token_lifetime": lambda v: _number("token_lifetime", v, 1, integer=True),
    "page_token_ttl": lambda v: _number("page_token_ttl", v, 0.001),
    "max_window": lambda v: _number("max_window", v, 0, integer=True),
    "faults": _check_faults,
    "fault_seed": lambda v: _number("fault_seed", v, None, integer=True),
    "slow_seconds": lambda v: _number("slow_seconds", v, 0),
    "fail_next": _check_fail_next,
    "outage_seconds": lambda v: _number("outage_seconds", v, 0),
    "expire_access_tokens": lambda v: _boolean("expire_access_tokens", v),
    "expire_page_tokens": lambda v: _boolean("expire_page_tokens", v),
    "reset_rate_limits": lambda v: _boolean("reset_rate_limits", v),
    "drip_seconds": lambda v: _number("drip_seconds", v, 0),
    "drip_bytes": lambda v: _number("drip_bytes", v, 0, integer=True),
    "endless": lambda v: _choice("endless", v, ENDLESS_MODES),
    "huge_bytes": lambda v: _number("huge_bytes", v, 0, integer=True),
    "deep_json": lambda v: _number("deep_json", v, 0, integer=True),
    "odd_entries": _check_odd_entries,
    "odd_at": lambda v: _number("odd_at", v, 0, integer=True),
    "stray_time": _check_stray_time,
    "stray_at": _check_stray_at,
}
# The hostile-server settings (all off by default): start options and /_control/config keys alike.
_HOSTILE_SETTINGS = ("drip_seconds", "drip_bytes", "endless", "huge_bytes", "deep_json", "odd_entries", "odd_at",
                     "stray_time", "stray_at")
# The settings /_control/config copies onto the configuration as they are.
_PLAIN_SETTINGS = ("pagination", "order", "auth", "events_format", "rate_limit", "rate_window", "retry_after",
                   "token_lifetime", "page_token_ttl", "max_window", "bounds", "slow_seconds") + _HOSTILE_SETTINGS


def _check_setting(key: str, value: Any) -> None:
    """One key of a /_control/config body; BadRequest when unknown or its value is not allowed."""
    check = _SETTING_CHECKS.get(key)
    if check is None:
        raise BadRequest(f"{key}: unknown setting; allowed: {', '.join(_SETTING_CHECKS)}")
    try:
        check(value)
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc


def _bearer(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    scheme, _sep, value = (authorization or "").strip().partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def _first_param(query_string: str, name: str) -> str | None:
    for key, value in urllib.parse.parse_qsl(query_string, keep_blank_values=True):
        if key == name:
            return value
    return None


# ------------------------------------------------------------------------------------------------- HTTP --
class _HttpError(Exception):
    """An HTTP-level problem with the request itself (bad framing, too large)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


_ROUTES: dict[str, tuple[str, ...]] = {
    LOGS_PATH: ("POST",), OAUTH_PATH: ("POST",),
    "/_control/health": ("GET",), "/_control/truth": ("GET",), "/_control/counters": ("GET",),
    "/_control/reset_counters": ("POST",), "/_control/config": ("GET", "POST"), "/_control/append": ("POST",),
    "/_control/shutdown": ("POST",),
}


class Handler(http.server.BaseHTTPRequestHandler):
    """Request handler: routing, framing, one-write answers, access log; never logs or echoes secrets."""

    protocol_version = "HTTP/1.1"
    server_version = "itot-emulator/1.0"
    sys_version = ""
    disable_nagle_algorithm = True
    timeout = 120
    server: EmulatorServer

    def setup(self) -> None:
        """Wrap the connection in TLS (in this thread) when configured."""
        context = getattr(self.server, "ssl_context", None)
        if context is not None:
            self.request.settimeout(30)
            self.request = context.wrap_socket(self.request, server_side=True)
        super().setup()

    def finish(self) -> None:
        """Close the TLS socket too (socketserver only shuts down the plain one)."""
        try:
            super().finish()
        finally:
            if getattr(self.server, "ssl_context", None) is not None:
                try:
                    self.connection.close()
                except OSError:
                    pass

    def log_message(self, format: str, *args: Any) -> None:  # pylint: disable=redefined-builtin
        """Silenced: the default writes the request line (with its query string) to stderr."""

    def log_error(self, format: str, *args: Any) -> None:  # pylint: disable=redefined-builtin
        """Silenced, see log_message."""

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Answer a malformed request in JSON, without echoing any part of it."""
        self.close_connection = True
        code = int(code)  # an HTTPStatus before Python 3.11's str() change
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "Error"
        self._write(error_reply(code, phrase))
        self._access_log("-", "-", str(code), 0.0, 0)

    def do_GET(self) -> None:  # pylint: disable=invalid-name
        """Dispatch."""
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    def _dispatch(self) -> None:
        started = time.monotonic()
        target = self.path
        if "://" in target.split("?", 1)[0]:
            target = "/" + target.split("://", 1)[1].partition("/")[2]
        path, _sep, query_string = target.partition("?")
        path = path.split("#", 1)[0]
        emulator = self.server.emulator
        try:
            raw = self._read_body()
            reply = self._route(emulator, path, query_string, raw)
        except _HttpError as exc:
            self.close_connection = True
            reply = error_reply(exc.status, str(exc))
        except Exception as exc:  # pylint: disable=broad-exception-caught
            _report_bug(exc)
            reply = error_reply(500, f"internal emulator error ({type(exc).__name__})")
        if reply.reset:
            self._reset()
            status = "reset"
        else:
            if reply.close:
                self.close_connection = True
            try:
                self._write(reply)
            except OSError:
                self.close_connection = True
            status = str(reply.status)
        self._access_log(self.command, path, status, time.monotonic() - started, reply.entries)
        if reply.after is not None:
            reply.after()

    def _route(self, emulator: Emulator, path: str, query_string: str, raw: bytes) -> Reply:
        methods = _ROUTES.get(path)
        if methods is None:
            return error_reply(404, "not found; the API is POST /o/api/v3.3/logs and POST /o/oauth/token")
        if self.command not in methods:
            return error_reply(405, f"method not allowed; allowed: {', '.join(methods)}", [("Allow", ", ".join(methods))])
        if path == LOGS_PATH:
            early, fault = emulator.admit_logs(query_string, self.headers.get("Authorization"))
            if early is not None:
                emulator.count_logs_outcome(early.status)
                return emulator.drip(early)
            if fault == "slow":
                time.sleep(emulator.config.slow_seconds)
            return emulator.drip(emulator.answer_logs(raw))
        if path == OAUTH_PATH:
            return emulator.oauth(query_string, raw, self.headers.get("Authorization"))
        with emulator.lock:
            emulator.counters["control_requests"] += 1
        try:
            return self._control(emulator, path, query_string, raw)
        except BadRequest as exc:
            return error_reply(400, str(exc))

    def _control(self, emulator: Emulator, path: str, query_string: str, raw: bytes) -> Reply:
        if path == "/_control/health":
            return json_reply(200, {"status": "ok"})
        if path == "/_control/truth":
            return emulator.truth(query_string)
        if path == "/_control/counters":
            return json_reply(200, emulator.counters_snapshot())
        if path == "/_control/reset_counters":
            return json_reply(200, emulator.reset_counters())
        if path == "/_control/config" and self.command == "GET":
            return json_reply(200, emulator.config_view())
        if path == "/_control/shutdown":
            reply = json_reply(200, {"shutdown": True})
            reply.close = True
            reply.after = lambda: threading.Thread(target=self.server.shutdown, daemon=True).start()
            return reply
        try:
            body = json.loads(raw.decode("utf-8")) if raw.strip() else {}
        except (UnicodeDecodeError, ValueError) as exc:
            raise BadRequest("body: not valid JSON") from exc
        if path == "/_control/config":
            return json_reply(200, emulator.configure(body))
        return emulator.append(body)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        try:
            size = int(length)
        except ValueError as exc:
            raise _HttpError(400, "bad Content-Length") from exc
        if size < 0:
            raise _HttpError(400, "bad Content-Length")
        if size > MAX_BODY:
            raise _HttpError(413, f"request body too large; allowed: at most {MAX_BODY} bytes")
        return self.rfile.read(size)

    def _read_chunked(self) -> bytes:
        """A body in chunked transfer encoding (the trailer read and dropped)."""
        chunks, total = [], 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError as exc:
                raise _HttpError(400, "bad chunked encoding") from exc
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_BODY:
                raise _HttpError(413, f"request body too large; allowed: at most {MAX_BODY} bytes")
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _write(self, reply: Reply) -> None:
        try:
            phrase = HTTPStatus(reply.status).phrase
        except ValueError:
            phrase = "Status"
        head = [f"HTTP/1.1 {reply.status} {phrase}", f"Server: {self.server_version}", f"Date: {self.date_time_string()}",
                f"Content-Type: {reply.content_type}", f"Content-Length: {reply.size()}"]
        head += [f"{name}: {value}" for name, value in reply.headers]
        if self.close_connection:
            head.append("Connection: close")
        elif self.request_version == "HTTP/1.0":
            head.append("Connection: keep-alive")
        data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
        if self.command != "HEAD" and (reply.chunks is not None or reply.drip > 0):
            self.wfile.write(data)
            self._write_slowly(reply)
            return
        if self.command != "HEAD":
            data += reply.body
        self.wfile.write(data)

    def _write_slowly(self, reply: Reply) -> None:
        """The body of a hostile answer: in pieces, its first bytes dripped one at a time."""
        pieces = reply.chunks() if reply.chunks is not None else iter((reply.body,))
        budget = (reply.drip_bytes or math.inf) if reply.drip > 0 else 0
        for piece in pieces:
            view = memoryview(piece)
            while budget > 0 and view:
                time.sleep(reply.drip)
                self.wfile.write(view[:1])
                view = view[1:]
                budget -= 1
            if view:
                self.wfile.write(view)

    def _reset(self) -> None:
        """Drop the connection with a TCP reset (SO_LINGER 0)."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    def _access_log(self, method: str, path: str, status: str, seconds: float, entries: int) -> None:
        self.server.access_log(f"{_iso_now()} {method} {_log_path(path)} {status} {seconds:.3f}s entries={entries}")


def _log_path(path: str) -> str:
    """The path for the access log: printable, at most 200 characters."""
    clean = "".join(ch if 32 < ord(ch) < 127 else urllib.parse.quote(ch) for ch in path)
    return clean[:200] or "/"


def _report_bug(exc: BaseException) -> None:
    """Write an emulator bug to stderr: exception type and frames, never the message (it may hold a value)."""
    frames = "".join(traceback.format_tb(exc.__traceback__))
    sys.stderr.write(f"itot-emulator: internal error {type(exc).__name__}\n{frames}")
    sys.stderr.flush()


class EmulatorServer(http.server.ThreadingHTTPServer):
    """The HTTP(S) server: ``port``, ``base_url``, ``emulator`` (the state), ``stop()``."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, config: EmulatorConfig) -> None:
        self.emulator = Emulator(config)
        self.config = config
        self._log_lock = threading.Lock()
        self._log = open(config.log_file, "a", encoding="utf-8", buffering=1) if config.log_file else None  # pylint: disable=consider-using-with
        self.ssl_context: ssl.SSLContext | None = None
        if config.tls_cert:
            self.ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ssl_context.load_cert_chain(config.tls_cert, config.tls_key)
        if ":" in config.host:
            self.address_family = socket.AF_INET6
        self.thread: threading.Thread | None = None
        try:
            super().__init__((config.host, config.port), Handler)
        except BaseException:
            if self._log:
                self._log.close()
            raise
        self.port: int = self.server_address[1]
        host = f"[{config.host}]" if ":" in config.host else config.host
        self.base_url = f"{'https' if self.ssl_context else 'http'}://{host}:{self.port}"

    def server_bind(self) -> None:
        """Bind without the reverse DNS lookup of HTTPServer.server_bind."""
        socketserver.TCPServer.server_bind(self)
        self.server_name = str(self.server_address[0])
        self.server_port = self.server_address[1]

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Client disconnects are normal; anything else is reported without its message."""
        exc = sys.exc_info()[1]
        if exc is None or isinstance(exc, (OSError, ssl.SSLError)):
            return
        _report_bug(exc)

    def access_log(self, line: str) -> None:
        """Append one line to the access log, if any."""
        if self._log is not None:
            with self._log_lock:
                self._log.write(line + "\n")

    def server_close(self) -> None:
        """Close the listening socket and the access log."""
        super().server_close()
        with self._log_lock:
            if self._log is not None:
                self._log.close()
                self._log = None

    def stop(self) -> None:
        """Shut down (when running), close, and join the serving thread started by run_in_thread."""
        if self.thread is not None and self.thread.is_alive():
            self.shutdown()
            self.thread.join(10)
        self.server_close()


def write_port_file(path: str, port: int) -> None:
    """Write ``port`` to ``path`` atomically (temp file in the same folder + rename)."""
    folder = os.path.dirname(os.path.abspath(path))
    handle, temp = tempfile.mkstemp(prefix=".itot-emulator-port.", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="ascii") as stream:
            stream.write(f"{port}\n")
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise


def make_server(config: EmulatorConfig | None = None) -> EmulatorServer:
    """A listening (not yet serving) emulator; writes the port file when configured.  ValueError on bad config."""
    server = EmulatorServer(config or EmulatorConfig())
    if server.config.port_file:
        try:
            write_port_file(server.config.port_file, server.port)
        except BaseException:
            server.server_close()
            raise
    return server


def run_in_thread(config: EmulatorConfig | None = None, poll_interval: float = 0.02) -> EmulatorServer:
    """make_server + serve_forever in a daemon thread; ``server.stop()`` ends it (within ``poll_interval``)."""
    server = make_server(config)
    server.thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": poll_interval},
                                     name=f"itot-emulator-{server.port}", daemon=True)
    server.thread.start()
    return server


# -------------------------------------------------------------------------------------------------- CLI --
def _fault_option(text: str) -> tuple[str, float]:
    kind, sep, rate = text.partition("=")
    if not sep or kind not in FAULT_KINDS:
        raise argparse.ArgumentTypeError(f"{text!r}: expected KIND=RATE with KIND one of {', '.join(FAULT_KINDS)}")
    try:
        value = float(rate)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: RATE is not a number") from exc
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r}: RATE must be in [0, 1]")
    return kind, value


def _json_option(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: not a JSON value (a string needs its quotes: '\"oops\"')") from exc


def build_parser() -> argparse.ArgumentParser:
    """The command line parser; --help prints the module docstring as the reference."""
    parser = argparse.ArgumentParser(prog="itot_emulator.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add = parser.add_argument
    add("--host", default="127.0.0.1")
    add("--port", type=int, default=0)
    add("--port-file")
    add("--log-file")
    add("--pagination", choices=PAGINATION_STYLES, default="406-token")
    add("--order", choices=ORDERS, default="desc")
    add("--rate-limit", type=int, default=10)
    add("--rate-window", type=float, default=60.0)
    add("--no-retry-after", dest="retry_after", action="store_false")
    add("--auth", choices=AUTH_PLACES, default="both")
    add("--access-token", dest="access_tokens", action="append", default=[], metavar="TOKEN")
    add("--client-id", dest="client_ids", action="append", default=[], metavar="ID")
    add("--client-secret", dest="client_secrets", action="append", default=[], metavar="SECRET")
    add("--token-lifetime", type=int, default=43199)
    add("--page-token-ttl", type=float, default=300.0)
    add("--max-window", type=int, default=86400)
    add("--bounds", choices=BOUNDS, default="inclusive")
    add("--events-format", choices=EVENTS_FORMATS, default="csv")
    add("--seed", type=int, default=1)
    add("--entries", type=int, default=500)
    add("--span", type=int, default=86400)
    add("--anchor-ms", type=int, default=None)
    add("--time-format", choices=TIME_FORMATS, default="iso")
    add("--duplicates", type=int, default=0)
    add("--fault", dest="faults", action="append", default=[], type=_fault_option, metavar="KIND=RATE")
    add("--fault-seed", type=int, default=0)
    add("--slow-seconds", type=float, default=5.0)
    add("--tls-cert", metavar="PEM")
    add("--tls-key", metavar="PEM")
    add("--drip-seconds", type=float, default=0.0)
    add("--drip-bytes", type=int, default=0)
    add("--endless", choices=ENDLESS_MODES, default="off")
    add("--huge-bytes", type=int, default=0)
    add("--deep-json", type=int, default=0)
    add("--odd-entry", dest="odd_entries", action="append", default=[], type=_json_option, metavar="JSON")
    add("--odd-at", type=int, default=0)
    add("--stray-time", metavar="TIME")
    add("--stray-at", action="append", type=int, metavar="N")
    return parser


def parse_args(argv: Sequence[str] | None = None) -> EmulatorConfig:
    """The EmulatorConfig of a command line (exits with a usage message on errors)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if len(args.client_ids) != len(args.client_secrets):
        parser.error("--client-id and --client-secret must be given in pairs")
    clients = dict(zip(args.client_ids, args.client_secrets)) if args.client_ids else {"demo-client": "demo-secret"}
    faults: dict[str, float] = {}
    for kind, rate in args.faults:
        faults[kind] = rate
    config = EmulatorConfig(
        host=args.host, port=args.port, port_file=args.port_file, log_file=args.log_file, pagination=args.pagination,
        order=args.order, auth=args.auth, rate_limit=args.rate_limit, rate_window=args.rate_window, retry_after=args.retry_after,
        access_tokens=list(args.access_tokens), clients=clients, token_lifetime=args.token_lifetime,
        page_token_ttl=args.page_token_ttl, max_window=args.max_window, bounds=args.bounds, events_format=args.events_format,
        seed=args.seed, entries=args.entries, span=args.span, anchor_ms=args.anchor_ms, time_format=args.time_format,
        duplicates=args.duplicates, faults=faults, fault_seed=args.fault_seed, slow_seconds=args.slow_seconds,
        tls_cert=args.tls_cert, tls_key=args.tls_key, drip_seconds=args.drip_seconds, drip_bytes=args.drip_bytes,
        endless=args.endless, huge_bytes=args.huge_bytes, deep_json=args.deep_json, odd_entries=list(args.odd_entries),
        odd_at=args.odd_at, stray_time=_stray_time_option(args.stray_time), stray_at=args.stray_at or [0])
    try:
        config.validate()
    except ValueError as exc:
        parser.error(str(exc))
    return config


def _stray_time_option(text: str | None) -> str | int | None:
    """--stray-time: a digit string is served as an epoch-ms number, anything else as the string given."""
    if text is not None and re.fullmatch(r"\d+", text):
        return int(text)
    return text


def main(argv: Sequence[str] | None = None) -> int:
    """Run the emulator until /_control/shutdown, SIGTERM or Ctrl-C."""
    config = parse_args(argv)
    try:
        server = make_server(config)
    except (OSError, ValueError, ssl.SSLError) as exc:
        sys.stderr.write(f"itot-emulator: cannot start: {type(exc).__name__}: {exc}\n")
        return 1
    print(f"itot-emulator listening on {server.base_url}", flush=True)

    def stop(_signum: int, _frame: Any) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        _remove_port_file(config.port_file, server.port)
    return 0


def _remove_port_file(path: str | None, port: int) -> None:
    if not path:
        return
    try:
        with open(path, encoding="ascii") as stream:
            ours = stream.read().strip() == str(port)
        if ours:
            os.unlink(path)
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
