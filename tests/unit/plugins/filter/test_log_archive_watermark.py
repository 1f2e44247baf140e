# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The watermark in the plan (issue 15): a quiet category is one slice a run while the host's record in the heads file
is sound, and every doubt about that record falls back to the cursor (more requests, never fewer entries)."""

from __future__ import annotations

import hashlib
import math

import pytest

from ansible_collections.opswat.itot.plugins.filter.log_archive_tenant_plan import log_archive_tenant_plan

MINUTE = 60000
HOUR = 60 * MINUTE
DAY = 24 * HOUR
NOW = 1795939200000  # 2026-11-29T08:00:00Z
OVERLAP_MS = 300 * 1000
NO_FILTERS = hashlib.sha256(b'{}').hexdigest()  # the digest of "no filters", computed here, not by the code
LINES, HEAD = 7, 'ab' * 32
CURSOR = NOW - 20 * DAY  # the newest device entry: 20 quiet days ago
MARK_FROM, MARK_TO = NOW - 30 * DAY, NOW - HOUR  # the last run (an hour ago) read from 30 days back up to its end


def tenant(name='a'):
    return {'name': name, 'identity': 'https://%s id' % name, 'slice_seconds': 86400, 'root': '/srv/itot', 'named': False}


def record(**watermark):
    """A host's record in the heads file, as the query task returns it (recorded_head)."""
    mark = dict({'from_ms': MARK_FROM, 'to_ms': MARK_TO, 'filters': NO_FILTERS}, **watermark)
    return {'lines': LINES, 'sha256': HEAD, 'recorded': '2026-11-28T08:00:00.000Z', 'watermark': mark}


def query(cursor=CURSOR, recorded=None, lines=LINES, head=HEAD, category='device', name='a'):
    """One result of the role's query loop."""
    return {'item': [tenant(name), category], 'cursor_ms': cursor, 'manifest_lines': lines, 'manifest_head': head,
            'recorded_head': recorded}


def plan(hosts_results, **kwargs):
    hosts = {host: [tenant()] for host in hosts_results}
    registered = {host: {'results': results} for host, results in hosts_results.items()}
    kwargs.setdefault('initial_lookback', NOW - DAY)
    return log_archive_tenant_plan(hosts, registered, ['device'], overlap=300, now_ms=NOW, **kwargs)


def windows(result):
    return [(item['start_time'], item['end_time']) for round_ in result['rounds'] for item in round_]


def daily_slices(start):
    """How many requests of at most a day (each sent 1 ms wider per side) read from start to NOW."""
    return math.ceil((NOW - start) / (DAY - 2))


def test_a_category_quiet_for_20_days_is_one_slice_from_the_watermark():
    result = plan({'h1': [query(recorded=record())]})
    assert windows(result) == [(MARK_TO - OVERLAP_MS, NOW)]
    assert result['rounds'][0][0]['watermarks'] == {'h1': MARK_TO}  # the archive task's gap check is told
    # Once archived, the host has been given everything from where its coverage began up to this run's end.
    assert result['watermarks'] == {'a': {'device': {'h1': {'from_ms': MARK_FROM, 'to_ms': NOW, 'filters': NO_FILTERS}}}}


def test_without_a_record_the_quiet_days_are_read_again():
    # What the watermark saves: the cursor alone re-reads all 20 quiet days, in 21 slices.
    result = plan({'h1': [query(recorded=None)]})
    assert len(windows(result)) == daily_slices(CURSOR - OVERLAP_MS) == 21
    assert windows(result)[0][0] == CURSOR - OVERLAP_MS and windows(result)[-1][1] == NOW
    assert result['rounds'][0][0]['watermarks'] == {}
    assert result['watermarks']['a']['device']['h1'] == {'from_ms': CURSOR - OVERLAP_MS, 'to_ms': NOW, 'filters': NO_FILTERS}


def test_a_host_added_later_gets_its_full_backfill_and_the_others_keep_their_coverage():
    lookback = NOW - 40 * DAY
    result = plan({'h1': [query(recorded=record())], 'new': [query(cursor=None, lines=0, head='0' * 64)]},
                  initial_lookback=lookback)
    assert windows(result)[0][0] == lookback and windows(result)[-1][1] == NOW
    assert len(windows(result)) == daily_slices(lookback) == 41
    assert result['rounds'][0][0]['watermarks'] == {'h1': MARK_TO}
    assert result['watermarks']['a']['device'] == {'h1': {'from_ms': lookback, 'to_ms': NOW, 'filters': NO_FILTERS},
                                                   'new': {'from_ms': lookback, 'to_ms': NOW, 'filters': NO_FILTERS}}


def test_a_category_that_never_had_an_entry_starts_at_its_watermark_unless_the_lookback_reaches_further_back():
    empty = dict(cursor=None, lines=0, head='0' * 64)
    mark = record(from_ms=NOW - 3 * DAY)
    mark.update(lines=0, sha256='0' * 64)
    assert windows(plan({'h1': [query(recorded=mark, **empty)]}, initial_lookback=NOW - DAY)) == [(MARK_TO - OVERLAP_MS, NOW)]
    # The audit's longer period starts before the watermark's coverage: the whole period is read.
    result = plan({'h1': [query(recorded=mark, **empty)]}, initial_lookback=NOW - 5 * DAY)
    assert windows(result)[0][0] == NOW - 5 * DAY and len(windows(result)) == daily_slices(NOW - 5 * DAY)


def test_a_busy_cursor_after_the_watermark_plans_from_the_cursor():
    result = plan({'h1': [query(cursor=NOW - MINUTE, recorded=record())]})
    assert windows(result) == [(NOW - MINUTE - OVERLAP_MS, NOW)]


@pytest.mark.parametrize('recorded, state', [
    pytest.param(record(to_ms=NOW + HOUR), {}, id='watermark-in-the-future-clock-jumped-back'),
    pytest.param(record(to_ms=str(MARK_TO)), {}, id='to-not-a-number'),
    pytest.param(record(to_ms=True), {}, id='to-a-bool'),
    pytest.param(record(from_ms=-1), {}, id='from-negative'),
    pytest.param(record(from_ms=MARK_TO + 1), {}, id='from-after-to'),
    pytest.param(record(from_ms=None), {}, id='from-missing'),
    pytest.param(record(from_ms=CURSOR + 1), {}, id='coverage-starts-after-the-cursor'),
    pytest.param(record(filters=hashlib.sha256(b'{"events":["added"]}').hexdigest()), {}, id='other-filters'),
    pytest.param(record(), {'lines': LINES + 1}, id='manifest-grew-since'),
    pytest.param(record(), {'lines': 0, 'head': '0' * 64}, id='archive-wiped'),
    pytest.param(record(), {'head': 'cd' * 32}, id='manifest-rewritten'),
    pytest.param(dict(record(), watermark='%d' % MARK_TO), {}, id='watermark-not-a-dict'),
    pytest.param(dict(record(), lines='7'), {}, id='lines-not-a-count'),
    pytest.param({'lines': LINES, 'sha256': HEAD}, {}, id='head-without-watermark'),
    pytest.param('garbage', {}, id='record-not-a-dict'),
])
def test_every_doubt_about_the_record_falls_back_to_the_cursor(recorded, state):
    result = plan({'h1': [query(recorded=recorded, **state)]})
    assert windows(result)[0][0] == CURSOR - OVERLAP_MS and len(windows(result)) == 21
    assert result['rounds'][0][0]['watermarks'] == {}
    assert result['watermarks']['a']['device']['h1']['from_ms'] == CURSOR - OVERLAP_MS


def test_the_filters_of_the_category_are_part_of_the_watermark():
    filters = {'device': {'events': ['added', 'compliant']}}
    digest = hashlib.sha256(b'{"events":["added","compliant"]}').hexdigest()
    result = plan({'h1': [query(recorded=record(filters=digest))]}, filters=filters)
    assert windows(result) == [(MARK_TO - OVERLAP_MS, NOW)]
    assert result['watermarks']['a']['device']['h1']['filters'] == digest
    # The same record read without those filters is not used.
    assert len(windows(plan({'h1': [query(recorded=record(filters=digest))]}))) == 21
