# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The audit's rules: declarative checks (``itot_audit_rules``) checked, then evaluated over a period's entries.

For internal collection use only.  A rule picks the entries of one category (``events``, ``match``), groups them
(``group_by``) and measures each group: ``count`` (entries, within a sliding ``window`` or over the whole period),
``count: {distinct: FIELD}`` (distinct values) or ``duration`` (how long a state lasted, from a ``from`` event to the
next ``until`` event).  A group whose measure is more than ``max`` is a violation, with the entries that make it up
(their time and where they are in the archive: file and line).  Every rule is checked before anything is read;
a message names the rule and the key.  The three thresholds of the audit (``itot_audit_max_*``) are default rules.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from typing import Any

from ansible_collections.opswat.itot.plugins.module_utils._checks import shown
from ansible_collections.opswat.itot.plugins.module_utils._entries import device_key
from ansible_collections.opswat.itot.plugins.module_utils._errors import OptionError
from ansible_collections.opswat.itot.plugins.module_utils._timeparse import MS_PER_UNIT, format_iso
from ansible_collections.opswat.itot.plugins.module_utils._vocabulary import CATEGORIES, EVENTS, FIELDS, allowed

RULE_KEYS = ('name', 'category', 'events', 'match', 'group_by', 'count', 'duration', 'window', 'max', 'severity', 'description')
SEVERITIES = ('error', 'warning')
CONDITIONS = ('equals', 'not_equals', 'in', 'not_in', 'regex', 'not_regex')
_WEEKDAYS = ('mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun')
# Fields every entry has besides its category's, derived from it: who, which device, which group, and when.
DERIVED_FIELDS = {
    'admin': 'the admin: admin_email, else admin_name',
    'device': 'the device: device_id, else device_name (as the report counts devices)',
    'group': "the device's group (device_group)",
    'weekday_time': "the entry's time as 'ddd HH:MM' in UTC, ddd one of %s (for change windows)" % ', '.join(_WEEKDAYS),
}
# What a state lasts from and until, per category, when duration gives no events (non-compliant until compliant again).
DEFAULT_STATES = {
    'device': (('noncompliant',), ('compliant',)),
    'webhook': (('status_changed_to_non_compliant',), ('status_changed_to_compliant',)),
}
_DURATION_RE = re.compile(r'^-?\s*(\d+)\s*([smhdw])$', re.IGNORECASE)
DURATION_FORMS = "a length such as 90s, 10m, 4h, 1d or 1w (a leading '-', as in -10m, is allowed), or a number of seconds"

# The audit's three thresholds, as rules: (variable, what it counts, the rule).
DEFAULT_RULES = (
    ('itot_audit_max_failed_auth', 'failed admin logins',
     {'category': 'admin', 'events': ['failed_auth'], 'count': True}),
    ('itot_audit_max_noncompliant', 'devices that went non-compliant',
     {'category': 'device', 'events': ['noncompliant'], 'count': {'distinct': 'device'}}),
    ('itot_audit_max_deleted_user', 'devices whose agent a local user removed (distinct devices with a deleted_user event)',
     {'category': 'device', 'events': ['deleted_user'], 'count': {'distinct': 'device'}}),
)
DEFAULT_NAMES = tuple(variable for variable, _what, _rule in DEFAULT_RULES)

# (time ms, entry, (archive file relative to the archive root, line)): an entry of the period and where it is.
Located = tuple


class Rule:
    """One checked rule."""

    def __init__(self, name: str, category: str) -> None:
        self.name = name
        self.category = category
        self.events: tuple[str, ...] = ()
        self.match: list[tuple[str, str, Any]] = []  # (field, condition, value or compiled pattern)
        self.group_by: str | None = None
        self.measure = 'count'  # count, distinct or duration
        self.distinct: str | None = None
        self.states: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
        self.window_ms: int | None = None
        self.window: str | None = None
        self.max = 0
        self.severity = 'error'
        self.description: str | None = None
        self.variable: str | None = None  # a default rule: the threshold variable that set it
        self.what: str | None = None


# --- checking ---------------------------------------------------------------------------------------------------

def duration_ms(where: str, value: Any) -> int:
    """A length in ms from ``10m``, ``-10m``, ``4h`` or a number of seconds; OptionError naming where otherwise."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value * 1000
    match = _DURATION_RE.match(value.strip()) if isinstance(value, str) else None
    if match is None or int(match.group(1)) == 0:
        raise OptionError('%s: %s is not a duration; allowed: %s, more than 0' % (where, shown(value), DURATION_FORMS))
    return int(match.group(1)) * MS_PER_UNIT[match.group(2).lower()]


def _fields(category: str) -> tuple[str, ...]:
    return FIELDS[category] + tuple(DERIVED_FIELDS)


def _field(where: str, category: str, value: Any) -> str:
    if value not in _fields(category):
        raise OptionError('%s: %s is not a field of %s entries; allowed: %s' % (where, shown(value), category, allowed(_fields(category))))
    return value


def _events(where: str, category: str, value: Any) -> tuple[str, ...]:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names:
        raise OptionError('%s: %s is not a list of events; allowed: a list of %s' % (where, shown(value), allowed(EVENTS[category]) or 'none'))
    for name in names:
        if name not in EVENTS[category]:
            raise OptionError('%s: %s is not an event of category %s; allowed: %s'
                              % (where, shown(name), category, allowed(EVENTS[category]) or 'none (device_report has no events)'))
    return tuple(names)


def _text_value(where: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise OptionError('%s: %s is not a text or a number' % (where, shown(value)))
    return str(value)


def _condition(where: str, name: str, value: Any) -> Any:
    if name in ('regex', 'not_regex'):
        if not isinstance(value, str):
            raise OptionError('%s: %s is not a regular expression (a string)' % (where, shown(value)))
        try:
            return re.compile(value)
        except re.error as exc:
            raise OptionError('%s: %s is not a valid regular expression: %s' % (where, shown(value), exc)) from None
    if name in ('in', 'not_in'):
        if not isinstance(value, list) or not value:
            raise OptionError('%s: %s is not a list of values' % (where, shown(value)))
        return frozenset(_text_value('%s[%d]' % (where, index), item) for index, item in enumerate(value))
    return _text_value(where, value)


def _match(where: str, category: str, value: Any) -> list[tuple[str, str, Any]]:
    if not isinstance(value, Mapping):
        raise OptionError('%s: %s is not a dict; allowed: {field: value or {%s: ...}}' % (where, shown(value), '|'.join(CONDITIONS)))
    found = []
    for field, spec in value.items():
        at = '%s.%s' % (where, field)
        _field(where, category, field)
        conditions = spec if isinstance(spec, Mapping) else {'equals': spec}
        if not conditions:
            raise OptionError('%s: an empty dict; allowed: a value, or conditions among %s' % (at, ', '.join(CONDITIONS)))
        for name, condition in conditions.items():
            if name not in CONDITIONS:
                raise OptionError('%s: %s is not a condition; allowed: %s' % (at, shown(name), ', '.join(CONDITIONS)))
            found.append((field, name, _condition('%s.%s' % (at, name), name, condition)))
    return found


def _count_measure(where: str, rule: Rule, value: Any) -> None:
    if value is True:
        return
    if isinstance(value, Mapping) and set(value) == {'distinct'}:
        rule.measure = 'distinct'
        rule.distinct = _field('%s.distinct' % where, rule.category, value['distinct'])
        return
    raise OptionError('%s: %s is not a count; allowed: true (entries) or {distinct: FIELD} (distinct values of a field)'
                      % (where, shown(value)))


def _duration_measure(where: str, rule: Rule, value: Any) -> None:
    rule.measure = 'duration'
    if value is True or value == {}:
        if rule.category not in DEFAULT_STATES:
            raise OptionError('%s: category %s has no default state; allowed: {from: [events], until: [events]}' % (where, rule.category))
        rule.states = DEFAULT_STATES[rule.category]
        return
    if not isinstance(value, Mapping) or set(value) - {'from', 'until'}:
        raise OptionError('%s: %s is not a duration; allowed: true (the category\'s non-compliant state) or {from: [events], '
                          'until: [events]}' % (where, shown(value)))
    default = DEFAULT_STATES.get(rule.category, ((), ()))
    start = _events('%s.from' % where, rule.category, value['from']) if 'from' in value else default[0]
    until = _events('%s.until' % where, rule.category, value['until']) if 'until' in value else default[1]
    if not start or not until or set(start) & set(until):
        raise OptionError('%s: %s needs from and until, each a list of events of %s, none in both' % (where, shown(value), rule.category))
    rule.states = (start, until)


def _max(where: str, rule: Rule, value: Any) -> int:
    if rule.measure == 'duration':
        return duration_ms(where, value) if value not in (0, '0') else 0
    if isinstance(value, bool) or not isinstance(value, int) and not (isinstance(value, str) and value.isdigit()):
        raise OptionError('%s: %s is not a number; allowed: an integer of at least 0' % (where, shown(value)))
    if int(value) < 0:
        raise OptionError('%s: %s is out of range; allowed: an integer of at least 0' % (where, shown(value)))
    return int(value)


def _measure(where: str, rule: Rule, spec: Mapping) -> None:
    measures = [key for key in ('count', 'duration') if key in spec]
    if len(measures) != 1:
        raise OptionError('%s: has %s; allowed: exactly one of count and duration' % (where, ' and '.join(measures) or 'neither'))
    if measures == ['count']:
        _count_measure(where + '.count', rule, spec['count'])
    else:
        _duration_measure(where + '.duration', rule, spec['duration'])
        if 'events' in spec:
            raise OptionError('%s.events: a duration rule takes its events from duration.from and duration.until' % where)
        rule.group_by = 'device'
    if 'window' in spec:
        if rule.measure != 'count':
            raise OptionError('%s.window: only a count of entries has a window (count: true)' % where)
        rule.window_ms = duration_ms(where + '.window', spec['window'])
        rule.window = str(spec['window']).lstrip('-').strip()
    if 'max' not in spec:
        raise OptionError('%s.max: missing; allowed: %s' % (where, 'a duration' if rule.measure == 'duration' else 'an integer of at least 0'))
    rule.max = _max(where + '.max', rule, spec['max'])


def _rule(option: str, index: int, spec: Any, names: set[str]) -> Rule:
    where = '%s[%d]' % (option, index)
    if not isinstance(spec, Mapping):
        raise OptionError('%s: %s is not a dict; allowed: {%s}' % (where, shown(spec), ', '.join(RULE_KEYS)))
    name = spec.get('name')
    if not isinstance(name, str) or not name.strip():
        raise OptionError('%s.name: %s is not a name; allowed: a non-empty text, each rule its own' % (where, shown(name)))
    where = '%s (rule %s)' % (where, name)
    if name in names or name in DEFAULT_NAMES:
        raise OptionError('%s.name: %s is given twice, or is the name of a default rule (%s)' % (where, shown(name), ', '.join(DEFAULT_NAMES)))
    names.add(name)
    unknown = sorted(str(key) for key in spec if key not in RULE_KEYS)
    if unknown:
        raise OptionError('%s: %s is not a key of a rule; allowed: %s' % (where, ', '.join(unknown), ', '.join(RULE_KEYS)))
    category = spec.get('category')
    if category not in CATEGORIES:
        raise OptionError('%s.category: %s is not an event category; allowed: %s' % (where, shown(category), allowed(CATEGORIES)))
    rule = Rule(name, category)
    _measure(where, rule, spec)
    _picks(where, rule, spec)
    return rule


def _picks(where: str, rule: Rule, spec: Mapping) -> None:
    """The rule's events, match, group_by, severity and description."""
    category = rule.category
    if spec.get('events') is not None:
        rule.events = _events(where + '.events', category, spec['events'])
    if spec.get('match') is not None:
        rule.match = _match(where + '.match', category, spec['match'])
    if spec.get('group_by') is not None:
        rule.group_by = _field(where + '.group_by', category, spec['group_by'])
    rule.severity = spec.get('severity', 'error')
    if rule.severity not in SEVERITIES:
        raise OptionError('%s.severity: %s is not a severity; allowed: %s' % (where, shown(rule.severity), ', '.join(SEVERITIES)))
    if spec.get('description') is not None:
        rule.description = _text_value(where + '.description', spec['description'])


def check_rules(value: Any, option: str = 'itot_audit_rules') -> list[Rule]:
    """The rules of ``value`` (a list of dicts; None or empty: none), checked; OptionError naming rule and key otherwise."""
    if value is None or value == '':
        return []
    if not isinstance(value, list):
        raise OptionError('%s: %s is not a list of rules; allowed: a list of {%s}' % (option, shown(value), ', '.join(RULE_KEYS)))
    names: set[str] = set()
    return [_rule(option, index, spec, names) for index, spec in enumerate(value)]


def default_rules(thresholds: Mapping | None, option: str = 'thresholds') -> list[Rule]:
    """The default rules of the thresholds given (``{variable: max}``; None or '' for no threshold), in DEFAULT_RULES' order."""
    thresholds = thresholds or {}
    unknown = sorted(str(key) for key in thresholds if key not in DEFAULT_NAMES)
    if unknown:
        raise OptionError('%s: %s is not a threshold; allowed: %s' % (option, ', '.join(unknown), ', '.join(DEFAULT_NAMES)))
    rules = []
    for variable, what, spec in DEFAULT_RULES:
        limit = thresholds.get(variable)
        if limit is None or limit == '':
            continue
        rule = _rule(option, len(rules), dict(spec, name='(default)', max=0), set())
        rule.name, rule.variable, rule.what = variable, variable, what
        rule.max = _max(variable, rule, limit)
        rules.append(rule)
    return rules


# --- evaluating -------------------------------------------------------------------------------------------------

def _weekday_time(moment: int) -> str:
    when = datetime.datetime(1970, 1, 1) + datetime.timedelta(milliseconds=moment)
    return '%s %02d:%02d' % (_WEEKDAYS[when.weekday()], when.hour, when.minute)


def field_value(entry: dict[str, Any], moment: int, field: str) -> str | None:
    """The text of a field of an entry (a derived one included); None when the entry lacks it."""
    if field == 'admin':
        value = entry.get('admin_email') or entry.get('admin_name')
    elif field == 'device':
        return device_key(entry)
    elif field == 'group':
        value = entry.get('device_group')
    elif field == 'weekday_time':
        return _weekday_time(moment)
    else:
        value = entry.get(field)
    return None if value is None else str(value)


def _holds(text: str | None, condition: str, value: Any) -> bool:
    if condition == 'equals':
        return text == value
    if condition == 'not_equals':
        return text != value
    if condition == 'in':
        return text in value
    if condition == 'not_in':
        return text not in value
    if condition == 'regex':
        return text is not None and value.search(text) is not None
    return text is None or value.search(text) is None  # not_regex


def _selected(rule: Rule, items: list[Located]) -> list[Located]:
    events = rule.events or (rule.states[0] + rule.states[1])
    found = []
    for item in items:
        moment, entry = item[0], item[1]
        if not isinstance(entry, dict) or (events and entry.get('event') not in events):
            continue
        if all(_holds(field_value(entry, moment, field), condition, value) for field, condition, value in rule.match):
            found.append(item)
    return found


def _groups(rule: Rule, items: list[Located]) -> dict[str | None, list[Located]]:
    groups: dict[str | None, list[Located]] = {}
    for item in items:
        key = None if rule.group_by is None else (field_value(item[1], item[0], rule.group_by) or '(none)')
        groups.setdefault(key, []).append(item)
    return groups


def _evidence(items: list[Located]) -> list[dict[str, Any]]:
    return [{'timestamp': format_iso(moment), 'file': where[0], 'line': where[1], 'event': entry.get('event')}
            for moment, entry, where in items]


def _densest(items: list[Located], window_ms: int) -> tuple[int, int]:
    """(first, last) index of the first window holding the most entries: entries less than window_ms apart."""
    best = (0, 0)
    first = 0
    for last in range(len(items)):
        while items[last][0] - items[first][0] >= window_ms:
            first += 1
        if last - first > best[1] - best[0]:
            best = (first, last)
    return best


def _count(rule: Rule, group: str | None, items: list[Located]) -> list[dict[str, Any]]:
    if rule.measure == 'distinct':
        value = len(set(field_value(entry, moment, rule.distinct or '') for moment, entry, _where in items))
        return [{'group': group, 'value': value, 'entries': items}]
    if rule.window_ms is None:
        return [{'group': group, 'value': len(items), 'entries': items}]
    first, last = _densest(items, rule.window_ms)
    return [{'group': group, 'value': last - first + 1, 'entries': items[first:last + 1],
             'window_start': format_iso(items[first][0]), 'window_end': format_iso(items[last][0])}]


def _episodes(rule: Rule, group: str | None, items: list[Located], period_end: int) -> list[dict[str, Any]]:
    """Each time the state began (a from event) and how long it lasted: to the next until event, or to the period's end."""
    found: list[dict[str, Any]] = []
    current: dict[str, Any | None] = None
    for item in items:
        event = item[1].get('event')
        if event in rule.states[0]:
            if current is None:
                current = {'group': group, 'start_ms': item[0], 'entries': []}
            current['entries'].append(item)
        elif event in rule.states[1] and current is not None:
            current['entries'].append(item)
            found.append(dict(current, end_ms=item[0], open=False))
            current = None
    if current is not None:
        found.append(dict(current, end_ms=period_end, open=True))
    for episode in found:
        episode['value'] = episode['end_ms'] - episode['start_ms']
        episode['start'] = format_iso(episode.pop('start_ms'))
        episode['end'] = format_iso(episode.pop('end_ms'))
    return found


def span_text(ms: int) -> str:
    """A length as H:MM:SS.mmm."""
    seconds, millis = divmod(ms, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return '%d:%02d:%02d.%03d' % (hours, minutes, seconds, millis)


def _measured(rule: Rule, value: int) -> str:
    if rule.measure == 'duration':
        return '%s (from %s until %s)' % (span_text(value), '/'.join(rule.states[0]), '/'.join(rule.states[1]))
    if rule.measure == 'distinct':
        return '%d distinct %s' % (value, rule.distinct)
    return '%d %s%s' % (value, 'entry' if value == 1 else 'entries', ' within %s' % rule.window if rule.window else '')


def _message(rule: Rule, violation: dict[str, Any]) -> str:
    if rule.variable is not None:  # the thresholds' own words, as before they were rules
        return '%s = %d, more than %s = %d' % (rule.what, violation['value'], rule.variable, rule.max)
    limit = span_text(rule.max) if rule.measure == 'duration' else str(rule.max)
    group = '' if violation['group'] is None else ', %s %s' % (rule.group_by, shown(violation['group']))
    return 'rule %s%s: %s, more than max %s' % (rule.name, group, _measured(rule, violation['value']), limit)


def describe(rule: Rule) -> str:
    """What a rule measures, in words."""
    events = rule.events or rule.states[0] + rule.states[1]
    picked = '%s %s' % (rule.category, '/'.join(events) if events else 'entries')
    if rule.match:
        picked += ' where ' + ' and '.join('%s %s %s' % (field, condition, getattr(value, 'pattern', sorted(value) if isinstance(value, frozenset) else value))
                                           for field, condition, value in rule.match)
    if rule.measure == 'duration':
        measure = 'time from %s until %s' % ('/'.join(rule.states[0]), '/'.join(rule.states[1]))
    elif rule.measure == 'distinct':
        measure = 'distinct %s' % rule.distinct
    else:
        measure = 'entries within %s' % rule.window if rule.window else 'entries in the period'
    return '%s of %s%s' % (measure, picked, ' per %s' % rule.group_by if rule.group_by else '')


def evaluate(rule: Rule, items: list[Located], period_end: int) -> dict[str, Any]:
    """The rule's result over the period's entries of its category (oldest first, each with its file and line)."""
    selected = _selected(rule, items)
    measured: list[dict[str, Any]] = []
    for group, members in _groups(rule, selected).items():
        measured.extend(_episodes(rule, group, members, period_end) if rule.measure == 'duration' else _count(rule, group, members))
    violations = []
    for found in measured:
        if found['value'] > rule.max:
            violation = {'group': found['group'], 'value': found['value'], 'max': rule.max}
            violation.update((key, found[key]) for key in ('window_start', 'window_end', 'start', 'end', 'open') if key in found)
            violation['message'] = _message(rule, found)
            violation['entries'] = _evidence(found['entries'])
            violations.append(violation)
    return {
        'name': rule.name, 'category': rule.category, 'severity': rule.severity, 'description': rule.description or describe(rule),
        'measure': rule.measure, 'group_by': rule.group_by, 'window': rule.window, 'max': rule.max,
        'unit': 'ms' if rule.measure == 'duration' else 'entries' if rule.measure == 'count' else rule.distinct,
        'variable': rule.variable, 'entries_checked': len(selected), 'passed': not violations, 'violations': violations,
    }


def evaluate_rules(rules: list[Rule], located: dict[str, list[Located]], period_end: int) -> list[dict[str, Any]]:
    """Every rule's result, in the rules' order; a category not read has no entries."""
    return [evaluate(rule, located.get(rule.category, []), period_end) for rule in rules]
