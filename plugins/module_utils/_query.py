# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The query options validated into one ``LogQuery``, one small check per filter; for internal collection use only.

``build_query`` reads the options through anything with ``get(name)`` (the ``OptionAdapter`` of ``_options``) and
checks them in a fixed order, so that the first problem is the same for the module, the lookup and the role's
check: the category, its events, agent types and search text, the time window, paging, and the resume token
(``ResumePoint``, the collection's own ``next_token``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Protocol

from ansible_collections.opswat.itot.plugins.module_utils._checks import (
    agent_types_value,
    event_names,
    int_value,
    shown,
    str_value,
)
from ansible_collections.opswat.itot.plugins.module_utils._errors import OptionError
from ansible_collections.opswat.itot.plugins.module_utils._timeparse import parse_time_option
from ansible_collections.opswat.itot.plugins.module_utils._vocabulary import (
    AGENT_TYPE_CATEGORIES,
    API_DEFAULT_AGE,
    CATEGORIES,
    EVENTS,
    MAX_AGE,
    MAX_PAGE_SIZE,
    SEARCH_CATEGORIES,
    allowed,
)

TOKEN_PREFIX = 'itot1.'


class Options(Protocol):
    def get(self, name: str) -> Any: ...


HELD_ENDS = ('head', 'tail', 'neither')  # which end of a window a 406 without a token holds (_walk.py's _narrowed)
MAX_PAGE_TOKEN = 4096  # characters of the API's pagination token a next_token carries
MAX_MARKS = 1000  # where the coming chunks end, at most, that a next_token carries (ResumePoint.marks)


@dataclass(frozen=True)
class ResumePoint:
    """Where a walk stopped: the rest of the window, and which entries of its first slice were returned.

    ``start_ms``/``pad_lo`` is the first slice to read (as the walk that stopped would have read it), ``end_ms`` the
    window's end. In that slice the entries before ``after_us`` and the first ``same`` entries at exactly
    ``after_us`` were returned already; with ``all_parsed`` every entry with a time was, and ``unparsed`` entries
    without one.

    ``page_span`` (start, end, pad_lo, pad_hi as sent), ``page_token`` and ``page_offset``: where the API's own pages
    go on, when the walk stopped inside a chain of pagination tokens: the page asked with ``page_token`` (None: the
    chain's first request) for ``page_span``, from its entry ``page_offset`` on. Reading on from there re-reads no
    entry but that page's first ``page_offset``; when the API refuses the token (it expired), the time cursor above
    is the way back. ``held_end``: what the walk learnt about 406 pages without a token (no new probe).

    ``marks``: where the coming chunks end (epoch ms, ascending), learnt from a slice read whole because its pages
    were not oldest first: each chunk reads only the part of the window up to its mark (about one chunk of entries)
    instead of the whole rest of the slice again.
    """

    start_ms: int
    end_ms: int
    pad_lo: bool = False
    after_us: int | None = None
    same: int = 0
    all_parsed: bool = False
    unparsed: int = 0
    page_span: tuple[int, int, bool, bool] | None = None
    page_token: str | None = None
    page_offset: int = 0
    held_end: str | None = None
    marks: tuple[int, ...] = ()

    def encode(self, fingerprint: str) -> str:
        doc = {'f': fingerprint, 's': self.start_ms, 'e': self.end_ms, 'p': int(self.pad_lo), 'a': self.after_us,
               'n': self.same, 'x': int(self.all_parsed), 'u': self.unparsed, 'h': self.held_end}
        if self.page_span is not None:
            doc.update(ps=[self.page_span[0], self.page_span[1], int(self.page_span[2]), int(self.page_span[3])],
                       t=self.page_token, o=self.page_offset)
        if self.marks:
            # as steps from the window's start and from each other: shorter than epoch milliseconds
            doc['m'] = [mark - before for mark, before in zip(self.marks, (self.start_ms,) + self.marks)]
        doc['c'] = _checksum(doc)
        raw = json.dumps(doc, separators=(',', ':'), sort_keys=True).encode('utf-8')
        return TOKEN_PREFIX + base64.urlsafe_b64encode(raw).decode('ascii').rstrip('=')

    @classmethod
    def decode(cls, token: str, fingerprint: str) -> ResumePoint:
        bad = OptionError.about('token', '%s is not a next_token returned by opswat.itot.itot_logs_info; pass the '
                                'next_token of an earlier run unchanged' % shown(token))
        if not isinstance(token, str) or not token.startswith(TOKEN_PREFIX):
            raise bad
        body = token[len(TOKEN_PREFIX):]
        try:
            doc = json.loads(base64.urlsafe_b64decode(body + '=' * (-len(body) % 4)).decode('utf-8'))
            point = cls(start_ms=_plain_int(doc['s']), end_ms=_plain_int(doc['e']), pad_lo=bool(doc['p']),
                        after_us=None if doc['a'] is None else _plain_int(doc['a']), same=_plain_int(doc['n']),
                        all_parsed=bool(doc['x']), unparsed=_plain_int(doc['u']), held_end=_held_end(doc.get('h')),
                        marks=_marks(doc), **_page_fields(doc))
            issued_for, checksum = doc['f'], doc['c']
        except (ValueError, TypeError, KeyError, AttributeError, binascii.Error, UnicodeDecodeError):
            raise bad from None
        if checksum != _checksum(doc):
            raise OptionError.about('token', '%s was altered after opswat.itot.itot_logs_info returned it; pass the '
                                    'next_token of an earlier run unchanged' % shown(token))
        if issued_for != fingerprint:
            raise OptionError.about('token', '%s was returned for a different query; pass the same event_category, '
                                    'events, agent_types, search, age, start_time and end_time as the run that '
                                    'returned it' % shown(token))
        return point


def _checksum(doc: dict[str, Any]) -> str:
    """A check of a next_token's fields (not a signature: it holds no secret), so that an altered token is refused
    rather than read from another place."""
    fields = {key: value for key, value in doc.items() if key != 'c'}
    raw = json.dumps(fields, separators=(',', ':'), sort_keys=True).encode('utf-8')
    return hashlib.sha256(b'opswat.itot next_token\n' + raw).hexdigest()[:16]


def _marks(doc: dict[str, Any]) -> tuple[int, ...]:
    """The marks of a next_token's document, from their steps (none: no marks)."""
    steps = doc.get('m', [])
    if not isinstance(steps, list) or len(steps) > MAX_MARKS:
        raise ValueError('not a list of marks')
    marks, at = [], _plain_int(doc['s'])
    for step in steps:
        at += _plain_int(step)
        marks.append(at)
    return tuple(marks)


def _held_end(value: Any) -> str | None:
    if value is not None and value not in HELD_ENDS:
        raise ValueError('not a held end')
    return value


def _page_fields(doc: dict[str, Any]) -> dict[str, Any]:
    """The page fields of a next_token's document (none when it stopped outside a chain of pagination tokens)."""
    if 'ps' not in doc:
        return {}
    start, end, pad_lo, pad_hi = doc['ps']
    page_token = doc['t']
    if page_token is not None and (not isinstance(page_token, str) or not page_token
                                   or len(page_token) > MAX_PAGE_TOKEN):
        raise ValueError('not a page token')
    return {'page_span': (_plain_int(start), _plain_int(end), bool(pad_lo), bool(pad_hi)), 'page_token': page_token,
            'page_offset': _plain_int(doc['o'])}


def _plain_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError('not a non-negative integer')
    return value


@dataclass(frozen=True)
class LogQuery:
    """One validated query: what to ask for, over which window, from where to resume."""

    event_category: str
    now_ms: int
    events: tuple[str, ...] = ()
    agent_types: tuple[int, ...] = ()
    search: str | None = None
    age: int | None = None
    start_ms: int | None = None
    end_ms: int | None = None
    page_size: int = MAX_PAGE_SIZE
    max_results: int = 0
    resume: ResumePoint | None = None
    fingerprint: str = ''

    @property
    def window(self) -> tuple[int, int] | None:
        """The explicit window (epoch ms, both ends included), or None when the API's ``age`` decides."""
        if self.resume is not None:
            return (self.resume.start_ms + (1 if self.resume.pad_lo else 0), self.resume.end_ms)
        if self.start_ms is None or self.end_ms is None:
            return None
        return (self.start_ms, self.end_ms)


@dataclass(frozen=True)
class _Window:
    age: int | None = None
    start_ms: int | None = None
    end_ms: int | None = None


def category_value(value: Any) -> str:
    """``event_category``: one of the categories."""
    if value is None:
        raise OptionError.about('event_category', 'not given; allowed: %s' % allowed(CATEGORIES))
    if not isinstance(value, str) or value not in CATEGORIES:
        raise OptionError.about('event_category', '%s is not a category; allowed: %s'
                                % (shown(value), allowed(CATEGORIES)))
    return value


def _events(raw_events: Any, category: str) -> tuple[str, ...]:
    events: list[str] = []
    for event in event_names(raw_events):
        if not EVENTS[category]:
            raise OptionError.about('events', "%s is not allowed for event_category 'device_report' (the API applies "
                                    "no event filter to device reports); remove events" % shown(raw_events))
        if not isinstance(event, str) or event not in EVENTS[category]:
            raise OptionError.about('events', '%s is not an event of category %r; allowed: %s'
                                    % (shown(event), category, ', '.join(EVENTS[category])))
        if event not in events:
            events.append(event)
    return tuple(events)


def _agent_types(raw_agents: Any, category: str) -> tuple[int, ...]:
    agent_types = agent_types_value(raw_agents)
    if agent_types and category not in AGENT_TYPE_CATEGORIES:
        raise OptionError.about('agent_types', "%s is only allowed for event_category 'device', not %r"
                                % (shown(raw_agents), category))
    return tuple(agent_types)


def _search(raw_search: Any, category: str) -> str | None:
    search = str_value('search', raw_search)
    if search is not None and category not in SEARCH_CATEGORIES:
        raise OptionError.about('search', '%s is only allowed for event_category %s, not %r'
                                % (shown(search), allowed(SEARCH_CATEGORIES), category))
    return search


def _age(raw_age: Any, start_raw: Any, end_raw: Any) -> int | None:
    if raw_age is None:
        return None
    age = int_value('age', raw_age, 1, MAX_AGE, ' seconds')
    if start_raw is not None or end_raw is not None:
        raise OptionError.about('age', '%s cannot be combined with start_time or end_time; use age for a window that '
                                'ends now, or start_time and end_time' % shown(raw_age))
    return age


def _time_window(raw_age: Any, start_raw: Any, end_raw: Any, now_ms: int) -> _Window:
    """``age``, or the explicit window of ``start_time``/``end_time`` (epoch ms), or neither (the API's default)."""
    age = _age(raw_age, start_raw, end_raw)
    if start_raw is None and end_raw is None:
        return _Window(age=age)
    end_ms = now_ms if end_raw is None else parse_time_option(end_raw, now_ms, 'end_time')
    if start_raw is None:
        start_ms = max(end_ms - API_DEFAULT_AGE * 1000, 0)
    else:
        start_ms = parse_time_option(start_raw, now_ms, 'start_time')
    if start_ms > end_ms:
        raise OptionError.about('start_time', '%s (%d) is later than end_time %s (%d); start_time must not be later '
                                'than end_time' % (shown(start_raw), start_ms,
                                                   "'now'" if end_raw is None else shown(end_raw), end_ms))
    return _Window(age=age, start_ms=start_ms, end_ms=end_ms)


def _paging(options: Options) -> tuple[int, int]:
    """``page_size`` and ``max_results``, with their defaults when not given."""
    page_size = options.get('page_size')
    max_results = options.get('max_results')
    return (int_value('page_size', MAX_PAGE_SIZE if page_size is None else page_size, 1, MAX_PAGE_SIZE),
            int_value('max_results', 0 if max_results is None else max_results, 0, None, ' (0: no cap)'))


def _fingerprint(category: str, events: tuple[str, ...], agent_types: tuple[int, ...], search: str | None,
                 age: int | None, start_raw: Any, end_raw: Any) -> str:
    def raw(value: Any) -> Any:
        return None if value is None else str(value).strip().lower()
    doc = [category, sorted(events), sorted(agent_types), search, age, raw(start_raw), raw(end_raw)]
    return hashlib.sha256(json.dumps(doc).encode('utf-8')).hexdigest()[:16]


def _resume(raw_token: Any, fingerprint: str) -> ResumePoint | None:
    token = str_value('token', raw_token)
    return ResumePoint.decode(token.strip(), fingerprint) if token else None


def build_query(options: Options, now_ms: int, event_category: str | None = None) -> LogQuery:
    """Validate the query options (``event_category`` from the options unless given) into a LogQuery."""
    category = category_value(options.get('event_category') if event_category is None else event_category)
    events = _events(options.get('events'), category)
    agent_types = _agent_types(options.get('agent_types'), category)
    search = _search(options.get('search'), category)
    start_raw, end_raw = options.get('start_time'), options.get('end_time')
    window = _time_window(options.get('age'), start_raw, end_raw, now_ms)
    page_size, max_results = _paging(options)
    fingerprint = _fingerprint(category, events, agent_types, search, window.age, start_raw, end_raw)
    return LogQuery(event_category=category, now_ms=now_ms, events=events, agent_types=agent_types, search=search,
                    age=window.age, start_ms=window.start_ms, end_ms=window.end_ms, page_size=page_size,
                    max_results=max_results, resume=_resume(options.get('token'), fingerprint),
                    fingerprint=fingerprint)
