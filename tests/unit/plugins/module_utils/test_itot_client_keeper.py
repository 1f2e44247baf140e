# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A chunk of a slice whose pages are not oldest first reads the slice whole, but holds only the entries it may hand
out whole (``Keeper``, issue 15): the others are hollowed out to their time. What a chunk hands out is always the
API's entry, field for field; where a chunk would reach an entry hollowed out, it reads its part of the slice again."""

from __future__ import annotations

import copy
import random

import pytest

from ansible_collections.opswat.itot.plugins.module_utils import _walk
from ansible_collections.opswat.itot.plugins.module_utils._chunks import HOLLOWED, Keeper
from ansible_collections.opswat.itot.plugins.module_utils._entries import entry_time
from ansible_collections.opswat.itot.plugins.module_utils._windows import Span
from ansible_collections.opswat.itot.tests.unit.plugins.module_utils.test_itot_client_chunks import (
    NOW,
    READINGS,
    START,
    entries_for,
    read_in_chunks,
    times,
)


def stamp(ms):
    return '%d' % ms  # epoch ms as a digit string: one of the API's time forms


def entry(ms, seq, **more):
    return dict({'timestamp': stamp(ms), 'seq': seq, 'device_id': 'dev-%d' % seq, 'details': 'x' * 40}, **more)


def test_the_keeper_keeps_whole_the_oldest_entries_of_the_chunk_and_the_times_of_the_rest():
    rng = random.Random(15)
    base = START + 10000
    cursor = base + 5000  # the time of the last entry handed out by the chunk before
    originals = [entry(base + 1000 * rng.randrange(60), seq) for seq in range(300)]
    originals += [copy.deepcopy(originals[7]), copy.deepcopy(originals[7])]  # identical twins of entry 7
    originals += [entry(START - 1, 900), entry(NOW + 1, 901)]  # in the span's padding milliseconds
    originals += [{'seq': 903, 'timestamp': 'not a time'}]
    pages = [originals[at:at + 37] for at in range(0, len(originals), 37)]
    rng.shuffle(pages)
    pages.insert(3, copy.deepcopy(pages[1]))  # a page read twice (a narrowed window's boundary is read again)
    read = [item for page in pages for item in page]
    truth = copy.deepcopy(read)
    want, skip, same = 40, 3, 2
    keeper = Keeper(Span(START - 1, NOW + 1, True, True), want, skip, (cursor * 1000, same))
    for page in pages:
        keeper.keep(page)

    # Independently: the distinct entries (by content) of the span's own part from the cursor on, oldest first,
    # equal times in the order first read; the first want + skip + same of them stay whole, in every copy.
    first_read = {}
    for position, item in enumerate(truth):
        first_read.setdefault(item['seq'], (int(item['timestamp']), position) if item['timestamp'].isdigit() else None)
    counted = sorted((at, seq) for seq, at in first_read.items()
                     if at is not None and START <= at[0] <= NOW and at[0] >= cursor)
    whole = {seq for dummy, seq in counted[:want + skip + same]} | {903}
    assert 7 in whole and len(whole) == want + skip + same + 1
    for now, was in zip(read, truth):
        if was['seq'] in whole:
            assert now == was and not keeper.hollowed(now)
        else:
            assert set(now) == {'timestamp', ''} and now[''] is HOLLOWED and keeper.hollowed(now)
            assert entry_time(now) == entry_time(was)


def check_chunks(api, chunks, size, order):
    """The chunks are the window's entries, each exactly as the API stores it, oldest first, each chunk full."""
    stored = {item['seq']: item for category, at, seq, item in api.store}
    entries = [item for chunk in chunks for item in chunk]
    assert entries == [stored[seq] for seq in expected(api, order)]
    assert all(len(chunk) == size for chunk in chunks[:-1])


def expected(api, order):
    rows = [(at, seq, item['seq']) for category, at, seq, item in api.store if START <= at <= NOW]
    rows.sort(key=lambda row: (row[0], row[1] if order == 'asc' else -row[1]))
    return [row[2] for row in rows]


@pytest.mark.parametrize('size', [250, 30, 1])
@pytest.mark.parametrize('reading', READINGS)
def test_chunks_of_a_newest_first_server_hand_out_the_api_entries_whole(api, make_client, make_query, reading, size):
    api.reading, api.order = reading, 'desc'
    api.add_many('device', times(entries_for(size)))
    check_chunks(api, read_in_chunks(make_client(), make_query, size), size, 'desc')


class ShortKeeper(Keeper):
    """A keeper that keeps one entry too few whole: the walk must notice, and read the chunk's part again."""

    def __init__(self, span, want, skip=0, after=(None, 0)):
        super().__init__(span, want - 1, skip, after)


class ShortOnKeeper(Keeper):
    """One entry too few where a chunk reads on in the API's pages after entries handed out before (``skip``)."""

    def __init__(self, span, want, skip=0, after=(None, 0)):
        super().__init__(span, want - 1 if skip else want, skip, after)


@pytest.mark.parametrize('short', [ShortKeeper, ShortOnKeeper], ids=['slice', 'reading on'])
@pytest.mark.parametrize('size', [120, 7])
@pytest.mark.parametrize('order', ['asc', 'desc'])
@pytest.mark.parametrize('reading', READINGS)
def test_a_chunk_that_would_reach_an_entry_hollowed_out_reads_its_part_again(
        api, make_client, make_query, monkeypatch, reading, order, size, short):
    monkeypatch.setattr(_walk, 'Keeper', short)
    api.reading, api.order = reading, order
    api.add_many('device', times(600))
    client = make_client()
    whole = client.fetch(make_query(start_time=START, end_time=NOW))
    before = len(api.bodies)
    chunks = read_in_chunks(client, make_query, size)
    check_chunks(api, chunks, size, order)
    # each chunk's part read twice at most: about three walks, and a few requests per chunk
    assert len(api.bodies) - before <= 3 * whole.api_requests + 3 * len(chunks), (len(api.bodies) - before,
                                                                                  whole.api_requests, len(chunks))
