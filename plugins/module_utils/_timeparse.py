# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Time forms of the options and of the API's entries; for internal collection use only.

Option times resolve to epoch milliseconds. Entry times resolve to epoch microseconds (the sort key),
or ``None`` when the form is unknown: such an entry is kept and sorted last, never dropped.
"""

from __future__ import annotations

import datetime
import email.utils
import math
import re
from typing import Any, Optional

from ansible_collections.opswat.itot.plugins.module_utils._errors import OptionError

MS_PER_UNIT = {'s': 1000, 'm': 60 * 1000, 'h': 3600 * 1000, 'd': 86400 * 1000, 'w': 7 * 86400 * 1000}

TIME_FORMS = ("epoch milliseconds (1795935600000), ISO 8601 (2026-11-29T07:00:00Z, "
              "2026-11-29T08:00:00.250+01:00), 'now', or a time relative to now "
              "(-30s, -15m, -2h, -7d, -1w)")

_RELATIVE = re.compile(r'^-\s*(\d+)\s*([smhdw])$', re.IGNORECASE)
_DIGITS = re.compile(r'^\d+$')
_NUMBER = re.compile(r'^\d+(\.\d+)?$')
_ISO = re.compile(
    r'^(\d{4})-(\d{2})-(\d{2})'
    r'(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?'
    r'\s*(Z|z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$'
)
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
# Epoch numbers below this are seconds, above it milliseconds (1e11 s is the year 5138, 1e11 ms is 1973).
_SECONDS_BELOW = 1e11


def parse_iso8601_us(text: str) -> Optional[int]:
    """ISO 8601 date or date-time (naive means UTC) to epoch microseconds, or None."""
    match = _ISO.match(text.strip())
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        micro = int((fraction or '0')[:6].ljust(6, '0'))
        when = datetime.datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                                 int(second or 0), micro, tzinfo=datetime.timezone.utc)
    except ValueError:
        return None
    offset_s = 0
    if zone and zone[0] in '+-':
        digits = zone[1:].replace(':', '')
        hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
        if hours > 23 or minutes > 59:
            return None
        offset_s = hours * 3600 + minutes * 60
        if zone[0] == '-':
            offset_s = -offset_s
    delta = when - _EPOCH
    return (delta.days * 86400 + delta.seconds - offset_s) * 1000000 + delta.microseconds


def _epoch_number_us(number: int | float) -> Optional[int]:
    if math.isnan(number) or math.isinf(number) or number < 0:
        return None
    if number < _SECONDS_BELOW:
        return int(round(number * 1000000))
    return int(round(number * 1000))


def parse_entry_time(value: Any) -> Optional[int]:
    """The ``timestamp`` of an API entry to epoch microseconds, or None when its form is unknown.

    Accepts ISO 8601 (fraction, ``Z`` or offset optional), epoch seconds or milliseconds (number or
    digit string) and RFC 1123 dates (``Sat, 29 Nov 2026 07:00:00 GMT``).
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return _epoch_number_us(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    if _NUMBER.match(text):
        if _DIGITS.match(text):
            return _epoch_number_us(int(text))
        return _epoch_number_us(float(text))
    parsed = parse_iso8601_us(text)
    if parsed is not None:
        return parsed if parsed >= 0 else None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    delta = when - _EPOCH
    micros = (delta.days * 86400 + delta.seconds) * 1000000 + delta.microseconds
    return micros if micros >= 0 else None


def parse_time_option(value: Any, now_ms: int, option: str) -> int:
    """A ``start_time``/``end_time`` value to epoch milliseconds, relative forms against ``now_ms``.

    Raises OptionError naming the option, the value and the accepted forms.
    """
    if isinstance(value, bool):
        raise OptionError('%s: %r is not a time; allowed: %s' % (option, value, TIME_FORMS))
    if isinstance(value, int):
        if value < 0:
            raise OptionError('%s: %r is not a time; epoch milliseconds must not be negative' % (option, value))
        return value
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if _DIGITS.match(text):
            return int(text)
        if text.lower() == 'now':
            return now_ms
        match = _RELATIVE.match(text)
        if match:
            return max(now_ms - int(match.group(1)) * MS_PER_UNIT[match.group(2).lower()], 0)
        parsed = parse_iso8601_us(text)
        if parsed is not None and parsed >= 0:
            return parsed // 1000
    raise OptionError('%s: %r is not a time; allowed: %s' % (option, value, TIME_FORMS))


def format_ms(value: int) -> str:
    """Epoch milliseconds as ISO 8601 UTC with milliseconds, for messages."""
    when = _EPOCH + datetime.timedelta(milliseconds=value)
    return when.strftime('%Y-%m-%dT%H:%M:%S.') + '%03dZ' % (value % 1000)
