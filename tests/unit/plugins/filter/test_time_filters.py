# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""archive_plan and epoch_ms read times as the options do: one rule for numbers, implausible times refused."""

from __future__ import annotations

import email.utils

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.opswat.itot.plugins.filter.archive_plan import archive_plan
from ansible_collections.opswat.itot.plugins.filter.epoch_ms import epoch_ms

NOW = 1795939200000  # 2026-11-29T08:00:00Z
DAY = 86400000
NO_ARCHIVE = [{'results': [{'item': 'admin', 'cursor_ms': None}]}]


def test_lookback_in_epoch_seconds_plans_from_that_time():
    # initial_lookback: 1796000000 planned 20,769 slices from January 1970 (issue 20, item 5).
    plan = archive_plan(NO_ARCHIVE, ['admin'], initial_lookback=(NOW - 2 * DAY) // 1000, now_ms=NOW)
    assert plan[0]['start_time'] == NOW - 2 * DAY and plan[-1]['end_time'] == NOW
    # (Slices are planned 2 ms short of a day, as the module sends each one 1 ms wider on each side.)
    assert all(item['end_time'] - item['start_time'] + 2 <= DAY for item in plan) and len(plan) == 3


@pytest.mark.parametrize('lookback, message', [
    (179600000, 'itot_log_archive_initial_lookback: 179600000 read as epoch seconds is 1975-09-10T16:53:20.000Z, '
                'before 2000-01-01T00:00:00Z'),
    ('1969-12-31T23:59:59Z', "itot_log_archive_initial_lookback: '1969-12-31T23:59:59Z' is 1969-12-31T23:59:59.000Z, "
                             "before 1970-01-01T00:00:00Z"),
])
def test_an_implausible_lookback_plans_nothing(lookback, message):
    with pytest.raises(AnsibleFilterError) as err:
        archive_plan(NO_ARCHIVE, ['admin'], initial_lookback=lookback, now_ms=NOW)
    assert str(err.value.message).startswith(message)


def test_epoch_ms_reads_numbers_by_the_same_rule():
    assert epoch_ms(1795939200, now_ms=NOW) == NOW
    assert epoch_ms('1795939200000', now_ms=NOW) == NOW
    with pytest.raises(AnsibleFilterError) as err:
        epoch_ms(17960000000, now_ms=NOW)
    message = str(err.value.message)
    assert message.startswith('time: 17960000000 read as epoch seconds is 2539-02-17T08:53:20.000Z, more than 1 day '
                              'after now')


@pytest.mark.parametrize('text', [
    'Sun, 29 Nov 2026 07:00:00 GMT',  # the form of some entries' timestamp (RFC 1123)
    'Sat, 28 Nov 2026 23:59:59 GMT',
    'Sun, 29 Nov 2026 08:30:00 +0100',
    '  Sun, 29 Nov 2026 07:00:05 GMT ',
])
def test_epoch_ms_reads_rfc_1123_as_entry_times_use_it(text):
    expected = int(email.utils.parsedate_to_datetime(text.strip()).timestamp() * 1000)
    assert epoch_ms(text, now_ms=NOW) == expected


def test_epoch_ms_holds_rfc_1123_to_the_plausible_times():
    with pytest.raises(AnsibleFilterError) as err:
        epoch_ms('Mon, 30 Nov 2026 08:00:01 GMT', now_ms=NOW)
    assert str(err.value.message).startswith("time: 'Mon, 30 Nov 2026 08:00:01 GMT' is 2026-11-30T08:00:01.000Z, more "
                                             "than 1 day after now")
    with pytest.raises(AnsibleFilterError) as err:
        epoch_ms('Sun, 29 Nov 2026 25:00:00 GMT', now_ms=NOW)
    assert 'is not a time; allowed: ' in str(err.value.message) and 'RFC 1123' in str(err.value.message)
