# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Options of the module and the lookup, read once and validated once; for internal collection use only.

``CONNECTION_OPTIONS`` and ``QUERY_OPTIONS`` are the single source of truth: the module's argument spec is built
from them and a unit test holds the (static) doc fragments to them. ``OptionAdapter`` reads them from
``module.params`` or a plugin's ``get_option``; ``connection_settings`` and ``build_query`` validate everything
before the first request.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import urlsplit

from ansible.module_utils.basic import env_fallback
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.opswat.itot.plugins.module_utils._errors import OptionError
from ansible_collections.opswat.itot.plugins.module_utils._timeparse import parse_time_option
from ansible_collections.opswat.itot.plugins.module_utils._vocabulary import (
    AGENT_TYPES,
    API_DEFAULT_AGE,
    CATEGORIES,
    DAY_SECONDS,
    DEFAULT_BASE_URL,
    EVENTS,
    MAX_AGE,
    MAX_PAGE_SIZE,
    MAX_WINDOW_RANGE,
    SEARCH_CATEGORIES,
    TOKEN_LOCATIONS,
    allowed,
)

# Connection options: type, default, no_log, and where a lookup (and, for env, the module) also reads them.
CONNECTION_OPTIONS: dict[str, dict[str, Any]] = {
    'base_url': {'type': 'str', 'default': DEFAULT_BASE_URL,
                 'env': 'ITOT_BASE_URL', 'var': 'itot_base_url', 'ini': 'base_url'},
    'access_token': {'type': 'str', 'no_log': True,
                     'env': 'ITOT_ACCESS_TOKEN', 'var': 'itot_access_token', 'ini': 'access_token'},
    'client_id': {'type': 'str',
                  'env': 'ITOT_CLIENT_ID', 'var': 'itot_client_id', 'ini': 'client_id'},
    'client_secret': {'type': 'str', 'no_log': True,
                      'env': 'ITOT_CLIENT_SECRET', 'var': 'itot_client_secret', 'ini': 'client_secret'},
    'validate_certs': {'type': 'bool', 'default': True, 'env': 'ITOT_VALIDATE_CERTS', 'var': 'itot_validate_certs'},
    'ca_path': {'type': 'path', 'env': 'ITOT_CA_PATH', 'var': 'itot_ca_path'},
    'timeout': {'type': 'float', 'default': 30, 'var': 'itot_timeout'},
    'max_retries': {'type': 'int', 'default': 5, 'var': 'itot_max_retries'},
    'rate_limit': {'type': 'int', 'default': 10, 'env': 'ITOT_RATE_LIMIT', 'var': 'itot_rate_limit'},
    'rate_window': {'type': 'float', 'default': 60, 'env': 'ITOT_RATE_WINDOW', 'var': 'itot_rate_window'},
    'access_token_location': {'type': 'str', 'default': 'query', 'choices': list(TOKEN_LOCATIONS),
                              'env': 'ITOT_ACCESS_TOKEN_LOCATION', 'var': 'itot_access_token_location',
                              'ini': 'access_token_location'},
    'max_window': {'type': 'int', 'default': DAY_SECONDS,
                   'env': 'ITOT_MAX_WINDOW', 'var': 'itot_max_window', 'ini': 'max_window'},
}

# The itot_* variables the lookup reads, by the option each one sets: the log_archive role forwards every one of
# them to the module (the itot_connection_args filter) and checks them (log_archive_problems) from this mapping.
CONNECTION_VARIABLES: dict[str, str] = {option['var']: name for name, option in CONNECTION_OPTIONS.items()
                                        if 'var' in option}

# Query options shared by the module and the lookup (the query doc fragment).
QUERY_OPTIONS: dict[str, dict[str, Any]] = {
    'events': {'type': 'list', 'elements': 'str'},
    'agent_types': {'type': 'list', 'elements': 'int'},
    'search': {'type': 'str'},
    'age': {'type': 'int'},
    'start_time': {'type': 'raw'},
    'end_time': {'type': 'raw'},
    'page_size': {'type': 'int', 'default': 100},
    'max_results': {'type': 'int', 'default': 0},
}

# Query options of the module only: the lookup takes categories as terms and has no resume token.
MODULE_QUERY_OPTIONS: dict[str, dict[str, Any]] = {
    'event_category': {'type': 'str', 'required': True, 'choices': list(CATEGORIES)},
    'token': {'type': 'str', 'no_log': False},
}

LOOKUP_OPTION_NAMES = tuple(CONNECTION_OPTIONS) + tuple(QUERY_OPTIONS)


def module_argument_spec() -> dict[str, dict[str, Any]]:
    """The module's argument spec, from the option tables (env variables as ``env_fallback``)."""
    spec: dict[str, dict[str, Any]] = {}
    for table in (CONNECTION_OPTIONS, QUERY_OPTIONS, MODULE_QUERY_OPTIONS):
        for name, option in table.items():
            entry = {key: option[key] for key in ('type', 'elements', 'default', 'no_log', 'required', 'choices')
                     if key in option}
            if 'env' in option:
                entry['fallback'] = (env_fallback, [option['env']])
            spec[name] = entry
    return spec


class OptionAdapter:
    """Reads options by name from a module, a plugin or a dict; unknown names read as None."""

    def __init__(self, getter: Callable[[str], Any]) -> None:
        self._getter = getter

    @classmethod
    def from_module(cls, module: Any) -> OptionAdapter:
        return cls(module.params.get)

    @classmethod
    def from_plugin(cls, plugin: Any, names: tuple[str, ...] = LOOKUP_OPTION_NAMES) -> OptionAdapter:
        return cls(lambda name: plugin.get_option(name) if name in names else None)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> OptionAdapter:
        """Options from a plain dict, defaults from the tables (for callers without Ansible's option handling)."""
        defaults = {}
        for table in (CONNECTION_OPTIONS, QUERY_OPTIONS, MODULE_QUERY_OPTIONS):
            defaults.update((name, option.get('default')) for name, option in table.items())
        return cls(lambda name: values.get(name, defaults.get(name)))

    def get(self, name: str) -> Any:
        return self._getter(name)


@dataclass(frozen=True)
class ConnectionSettings:
    base_url: str
    access_token: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    validate_certs: bool = True
    ca_path: str | None = None
    timeout: float = 30.0
    max_retries: int = 5
    rate_limit: int = 10
    rate_window: float = 60.0
    access_token_location: str = 'query'
    max_window: int = DAY_SECONDS

    @property
    def verify(self) -> Any:
        """requests' ``verify``: False, True or the CA bundle."""
        if not self.validate_certs:
            return False
        return self.ca_path or True

    @property
    def has_client_credentials(self) -> bool:
        return bool(self.client_id and self.client_secret)


@dataclass(frozen=True)
class ResumePoint:
    """Where a walk stopped: the rest of the window, and which entries of its first slice were returned.

    ``start_ms``/``pad_lo`` is the first slice to read (as the walk that stopped would have read it), ``end_ms`` the
    window's end. In that slice the entries before ``after_us`` and the first ``same`` entries at exactly
    ``after_us`` were returned already; with ``all_parsed`` every entry with a time was, and ``unparsed`` entries
    without one.
    """

    start_ms: int
    end_ms: int
    pad_lo: bool = False
    after_us: int | None = None
    same: int = 0
    all_parsed: bool = False
    unparsed: int = 0

    def encode(self, fingerprint: str) -> str:
        doc = {'f': fingerprint, 's': self.start_ms, 'e': self.end_ms, 'p': int(self.pad_lo), 'a': self.after_us,
               'n': self.same, 'x': int(self.all_parsed), 'u': self.unparsed}
        raw = json.dumps(doc, separators=(',', ':'), sort_keys=True).encode('utf-8')
        return TOKEN_PREFIX + base64.urlsafe_b64encode(raw).decode('ascii').rstrip('=')

    @classmethod
    def decode(cls, token: str, fingerprint: str) -> ResumePoint:
        bad = OptionError("token: %s is not a next_token returned by opswat.itot.itot_logs_info; pass the next_token "
                          "of an earlier run unchanged" % _shown(token))
        if not isinstance(token, str) or not token.startswith(TOKEN_PREFIX):
            raise bad
        body = token[len(TOKEN_PREFIX):]
        try:
            doc = json.loads(base64.urlsafe_b64decode(body + '=' * (-len(body) % 4)).decode('utf-8'))
            point = cls(start_ms=_plain_int(doc['s']), end_ms=_plain_int(doc['e']), pad_lo=bool(doc['p']),
                        after_us=None if doc['a'] is None else _plain_int(doc['a']), same=_plain_int(doc['n']),
                        all_parsed=bool(doc['x']), unparsed=_plain_int(doc['u']))
            issued_for = doc['f']
        except (ValueError, TypeError, KeyError, binascii.Error, UnicodeDecodeError):
            raise bad from None
        if issued_for != fingerprint:
            raise OptionError('token: %s was returned for a different query; pass the same event_category, events, '
                              'agent_types, search, age, start_time and end_time as the run that returned it'
                              % _shown(token))
        return point


TOKEN_PREFIX = 'itot1.'
SECRET_OPTIONS = ('access_token', 'client_secret')
_SHOWN_MAX = 200


def _shown(value: Any) -> str:
    """A value as messages show it: its repr, shortened when long."""
    text = repr(value)
    return text if len(text) <= _SHOWN_MAX else text[:_SHOWN_MAX] + '...'


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


_INT_TEXT = re.compile(r'^\s*[-+]?[0-9]+\s*$')
RATE_UNIT = ' requests per minute (0 turns pacing off)'
CA_PATH_ALLOWED = 'a CA bundle file or a directory of CA certificates'


def _int_option(name: str, value: Any, low: int, high: int | None = None, unit: str = '') -> int:
    allowed = '%d to %d%s' % (low, high, unit) if high is not None else 'an integer of at least %d%s' % (low, unit)
    number = value
    if isinstance(number, str) and _INT_TEXT.match(number):
        number = int(number)
    if isinstance(number, float) and number.is_integer():
        number = int(number)
    if isinstance(number, bool) or not isinstance(number, int):
        raise OptionError('%s: %s is not an integer; allowed: %s' % (name, _shown(value), allowed))
    if number < low or (high is not None and number > high):
        raise OptionError('%s: %s is out of range; allowed: %s' % (name, _shown(value), allowed))
    return number


def _bool_option(name: str, value: Any, default: bool) -> bool:
    if value is None:
        return default
    try:
        return boolean(value, strict=True)
    except TypeError:
        raise OptionError('%s: %s is not a boolean; allowed: true or false' % (name, _shown(value))) from None


def _seconds_option(name: str, value: Any, default: float) -> float:
    allowed = 'seconds, more than 0 and at most 3600'
    if value is None:
        return default
    try:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError(value)
        seconds = float(value)
    except ValueError:
        raise OptionError('%s: %s is not a number; allowed: %s' % (name, _shown(value), allowed)) from None
    if not 0 < seconds <= 3600:  # NaN fails too
        raise OptionError('%s: %s is out of range; allowed: %s' % (name, _shown(value), allowed))
    return seconds


def _timeout_option(value: Any) -> float:
    return _seconds_option('timeout', value, 30.0)


def _rate_window_option(value: Any) -> float:
    return _seconds_option('rate_window', value, 60.0)


def _ca_path_option(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise OptionError('ca_path: %s is not a path; allowed: %s' % (_shown(value), CA_PATH_ALLOWED))
    path = os.path.expanduser(value)
    if not os.path.exists(path):
        raise OptionError('ca_path: %s does not exist; allowed: %s' % (_shown(path), CA_PATH_ALLOWED))
    return path


def _choice_option(name: str, value: Any, allowed: tuple[str, ...], default: str) -> str:
    if value is None:
        return default
    if value not in allowed:
        raise OptionError('%s: %s is not allowed; allowed: %s' % (name, _shown(value), ', '.join(allowed)))
    return value


def _token_location_option(value: Any) -> str:
    return _choice_option('access_token_location', value, TOKEN_LOCATIONS, 'query')


def _max_window_option(value: Any) -> int:
    low, high = MAX_WINDOW_RANGE
    return _int_option('max_window', _default(value, DAY_SECONDS), low, high,
                       ' seconds (86400 = 24 h, the default; 2592000 = 30 days)')


def _str_option(name: str, value: Any) -> str | None:
    """A string option; blank reads as not given. Secrets are never shown."""
    if value is None:
        return None
    if not isinstance(value, str):
        shown = 'a value of type %s' % type(value).__name__ if name in SECRET_OPTIONS else _shown(value)
        raise OptionError('%s: %s is not a string' % (name, shown))
    return value if value.strip() else None


def _list_option(name: str, value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str):
        return [item.strip() for item in value.split(',') if item.strip()]
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, (int, float)):  # one value, as Ansible's list type reads it
        return [value]
    raise OptionError('%s: %s is not a list' % (name, _shown(value)))


def event_names(value: Any) -> list[Any]:
    """``events`` as a list of names, read the same way by the module, the lookup and the role's check.

    A string is split on commas; blanks around every name are dropped, whether the names came as a string or as a
    list (Ansible's list type splits ``'login, failed_auth'`` without stripping, its lookup options strip). An empty
    name is kept, and refused by ``build_query`` as not an event.
    """
    if value is None:
        return []
    if isinstance(value, str):
        return [item.strip() for item in value.split(',')]
    if isinstance(value, (list, tuple)):
        return [item.strip() if isinstance(item, str) else item for item in value]
    if isinstance(value, (int, float)) and not isinstance(value, bool):  # one value, as Ansible's list type reads it
        return [value]
    raise OptionError('events: %s is not a list' % _shown(value))


def _agent_types_option(value: Any) -> list[int]:
    allowed = ', '.join('%d (%s)' % item for item in AGENT_TYPES.items())
    agent_types: list[int] = []
    for raw_agent in _list_option('agent_types', value):
        agent = raw_agent
        if isinstance(agent, str) and agent.strip().isdigit():
            agent = int(agent)
        if isinstance(agent, bool) or not isinstance(agent, int) or agent not in AGENT_TYPES:
            raise OptionError('agent_types: %s is not an agent type; allowed: %s' % (_shown(raw_agent), allowed))
        if agent not in agent_types:
            agent_types.append(agent)
    return agent_types


def validate_base_url(value: Any) -> str:
    """``base_url`` without its trailing slash; scheme http(s), a host, and nothing else."""
    allowed = 'http:// or https:// followed by a host name and an optional port, e.g. %s' % DEFAULT_BASE_URL
    if not isinstance(value, str) or not value.strip():
        raise OptionError('base_url: %s is not a URL; allowed: %s' % (_shown(value), allowed))
    text = value.strip()
    try:
        parts = urlsplit(text)
        port = parts.port  # raises ValueError on a bad port
    except ValueError:
        raise OptionError('base_url: %s is not a URL; allowed: %s' % (_shown(text), allowed)) from None
    problem = None
    if parts.scheme.lower() not in ('http', 'https'):
        problem = 'the scheme must be http or https'
    elif not parts.hostname:
        problem = 'it has no host'
    elif parts.username is not None or parts.password is not None:
        problem = 'it must not contain credentials'
    elif parts.path not in ('', '/'):
        problem = 'it must not have a path (the client adds /o/api/v3.3/logs)'
    elif parts.query or parts.fragment or text.endswith(('?', '#')):
        problem = 'it must not have a query or a fragment'
    if problem:
        # Never echo a URL that carries credentials.
        shown = '<redacted>' if '@' in parts.netloc else _shown(text)
        raise OptionError('base_url: %s is not allowed: %s; allowed: %s' % (shown, problem, allowed))
    netloc = parts.hostname if ':' not in parts.hostname else '[%s]' % parts.hostname
    if port is not None:
        netloc += ':%d' % port
    return '%s://%s' % (parts.scheme.lower(), netloc)


# The checks of single values that need no other option, by option name (see check_values).
_VALUE_CHECKS: dict[str, Callable[[Any], Any]] = {
    'base_url': validate_base_url,
    'validate_certs': lambda value: _bool_option('validate_certs', value, True),
    'ca_path': _ca_path_option,
    'timeout': _timeout_option,
    'max_retries': lambda value: _int_option('max_retries', value, 0, 100),
    'rate_limit': lambda value: _int_option('rate_limit', value, 0, None, RATE_UNIT),
    'rate_window': _rate_window_option,
    'access_token_location': _token_location_option,
    'max_window': _max_window_option,
    'events': lambda value: _list_option('events', value),
    'agent_types': _agent_types_option,
    'age': lambda value: _int_option('age', value, 1, MAX_AGE, ' seconds'),
    'page_size': lambda value: _int_option('page_size', value, 1, MAX_PAGE_SIZE),
    'max_results': lambda value: _int_option('max_results', value, 0, None, ' (0: no cap)'),
}


def int_value(name: str, value: Any, low: int, high: int | None = None, unit: str = '') -> int:
    """An integer option (a digit string too) within [low, high]; OptionError naming it, the value and the range."""
    return _int_option(name, value, low, high, unit)


def seconds_value(name: str, value: Any) -> float:
    """A duration option in seconds, more than 0 and at most 3600 (a numeric string too)."""
    return _seconds_option(name, value, 0.0)


def bool_value(name: str, value: Any) -> bool:
    """A boolean option, strictly (``maybe`` is an error, not false)."""
    return _bool_option(name, value, False)


def shown(value: Any) -> str:
    """A value as the collection's messages show it."""
    return _shown(value)


def check_values(values: dict[str, Any]) -> None:
    """Check raw option values (as given, before any type conversion) one by one; OptionError for the first bad one.

    For callers whose own conversion is looser or says less: Ansible's config reads ``validate_certs: maybe`` as
    false, and its type errors do not say what is allowed. Options without a single-value check, and None, pass.
    """
    for name, value in values.items():
        check = _VALUE_CHECKS.get(name)
        if check is not None and value is not None:
            check(value)


def first_problem(values: dict[str, Any], now_ms: int) -> str | None:
    """This collection's message for the first invalid option among ``values`` (module params), or None."""
    options = OptionAdapter.from_dict(values)
    try:
        connection_settings(options)
        build_query(options, now_ms)
    except OptionError as exc:
        return exc.message
    return None


def connection_settings(options: OptionAdapter) -> ConnectionSettings:
    """Validated connection options."""
    raw_url = options.get('base_url')
    base_url = validate_base_url(DEFAULT_BASE_URL if raw_url is None else raw_url)
    token = _str_option('access_token', options.get('access_token'))
    client_id = _str_option('client_id', options.get('client_id'))
    client_secret = _str_option('client_secret', options.get('client_secret'))
    if client_id and not client_secret:
        raise OptionError('client_id: %s given without client_secret; client_id and client_secret must be given '
                          'together' % _shown(client_id))
    if client_secret and not client_id:
        raise OptionError('client_secret: given (value not shown) without client_id; client_id and client_secret '
                          'must be given together')
    if not token and not client_id:
        raise OptionError('access_token: not given or empty; set access_token, or client_id and client_secret '
                          '(options, or the ITOT_ACCESS_TOKEN, ITOT_CLIENT_ID and ITOT_CLIENT_SECRET environment '
                          'variables)')
    validate_certs = _bool_option('validate_certs', options.get('validate_certs'), True)
    ca_path = _ca_path_option(options.get('ca_path'))
    timeout = _timeout_option(options.get('timeout'))
    max_retries = _int_option('max_retries', _default(options.get('max_retries'), 5), 0, 100)
    rate_limit = _int_option('rate_limit', _default(options.get('rate_limit'), 10), 0, None, RATE_UNIT)
    rate_window = _rate_window_option(options.get('rate_window'))
    token_location = _token_location_option(options.get('access_token_location'))
    max_window = _max_window_option(options.get('max_window'))
    return ConnectionSettings(base_url=base_url, access_token=token, client_id=client_id, client_secret=client_secret,
                              validate_certs=validate_certs, ca_path=ca_path, timeout=timeout,
                              max_retries=max_retries, rate_limit=rate_limit, rate_window=rate_window,
                              access_token_location=token_location, max_window=max_window)


def _default(value: Any, default: Any) -> Any:
    return default if value is None else value


def _fingerprint(category: str, events: tuple[str, ...], agent_types: tuple[int, ...], search: str | None,
                 age: int | None, start_raw: Any, end_raw: Any) -> str:
    def raw(value: Any) -> Any:
        return None if value is None else str(value).strip().lower()
    doc = [category, sorted(events), sorted(agent_types), search, age, raw(start_raw), raw(end_raw)]
    return hashlib.sha256(json.dumps(doc).encode('utf-8')).hexdigest()[:16]


def build_query(options: OptionAdapter, now_ms: int, event_category: str | None = None) -> LogQuery:
    """Validate the query options (``event_category`` from the options unless given) into a LogQuery."""
    category = options.get('event_category') if event_category is None else event_category
    if category is None:
        raise OptionError('event_category: not given; allowed: %s' % allowed(CATEGORIES))
    if not isinstance(category, str) or category not in CATEGORIES:
        raise OptionError('event_category: %s is not a category; allowed: %s' % (_shown(category), allowed(CATEGORIES)))

    raw_events = options.get('events')
    events: list[str] = []
    for event in event_names(raw_events):
        if not EVENTS[category]:
            raise OptionError("events: %s is not allowed for event_category 'device_report' (the API applies no event "
                              "filter to device reports); remove events" % _shown(raw_events))
        if not isinstance(event, str) or event not in EVENTS[category]:
            raise OptionError('events: %s is not an event of category %r; allowed: %s'
                              % (_shown(event), category, ', '.join(EVENTS[category])))
        if event not in events:
            events.append(event)

    raw_agents = options.get('agent_types')
    agent_types = _agent_types_option(raw_agents)
    if agent_types and category != 'device':
        raise OptionError("agent_types: %s is only allowed for event_category 'device', not %r"
                          % (_shown(raw_agents), category))

    search = _str_option('search', options.get('search'))
    if search is not None and category not in SEARCH_CATEGORIES:
        raise OptionError('search: %s is only allowed for event_category %s, not %r'
                          % (_shown(search), allowed(SEARCH_CATEGORIES), category))

    raw_age = options.get('age')
    start_raw = options.get('start_time')
    end_raw = options.get('end_time')
    age = None
    if raw_age is not None:
        age = _int_option('age', raw_age, 1, MAX_AGE, ' seconds')
        if start_raw is not None or end_raw is not None:
            raise OptionError('age: %s cannot be combined with start_time or end_time; use age for a window that '
                              'ends now, or start_time and end_time' % _shown(raw_age))
    start_ms = end_ms = None
    if start_raw is not None or end_raw is not None:
        end_ms = now_ms if end_raw is None else parse_time_option(end_raw, now_ms, 'end_time')
        if start_raw is None:
            start_ms = max(end_ms - API_DEFAULT_AGE * 1000, 0)
        else:
            start_ms = parse_time_option(start_raw, now_ms, 'start_time')
        if start_ms > end_ms:
            raise OptionError('start_time: %s (%d) is later than end_time %s (%d); start_time must not be later '
                              'than end_time' % (_shown(start_raw), start_ms,
                                                 "'now'" if end_raw is None else _shown(end_raw), end_ms))

    page_size = _int_option('page_size', _default(options.get('page_size'), MAX_PAGE_SIZE), 1, MAX_PAGE_SIZE)
    max_results = _int_option('max_results', _default(options.get('max_results'), 0), 0, None, ' (0: no cap)')

    fingerprint = _fingerprint(category, tuple(events), tuple(agent_types), search, age, start_raw, end_raw)
    token = _str_option('token', options.get('token'))
    resume = ResumePoint.decode(token.strip(), fingerprint) if token else None

    return LogQuery(event_category=category, now_ms=now_ms, events=tuple(events), agent_types=tuple(agent_types),
                    search=search, age=age, start_ms=start_ms, end_ms=end_ms, page_size=page_size,
                    max_results=max_results, resume=resume, fingerprint=fingerprint)
