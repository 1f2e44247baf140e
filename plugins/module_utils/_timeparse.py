# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Time forms of the options and of the API's entries; for internal collection use only.

Option times resolve to epoch milliseconds. Entry times resolve to epoch microseconds (the sort key),
or ``None`` when the form is unknown: such an entry is kept and sorted last, never dropped.

A number is read as a time by one rule, for options and entries alike (``epoch_unit``): below 1e11 it is epoch
seconds, otherwise epoch milliseconds. An option time must also be plausible (``PLAUSIBLE_FROM_MS`` up to
``PLAUSIBLE_AHEAD_MS`` after now); an entry time is never refused for being implausible.
"""

from __future__ import annotations

import datetime
import email.utils
import math
import re
import time
from typing import Any

from ansible_collections.opswat.itot.plugins.module_utils._errors import OptionError

MS_PER_UNIT = {'s': 1000, 'm': 60 * 1000, 'h': 3600 * 1000, 'd': 86400 * 1000, 'w': 7 * 86400 * 1000}

TIME_FORMS = ("epoch milliseconds (1795935600000) or seconds (1795935600; numbers below 1e11 are seconds), "
              "ISO 8601 (2026-11-29T07:00:00Z, 2026-11-29T08:00:00.250+01:00), RFC 1123 (Sun, 29 Nov 2026 07:00:00 "
              "GMT), 'now', or a time relative to now (-30s, -15m, -2h, -7d, -1w)")

_RELATIVE = re.compile(r'^-\s*(\d+)\s*([smhdw])$', re.IGNORECASE)
_DIGITS = re.compile(r'^\d+$')
_NUMBER = re.compile(r'^\d+(\.\d+)?$')
_ISO = re.compile(
    r'^(\d{4})-(\d{2})-(\d{2})'
    r'(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?'
    r'\s*(Z|z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$'
)
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
# Epoch numbers below this are seconds, from it on milliseconds (1e11 s is the year 5138, 1e11 ms is 1973).
SECONDS_BELOW = 10 ** 11
# The times an option may name: from 2000-01-01T00:00:00Z to one day after now. Anything else is a slip (epoch
# seconds where milliseconds were meant, a digit too many or too few, a wrong year) that would cost a request per
# day of window before it showed; a day ahead leaves room for clocks and time zones.
PLAUSIBLE_FROM_MS = 946684800000
PLAUSIBLE_AHEAD_MS = 86400 * 1000
PLAUSIBLE = "a time from 2000-01-01T00:00:00Z to 1 day after now"


def parse_iso8601_us(text: str) -> int | None:
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


def epoch_unit(number: int | float) -> str:
    """How a number is read as a time, for options and entries alike: ``seconds`` below 1e11, else ``milliseconds``."""
    return 'seconds' if number < SECONDS_BELOW else 'milliseconds'


def _finite(number: int | float) -> bool:
    """Not NaN nor infinite (an int always is; math.isnan cannot take one too large for a float)."""
    return isinstance(number, int) or not (math.isnan(number) or math.isinf(number))


def _epoch_number_us(number: int | float) -> int | None:
    if not _finite(number) or number < 0:
        return None
    try:
        return int(round(number * (1000000 if epoch_unit(number) == 'seconds' else 1000)))
    except OverflowError:  # a float that is finite, but not in microseconds
        return None


def _number(value: Any) -> int | float | None:
    """A number, or a string of one (digits with an optional fraction), as a number; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str) and _NUMBER.match(value.strip()):
        text = value.strip()
        return int(text) if _DIGITS.match(text) else float(text)
    return None


def parse_http_date(text: str) -> datetime.datetime | None:
    """An RFC 1123 date (``Sun, 29 Nov 2026 07:00:00 GMT``: HTTP headers, some entry timestamps), aware, or None."""
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when


def parse_entry_time(value: Any) -> int | None:
    """The ``timestamp`` of an API entry to epoch microseconds, or None when its form is unknown.

    Accepts ISO 8601 (fraction, ``Z`` or offset optional), epoch seconds or milliseconds (number or
    digit string) and RFC 1123 dates (``Sat, 29 Nov 2026 07:00:00 GMT``).
    """
    number = _number(value)
    if number is not None:
        return _epoch_number_us(number)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    parsed = parse_iso8601_us(text)
    if parsed is not None:
        return parsed if parsed >= 0 else None
    micros = http_date_us(text)
    return micros if micros is not None and micros >= 0 else None


def http_date_us(text: str) -> int | None:
    """An RFC 1123 date (``parse_http_date``) as epoch microseconds, or None."""
    when = parse_http_date(text)
    if when is None:
        return None
    delta = when - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1000000 + delta.microseconds


def parse_time_option(value: Any, now_ms: int, option: str) -> int:
    """A ``start_time``/``end_time`` value to epoch milliseconds, relative forms against ``now_ms``.

    Numbers are read as entry times are (``epoch_unit``). Raises OptionError naming the option and the value: with
    the accepted forms when the value is none of them, with how it was read when the time is not plausible.
    """
    number = _number(value)
    if number is not None and _finite(number):
        if number < 0:
            raise OptionError('%s: %r is not a time; epoch numbers must not be negative; allowed: %s'
                              % (option, value, TIME_FORMS))
        unit = epoch_unit(number)
        when_ms = int(round(number * (1000 if unit == 'seconds' else 1)))
        _check_plausible(option, value, when_ms, now_ms, 'read as epoch %s is ' % unit, number)
        return when_ms
    when_ms = _text_time(value.strip(), now_ms) if isinstance(value, str) else None
    if when_ms is not None:
        _check_plausible(option, value, when_ms, now_ms, 'is ', None)
        return when_ms
    raise OptionError('%s: %r is not a time; allowed: %s' % (option, value, TIME_FORMS))


def _text_time(text: str, now_ms: int) -> int | None:
    """A time option's text (now, relative, ISO 8601, RFC 1123 as entry times use it) as epoch ms, or None."""
    if text.lower() == 'now':
        return now_ms
    match = _RELATIVE.match(text)
    if match:
        return now_ms - int(match.group(1)) * MS_PER_UNIT[match.group(2).lower()]
    parsed = parse_iso8601_us(text)
    if parsed is not None:
        return parsed // 1000
    micros = http_date_us(text) if text else None
    return None if micros is None else micros // 1000


def _check_plausible(option: str, value: Any, when_ms: int, now_ms: int, read: str,
                     number: int | float | None) -> None:
    """OptionError unless ``when_ms`` lies from PLAUSIBLE_FROM_MS to PLAUSIBLE_AHEAD_MS after ``now_ms``.

    The message shows how the value was read (``read``: 'read as epoch seconds is ' or 'is ') and, for a number,
    what was probably meant.
    """
    if when_ms < PLAUSIBLE_FROM_MS:
        where = 'before 2000-01-01T00:00:00Z'
        if when_ms < 0:
            where = 'before 1970-01-01T00:00:00Z, the start of epoch time'
    elif when_ms > now_ms + PLAUSIBLE_AHEAD_MS:
        where = 'more than 1 day after now (%s)' % format_ms(now_ms)
    else:
        return
    message = '%s: %r %s%s, %s; allowed: %s' % (option, value, read, _shown_ms(when_ms), where, PLAUSIBLE)
    if number is not None:
        message += '; ' + _meant(number, now_ms)
    raise OptionError(message)


# Other readings of a number that was not plausible: (name, times, divided by) gives epoch milliseconds.
_READINGS = (('epoch seconds', 1000, 1), ('epoch milliseconds', 1, 1), ('epoch microseconds', 1, 1000),
             ('epoch nanoseconds', 1, 1000000))


def _meant(number: int | float, now_ms: int) -> str:
    """What an implausible number probably meant: another reading that is plausible, and how to write it."""
    hints = []
    for name, times, divisor in _READINGS:
        try:
            when_ms = number * times // divisor if isinstance(number, int) else int(round(number * times / divisor))
        except (OverflowError, ValueError):  # a float too large for this reading
            continue
        if PLAUSIBLE_FROM_MS <= when_ms <= now_ms + PLAUSIBLE_AHEAD_MS:
            hints.append('%s? then give %d (%s)' % (name, when_ms, format_ms(when_ms)))
    return '; '.join(hints) if hints else ('epoch seconds have 10 digits (%d), epoch milliseconds 13 (%d)'
                                           % (now_ms // 1000, now_ms))


def _shown_ms(value: int) -> str:
    """Epoch milliseconds as ISO 8601 UTC, also for times beyond what datetime can show."""
    try:
        return format_ms(value)
    except (OverflowError, ValueError):
        return 'a time after the year 9999' if value > 0 else 'a time before the year 1'


def _fields(ms: int) -> tuple[int, ...]:
    """(year, month, day, hour, minute, second, millisecond) of epoch milliseconds, UTC."""
    when = _EPOCH + datetime.timedelta(milliseconds=ms)
    return when.year, when.month, when.day, when.hour, when.minute, when.second, when.microsecond // 1000


def format_ms(value: int) -> str:
    """``2026-11-29T07:00:00.000Z``: epoch milliseconds as ISO 8601 UTC with milliseconds (messages, manifests,
    reports)."""
    return '%04d-%02d-%02dT%02d:%02d:%02d.%03dZ' % _fields(value)


def format_iso(ms: int | None) -> str | None:
    """``format_ms``, or None for None."""
    return None if ms is None else format_ms(ms)


def format_stamp(ms: int) -> str:
    """``20261129T070000000Z``: the form of archive file names (UTC, milliseconds)."""
    return '%04d%02d%02dT%02d%02d%02d%03dZ' % _fields(ms)


def format_name_time(ms: int) -> str:
    """``20261129T070000Z``: the form of report file names (UTC, seconds)."""
    return '%04d%02d%02dT%02d%02d%02dZ' % _fields(ms)[:6]


_NAME_TIME = re.compile(r'^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$')


def parse_name_time_ms(value: Any) -> int | None:
    """Epoch ms of a ``format_name_time`` stamp (``20261129T070000Z``), or None."""
    match = _NAME_TIME.match(value) if isinstance(value, str) else None
    return parse_time_ms('%s-%s-%sT%s:%s:%sZ' % match.groups()) if match else None


def day_folder(ms: int) -> str:
    """``2026/11/29``: the archive's day folder of a time (UTC)."""
    return '%04d/%02d/%02d' % _fields(ms)[:3]


_MIN_MS = int((datetime.datetime(1, 1, 1, tzinfo=datetime.timezone.utc) - _EPOCH).total_seconds()) * 1000
_MAX_MS = int((datetime.datetime(9999, 12, 31, 23, 59, 59, tzinfo=datetime.timezone.utc) - _EPOCH).total_seconds()) * 1000 + 999


def parse_time_ms(value: Any) -> int | None:
    """Epoch milliseconds (UTC) of an API timestamp, or None when the value is not a time the collection knows.

    The forms are those of ``parse_entry_time``, limited to the years 1..9999 (what can be formatted).
    """
    micros = parse_entry_time(value)
    if micros is None:
        return None
    ms = micros // 1000
    return ms if _MIN_MS <= ms <= _MAX_MS else None


def now_ms() -> int:
    """The current time, epoch milliseconds."""
    return int(time.time() * 1000)
