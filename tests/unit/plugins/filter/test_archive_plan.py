# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The archive_plan filter: slices of at most slice_seconds (the role's itot_max_window) from the oldest cursor."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.opswat.itot.plugins.filter.archive_plan import archive_plan
from ansible_collections.opswat.itot.plugins.module_utils._timeparse import parse_entry_time

NOW = 1795939200000  # 2026-11-29T08:00:00Z
DAY = 86400000


def host(**cursors):
    return {'results': [{'item': category, 'cursor_ms': cursor} for category, cursor in cursors.items()]}


def bounds(plan):
    return [(item['start_time'], item['end_time']) for item in plan]


@pytest.mark.parametrize('lookback, slice_seconds, expected', [
    (NOW - 7 * DAY, 86400, 8),
    (NOW - 7 * DAY, 259200, 3),
    (NOW - 7 * DAY, 604800, 2),  # a week and the 2 ms the module pads it with do not fit one week
    (NOW - 7 * DAY + 2, 604800, 1),
])
def test_a_week_is_cut_into_slices_that_fit_slice_seconds_when_sent(lookback, slice_seconds, expected):
    plan = archive_plan([host(device=None)], ['device'], initial_lookback=lookback, now_ms=NOW,
                        slice_seconds=slice_seconds)
    assert len(plan) == expected
    pieces = bounds(plan)
    assert pieces[0][0] == lookback and pieces[-1][1] == NOW
    # The module sends [lo - 1, hi + 1]: that must be at most slice_seconds wide.
    assert all((hi + 1) - (lo - 1) <= slice_seconds * 1000 for lo, hi in pieces)
    assert all(pieces[i][1] == pieces[i + 1][0] for i in range(len(pieces) - 1))


def test_the_oldest_cursor_minus_the_overlap_starts_the_plan():
    plan = archive_plan([host(admin=NOW - 10 * 60000), host(admin=NOW - 20 * 60000)], ['admin'], overlap=300,
                        now_ms=NOW, slice_seconds=2592000)
    assert bounds(plan) == [(NOW - 20 * 60000 - 300000, NOW)]


@pytest.mark.parametrize('value', [0, 2592001, 'a week', None])
def test_slice_seconds_out_of_range_is_refused(value):
    with pytest.raises(AnsibleFilterError) as err:
        archive_plan([host(device=None)], ['device'], now_ms=NOW, slice_seconds=value)
    assert 'slice_seconds' in str(err.value)


def seqs(entries):
    return [entry['seq'] for entry in entries]


@pytest.mark.parametrize('ends', ['inclusive', 'start_excl', 'end_excl', 'both_excl'])
def test_role_slices_cover_their_cuts(api, make_client, make_query, ends):
    """The role reads archive_plan's slices one by one; entries on every cut are read (the archive drops the
    copies that two slices share at a cut)."""
    api.ends = ends
    lookback = NOW - 3 * DAY + 7
    plan = archive_plan([{'results': [{'item': 'device', 'cursor_ms': None}]}], ['device'], initial_lookback=lookback,
                        now_ms=NOW)
    assert len(plan) == 3
    times = [lookback, lookback + 1]
    for item in plan[1:]:
        cut = item['start_time']
        times.extend([cut - 1, cut, cut, cut + 1])
    times.append(NOW)
    api.add_many('device', times)
    client = make_client()
    seen = []
    for item in plan:
        result = client.fetch(make_query(start_time=item['start_time'], end_time=item['end_time']))
        assert all(item['start_time'] <= parse_entry_time(e['timestamp']) // 1000 <= item['end_time'] for e in result.logs)
        seen.extend(seqs(result.logs))
    assert sorted(set(seen)) == list(range(len(times)))
    assert all(body['end_time'] - body['start_time'] <= DAY for body in api.bodies)
    assert len(api.bodies) == len(plan)
