# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""New entries as they arrive, each once: the polling behind the Event-Driven Ansible source; for internal
collection use only.

``poll_settings(args, environ, now_ms)`` checks every argument of the source (``opswat.itot.itot_logs`` in a
rulebook) before any request. ``Poller.poll()`` reads each category from its cursor (``overlap`` seconds back) to
now through the collection's one client (its pacing ledger, retries, paging and scrubbing) and returns the events
not returned before, oldest first. Entries are told apart by the archive's identity (``entry_identity``), counted
so that two identical entries (two real events) are both returned once. ``Poller.save()`` writes the cursors to
``state_file`` atomically, so that a restart returns nothing twice and misses nothing.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Callable

from ansible_collections.opswat.itot.plugins.module_utils._archive_fs import atomic_write, read_bytes
from ansible_collections.opswat.itot.plugins.module_utils._checks import absolute_path_problem, int_value, shown
from ansible_collections.opswat.itot.plugins.module_utils._client import LogsClient
from ansible_collections.opswat.itot.plugins.module_utils._entries import entry_identity, entry_time, entry_time_ms, sort_key
from ansible_collections.opswat.itot.plugins.module_utils._errors import ItotError, OptionError
from ansible_collections.opswat.itot.plugins.module_utils._options import (
    CONNECTION_OPTIONS,
    ConnectionSettings,
    OptionAdapter,
    connection_settings,
    filters_problems,
)
from ansible_collections.opswat.itot.plugins.module_utils._query import build_query
from ansible_collections.opswat.itot.plugins.module_utils._tenant import (
    ENVIRONMENT,
    derived_name,
    tenant_identity,
    tenant_name_value,
)
from ansible_collections.opswat.itot.plugins.module_utils._timeparse import TIME_FORMS, parse_time_option
from ansible_collections.opswat.itot.plugins.module_utils._vocabulary import CATEGORIES, DAY_SECONDS, allowed

# The source's own arguments, besides the connection options.
SOURCE_OPTIONS = ('categories', 'filters', 'interval', 'start', 'overlap', 'state_file', 'tenant')
SOURCE_ARGUMENTS = tuple(CONNECTION_OPTIONS) + SOURCE_OPTIONS
DEFAULT_OVERLAP = 60
# Without pacing (rate_limit 0) the budget sets no bound: a floor against a busy loop, and a calm default.
UNPACED_LEAST_INTERVAL = 0.1
UNPACED_DEFAULT_INTERVAL = 10.0
MAX_INTERVAL = float(DAY_SECONDS)
STATE_FORMAT = 'opswat.itot.itot_logs/1'


@dataclass(frozen=True)
class PollSettings:
    """The source's checked arguments."""

    connection: ConnectionSettings
    categories: tuple[str, ...]
    filters: dict[str, dict[str, Any]]
    interval: float
    start_ms: int
    overlap_ms: int
    state_file: str | None
    tenant: str
    identity: str


def least_interval(categories: int, settings: ConnectionSettings) -> float:
    """The shortest interval at which one request per category per poll stays within rate_limit per rate_window."""
    if settings.rate_limit == 0:
        return UNPACED_LEAST_INTERVAL
    return categories * settings.rate_window / settings.rate_limit


def default_interval(categories: int, settings: ConnectionSettings) -> float:
    """Twice the least: polling takes at most half the budget, the rest is left to playbooks of the same tenant."""
    if settings.rate_limit == 0:
        return UNPACED_DEFAULT_INTERVAL
    return 2 * least_interval(categories, settings)


def _connection(args: Mapping[str, Any], environ: Mapping[str, str]) -> ConnectionSettings:
    """The connection options: the arguments, else their ITOT_* environment variables, else the defaults."""
    values = {name: environ[variable] for name, variable in ENVIRONMENT.items() if environ.get(variable)}
    values.update((name, args[name]) for name in CONNECTION_OPTIONS if args.get(name) is not None)
    return connection_settings(OptionAdapter.from_dict(values))


def _categories(value: Any) -> tuple[str, ...]:
    listed = 'a list of %s' % allowed(CATEGORIES)
    if value is None:
        raise OptionError.about('categories', 'not given; allowed: %s' % listed)
    items = [item.strip() for item in value.split(',')] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not items:
        raise OptionError.about('categories', '%s is not a list of categories; allowed: %s' % (shown(value), listed))
    for category in items:
        if category not in CATEGORIES:
            raise OptionError.about('categories', '%s is not an event category; allowed: %s' % (shown(category), listed))
    return tuple(dict.fromkeys(items))


def _filters(value: Any, categories: tuple[str, ...], now_ms: int) -> dict[str, dict[str, Any]]:
    if value is None:
        return {}
    problems = filters_problems('filters', value, now_ms)
    if problems:
        raise OptionError(problems[0])
    for category in value:
        if category not in categories:
            raise OptionError.about('filters', '%s has filters but is not polled; allowed: the categories given (%s)'
                                    % (shown(category), ', '.join(categories)))
    return {category: dict(spec) for category, spec in value.items() if spec}


def _interval(value: Any, categories: tuple[str, ...], settings: ConnectionSettings) -> float:
    least = least_interval(len(categories), settings)
    if value is None:
        return default_interval(len(categories), settings)
    number = None if isinstance(value, bool) else _number(value)
    if number is None or not least <= number <= MAX_INTERVAL:
        budget = ('rate_limit %d per rate_window %g s' % (settings.rate_limit, settings.rate_window)
                  if settings.rate_limit else 'no rate_limit')
        raise OptionError.about('interval', '%s is not allowed; polling %d categor%s with %s allows seconds from %g '
                                'to %d' % (shown(value), len(categories), 'y' if len(categories) == 1 else 'ies',
                                           budget, least, MAX_INTERVAL))
    return number


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _start(value: Any, now_ms: int) -> int:
    if value is None:
        return now_ms
    start_ms = parse_time_option(value, now_ms, 'start')
    if start_ms > now_ms:
        raise OptionError.about('start', '%s is in the future; allowed: a time not later than now, %s'
                                % (shown(value), TIME_FORMS))
    return start_ms


def _state_file(value: Any) -> str | None:
    if value is None:
        return None
    if absolute_path_problem(value) is not None:
        raise OptionError.about('state_file', "%s is not an absolute path without '..' components" % shown(value))
    if not os.path.isdir(os.path.dirname(value)):
        raise OptionError.about('state_file', '%s: its folder does not exist' % shown(value))
    return value


def poll_settings(args: Mapping[str, Any], environ: Mapping[str, str], now_ms: int) -> PollSettings:
    """Every argument checked, in a fixed order; OptionError naming the first bad one (no request is sent)."""
    if not isinstance(args, Mapping):
        raise OptionError('opswat.itot.itot_logs: the arguments are a %s, not a dict' % type(args).__name__)
    unknown = sorted((name for name in args if name not in SOURCE_ARGUMENTS), key=str)
    if unknown:
        raise OptionError('%s: not an argument of opswat.itot.itot_logs; allowed: %s'
                          % (', '.join(str(name) for name in unknown), ', '.join(sorted(SOURCE_ARGUMENTS))))
    connection = _connection(args, environ)
    categories = _categories(args.get('categories'))
    filters = _filters(args.get('filters'), categories, now_ms)
    interval = _interval(args.get('interval'), categories, connection)
    start_ms = _start(args.get('start'), now_ms)
    overlap = args.get('overlap')
    overlap_s = int_value('overlap', DEFAULT_OVERLAP if overlap is None else overlap, 0, DAY_SECONDS, ' seconds')
    state_file = _state_file(args.get('state_file'))
    identity = tenant_identity(connection)
    tenant = args.get('tenant')
    tenant = derived_name(identity) if tenant is None else tenant_name_value('tenant', tenant)
    return PollSettings(connection=connection, categories=categories, filters=filters, interval=interval,
                        start_ms=start_ms, overlap_ms=overlap_s * 1000, state_file=state_file, tenant=tenant,
                        identity=identity)


@dataclass
class Cursor:
    """Where a category's next read starts (``read_ms`` minus the overlap, not before ``since_ms``), and what of
    the overlap was returned already: ``seen`` = identity -> [entry time in ms, how many identical entries]."""

    since_ms: int
    read_ms: int
    seen: dict[str, list[int]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {'since_ms': self.since_ms, 'read_ms': self.read_ms, 'seen': self.seen}

    @classmethod
    def from_dict(cls, doc: Any) -> Cursor:
        since_ms, read_ms, seen = doc['since_ms'], doc['read_ms'], doc['seen']
        if not all(isinstance(value, int) and not isinstance(value, bool) for value in (since_ms, read_ms)):
            raise ValueError('times are not integers')
        if not isinstance(seen, dict) or not all(
                isinstance(item, list) and len(item) == 2 and all(isinstance(n, int) for n in item)
                for item in seen.values()):
            raise ValueError('seen is not a map of [time, count]')
        return cls(since_ms=since_ms, read_ms=read_ms, seen=seen)


class Poller:
    """The source's reading: one client, one cursor per category, the state file."""

    def __init__(self, settings: PollSettings, client: LogsClient, clock_ms: Callable[[], int],
                 warn: Callable[[str], None]) -> None:
        self.settings = settings
        self.client = client
        self._clock_ms = clock_ms
        self._warn = warn
        self.cursors = self._load()

    def close(self) -> None:
        self.client.close()

    def poll(self) -> list[dict[str, Any]]:
        """One read of every category: the new events, oldest first (a category that fails is read again next time)."""
        items = []
        for category in self.settings.categories:
            now_ms = self._clock_ms()
            try:
                entries = self._read(category, now_ms)
            except ItotError as exc:
                self._warn('opswat.itot.itot_logs: reading category %r of tenant %s failed; it is read again at the '
                           'next poll, nothing is lost: %s' % (category, self.settings.tenant, exc.message))
                continue
            event = {'category': category, 'tenant': self.settings.tenant}
            items.extend((entry_time(entry), dict(event, log=entry)) for entry in entries)
        items.sort(key=sort_key)
        return [{'itot': item[1]} for item in items]

    def _read(self, category: str, now_ms: int) -> list[Any]:
        cursor = self.cursors[category]
        start_ms = max(cursor.since_ms, cursor.read_ms - self.settings.overlap_ms)
        if start_ms > now_ms:  # the clock went back: nothing to read yet
            return []
        options = dict(self.settings.filters.get(category, {}), start_time=start_ms, end_time=now_ms)
        entries = self.client.fetch(build_query(OptionAdapter.from_dict(options), now_ms, category)).logs
        counts: dict[str, int] = {}
        new = []
        for entry in entries:
            identity = entry_identity(entry)
            counts[identity] = counts.get(identity, 0) + 1
            held = cursor.seen.get(identity)
            if held is None or counts[identity] > held[1]:
                when = entry_time_ms(entry)
                cursor.seen[identity] = [now_ms if when is None else when, counts[identity]]
                new.append(entry)
        cursor.read_ms = now_ms
        next_start = max(cursor.since_ms, now_ms - self.settings.overlap_ms)
        cursor.seen = {identity: held for identity, held in cursor.seen.items() if held[0] >= next_start}
        return new

    # --- the state file --------------------------------------------------------------------------------------

    def _load(self) -> dict[str, Cursor]:
        start = self.settings.start_ms
        cursors = {category: Cursor(since_ms=start, read_ms=start) for category in self.settings.categories}
        path = self.settings.state_file
        if path is None:
            return cursors
        try:
            raw = read_bytes(os.path.dirname(path), os.path.basename(path))
        except (ItotError, OSError) as exc:
            reason = exc.message if isinstance(exc, ItotError) else (exc.strerror or str(exc))
            raise OptionError.about('state_file', '%s cannot be read: %s' % (shown(path), reason)) from None
        if raw is None:
            return cursors
        try:
            doc = json.loads(raw.decode('utf-8'))
            if doc['format'] != STATE_FORMAT:
                raise ValueError('format %r' % doc['format'])
            held = {category: Cursor.from_dict(value) for category, value in doc['categories'].items()}
            tenant = doc['tenant']
        except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as exc:
            raise OptionError.about('state_file', '%s is not a state file of opswat.itot.itot_logs (%s); remove it '
                                    'to start from start' % (shown(path), exc)) from None
        if tenant != self.settings.identity:
            raise OptionError.about('state_file', '%s holds the position of another tenant; give each source its own '
                                    'state_file' % shown(path))
        cursors.update((category, cursor) for category, cursor in held.items() if category in cursors)
        return cursors

    def save(self) -> None:
        """Write the cursors to state_file (temp file, fsync, rename: never half a file, never through a link)."""
        path = self.settings.state_file
        if path is None:
            return
        doc = {'format': STATE_FORMAT, 'tenant': self.settings.identity,
               'categories': {category: cursor.as_dict() for category, cursor in self.cursors.items()}}
        data = json.dumps(doc, sort_keys=True, separators=(',', ':')).encode('utf-8')
        try:
            atomic_write(path, data, lambda _path, _is_dir: False)
        except OSError as exc:
            raise ItotError('state_file: %s cannot be written: %s' % (shown(path), exc.strerror or exc)) from None
