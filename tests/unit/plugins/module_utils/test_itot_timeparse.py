# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.opswat.itot.plugins.module_utils._errors import OptionError
from ansible_collections.opswat.itot.plugins.module_utils._timeparse import (
    PLAUSIBLE_AHEAD_MS,
    PLAUSIBLE_FROM_MS,
    epoch_unit,
    format_ms,
    parse_entry_time,
    parse_time_option,
)

NOW = 1795939200000  # 2026-11-29T08:00:00Z


@pytest.mark.parametrize('value, expected', [
    (1795935600000, 1795935600000),
    ('1795935600000', 1795935600000),
    (' 1795935600000 ', 1795935600000),
    (1795935600000.0, 1795935600000),
    # Numbers below 1e11 are epoch seconds, as in the API's entries (issue 20, item 5).
    (1795935600, 1795935600000),
    ('1795935600', 1795935600000),
    (1795935600.25, 1795935600250),
    ('1795935600.5', 1795935600500),
    (PLAUSIBLE_FROM_MS, PLAUSIBLE_FROM_MS),
    (PLAUSIBLE_FROM_MS // 1000, PLAUSIBLE_FROM_MS),
    (NOW + PLAUSIBLE_AHEAD_MS, NOW + PLAUSIBLE_AHEAD_MS),
    ('2000-01-01T00:00:00Z', PLAUSIBLE_FROM_MS),
    ('2026-11-29T07:00:00Z', 1795935600000),
    ('2026-11-29T07:00:00z', 1795935600000),
    ('2026-11-29T07:00:00.250Z', 1795935600250),
    ('2026-11-29T07:00:00.2509Z', 1795935600250),
    ('2026-11-29T07:00:00,5Z', 1795935600500),
    ('2026-11-29T08:00:00+01:00', 1795935600000),
    ('2026-11-29T05:30:00-0130', 1795935600000),
    ('2026-11-29T10:00:00+03', 1795935600000),
    ('2026-11-29T07:00:00', 1795935600000),
    ('2026-11-29 07:00:00', 1795935600000),
    ('2026-11-29T07:00', 1795935600000),
    ('2026-11-29', 1795910400000),
    ('now', NOW),
    (' NOW ', NOW),
    ('-30s', NOW - 30000),
    ('-15m', NOW - 15 * 60000),
    ('-2h', NOW - 2 * 3600000),
    ('-7d', NOW - 7 * 86400000),
    ('-1w', NOW - 7 * 86400000),
    ('-2H', NOW - 2 * 3600000),
    ('-0m', NOW),
])
def test_time_option_forms(value, expected):
    assert parse_time_option(value, NOW, 'start_time') == expected


@pytest.mark.parametrize('value', [
    'yesterday', '+15m', '-15', '15m', '-1y', '2026-13-01T00:00:00Z', '2026-11-31', '2026-11-29T25:00:00Z',
    True, False, -5, '', None, [1], float('nan'), float('inf'),
])
def test_time_option_rejects(value):
    with pytest.raises(OptionError) as err:
        parse_time_option(value, NOW, 'end_time')
    message = err.value.message
    assert message.startswith('end_time: ')
    assert repr(value) in message
    assert 'ISO 8601' in message or 'negative' in message


def test_relative_times_use_the_given_now():
    assert parse_time_option('-1h', NOW + 7200000, 'start_time') == NOW + 3600000


@pytest.mark.parametrize('number, unit', [
    (0, 'seconds'), (1795935600, 'seconds'), (99999999999, 'seconds'), (99999999999.9, 'seconds'),
    (100000000000, 'milliseconds'), (1795935600000, 'milliseconds'),
])
def test_one_rule_for_numbers(number, unit):
    assert epoch_unit(number) == unit


@pytest.mark.parametrize('value', [1795935600, '1795935600', 1795935600.25, 1795935600000, '1795935600123'])
def test_options_and_entries_read_numbers_alike(value):
    assert parse_time_option(value, NOW, 'start_time') * 1000 == parse_entry_time(value)


@pytest.mark.parametrize('value, message', [
    # Epoch seconds where milliseconds were expected: read as seconds, the time meant (issue 20, item 5).
    (1796000000, None),
    # Too few digits: 1975 as seconds, 1970 as milliseconds.
    (179600000, "start_time: 179600000 read as epoch seconds is 1975-09-10T16:53:20.000Z, before "
                "2000-01-01T00:00:00Z; allowed: a time from 2000-01-01T00:00:00Z to 1 day after now; epoch seconds "
                "have 10 digits (1795939200), epoch milliseconds 13 (1795939200000)"),
    (179600000000, "start_time: 179600000000 read as epoch milliseconds is 1975-09-10T16:53:20.000Z, before "
                   "2000-01-01T00:00:00Z; allowed: a time from 2000-01-01T00:00:00Z to 1 day after now; epoch "
                   "seconds have 10 digits (1795939200), epoch milliseconds 13 (1795939200000)"),
    (5, "start_time: 5 read as epoch seconds is 1970-01-01T00:00:05.000Z, before 2000-01-01T00:00:00Z; allowed: "),
    ('1.5', "start_time: '1.5' read as epoch seconds is 1970-01-01T00:00:01.500Z, before 2000-01-01T00:00:00Z"),
    # Too many digits: seconds of the year 2539, or microseconds read as milliseconds.
    (17960000000, "start_time: 17960000000 read as epoch seconds is 2539-02-17T08:53:20.000Z, more than 1 day after "
                  "now (2026-11-29T08:00:00.000Z); allowed: a time from 2000-01-01T00:00:00Z to 1 day after now"),
    (1796000000000000, "start_time: 1796000000000000 read as epoch milliseconds is a time after the year 9999, more "
                       "than 1 day after now (2026-11-29T08:00:00.000Z); allowed: a time from 2000-01-01T00:00:00Z "
                       "to 1 day after now; epoch microseconds? then give 1796000000000 (2026-11-30T00:53:20.000Z)"),
    ('1796000000000000000', "start_time: '1796000000000000000' read as epoch milliseconds is a time after the year "
                            "9999, more than 1 day after now (2026-11-29T08:00:00.000Z); allowed: a time from "
                            "2000-01-01T00:00:00Z to 1 day after now; epoch nanoseconds? then give 1796000000000"),
    # Other forms: a wrong year, too far back.
    ('2099-01-01T00:00:00Z', "start_time: '2099-01-01T00:00:00Z' is 2099-01-01T00:00:00.000Z, more than 1 day after "
                             "now (2026-11-29T08:00:00.000Z); allowed: a time from 2000-01-01T00:00:00Z to 1 day "
                             "after now"),
    ('1999-12-31T23:59:59.999Z', "start_time: '1999-12-31T23:59:59.999Z' is 1999-12-31T23:59:59.999Z, before "
                                 "2000-01-01T00:00:00Z; allowed: "),
    ('-1500w', "start_time: '-1500w' is 1998-03-01T08:00:00.000Z, before 2000-01-01T00:00:00Z; allowed: "),
    (NOW + PLAUSIBLE_AHEAD_MS + 1, "start_time: 1796025600001 read as epoch milliseconds is 2026-11-30T08:00:00.001Z, "
                                   "more than 1 day after now"),
])
def test_implausible_times_are_refused_showing_how_they_were_read(value, message):
    if message is None:
        assert parse_time_option(value, NOW, 'start_time') == value * 1000
        return
    with pytest.raises(OptionError) as err:
        parse_time_option(value, NOW, 'start_time')
    assert err.value.message.startswith(message)


@pytest.mark.parametrize('value, shown', [
    ('1969-12-31T23:59:59Z', '1969-12-31T23:59:59.000Z'),
    ('1900-01-01', '1900-01-01T00:00:00.000Z'),
    ('-3000w', '1969-06-01T08:00:00.000Z'),
])
def test_times_before_1970_have_their_own_message(value, shown):
    # ISO 8601 all the same (issue 20, item 8): not "not a time", but when it is and why that is refused.
    with pytest.raises(OptionError) as err:
        parse_time_option(value, NOW, 'end_time')
    assert err.value.message == ("end_time: %r is %s, before 1970-01-01T00:00:00Z, the start of epoch time; allowed: "
                                 "a time from 2000-01-01T00:00:00Z to 1 day after now" % (value, shown))


@pytest.mark.parametrize('value, expected_us', [
    ('2026-11-29T07:00:00Z', 1795935600000000),
    ('2026-11-29T07:00:00.123Z', 1795935600123000),
    ('2026-11-29T07:00:00.123456Z', 1795935600123456),
    ('2026-11-29T07:00:00.1234567Z', 1795935600123456),
    ('2026-11-29T08:00:00.5+01:00', 1795935600500000),
    ('2026-11-29T07:00:00', 1795935600000000),
    ('2026-11-29 07:00:00 UTC', 1795935600000000),
    ('2026-11-29T07:00:00 GMT', 1795935600000000),
    (1795935600, 1795935600000000),
    (1795935600.25, 1795935600250000),
    (1795935600123, 1795935600123000),
    ('1795935600', 1795935600000000),
    ('1795935600123', 1795935600123000),
    ('1795935600.5', 1795935600500000),
    ('Sun, 29 Nov 2026 07:00:00 GMT', 1795935600000000),
    ('29 Nov 2026 07:00:00 GMT', 1795935600000000),
    ('Sun, 29 Nov 2026 08:00:00 +0100', 1795935600000000),
])
def test_entry_time_forms(value, expected_us):
    assert parse_entry_time(value) == expected_us


@pytest.mark.parametrize('value', [
    None, '', '  ', 'soon', 'not a date at all', True, {'t': 1}, [1], float('nan'), float('inf'), -5,
    '2026-02-30T00:00:00Z', '1969-12-31T00:00:00Z',
])
def test_entry_time_unknown_forms(value):
    assert parse_entry_time(value) is None


def test_entry_time_orders_mixed_forms():
    values = ['2026-11-29T07:00:02Z', 1795935601, '1795935600500', 'Sun, 29 Nov 2026 07:00:03 GMT']
    assert sorted(values, key=parse_entry_time) == [
        '1795935600500', 1795935601, '2026-11-29T07:00:02Z', 'Sun, 29 Nov 2026 07:00:03 GMT']


def test_format_ms():
    assert format_ms(1795935600250) == '2026-11-29T07:00:00.250Z'
    assert format_ms(0) == '1970-01-01T00:00:00.000Z'


@pytest.mark.parametrize('value', [10 ** 400, '9' * 400, 1.7e308])
def test_numbers_too_large_for_a_float(value):
    # No traceback: an entry gets a time (or none, and is kept and sorted last), an option a message.
    parse_entry_time(value)
    with pytest.raises(OptionError) as err:
        parse_time_option(value, NOW, 'start_time')
    assert 'a time after the year 9999' in err.value.message
