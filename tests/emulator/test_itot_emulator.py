"""Tests of the Get Logs API emulator (tests/emulator/itot_emulator.py): what a client author relies on."""

from __future__ import annotations

import collections
import email.utils
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Callable

import itot_emulator as emu
import pytest
import requests
from itot_emulator import EmulatorConfig

HERE = os.path.dirname(os.path.abspath(__file__))
EMULATOR = os.path.join(HERE, "itot_emulator.py")
TOKEN = "static-tok-SECRET-7f3a9c"
OTHER_TOKEN = "static-other-SECRET-51d2"
DAY_MS = 86400 * 1000

ISO_MS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ISO_OFFSET_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$")
RFC1123_RE = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
                        r"\d\d:\d\d:\d\d GMT$")


# ------------------------------------------------------------------------------------------------ helpers --
def parse_ts(value: Any) -> int:
    """A client's own timestamp parser (independent of the emulator's)."""
    if isinstance(value, int):
        return value
    if value.isdigit():
        return int(value)
    if value.endswith("GMT"):
        return int(email.utils.parsedate_to_datetime(value).timestamp()) * 1000
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return int(parsed.replace(microsecond=0).timestamp()) * 1000 + parsed.microsecond // 1000


def style_of(value: Any) -> str:
    """Which rendering a timestamp uses."""
    if isinstance(value, int):
        return "epoch_num"
    if value.isdigit():
        return "epoch_str"
    for name, pattern in (("iso_ms", ISO_MS_RE), ("iso_sec_offset", ISO_OFFSET_RE), ("rfc1123", RFC1123_RE)):
        if pattern.match(value):
            return name
    raise AssertionError(f"unknown timestamp form {value!r}")


class Client:
    """A thin test client for one running emulator."""

    def __init__(self, server: emu.EmulatorServer) -> None:
        self.server = server
        self.base = server.base_url
        self.session = requests.Session()

    def logs(self, body: Any = None, token: str | None = TOKEN, raw: bytes | None = None,
             timeout: float = 10) -> requests.Response:
        """POST the logs endpoint."""
        params = {"access_token": token} if token is not None else {}
        url = f"{self.base}/o/api/v3.3/logs"
        if raw is not None:
            return self.session.post(url, params=params, data=raw, headers={"Content-Type": "application/json"}, timeout=timeout)
        return self.session.post(url, params=params, json=body, timeout=timeout)

    def oauth(self, data: dict[str, str] | None = None, params: dict[str, str] | None = None,
              auth: tuple[str, str] | None = None) -> requests.Response:
        """POST the OAuth endpoint."""
        return self.session.post(f"{self.base}/o/oauth/token", data=data, params=params, auth=auth, timeout=10)

    def truth(self, **params: Any) -> dict[str, Any]:
        """GET the ground truth."""
        answer = self.session.get(f"{self.base}/_control/truth", params=params, timeout=30)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def control(self, name: str, body: Any = None, expect: int = 200) -> Any:
        """Call a control endpoint (GET without body, POST with)."""
        url = f"{self.base}/_control/{name}"
        if body is None and name in ("counters", "config", "health"):
            answer = self.session.get(url, timeout=10)
        else:
            answer = self.session.post(url, json=body if body is not None else {}, timeout=10)
        assert answer.status_code == expect, answer.text
        return answer.json()

    def walk(self, body: dict[str, Any], max_pages: int = 10000) -> list[tuple[int, list[dict[str, Any]], str]]:
        """Follow tokens to the end: [(status, data, token), ...]."""
        pages = []
        token = ""
        for _index in range(max_pages):
            request = dict(body, token=token) if token else dict(body)
            answer = self.logs(request)
            assert answer.status_code in (200, 406), answer.text
            doc = answer.json()
            assert set(doc) == {"data", "token"}
            pages.append((answer.status_code, doc["data"], doc["token"]))
            token = doc["token"]
            if not token:
                return pages
        raise AssertionError("walk did not end")


def entries_of(pages: list[tuple[int, list[dict[str, Any]], str]]) -> list[dict[str, Any]]:
    """Every entry of a walk, in the order served."""
    return [entry for page in pages for entry in page[1]]


def oldest_first(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A client's stable oldest-first sort."""
    return sorted(entries, key=lambda entry: parse_ts(entry["timestamp"]))


def newest_first(truth: dict[str, Any]) -> list[dict[str, Any]]:
    """The truth in the API's desc order: newest first, ties in insertion order."""
    pairs = sorted(zip(truth["timestamps_ms"], truth["data"]), key=lambda pair: -pair[0])
    return [pair[1] for pair in pairs]


def full_window(client: Client) -> dict[str, int]:
    """start_time/end_time of the whole generated span."""
    cfg = client.control("config")
    return {"start_time": cfg["anchor_ms"] - cfg["span"] * 1000, "end_time": cfg["anchor_ms"]}


@pytest.fixture(name="start")
def fixture_start() -> Iterator[Callable[..., Client]]:
    """Start emulators in threads (port 0, rate limit off unless asked, TOKEN valid); stop them afterwards."""
    servers: list[emu.EmulatorServer] = []

    def _start(**overrides: Any) -> Client:
        settings: dict[str, Any] = {"port": 0, "rate_limit": 0, "access_tokens": [TOKEN, OTHER_TOKEN], "entries": 200,
                                    "anchor_ms": emu.now_ms() - 10_000}
        settings.update(overrides)
        server = emu.run_in_thread(EmulatorConfig(**settings))
        servers.append(server)
        return Client(server)

    yield _start
    for server in servers:
        server.stop()


# ------------------------------------------------------------------------------------------- pagination --
@pytest.mark.parametrize("order,time_format,span", [
    ("desc", "iso", 86400), ("asc", "iso", 86400), ("desc", "rfc1123", 60), ("asc", "rfc1123", 60)])
def test_406_token_walk_equals_truth(start: Callable[..., Client], order: str, time_format: str, span: int) -> None:
    """406-token: 406 + token while more remain, then 200 + ""; the walk is exactly the truth (ties, duplicates)."""
    client = start(entries=230, order=order, time_format=time_format, span=span, duplicates=3)
    window = full_window(client)
    pages = client.walk({"event_category": "device", "limit": 50, **window})
    assert [page[0] for page in pages] == [406, 406, 406, 406, 200]
    assert [len(page[1]) for page in pages] == [50, 50, 50, 50, 33]
    assert all(page[2] for page in pages[:-1]) and pages[-1][2] == ""
    assert len({page[2] for page in pages[:-1]}) == 4
    truth = client.truth(category="device", **window)
    served = entries_of(pages)
    assert served == (truth["data"] if order == "asc" else newest_first(truth))
    assert oldest_first(served) == truth["data"]


def test_200_cursor_walk(start: Callable[..., Client]) -> None:
    """200-cursor: every full page has a token, even the last one; then an empty page with ""."""
    client = start(entries=200, pagination="200-cursor")
    window = full_window(client)
    pages = client.walk({"event_category": "admin", "limit": 50, **window})
    assert [(status, len(data), bool(token)) for status, data, token in pages] == [
        (200, 50, True), (200, 50, True), (200, 50, True), (200, 50, True), (200, 0, False)]
    assert oldest_first(entries_of(pages)) == client.truth(category="admin", **window)["data"]
    pages = client.walk({"event_category": "admin", "limit": 60, **window})
    assert [(status, len(data), bool(token)) for status, data, token in pages] == [
        (200, 60, True), (200, 60, True), (200, 60, True), (200, 20, False)]


def test_406_split(start: Callable[..., Client]) -> None:
    """406-split: 406 with the first limit entries and no token; splitting the window recovers the truth."""
    client = start(entries=230, pagination="406-split", order="asc")
    window = full_window(client)
    truth = client.truth(category="webhook", **window)
    answer = client.logs({"event_category": "webhook", "limit": 40, **window})
    assert answer.status_code == 406
    assert answer.json() == {"data": truth["data"][:40], "token": ""}
    # A client that splits the window until each part fits gets exactly the truth.
    collected: list[dict[str, Any]] = []

    def fetch(low: int, high: int) -> None:
        reply = client.logs({"event_category": "webhook", "limit": 100, "start_time": low, "end_time": high})
        if reply.status_code == 406:
            middle = (low + high) // 2
            fetch(low, middle)
            fetch(middle + 1, high)
        else:
            assert reply.status_code == 200 and reply.json()["token"] == ""
            collected.extend(reply.json()["data"])
    fetch(window["start_time"], window["end_time"])
    assert collected == truth["data"]
    # No token exists in this style.
    answer = client.logs({"event_category": "webhook", "limit": 40, "token": "anything", **window})
    assert answer.status_code == 400 and answer.json()["error"]["message"].startswith("token")


@pytest.mark.parametrize("entries,limit", [(200, 50), (230, 50)])
def test_200_413_walk(start: Callable[..., Client], entries: int, limit: int) -> None:
    """200-413: every page with data is a 200 with a token, the last one too; past the end, 413."""
    client = start(entries=entries, pagination="200-413", order="asc")
    window = full_window(client)
    body = {"event_category": "admin", "limit": limit, **window}
    served: list[dict[str, Any]] = []
    sizes = []
    token = ""
    for _index in range(100):
        answer = client.logs(dict(body, token=token) if token else body)
        if answer.status_code == 413:
            assert answer.json() == {"error": {"code": 413, "message": "No items for current page"}}
            break
        assert answer.status_code == 200, answer.text
        doc = answer.json()
        assert doc["data"] and doc["token"], "a page with data always carries a token"
        served.extend(doc["data"])
        sizes.append(len(doc["data"]))
        token = doc["token"]
    else:
        raise AssertionError("the walk did not end")
    expected = [limit] * (entries // limit) + ([entries % limit] if entries % limit else [])
    assert sizes == expected
    assert served == client.truth(category="admin", **window)["data"]
    # Nothing matching at all: a 200 with no data and no token.
    empty = client.logs({"event_category": "admin", "limit": limit, "start_time": 1, "end_time": 2})
    assert empty.status_code == 200 and empty.json() == {"data": [], "token": ""}
    assert client.control("counters")["by_status"]["413"] == 1


@pytest.mark.parametrize("bounds,served", [("inclusive", [0, 1, 2, 3, 4]), ("exclusive", [1, 2, 3]),
                                           ("half-open", [0, 1, 2, 3])])
def test_bounds(start: Callable[..., Client], bounds: str, served: list[int]) -> None:
    """--bounds: which ends of a start/end window are served; the truth stays inclusive."""
    client = start(entries=0, bounds=bounds)
    base = emu.now_ms() - 3_600_000
    times = [base, base + 1, base + 2, base + 2, base + 3]
    client.control("append", {"category": "admin", "entries": [
        {"timestamp": ms, "event": "login", "details": str(i), "admin_name": "a", "admin_email": "a@example.com"}
        for i, ms in enumerate(times)]})
    answer = client.logs({"event_category": "admin", "start_time": base, "end_time": base + 3})
    assert answer.status_code == 200, answer.text
    assert sorted(int(e["details"]) for e in answer.json()["data"]) == served
    assert len(client.truth(category="admin", start_time=base, end_time=base + 3)["data"]) == 5
    one = client.logs({"event_category": "admin", "start_time": base + 2, "end_time": base + 2})
    assert len(one.json()["data"]) == (2 if bounds == "inclusive" else 0)
    assert client.control("config")["bounds"] == bounds


@pytest.mark.parametrize("auth", ["query", "header", "both"])
def test_auth_places(start: Callable[..., Client], auth: str) -> None:
    """--auth says where the token is looked for; the counters say where requests carried one."""
    client = start(entries=5, auth=auth)
    body = {"event_category": "admin"}
    url = f"{client.base}/o/api/v3.3/logs"
    by_header = client.session.post(url, json=body, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    by_query = client.logs(body)
    assert by_header.status_code == (401 if auth == "query" else 200), by_header.text
    assert by_query.status_code == (401 if auth == "header" else 200), by_query.text
    for answer in (by_header, by_query):
        assert TOKEN not in answer.text
        if answer.status_code == 401:
            assert "missing" in answer.json()["error"]["message"]
    wrong = client.session.post(url, json=body, headers={"Authorization": "Basic " + TOKEN}, timeout=10)
    assert wrong.status_code == 401
    counters = client.control("counters")
    assert (counters["token_in_query"], counters["token_in_header"]) == (1, 1)
    assert client.control("config")["auth"] == auth


def test_token_is_bound_to_the_query_and_reusable(start: Callable[..., Client]) -> None:
    """A token only works with the same body; resending it repeats its page; "" means no token."""
    client = start(entries=300)
    body = {"event_category": "device", "limit": 10, "age": 86400}
    first = client.logs(body)
    assert first.status_code == 406
    token = first.json()["token"]
    for changed in ({**body, "limit": 11}, {**body, "age": 86399}, {**body, "filter": {"search": "ws"}},
                    {**body, "event_category": "webhook"}, {**body, "extra": 1}, {k: v for k, v in body.items() if k != "age"}):
        answer = client.logs({**changed, "token": token})
        assert answer.status_code == 400, changed
        message = answer.json()["error"]["message"]
        assert message.startswith("token") and token not in message
    second = client.logs({**body, "token": token})
    again = client.logs({**body, "token": token})
    assert second.status_code == 406 and second.json()["data"] == again.json()["data"]
    assert second.json()["data"] != first.json()["data"]
    assert client.logs({**body, "token": "no-such-token"}).json()["error"]["message"].startswith("token: unknown")
    # "" means no token: the first page again.
    assert client.logs({**body, "token": ""}).json()["data"] == first.json()["data"]


def test_page_token_expiry(start: Callable[..., Client]) -> None:
    """An expired pagination token is a 400 that says so (by TTL and by the control endpoint)."""
    ttl = 2.0  # long enough that the token is still alive when used at once on a loaded machine
    client = start(entries=300, page_token_ttl=ttl)
    body = {"event_category": "device", "limit": 10, "age": 86400}
    issued = time.monotonic()
    token = client.logs(body).json()["token"]
    assert client.logs({**body, "token": token}).status_code == 406
    time.sleep(max(0.0, issued + ttl + 0.3 - time.monotonic()))
    answer = client.logs({**body, "token": token})
    assert answer.status_code == 400 and "expired" in answer.json()["error"]["message"]
    client.control("config", {"page_token_ttl": 300})
    token = client.logs(body).json()["token"]
    client.control("config", {"expire_page_tokens": True})
    assert "expired" in client.logs({**body, "token": token}).json()["error"]["message"]


def test_order_asc_and_desc(start: Callable[..., Client]) -> None:
    """--order decides the order inside pages."""
    client = start(entries=200)
    times = [parse_ts(e["timestamp"]) for e in client.logs({"event_category": "device", "limit": 100, "age": 86400}).json()["data"]]
    assert len(times) == 100 and times == sorted(times, reverse=True)
    client.control("config", {"order": "asc"})
    times = [parse_ts(e["timestamp"]) for e in client.logs({"event_category": "device", "limit": 100, "age": 86400}).json()["data"]]
    assert len(times) == 100 and times == sorted(times)


def test_walk_of_20000_entries(start: Callable[..., Client]) -> None:
    """A 20,000-entry walk is complete and exact."""
    client = start(entries=0)
    client.control("append", {"category": "device", "count": 20000, "spread_seconds": 80000})
    pages = client.walk({"event_category": "device", "limit": 100, "age": 86400})
    assert len(pages) == 200 and pages[-1][0] == 200
    assert oldest_first(entries_of(pages)) == client.truth(category="device")["data"]


# --------------------------------------------------------------------------------------------- windows --
@pytest.fixture(name="timed")
def fixture_timed(start: Callable[..., Client]) -> tuple[Client, dict[str, list[dict[str, Any]]], int]:
    """An emulator with three groups of admin entries: 100 s, 500 s and 4000 s old."""
    client = start(entries=0)
    groups = {}
    for name, offset, count in (("A", 100, 3), ("B", 500, 4), ("C", 4000, 5)):
        groups[name] = client.control("append", {"category": "admin", "count": count, "offset_seconds": offset,
                                                 "spread_seconds": 20})["appended"]
    return client, groups, emu.now_ms()


def _keyed(entries: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(entry, sort_keys=True) for entry in entries)


@pytest.mark.parametrize("body,expected", [
    ({}, "AB"),
    ({"age": 200}, "A"),
    ({"end_time": -300}, "B"),
    ({"end_time": -300, "age": 7200}, "BC"),
    ({"start_time": -1000}, "AB"),
    ({"start_time": -4500, "end_time": -450}, "BC"),
    ({"start_time": -4500, "end_time": -450, "age": 10}, "BC"),
])
def test_windows(timed: tuple[Client, dict[str, list[dict[str, Any]]], int], body: dict[str, int], expected: str) -> None:
    """age vs start_time/end_time: which entries each window holds."""
    client, groups, now = timed
    request = {"event_category": "admin", "limit": 100}
    request.update({key: now + value * 1000 if key.endswith("_time") else value for key, value in body.items()})
    answer = client.logs(request)
    assert answer.status_code == 200
    assert _keyed(answer.json()["data"]) == _keyed([e for name in expected for e in groups[name]])


def test_window_rules(timed: tuple[Client, dict[str, list[dict[str, Any]]], int]) -> None:
    """Reversed, too long and future windows are 400; max_window is configurable."""
    client, now = timed[0], timed[2]
    for body in ({"start_time": now - 1000, "end_time": now - 2000}, {"start_time": now - 2 * DAY_MS, "end_time": now},
                 {"start_time": now - 2 * DAY_MS}, {"start_time": now + 3_600_000}):
        answer = client.logs({"event_category": "admin", **body})
        assert answer.status_code == 400, body
        assert answer.json()["error"]["message"].startswith("start_time"), body
    client.control("config", {"max_window": 1000})
    assert client.logs({"event_category": "admin", "start_time": now - 4_500_000, "end_time": now - 450_000}).status_code == 400
    assert client.logs({"event_category": "admin", "age": 900}).status_code == 200


def test_walk_keeps_window_and_snapshot(start: Callable[..., Client]) -> None:
    """A walk keeps the window of its first request and ignores entries appended during it."""
    client = start(entries=0, order="asc")
    original = client.control("append", {"category": "device", "count": 10, "offset_seconds": 100, "spread_seconds": 50})
    # Entries 3 s in the future: outside the window of the first request, inside one resolved later.
    appended = time.monotonic()
    future = client.control("append", {"category": "device", "count": 2, "offset_seconds": -3})
    body = {"event_category": "device", "limit": 3, "age": 3600}
    first = client.logs(body)
    assert first.status_code == 406
    late = client.control("append", {"category": "device", "count": 2, "offset_seconds": 60})
    time.sleep(max(0.0, appended + 3.5 - time.monotonic()))
    rest = client.walk({**body, "token": first.json()["token"]})
    served = first.json()["data"] + entries_of(rest)
    assert _keyed(served) == _keyed(original["appended"])
    # A new walk sees all of them.
    fresh = entries_of(client.walk(body))
    assert _keyed(fresh) == _keyed(original["appended"] + future["appended"] + late["appended"])


# ----------------------------------------------------------------------------------------- validation --
NOW_MS = int(time.time() * 1000)
VALIDATION_CASES: list[tuple[Any, str, dict[str, Any]]] = [
    (b"not json", "body", {}),
    (b"", "body", {}),
    ([], "body", {}),
    ({}, "event_category", {}),
    ({"event_category": "system"}, "event_category", {}),
    ({"event_category": None}, "event_category", {}),
    ({"event_category": "device", "limit": 0}, "limit", {}),
    ({"event_category": "device", "limit": 101}, "limit", {}),
    ({"event_category": "device", "limit": "20"}, "limit", {}),
    ({"event_category": "device", "limit": True}, "limit", {}),
    ({"event_category": "device", "limit": 2.5}, "limit", {}),
    ({"event_category": "device", "limit": None}, "limit", {}),
    ({"event_category": "device", "age": 0}, "age", {}),
    ({"event_category": "device", "age": 86401}, "age", {}),
    ({"event_category": "device", "age": "60"}, "age", {}),
    ({"event_category": "device", "start_time": -1}, "start_time", {}),
    ({"event_category": "device", "start_time": "2026-01-01T00:00:00Z"}, "start_time", {}),
    ({"event_category": "device", "end_time": -5}, "end_time", {}),
    ({"event_category": "device", "end_time": 1.5e12}, "end_time", {}),
    ({"event_category": "device", "start_time": NOW_MS, "end_time": NOW_MS - 1000}, "start_time", {}),
    ({"event_category": "device", "start_time": NOW_MS - 2 * DAY_MS, "end_time": NOW_MS}, "start_time/end_time", {}),
    ({"event_category": "device", "filter": []}, "filter", {}),
    ({"event_category": "device", "filter": "added"}, "filter", {}),
    ({"event_category": "device", "filter": {"event": "added"}}, "filter.event:", {}),
    ({"event_category": "device", "filter": {"events": "nope"}}, "filter.events", {}),
    ({"event_category": "device", "filter": {"events": "added,nope"}}, "filter.events", {}),
    ({"event_category": "admin", "filter": {"events": "added"}}, "filter.events", {}),
    ({"event_category": "webhook", "filter": {"events": "compliant"}}, "filter.events", {}),
    ({"event_category": "device", "filter": {"events": ["added"]}}, "filter.events", {}),
    ({"event_category": "device", "filter": {"events": 5}}, "filter.events", {}),
    ({"event_category": "device", "filter": {"events": "added,deleted"}}, "filter.events", {"events_format": "single"}),
    ({"event_category": "device", "filter": {"events": ["added", 5]}}, "filter.events", {"events_format": "list"}),
    ({"event_category": "device", "filter": {"events": ["added", "nope"]}}, "filter.events", {"events_format": "list"}),
    ({"event_category": "device_report", "filter": {"events": "device_report"}}, "filter.events", {}),
    ({"event_category": "device", "filter": {"agent_types": 0}}, "filter.agent_types", {}),
    ({"event_category": "device", "filter": {"agent_types": [1]}}, "filter.agent_types", {}),
    ({"event_category": "device", "filter": {"agent_types": ["0"]}}, "filter.agent_types", {}),
    ({"event_category": "device", "filter": {"agent_types": [True]}}, "filter.agent_types", {}),
    ({"event_category": "webhook", "filter": {"agent_types": [0]}}, "filter.agent_types", {}),
    ({"event_category": "admin", "filter": {"agent_types": [0]}}, "filter.agent_types", {}),
    ({"event_category": "device_report", "filter": {"agent_types": [0]}}, "filter.agent_types", {}),
    ({"event_category": "device", "filter": {"search": 5}}, "filter.search", {}),
    ({"event_category": "admin", "filter": {"search": "WS"}}, "filter.search", {}),
    ({"event_category": "device", "token": 5}, "token", {}),
    ({"event_category": "device", "token": "no-such-token"}, "token", {}),
]


@pytest.mark.parametrize("body,field,config", VALIDATION_CASES, ids=[f"{i}-{c[1]}" for i, c in enumerate(VALIDATION_CASES)])
def test_validation_rule_answers_400(start: Callable[..., Client], body: Any, field: str, config: dict[str, Any]) -> None:
    """Every rule of the page: 400 with a message that starts with the field's name."""
    client = start(entries=5, **config)
    answer = client.logs(raw=body) if isinstance(body, bytes) else client.logs(body)
    assert answer.status_code == 400, answer.text
    assert answer.headers["Content-Type"] == "application/json"
    error = answer.json()["error"]
    assert error["code"] == 400
    assert error["message"].startswith(field + ("" if field.endswith(":") else "")), error["message"]
    assert "allowed" in error["message"] or field in ("token",)


@pytest.mark.parametrize("events_format,value", [("single", "added"), ("csv", "added"), ("csv", "added, deleted"),
                                                 ("list", "added,deleted"), ("list", ["added", "deleted"]), ("list", [])])
def test_events_formats_accepted(start: Callable[..., Client], events_format: str, value: Any) -> None:
    """What each --events-format accepts does filter."""
    client = start(entries=300, events_format=events_format)
    answer = client.logs({"event_category": "device", "limit": 100, "age": 86400, "filter": {"events": value}})
    assert answer.status_code in (200, 406), answer.text
    names = {"added", "deleted"} if value else set(emu.EVENTS["device"])
    assert answer.json()["data"] and {e["event"] for e in answer.json()["data"]} <= names


def test_accepted_oddities(start: Callable[..., Client]) -> None:
    """Unknown top-level keys, empty filters and search on device_report are fine."""
    client = start(entries=50)
    for body in ({"event_category": "device", "unknown_key": 1}, {"event_category": "device", "filter": {"agent_types": []}},
                 {"event_category": "device_report", "filter": {"search": "ws"}}, {"event_category": "device", "filter": {}},
                 {"event_category": "webhook", "filter": {"search": "OT-", "events": "added,deleted"}}):
        assert client.logs(body).status_code in (200, 406), body


def test_filters_match_truth(start: Callable[..., Client]) -> None:
    """events, agent_types and search filter exactly as the truth does."""
    client = start(entries=500, order="asc")
    window = full_window(client)
    cases = [
        ("device", {"agent_types": [2]}, {"agent_types": "2"}),
        ("device", {"agent_types": [0, 2]}, {}),
        ("device", {"events": "compliant,noncompliant"}, {"events": "compliant,noncompliant"}),
        ("device", {"search": "srv-dc", "agent_types": [2]}, {"search": "SRV-DC"}),
        ("webhook", {"search": "ot-plc"}, {"search": "ot-plc"}),
        ("device_report", {"search": "ws-"}, {"search": "WS-"}),
        ("admin", {"events": "login"}, {"events": "login"}),
    ]
    for category, flt, truth_params in cases:
        truth = client.truth(category=category, **window, **truth_params)["data"]
        assert truth, (category, flt)
        served = entries_of(client.walk({"event_category": category, "limit": 100, "filter": flt, **window}))
        assert served == truth, (category, flt)
    devices = client.truth(category="device")["data"]
    dc = client.truth(category="device", agent_types="2")["data"]
    assert dc and all(e["device_name"].startswith("SRV-DC-") for e in dc) and len(dc) < len(devices)
    some_id = devices[0]["device_id"]
    by_id = client.truth(category="device", search=some_id.upper()[:20])["data"]
    assert by_id and all(e["device_id"] == some_id for e in by_id)


# ---------------------------------------------------------------------------------------- auth, OAuth --
def test_401_missing_wrong_expired(start: Callable[..., Client]) -> None:
    """401 for a missing, wrong or expired token, without echoing it."""
    client = start(entries=5, token_lifetime=2)  # 2 s: the issued token is still alive when used at once
    body = {"event_category": "admin"}
    for token in (None, "", "wrong-SECRET-token"):
        answer = client.logs(body, token=token)
        assert answer.status_code == 401
        assert answer.json()["error"]["code"] == 401
        assert "SECRET" not in answer.text
    began = time.monotonic()
    issued = client.oauth({"grant_type": "client_credentials", "client_id": "demo-client", "client_secret": "demo-secret"}).json()
    assert client.logs(body, token=issued["access_token"]).status_code == 200
    time.sleep(max(0.0, began + 2.3 - time.monotonic()))
    answer = client.logs(body, token=issued["access_token"])
    assert answer.status_code == 401 and "expired" in answer.json()["error"]["message"]
    assert issued["access_token"] not in answer.text
    assert client.logs(body).status_code == 200  # static tokens never expire


def test_oauth_flow(start: Callable[..., Client]) -> None:
    """client_credentials (form, query string, Basic), errors, refresh, forced expiry."""
    client = start(entries=5, clients={"itot-app": "client-SECRET-xyz"}, token_lifetime=3600)
    good = {"grant_type": "client_credentials", "client_id": "itot-app", "client_secret": "client-SECRET-xyz"}
    answer = client.oauth(good)
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/json"
    issued = answer.json()
    assert set(issued) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert issued["token_type"] == "bearer" and issued["expires_in"] == 3600
    assert client.logs({"event_category": "device"}, token=issued["access_token"]).status_code == 200
    assert client.oauth(params=good).status_code == 200
    assert client.oauth({"grant_type": "client_credentials"}, auth=("itot-app", "client-SECRET-xyz")).status_code == 200
    errors = [
        ({**good, "client_secret": "wrong"}, 401, "invalid_client"),
        ({**good, "client_id": "nobody"}, 401, "invalid_client"),
        ({**good, "grant_type": "password"}, 400, "unsupported_grant_type"),
        ({"client_id": "itot-app", "client_secret": "client-SECRET-xyz"}, 400, "invalid_request"),
        ({"grant_type": "client_credentials", "client_id": "itot-app"}, 400, "invalid_request"),
        ({"grant_type": "refresh_token"}, 400, "invalid_request"),
        ({"grant_type": "refresh_token", "refresh_token": "nope"}, 400, "invalid_grant"),
    ]
    for data, status, error in errors:
        reply = client.oauth(data)
        assert (reply.status_code, reply.json()) == (status, {"error": error}), data
        assert "SECRET" not in reply.text
    refreshed = client.oauth({"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]}).json()
    assert refreshed["access_token"] != issued["access_token"]
    assert client.logs({"event_category": "device"}, token=refreshed["access_token"]).status_code == 200
    client.control("config", {"expire_access_tokens": True})
    for token in (issued["access_token"], refreshed["access_token"]):
        assert client.logs({"event_category": "device"}, token=token).status_code == 401
    assert client.logs({"event_category": "device"}).status_code == 200
    renewed = client.oauth({"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]}).json()
    assert client.logs({"event_category": "device"}, token=renewed["access_token"]).status_code == 200
    counters = client.control("counters")
    assert counters["tokens_issued"] == 5 and counters["oauth_by_status"]["401"] == 2
    assert client.session.get(f"{client.base}/o/oauth/token", timeout=5).status_code == 405


def test_oauth_short_lifetime_then_refresh(start: Callable[..., Client]) -> None:
    """An OAuth token dies after its lifetime; the refresh token gets a new one."""
    client = start(entries=5, token_lifetime=2)  # 2 s: the renewed token is still alive when used at once
    began = time.monotonic()
    issued = client.oauth({"grant_type": "client_credentials", "client_id": "demo-client", "client_secret": "demo-secret"}).json()
    assert issued["expires_in"] == 2
    time.sleep(max(0.0, began + 2.3 - time.monotonic()))
    assert client.logs({"event_category": "admin"}, token=issued["access_token"]).status_code == 401
    renewed = client.oauth({"grant_type": "refresh_token", "refresh_token": issued["refresh_token"],
                            "client_id": "demo-client", "client_secret": "demo-secret"}).json()
    assert client.logs({"event_category": "admin"}, token=renewed["access_token"]).status_code == 200


# ------------------------------------------------------------------------------------------ rate limit --
def test_rate_limit_with_retry_after(start: Callable[..., Client]) -> None:
    """3 requests per 6 s per token; 429 + Retry-After; 429s are not counted."""
    window = 6  # the four requests below must fall inside one window, on a loaded machine too
    client = start(entries=5, rate_limit=3, rate_window=window)
    assert client.logs({"event_category": "admin"}).status_code == 200
    assert client.logs({"event_category": "bogus"}).status_code == 400  # counted too
    assert client.logs({"event_category": "admin"}).status_code == 200
    started = time.monotonic()
    limited = client.logs({"event_category": "admin"})
    assert limited.status_code == 429 and limited.json()["error"]["code"] == 429
    wait = int(limited.headers["Retry-After"])
    assert 1 <= wait <= window
    assert client.logs({"event_category": "admin"}).status_code == 429  # 429s are not counted
    assert client.logs({"event_category": "admin"}, token=OTHER_TOKEN).status_code == 200  # per token
    time.sleep(max(0.0, wait - (time.monotonic() - started)) + 0.05)
    assert client.logs({"event_category": "admin"}).status_code == 200
    counters = client.control("counters")
    assert counters["rate_limited"] == 2 and counters["by_status"]["429"] == 2


def test_rate_limit_without_retry_after(start: Callable[..., Client]) -> None:
    """--no-retry-after omits the header; a 401 counts against the budget."""
    client = start(entries=5, rate_limit=2, rate_window=30, retry_after=False)
    client.control("config", {"fail_next": ["401"]})
    assert client.logs({"event_category": "admin"}).status_code == 401  # counted
    assert client.logs({"event_category": "admin"}).status_code == 200
    limited = client.logs({"event_category": "admin"})
    assert limited.status_code == 429 and "Retry-After" not in limited.headers
    client.control("config", {"retry_after": True})
    assert int(client.logs({"event_category": "admin"}).headers["Retry-After"]) >= 28
    client.control("config", {"reset_rate_limits": True})
    assert client.logs({"event_category": "admin"}).status_code == 200


# ------------------------------------------------------------------------------------------------ faults --
def test_fail_next_kinds(start: Callable[..., Client]) -> None:
    """fail_next gives exactly the queued faults, in order; faulted requests serve nothing."""
    client = start(entries=50)
    client.control("config", {"fail_next": ["500", "502", "503", "504", "badjson", "429", "401", "none"]})
    body = {"event_category": "device", "age": 86400}
    answers = [client.logs(body) for _index in range(9)]
    assert [a.status_code for a in answers] == [500, 502, 503, 504, 200, 429, 401, 406, 406]
    assert answers[0].json()["error"]["code"] == 500 and answers[2].json()["error"]["code"] == 503
    assert answers[1].headers["Content-Type"] == "text/html" and "502 Bad Gateway" in answers[1].text
    assert answers[3].headers["Content-Type"] == "text/html" and "504" in answers[3].text
    with pytest.raises(ValueError):
        json.loads(answers[4].text)
    assert answers[5].headers["Retry-After"] == "1"
    counters = client.control("counters")
    assert counters["entries_served"] == 40  # faulted requests serve nothing
    assert {k: counters["faults"][k] for k in ("500", "502", "503", "504", "badjson", "429", "401")} == dict.fromkeys(
        ("500", "502", "503", "504", "badjson", "429", "401"), 1)
    assert client.control("config")["fail_next"] == []


def test_reset_fault_is_a_connection_reset(start: Callable[..., Client]) -> None:
    """reset is a TCP reset, not an orderly close."""
    client = start(entries=5)
    client.control("config", {"fail_next": ["reset", "reset"]})
    host, port = client.server.server_address[:2]
    body = b'{"event_category": "admin"}'
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(f"POST /o/api/v3.3/logs?access_token={TOKEN} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        with pytest.raises(ConnectionResetError):
            if not sock.recv(1024):
                raise AssertionError("orderly close instead of a reset")
    with pytest.raises(requests.ConnectionError):
        client.logs({"event_category": "admin"})
    assert client.logs({"event_category": "admin"}).status_code == 200
    assert client.control("counters")["faults"]["reset"] == 2


def test_slow_fault(start: Callable[..., Client]) -> None:
    """slow delays the answer by slow_seconds, then answers normally."""
    client = start(entries=5, slow_seconds=0.4)
    client.control("config", {"fail_next": ["slow"]})
    began = time.monotonic()
    answer = client.logs({"event_category": "admin", "age": 86400})
    assert time.monotonic() - began >= 0.4
    assert answer.status_code == 200 and len(answer.json()["data"]) == 5
    with pytest.raises(requests.Timeout):
        client.control("config", {"fail_next": ["slow"]})
        client.logs({"event_category": "admin"}, timeout=0.1)


def _outcomes(client: Client, count: int) -> list[str]:
    out = []
    for _index in range(count):
        try:
            answer = client.logs({"event_category": "admin", "age": 86400, "limit": 100})
        except requests.ConnectionError:
            out.append("reset")
            continue
        try:
            answer.json()
            out.append(str(answer.status_code))
        except ValueError:
            out.append(f"{answer.status_code}-bad")
    return out


def test_random_faults_are_reproducible(start: Callable[..., Client]) -> None:
    """Same fault seed, same request sequence: same faults."""
    faults = {"500": 0.15, "503": 0.1, "504": 0.05, "reset": 0.1, "badjson": 0.1, "slow": 0.05}
    first = start(entries=5, faults=faults, fault_seed=7, slow_seconds=0.01)
    second = start(entries=5, faults=faults, fault_seed=7, slow_seconds=0.01)
    third = start(entries=5, faults=faults, fault_seed=8, slow_seconds=0.01)
    runs = [_outcomes(client, 40) for client in (first, second, third)]
    assert runs[0] == runs[1] and runs[0] != runs[2]
    assert {"200", "500", "503", "reset", "200-bad"} <= set(runs[0])
    assert first.control("counters")["faults"] == second.control("counters")["faults"]
    first.control("config", {"fault_seed": 7})  # restarts the random stream
    assert _outcomes(first, 40) == runs[0]
    first.control("config", {"faults": {}})
    assert set(_outcomes(first, 5)) == {"200"}


def test_outage(start: Callable[..., Client]) -> None:
    """During an outage every logs request is reset, and none is counted against the budget."""
    client = start(entries=5, rate_limit=3, rate_window=30)
    began = time.monotonic()
    client.control("config", {"outage_seconds": 2})  # the four requests below fall inside it on a loaded machine too
    for _index in range(4):
        with pytest.raises(requests.ConnectionError):
            client.logs({"event_category": "admin"})
    time.sleep(max(0.0, began + 2.2 - time.monotonic()))
    assert [client.logs({"event_category": "admin"}).status_code for _index in range(3)] == [200, 200, 200]  # budget untouched
    assert client.control("counters")["faults"]["outage"] == 4


# ------------------------------------------------------------------------------------------------- data --
@pytest.mark.parametrize("time_format", ["iso", "epoch-ms", "rfc1123", "mixed"])
def test_time_formats_parse_back_to_truth(start: Callable[..., Client], time_format: str) -> None:
    """Each --time-format renders times that parse back to the truth's timestamps_ms."""
    client = start(entries=300, time_format=time_format, order="asc")
    for category in emu.CATEGORIES:
        truth = client.truth(category=category)
        stamps = [entry["timestamp"] for entry in truth["data"]]
        assert [parse_ts(value) for value in stamps] == truth["timestamps_ms"]
        assert truth["timestamps_ms"] == sorted(truth["timestamps_ms"])
        styles = collections.Counter(style_of(value) for value in stamps)
        expected = {"iso": {"iso_ms"}, "epoch-ms": {"epoch_num"}, "rfc1123": {"rfc1123"},
                    "mixed": {"iso_ms", "epoch_num", "rfc1123", "iso_sec_offset", "epoch_str"}}[time_format]
        assert set(styles) == expected
        served = entries_of(client.walk({"event_category": category, "limit": 100, **full_window(client)}))
        assert served == truth["data"]


def test_data_is_realistic(start: Callable[..., Client]) -> None:
    """Generated entries have the page's fields and plausible values."""
    client = start(entries=500)
    for category in emu.CATEGORIES:
        data = client.truth(category=category)["data"]
        assert len(data) == 500
        assert all(tuple(entry) == emu.FIELDS[category] for entry in data)
        assert {entry["event"] for entry in data} == set(emu.EVENTS[category])
        assert all(isinstance(entry["details"], str) and len(entry["details"]) > 10 for entry in data)
        if category != "admin":
            assert all(re.fullmatch(r"[0-9a-f]{32}", entry["device_id"]) for entry in data)
            assert all(re.fullmatch(r"(WS|LT)-\d{4}|OT-(PLC|HMI|ENG)-\d\d|SRV-(DC|APP)-\d\d", entry["device_name"]) for entry in data)
            assert 25 <= len({entry["device_id"] for entry in data}) <= 40
    admins = client.truth(category="admin")["data"]
    assert len({entry["admin_email"] for entry in admins}) == 8
    assert all(entry["admin_email"].endswith("@example.com") for entry in admins)
    reports = client.truth(category="device_report")["data"]
    assert {entry["status"] for entry in reports} == {"compliant", "non-compliant", "exempted"}
    assert all(RFC1123_RE.match(entry["last_seen"]) for entry in reports)
    assert all(re.fullmatch(r"(203\.0\.113|198\.51\.100)\.\d{1,3}", entry["public_ip"]) for entry in reports)
    assert all(parse_ts(entry["last_seen"]) <= parse_ts(entry["timestamp"]) for entry in reports)
    codes = collections.Counter(entry["response_code"] for entry in client.truth(category="webhook")["data"])
    assert set(codes) == {"200", "404", "500"} and codes["200"] > 300
    for entry in client.truth(category="device")["data"][:50]:
        assert "agent" not in json.dumps(entry)


def test_same_seed_same_bytes(start: Callable[..., Client]) -> None:
    """Same seed and anchor: byte-identical data; another seed: other data."""
    anchor = 1_795_935_600_123
    one, two, other = (start(seed=seed, anchor_ms=anchor, time_format="mixed", duplicates=2) for seed in (5, 5, 6))

    def raw(client: Client) -> bytes:
        return b"".join(client.session.get(f"{client.base}/_control/truth", params={"category": c}, timeout=10).content
                        for c in emu.CATEGORIES)
    assert raw(one) == raw(two) and raw(one) != raw(other)
    assert one.truth(category="admin")["timestamps_ms"][-1] <= anchor


def test_duplicates_are_served_twice(start: Callable[..., Client]) -> None:
    """Exact duplicates are both in the truth and both served."""
    client = start(entries=100, duplicates=4, order="desc")
    truth = client.truth(category="webhook")
    assert len(truth["data"]) == 104
    seen = collections.Counter(json.dumps(entry, sort_keys=True) for entry in truth["data"])
    assert sum(count - 1 for count in seen.values()) == 4
    served = entries_of(client.walk({"event_category": "webhook", "limit": 7, **full_window(client)}))
    assert len(served) == 104 and oldest_first(served) == truth["data"]


def test_append_and_truth(start: Callable[..., Client]) -> None:
    """append (generated and exact entries) shows up in the truth and in the API."""
    client = start(entries=20)
    added = client.control("append", {"category": "admin", "count": 5, "events": ["login", "failed_auth"], "offset_seconds": 30})
    assert len(added["appended"]) == 5 and {e["event"] for e in added["appended"]} <= {"login", "failed_auth"}
    assert [parse_ts(e["timestamp"]) for e in added["appended"]] == added["timestamps_ms"]
    assert abs(added["timestamps_ms"][0] - (emu.now_ms() - 30_000)) < 5000
    truth = client.truth(category="admin", start_time=added["timestamps_ms"][0], end_time=added["timestamps_ms"][-1])
    assert all(entry in truth["data"] for entry in added["appended"])
    assert len(client.truth(category="admin")["data"]) == 25
    served = client.logs({"event_category": "admin", "age": 60, "limit": 100}).json()["data"]
    assert _keyed(served) == _keyed(added["appended"])
    exact = [
        {"timestamp": "2026-11-29T07:00:00Z", "event": "added", "details": "x", "device_id": "ab" * 16,
         "device_name": "WS-9999", "device_username": "u", "device_group": "g", "agent_type": 2},
        {"timestamp": 1795935600123, "event": "unseen", "details": "y", "device_id": "cd" * 16,
         "device_name": "WS-9998", "device_username": "u", "device_group": "g"},
        {"timestamp": "Sun, 29 Nov 2026 07:00:00 GMT", "event": "deleted", "details": "z", "device_id": "ef" * 16,
         "device_name": "WS-9997", "device_username": "u", "device_group": "g"},
        {"timestamp": "1795935600", "event": "deleted", "details": "z", "device_id": "ef" * 16,
         "device_name": "WS-9997", "device_username": "u", "device_group": "g"},
    ]
    added = client.control("append", {"category": "device", "entries": exact})
    assert added["timestamps_ms"] == [1795935600000, 1795935600123, 1795935600000, 1795935600000]
    assert added["appended"][0] == {k: v for k, v in exact[0].items() if k != "agent_type"}
    assert added["appended"][1]["timestamp"] == 1795935600123
    dc = client.truth(category="device", agent_types="2", search="ws-9999")["data"]
    assert len(dc) == 1 and dc[0]["device_id"] == "ab" * 16
    for bad in ({"category": "nope", "count": 1}, {"category": "admin", "count": -1}, {"category": "admin", "events": ["added"]},
                {"category": "admin", "entries": [{"timestamp": "x"}]}, {"category": "admin", "bogus": 1}):
        assert client.control("append", bad, expect=400)["error"]["code"] == 400


def test_counters(start: Callable[..., Client]) -> None:
    """Counters count requests by outcome; reset_counters zeroes them."""
    client = start(entries=100)
    body = {"event_category": "device", "age": 86400, "limit": 30}
    client.logs(body)
    client.logs({"event_category": "bad"})
    client.logs(body, token="nope")
    client.control("config", {"fail_next": ["503"]})
    client.logs(body)
    client.oauth({"grant_type": "client_credentials", "client_id": "demo-client", "client_secret": "demo-secret"})
    client.oauth({"grant_type": "client_credentials", "client_id": "demo-client", "client_secret": "bad"})
    counters = client.control("counters")
    assert counters["logs_requests"] == 4
    assert {k: v for k, v in counters["by_status"].items() if v} == {"406": 1, "400": 1, "401": 1, "503": 1}
    assert counters["entries_served"] == 30 and counters["faults"]["503"] == 1
    assert counters["oauth_requests"] == 2 and counters["oauth_by_status"] == {"200": 1, "400": 0, "401": 1}
    assert counters["tokens_issued"] == 1 and counters["page_tokens_issued"] == 1
    zero = client.control("reset_counters")
    assert zero["logs_requests"] == 0 and zero["by_status"]["406"] == 0 and zero["faults"]["503"] == 0


# --------------------------------------------------------------------------------------- control, HTTP --
def test_config_endpoint(start: Callable[..., Client]) -> None:
    """The config endpoint hides secrets, rejects bad values atomically, applies good ones."""
    client = start(entries=5, clients={"cid": "client-SECRET-xyz"})
    view = client.control("config")
    text = json.dumps(view)
    assert "SECRET" not in text and "cid" not in text
    assert view["pagination"] == "406-token" and view["order"] == "desc" and view["rate_limit"] == 0
    for bad in ({"order": "sideways"}, {"order": "asc", "pagination": "bogus"}, {"rate_limit": -1}, {"rate_limit": True},
                {"faults": {"500": 0.8, "503": 0.5}}, {"faults": {"teapot": 0.1}}, {"fail_next": ["418"]},
                {"fail_next": "500"}, {"retry_after": "yes"}, {"token_lifetime": 0}, {"nonsense": 1}):
        assert client.control("config", bad, expect=400)["error"]["code"] == 400, bad
    assert client.control("config")["order"] == "desc"  # nothing applied
    view = client.control("config", {"pagination": "200-cursor", "order": "asc", "faults": {"500": 0.5}, "fail_next": ["reset"]})
    assert (view["pagination"], view["order"], view["faults"], view["fail_next"]) == ("200-cursor", "asc", {"500": 0.5}, ["reset"])


def test_http_details(start: Callable[..., Client]) -> None:
    """404/405 JSON, HEAD, Content-Length, keep-alive, chunked bodies, malformed request lines."""
    client = start(entries=5)
    session = client.session
    missing = session.get(f"{client.base}/nowhere?access_token={TOKEN}", timeout=5)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == 404 and TOKEN not in missing.text
    wrong = session.get(f"{client.base}/o/api/v3.3/logs", params={"access_token": TOKEN}, timeout=5)
    assert wrong.status_code == 405 and wrong.headers["Allow"] == "POST" and wrong.json()["error"]["code"] == 405
    head = session.head(f"{client.base}/o/api/v3.3/logs", timeout=5)
    assert head.status_code == 405 and head.content == b""
    answer = client.logs({"event_category": "admin"})
    assert answer.headers["Content-Type"] == "application/json"
    assert int(answer.headers["Content-Length"]) == len(answer.content)
    assert "close" not in answer.headers.get("Connection", "")

    def chunks() -> Iterator[bytes]:
        yield b'{"event_category":'
        yield b' "admin", "age": 86400}'
    chunked = session.post(f"{client.base}/o/api/v3.3/logs", params={"access_token": TOKEN}, data=chunks(), timeout=5)
    assert chunked.status_code == 200 and len(chunked.json()["data"]) == 5
    assert client.control("health") == {"status": "ok"}
    # A malformed request line is answered without echoing it.
    host, port = client.server.server_address[:2]
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(f"GET /o/api/v3.3/logs?access_token={TOKEN} HTTP/9.9\r\n\r\n".encode())
        reply = sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 505") and TOKEN.encode() not in reply


def test_keep_alive_is_fast_enough(start: Callable[..., Client]) -> None:
    """100 keep-alive pages do not wait on delayed ACKs.

    A delayed ACK (Nagle) costs about 40 ms on every page; a loaded machine makes some pages slow, not all: the
    fastest tenth of the pages tells the one from the other."""
    client = start(entries=2000)
    body = {"event_category": "device", "limit": 20, "age": 86400}
    seconds, token = [], ""
    for _index in range(100):
        began = time.monotonic()
        answer = client.logs(dict(body, token=token) if token else body)
        seconds.append(time.monotonic() - began)
        token = answer.json()["token"]
    assert token == "" and answer.status_code == 200
    tenth = sorted(seconds)[9]
    assert tenth < 0.03, f"the 10th fastest of 100 keep-alive pages took {tenth * 1000:.0f} ms (Nagle / delayed ACK?)"


def test_log_file_never_holds_secrets(start: Callable[..., Client], tmp_path: Any, capfd: Any) -> None:
    """The access log (and stdout/stderr) never hold a token, secret or query string."""
    log = tmp_path / "access.log"
    client = start(entries=30, log_file=str(log), clients={"cid-SECRET": "client-SECRET-xyz"}, token_lifetime=60)
    client.logs({"event_category": "device", "age": 86400, "limit": 5})
    client.logs({"event_category": "device", "filter": {"search": "SECRET-in-body"}})
    client.logs({"event_category": "device"}, token="wrong-SECRET-token")
    issued = client.oauth({"grant_type": "client_credentials", "client_id": "cid-SECRET", "client_secret": "client-SECRET-xyz"}).json()
    client.oauth(params={"grant_type": "client_credentials", "client_id": "cid-SECRET", "client_secret": "client-SECRET-xyz"})
    client.oauth({"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]})
    client.logs({"event_category": "admin"}, token=issued["access_token"])
    client.session.get(f"{client.base}/nowhere?access_token={TOKEN}", timeout=5)
    client.control("config", {"fail_next": ["reset", "500"]})
    with pytest.raises(requests.ConnectionError):
        client.logs({"event_category": "admin"})
    client.logs({"event_category": "admin"})
    host, port = client.server.server_address[:2]
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(f"GET /?access_token={TOKEN} HTTP/9.9\r\n\r\n".encode())
        sock.recv(4096)
    time.sleep(0.1)
    text = log.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert len(lines) == 12
    for secret in ("SECRET", issued["access_token"], issued["refresh_token"], "access_token", "?"):
        assert secret not in text
    line_re = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (POST|GET|-) \S+ (\d{3}|reset) \d+\.\d{3}s entries=\d+$")
    assert [line for line in lines if not line_re.match(line)] == []
    assert lines[0].split()[1:4] == ["POST", "/o/api/v3.3/logs", "406"] and lines[0].endswith("entries=5")
    assert " reset " in text and "- - 505" in text
    captured = capfd.readouterr()
    assert "SECRET" not in captured.out + captured.err and issued["access_token"] not in captured.out + captured.err


def test_tls(start: Callable[..., Client], tmp_path: Any) -> None:
    """--tls-cert/--tls-key serve HTTPS."""
    trustme = pytest.importorskip("trustme")
    authority = trustme.CA()
    cert = authority.issue_cert("127.0.0.1", "localhost")
    cert_pem, key_pem, ca_pem = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    cert.cert_chain_pems[0].write_to_path(str(cert_pem))
    cert.private_key_pem.write_to_path(str(key_pem))
    authority.cert_pem.write_to_path(str(ca_pem))
    client = start(entries=5, tls_cert=str(cert_pem), tls_key=str(key_pem))
    assert client.base.startswith("https://127.0.0.1:")
    client.session.trust_env = False  # REQUESTS_CA_BUNDLE would override session.verify
    client.session.verify = str(ca_pem)
    assert client.logs({"event_category": "admin", "age": 86400}).status_code == 200
    with pytest.raises(requests.exceptions.SSLError):
        requests.post(f"{client.base}/o/api/v3.3/logs", params={"access_token": TOKEN}, json={}, timeout=5)
    assert client.logs({"event_category": "admin", "age": 86400}).status_code == 200


def test_cli_subprocess(tmp_path: Any) -> None:
    """The command line: listening line, port file, access log, /_control/shutdown, exit 0."""
    port_file, log_file = tmp_path / "port", tmp_path / "access.log"
    command = [sys.executable, EMULATOR, "--port-file", str(port_file), "--log-file", str(log_file), "--entries", "10",
               "--access-token", TOKEN, "--pagination", "200-cursor", "--fault", "500=0", "--time-format", "epoch-ms"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.append(proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(15)
        assert lines and lines[0].startswith("itot-emulator listening on http://127.0.0.1:"), lines
        port = int(lines[0].rsplit(":", 1)[1])
        assert port_file.read_text().strip() == str(port)
        base = f"http://127.0.0.1:{port}"
        answer = requests.post(f"{base}/o/api/v3.3/logs", params={"access_token": TOKEN},
                               json={"event_category": "admin", "age": 86400}, timeout=5)
        assert answer.status_code == 200 and len(answer.json()["data"]) == 10
        assert all(isinstance(entry["timestamp"], int) for entry in answer.json()["data"])
        assert requests.get(f"{base}/_control/config", timeout=5).json()["pagination"] == "200-cursor"
        assert requests.post(f"{base}/_control/shutdown", timeout=5).json() == {"shutdown": True}
        assert proc.wait(15) == 0
        out, err = proc.communicate()
    assert out == "" and err == ""
    assert not port_file.exists()
    assert TOKEN not in log_file.read_text() and len(log_file.read_text().splitlines()) == 3


def test_cli_help_and_errors() -> None:
    """--help prints the reference; bad options exit 2."""
    helped = subprocess.run([sys.executable, EMULATOR, "--help"], capture_output=True, text=True, timeout=30, check=True)
    for word in ("--pagination", "/_control/truth", "/_control/config", "fail_next", "Retry-After", "406-split"):
        assert word in helped.stdout
    for bad in (["--fault", "teapot=1"], ["--client-id", "x"], ["--pagination", "nope"], ["--fault", "500=0.7", "--fault", "503=0.5"]):
        failed = subprocess.run([sys.executable, EMULATOR, *bad], capture_output=True, text=True, timeout=30, check=False)
        assert failed.returncode == 2, bad


# -------------------------------------------------------------------------------------- hostile server --
def hostile(client: Client) -> dict[str, int]:
    """The hostile-server counters."""
    return client.control("counters")["hostile"]


def test_hostile_settings_are_off_and_checked(start: Callable[..., Client]) -> None:
    """Every hostile setting is off by default, shown by the config view, checked, and off again gives the same bytes."""
    client = start(entries=30)
    view = client.control("config")
    assert {key: view[key] for key in ("drip_seconds", "drip_bytes", "endless", "huge_bytes", "deep_json", "odd_entries",
                                       "odd_at", "stray_time", "stray_at")} == {
        "drip_seconds": 0, "drip_bytes": 0, "endless": "off", "huge_bytes": 0, "deep_json": 0, "odd_entries": [],
        "odd_at": 0, "stray_time": None, "stray_at": [0]}
    for bad in ({"drip_seconds": -1}, {"drip_seconds": "1"}, {"drip_bytes": 1.5}, {"endless": "sometimes"},
                {"endless": True}, {"huge_bytes": -1}, {"deep_json": 2.0}, {"odd_entries": "oops"}, {"odd_at": -1},
                {"stray_time": "tomorrow"}, {"stray_time": True}, {"stray_at": 0}, {"stray_at": [-1]},
                {"stray_at": [True]}, {"huge_bytes": 100, "endless": "nope"}):
        assert client.control("config", bad, expect=400)["error"]["code"] == 400, bad
    assert client.control("config")["huge_bytes"] == 0  # nothing applied
    body = {"event_category": "admin", "age": 86400, "limit": 100}  # one page, token "": the bytes are comparable
    plain = client.logs(body).content
    every = {"drip_seconds": 0.001, "drip_bytes": 3, "endless": "fresh", "huge_bytes": 5000, "deep_json": 3,
             "odd_entries": ["oops", 42, None], "odd_at": 1, "stray_time": "2099-01-01T00:00:00Z", "stray_at": [0, 1]}
    view = client.control("config", every)
    assert {key: view[key] for key in every} == every
    assert client.logs(body).content != plain
    client.control("config", {"drip_seconds": 0, "endless": "off", "huge_bytes": 0, "deep_json": 0, "odd_entries": [],
                              "stray_time": None})
    assert client.logs(body).content == plain
    with pytest.raises(ValueError, match="endless"):
        EmulatorConfig(endless="always").validate()
    with pytest.raises(ValueError, match="stray_time"):
        EmulatorConfig(stray_time="soon").validate()


def _read_answer(sock: socket.socket, deadline: float | None = None) -> tuple[bytes, bytes, list[float]]:
    """Read one answer (head, body by Content-Length) from a raw socket: head, body, seconds between reads.

    Stops early, with what arrived, at ``deadline`` (a time.monotonic() value)."""
    data, gaps, last = b"", [], time.monotonic()
    while b"\r\n\r\n" not in data or len(data.partition(b"\r\n\r\n")[2]) < int(
            re.search(rb"Content-Length: (\d+)", data).group(1)):
        if deadline is not None and time.monotonic() >= deadline:
            break
        chunk = sock.recv(65536)
        assert chunk, "closed early"
        now = time.monotonic()
        gaps.append(now - last)
        last = now
        data += chunk
    head, _sep, body = data.partition(b"\r\n\r\n")
    return head, body, gaps


def _raw_logs(client: Client, body: dict[str, Any], timeout: float = 5) -> socket.socket:
    """A raw socket that has sent one logs request."""
    host, port = client.server.server_address[:2]
    sock = socket.create_connection((host, port), timeout=timeout)
    raw = json.dumps(body).encode()
    sock.sendall(f"POST /o/api/v3.3/logs?access_token={TOKEN} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 f"Content-Length: {len(raw)}\r\n\r\n".encode() + raw)
    return sock


def test_drip_beats_a_per_read_timeout_not_a_deadline(start: Callable[..., Client]) -> None:
    """drip: headers at once, then one body byte every drip_seconds: no read waits long, the whole answer does."""
    client = start(entries=3)
    body = {"event_category": "admin", "age": 86400}
    plain = client.logs(body).content
    client.control("config", {"drip_seconds": 0.15, "drip_bytes": 8})
    began = time.monotonic()
    answer = client.logs(body, timeout=0.6)  # requests' timeout is per socket read, like the issue's client
    took = time.monotonic() - began
    assert answer.status_code == 200 and answer.content == plain
    assert took >= 8 * 0.15 > 0.6
    with _raw_logs(client, body) as sock:
        head, dripped, gaps = _read_answer(sock)
    assert head.startswith(b"HTTP/1.1 200") and dripped == plain
    assert len(gaps) >= 8 and max(gaps) < 0.6  # every read returns within the drip interval (plus load)
    # A whole-request deadline of 0.6 s stops with most of the body missing.
    with _raw_logs(client, body) as sock:
        head, part, _gaps = _read_answer(sock, deadline=time.monotonic() + 0.6)
    assert int(re.search(rb"Content-Length: (\d+)", head).group(1)) == len(plain) and len(part) < 8
    # Every logs answer drips (errors too); control answers never do.
    client.control("config", {"drip_bytes": 2})
    began = time.monotonic()
    assert client.logs({"event_category": "nope"}).status_code == 400
    assert time.monotonic() - began >= 0.3
    assert hostile(client)["drip"] == 4
    client.control("config", {"drip_seconds": 0})
    assert client.logs(body).content == plain and hostile(client)["drip"] == 4


@pytest.mark.parametrize("pagination,status", [("406-token", 406), ("200-cursor", 200), ("200-413", 200), ("406-split", 406)])
def test_endless_fresh(start: Callable[..., Client], pagination: str, status: int) -> None:
    """endless fresh: every page full, every token new and working, every entry new, inside the window, forever."""
    client = start(entries=5, pagination=pagination, endless="fresh")
    window = full_window(client)
    body = {"event_category": "device", "limit": 25, **window}
    token, tokens, served = "", set(), []
    for _index in range(40):
        answer = client.logs(dict(body, token=token) if token else body)
        doc = answer.json()
        assert answer.status_code == status and len(doc["data"]) == 25 and doc["token"] and doc["token"] not in tokens
        token = doc["token"]
        tokens.add(token)
        served += doc["data"]
    assert len({json.dumps(entry, sort_keys=True) for entry in served}) == 1000
    stamps = [parse_ts(entry["timestamp"]) for entry in served]
    assert stamps == sorted(stamps, reverse=True) and window["start_time"] <= min(stamps) <= max(stamps) <= window["end_time"]
    assert all(set(entry) == set(emu.FIELDS["device"]) for entry in served)
    counters = client.control("counters")
    assert counters["hostile"]["endless"] == 40 and counters["page_tokens_issued"] == 40
    assert counters["entries_served"] == 1000
    assert len(client.truth(category="device")["data"]) == 5  # not stored


def test_endless_fresh_is_seeded_and_honours_events(start: Callable[..., Client]) -> None:
    """endless fresh: page n has the same bytes in two runs (apart from the token); filter.events is honoured."""
    anchor = emu.now_ms() - 10_000
    one, two = (start(entries=5, endless="fresh", anchor_ms=anchor, order="asc") for _index in range(2))
    body = {"event_category": "device", "limit": 10, "start_time": anchor - 60_000, "end_time": anchor,
            "filter": {"events": "compliant,noncompliant"}}
    walks = []
    for client in (one, two):
        token, data = "", []
        for _index in range(5):
            doc = client.logs(dict(body, token=token) if token else body).json()
            token = doc["token"]
            data.append(doc["data"])
        walks.append(data)
    assert walks[0] == walks[1]
    flat = [entry for page in walks[0] for entry in page]
    assert {entry["event"] for entry in flat} <= {"compliant", "noncompliant"}
    assert [parse_ts(entry["timestamp"]) for entry in flat] == list(range(anchor - 60_000, anchor - 60_000 + 50))


def test_endless_repeat(start: Callable[..., Client]) -> None:
    """endless repeat: the same full page again and again, each time under a new token."""
    client = start(entries=5)
    client.control("config", {"endless": "repeat"})
    body = {"event_category": "admin", "limit": 30, "age": 86400}
    token, tokens, pages = "", [], []
    for _index in range(20):
        answer = client.logs(dict(body, token=token) if token else body)
        assert answer.status_code == 406
        doc = answer.json()
        token = doc["token"]
        tokens.append(token)
        pages.append(doc["data"])
    assert len(set(tokens)) == 20 and all(tokens)
    assert len(pages[0]) == 30 and all(page == pages[0] for page in pages)
    assert hostile(client)["endless"] == 20
    assert client.logs(dict(body, token=tokens[3])).json()["data"] == pages[0]  # old tokens still work
    client.control("config", {"endless": "off"})
    assert client.walk(body)[-1][2] == ""  # and the walk ends again


def test_huge_answer_is_exact_and_streamed(start: Callable[..., Client]) -> None:
    """huge_bytes: a valid answer of exactly that size, its page unchanged; built in pieces, never whole."""
    client = start(entries=40)
    body = {"event_category": "webhook", "limit": 10, "age": 86400}
    plain = client.logs(body).json()
    client.control("config", {"huge_bytes": 3_000_000})
    answer = client.logs(body)
    assert answer.status_code == 406 and int(answer.headers["Content-Length"]) == len(answer.content) == 3_000_000
    doc = answer.json()
    assert list(doc) == ["data", "token", "padding"] and doc["data"] == plain["data"] and doc["token"]
    assert set(doc["padding"]) == {"x"}
    assert client.logs(dict(body, token=doc["token"])).status_code == 406  # its token works
    client.control("config", {"huge_bytes": 10})  # smaller than the page: the shortest answer, padding ""
    small = client.logs(body)
    assert small.json()["padding"] == "" and small.json()["data"] == plain["data"]
    assert hostile(client)["huge"] == 3
    # A 1 GB answer is planned, not built: the reply holds a small prefix and a generator of pieces.
    emulator = client.server.emulator
    emulator.config.huge_bytes = 10**9
    reply = emulator.answer_logs(json.dumps(body).encode())
    assert reply.size() == 10**9 and len(reply.body) < 10_000 and reply.chunks is not None
    pieces = reply.chunks()
    assert max(len(next(pieces)) for _index in range(20)) <= 64 * 1024 + len(reply.body)


def test_deep_json(start: Callable[..., Client]) -> None:
    """deep_json: a syntactically valid answer nested N + 1 levels deep, its page unchanged."""
    client = start(entries=10)
    body = {"event_category": "admin", "limit": 5, "age": 86400}
    client.control("config", {"deep_json": 50})
    doc = client.logs(body).json()
    assert list(doc) == ["data", "token", "deep"] and len(doc["data"]) == 5 and doc["token"]
    depth, value = 0, doc["deep"]
    while value != []:
        assert isinstance(value, list) and len(value) == 1
        value, depth = value[0], depth + 1
    assert depth == 49  # 50 arrays, the innermost empty
    client.control("config", {"deep_json": 200_000})
    answer = client.logs(body)
    text = answer.content
    prefix, _sep, rest = text.partition(b',"deep":')
    assert rest == b"[" * 200_000 + b"]" * 200_000 + b"}" and len(text) == int(answer.headers["Content-Length"])
    assert len(json.loads(prefix + b"}")["data"]) == 5
    with pytest.raises(RecursionError):
        json.loads(text)
    client.control("config", {"huge_bytes": 500_000})  # both: deep first, then the padding, exact size
    both = client.logs(body).content
    assert len(both) == 500_000 and both.index(b',"deep":') < both.index(b',"padding":"')
    assert hostile(client)["deep_json"] == 3 and hostile(client)["huge"] == 1


def test_odd_entries(start: Callable[..., Client]) -> None:
    """odd_entries: the values inserted before position odd_at of every page; the rest of the answer as before."""
    client = start(entries=12, pagination="200-cursor")
    body = {"event_category": "device", "limit": 6, "age": 86400}
    plain = client.walk(body)
    client.control("config", {"odd_entries": ["oops", 42, None], "odd_at": 1})
    pages = client.walk(body)
    assert [(status, len(data), bool(token)) for status, data, token in pages] == [(200, 9, True), (200, 9, True), (200, 3, False)]
    for (_status, data, _token), (_s, real, _t) in zip(pages[:2], plain[:2]):
        assert data[1:4] == ["oops", 42, None] and data[:1] + data[4:] == real
    assert pages[2][1] == ["oops", 42, None]  # the empty last page: odd_at clamped to its end
    client.control("config", {"odd_at": 99, "odd_entries": [{"not": "an entry"}, []]})
    data = client.logs(body).json()["data"]
    assert data[-2:] == [{"not": "an entry"}, []] and data[:-2] == plain[0][1]
    counters = client.control("counters")
    assert counters["hostile"]["odd_entries"] == 3 * 3 + 2 and counters["entries_served"] == 12 + 12 + 6


def test_stray_time(start: Callable[..., Client]) -> None:
    """stray_time: entries at the stray_at positions of every page carry that time; the truth and the walk keep theirs."""
    client = start(entries=20, order="asc")
    window = full_window(client)
    body = {"event_category": "admin", "limit": 8, **window}
    truth = client.truth(category="admin", **window)
    client.control("config", {"stray_time": "2099-01-01T00:00:00Z", "stray_at": [0, 5, 50]})
    pages = client.walk(body)
    assert [len(page[1]) for page in pages] == [8, 8, 4]
    served = entries_of(pages)
    strays = [index for index, entry in enumerate(served) if entry["timestamp"] == "2099-01-01T00:00:00Z"]
    assert strays == [0, 5, 8, 13, 16]
    for index, entry in enumerate(served):
        assert dict(entry, timestamp=None) == dict(truth["data"][index], timestamp=None)
    assert client.truth(category="admin", **window) == truth
    client.control("config", {"stray_time": 4_070_908_800_000, "stray_at": [1]})
    assert client.logs(body).json()["data"][1]["timestamp"] == 4_070_908_800_000
    assert hostile(client)["stray_entries"] == 6


def test_hostile_options_on_the_command_line(tmp_path: Any) -> None:
    """Every hostile setting is a start option too."""
    port_file = tmp_path / "port"
    command = [sys.executable, EMULATOR, "--port-file", str(port_file), "--entries", "10", "--access-token", TOKEN,
               "--drip-seconds", "0.01", "--drip-bytes", "5", "--endless", "repeat", "--huge-bytes", "20000",
               "--deep-json", "7", "--odd-entry", '"oops"', "--odd-entry", "42", "--odd-entry", "null", "--odd-at", "2",
               "--stray-time", "2099-01-01T00:00:00Z", "--stray-at", "0", "--stray-at", "3"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        try:
            for _index in range(300):
                if port_file.exists():
                    break
                time.sleep(0.05)
            base = f"http://127.0.0.1:{port_file.read_text().strip()}"
            view = requests.get(f"{base}/_control/config", timeout=5).json()
            assert {key: view[key] for key in ("drip_seconds", "drip_bytes", "endless", "huge_bytes", "deep_json",
                                               "odd_entries", "odd_at", "stray_time", "stray_at")} == {
                "drip_seconds": 0.01, "drip_bytes": 5, "endless": "repeat", "huge_bytes": 20000, "deep_json": 7,
                "odd_entries": ["oops", 42, None], "odd_at": 2, "stray_time": "2099-01-01T00:00:00Z", "stray_at": [0, 3]}
            answer = requests.post(f"{base}/o/api/v3.3/logs", params={"access_token": TOKEN},
                                   json={"event_category": "admin", "limit": 5, "age": 86400}, timeout=5)
            doc = answer.json()
            assert len(answer.content) == 20000 and answer.status_code == 406 and doc["token"]
            assert doc["data"][2:5] == ["oops", 42, None] and len(doc["data"]) == 8
            assert [entry["timestamp"] for entry in doc["data"] if isinstance(entry, dict)].count("2099-01-01T00:00:00Z") == 2
            assert requests.post(f"{base}/_control/shutdown", timeout=5).json() == {"shutdown": True}
            assert proc.wait(15) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
    failed = subprocess.run([sys.executable, EMULATOR, "--odd-entry", "oops"], capture_output=True, text=True, timeout=30,
                            check=False)
    assert failed.returncode == 2 and "JSON" in failed.stderr
