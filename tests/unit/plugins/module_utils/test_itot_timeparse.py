# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.opswat.itot.plugins.module_utils._errors import OptionError
from ansible_collections.opswat.itot.plugins.module_utils._timeparse import (
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
    (0, 0),
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
    True, False, -5, 1.5, '', None, [1], '1969-12-31T23:59:59Z',
])
def test_time_option_rejects(value):
    with pytest.raises(OptionError) as err:
        parse_time_option(value, NOW, 'end_time')
    message = err.value.message
    assert message.startswith('end_time: ')
    assert repr(value) in message
    assert 'ISO 8601' in message or 'negative' in message


def test_relative_times_use_the_given_now():
    assert parse_time_option('-1h', 7200000, 'start_time') == 3600000
    assert parse_time_option('-1h', 1000, 'start_time') == 0  # never before the epoch


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
