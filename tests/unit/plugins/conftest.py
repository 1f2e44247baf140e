# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Fixtures for the unit tests: a fake API, a fake clock, and builders for clients and queries."""

from __future__ import annotations

from typing import Any

import pytest
import responses

from ansible_collections.opswat.itot.plugins.module_utils._client import LogsClient
from ansible_collections.opswat.itot.plugins.module_utils._options import OptionAdapter, connection_settings
from ansible_collections.opswat.itot.plugins.module_utils._query import build_query
from ansible_collections.opswat.itot.plugins.module_utils._rate_budget import RateBudget
from ansible_collections.opswat.itot.tests.unit.plugins.itot_fake_api import ACCESS_TOKEN, BASE_URL, FakeLogsApi

NOW_MS = 1795939200000  # 2026-11-29T08:00:00Z


class FakeClock:
    """Wall clock and sleep that only move when the code under test sleeps."""

    def __init__(self, start: float = NOW_MS / 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(seconds, 0.0)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def api(rsps) -> FakeLogsApi:
    return FakeLogsApi(rsps, now_ms=NOW_MS)


@pytest.fixture(autouse=True)
def cache_home(tmp_path, monkeypatch):
    """Keep every rate ledger of a test in its own folder."""
    folder = tmp_path / 'cache'
    monkeypatch.setenv('XDG_CACHE_HOME', str(folder))
    return folder


@pytest.fixture
def make_client(clock, tmp_path):
    """``make_client(budget=None, **connection options)``: a client on the fake API with a fake clock."""
    def make(budget: Any = None, **options: Any) -> LogsClient:
        values = {'base_url': BASE_URL, 'access_token': ACCESS_TOKEN, 'rate_limit': 0}
        values.update(options)
        settings = connection_settings(OptionAdapter.from_dict(values))
        if budget is None:
            budget = RateBudget(str(tmp_path / 'ledger.json'), settings.rate_limit, clock=clock.time,
                                sleep=clock.sleep)
        return LogsClient(settings, budget=budget, clock=clock.time, sleep=clock.sleep, rand=lambda: 0.5)
    return make


@pytest.fixture
def make_query():
    """``make_query(now_ms=NOW_MS, **query options)``: a validated LogQuery."""
    def make(now_ms: int = NOW_MS, **options: Any):
        options.setdefault('event_category', 'device')
        return build_query(OptionAdapter.from_dict(options), now_ms=now_ms)
    return make
