# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The page does not say whether a window's ends are served: entries exactly on the window's ends, on resume
points are each returned once, whichever ends the server serves (the role's slice cuts: test_archive_plan.py)."""

from __future__ import annotations

import pytest

from ansible_collections.opswat.itot.plugins.module_utils._timeparse import parse_entry_time

NOW = 1795939200000  # 2026-11-29T08:00:00Z
HOUR = 3600000
DAY = 86400000
ENDS = ['inclusive', 'start_excl', 'end_excl', 'both_excl']
READINGS = ['token406', 'token200', 'token413', 'narrow406']


def seqs(entries):
    return [entry['seq'] for entry in entries]


def oldest_first(entries):
    keys = [parse_entry_time(entry['timestamp']) for entry in entries]
    return keys == sorted(keys)


@pytest.mark.parametrize('ends', ENDS)
@pytest.mark.parametrize('reading', READINGS)
def test_entries_on_the_window_ends_are_returned(api, make_client, make_query, reading, ends):
    api.reading, api.ends, api.order = reading, ends, 'desc'
    first, last = NOW - HOUR, NOW - 1000
    times = [first, first, first + 1, NOW - 2000, last - 1, last, last]
    api.add_many('device', times)
    api.add('device', first - 1, seq=100)  # just outside the window: never returned
    api.add('device', last + 1, seq=101)
    result = make_client().fetch(make_query(start_time=first, end_time=last, page_size=3))
    assert sorted(seqs(result.logs)) == list(range(len(times)))
    assert oldest_first(result.logs)
    assert result.window == (first, last)


@pytest.mark.parametrize('ends', ENDS)
@pytest.mark.parametrize('reading', READINGS)
def test_a_window_of_one_millisecond(api, make_client, make_query, reading, ends):
    api.reading, api.ends = reading, ends
    api.add_many('device', [NOW - 5000] * 3 + [NOW - 5001, NOW - 4999])
    result = make_client().fetch(make_query(start_time=NOW - 5000, end_time=NOW - 5000))
    assert seqs(result.logs) == [0, 1, 2]


def chain(client, make_query, size, **options):
    """Every entry of a query read in chunks of ``size`` through next_token."""
    entries, token = [], None
    for dummy in range(500):
        result = client.fetch(make_query(max_results=size, token=token, **options))
        entries.extend(result.logs)
        token = result.next_token
        if token is None:
            return entries
    raise AssertionError('the chain did not end')


@pytest.mark.parametrize('size', [1, 3, 4])
@pytest.mark.parametrize('order', ['asc', 'desc'])
@pytest.mark.parametrize('ends', ENDS)
@pytest.mark.parametrize('reading', ['token406', 'token413', 'narrow406'])
def test_resume_points_inside_a_crowded_millisecond(api, make_client, make_query, reading, ends, order, size):
    api.reading, api.ends, api.order = reading, ends, order
    base = NOW - HOUR
    # 25 entries: runs of 1 to 4 in one millisecond, so that resume points fall inside runs and on their edges.
    times = []
    at = base
    while len(times) < 25:
        times.extend([at] * min(1 + len(times) % 4, 25 - len(times)))
        at += 1 if len(times) % 3 else 700
    api.add_many('device', times)
    client = make_client()
    options = {'start_time': base, 'end_time': times[-1], 'page_size': 4}
    entries = chain(client, make_query, size, **options)
    assert sorted(seqs(entries)) == list(range(25))
    assert oldest_first(entries)


@pytest.mark.parametrize('ends', ENDS)
def test_three_entries_in_one_millisecond_resumed_one_by_one(api, make_client, make_query, ends):
    api.ends = ends
    t = NOW - HOUR + 5000
    api.add_many('device', [t - 3000, t, t, t, t + 4000])
    entries = chain(make_client(), make_query, 1, start_time=NOW - HOUR, end_time='now')
    assert seqs(entries) == [0, 1, 2, 3, 4]
