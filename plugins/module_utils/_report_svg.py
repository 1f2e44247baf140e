# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The HTML report's inline SVG charts, and the one escape every text of the HTML report goes through.

For internal collection use only.  Charts are drawn from the report dict's figures only (_report_html.py picks
them); every bar carries its figure as ``data-value`` and a ``<title>``, so a reader (and a test) sees the number.
No script, no external reference: plain elements styled by the page's inline CSS.
"""

from __future__ import annotations

import datetime
import html
import re
from typing import Any

# Characters that are not allowed in HTML or XML text (controls, surrogates, noncharacters): shown as U+FFFD.
_INVALID = re.compile('[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]')
# Beyond this many days between the first and the last day with entries, only the days with entries get a bar.
MAX_FILLED_DAYS = 400
# Horizontal bar charts show at most this many bars (the tables beside them list every row).
MAX_BARS = 30
_LABEL = 28


def esc(value: Any) -> str:
    """Text or attribute value, HTML-escaped (quotes included): whatever it holds, it stays text."""
    return html.escape(_INVALID.sub('\ufffd', str(value)), quote=True)


def _short(text: str) -> str:
    return text if len(text) <= _LABEL else text[:_LABEL - 1] + '\u2026'


def _svg(width: int, height: int, label: str, body: list[str]) -> str:
    return ('<svg class="chart" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s">%s</svg>'
            % (width, height, width, height, esc(label), ''.join(body)))


def _days(per_day: dict[str, dict[str, int]]) -> list[str]:
    """The days of the chart: every day from the first to the last with entries (all with entries when that is too many)."""
    present = sorted(set(day for days in per_day.values() for day in days))
    try:
        first, last = (datetime.date.fromisoformat(day) for day in (present[0], present[-1]))
    except (IndexError, ValueError):
        return present
    span = (last - first).days + 1
    if span > MAX_FILLED_DAYS:
        return present
    return [(first + datetime.timedelta(days=offset)).isoformat() for offset in range(span)]


def _legend(names: list[str], y: int) -> list[str]:
    body = []
    for index, name in enumerate(names):
        x = 40 + index * 130
        body.append('<rect class="c%d" x="%d" y="%d" width="10" height="10"/>' % (index % 6, x, y - 9))
        body.append('<text x="%d" y="%d">%s</text>' % (x + 14, y, esc(_short(name))))
    return body


def day_chart(per_day: dict[str, dict[str, int]]) -> str:
    """Entries per day, one stacked bar per day, one colour per category."""
    categories = list(per_day)
    days = _days(per_day)
    if not days:
        return '<p class="empty">No entries in the period.</p>'
    totals = [sum(per_day[category].get(day, 0) for category in categories) for day in days]
    top = max([1] + totals)
    step = max(4, min(24, 720 // len(days)))
    width, plot = max(360, 60 + step * len(days), 60 + 130 * len(categories)), 160
    body = ['<text x="4" y="14">%d</text>' % top, '<line class="axis" x1="40" y1="%d" x2="%d" y2="%d"/>' % (plot + 10, width - 10, plot + 10)]
    for index, day in enumerate(days):
        x, base = 44 + index * step, plot + 10
        for number, category in enumerate(categories):
            value = per_day[category].get(day, 0)
            if not value:
                continue
            height = max(1, round(value * plot / top))
            base -= height
            shape = (number % 6, x, base, max(step - 2, 2), height, esc(day), esc(category), value, esc(day), esc(category), value)
            body.append('<rect class="c%d" x="%d" y="%d" width="%d" height="%d" data-day="%s" data-category="%s" data-value="%d">'
                        '<title>%s %s: %d</title></rect>' % shape)
        if index == 0 or index == len(days) - 1 or (len(days) <= 14):
            body.append('<text class="tick" x="%d" y="%d">%s</text>' % (x, plot + 24, esc(day[5:])))
    body += _legend(categories, plot + 44)
    return _svg(width, plot + 52, 'Entries per day per category', body)


def bar_chart(rows: list[tuple[str, int, str]], label: str) -> str:
    """Horizontal bars: (label, value, CSS class) each; at most MAX_BARS, a note says when more are in the table."""
    if not rows:
        return ''
    shown = rows[:MAX_BARS]
    top = max([1] + [value for _name, value, _kind in shown])
    body = []
    for index, (name, value, kind) in enumerate(shown):
        y = 6 + index * 22
        length = max(1, round(value * 300 / top))
        body.append('<text x="4" y="%d">%s</text>' % (y + 13, esc(_short(name))))
        body.append('<rect class="%s" x="200" y="%d" width="%d" height="16" data-label="%s" data-value="%d"><title>%s: %d</title></rect>'
                    % (kind, y, length, esc(name), value, esc(name), value))
        body.append('<text x="%d" y="%d">%d</text>' % (204 + length, y + 13, value))
    chart = _svg(560, 12 + 22 * len(shown), label, body)
    if len(rows) > len(shown):
        chart += '<p class="note">The chart shows the first %d of %d; the table lists all.</p>' % (len(shown), len(rows))
    return chart
