# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Options of the module and the lookup: their tables, the adapter that reads them, the connection settings;
for internal collection use only.

``CONNECTION_OPTIONS`` and ``QUERY_OPTIONS`` are the single source of truth: the module's argument spec is built
from them and a unit test holds the (static) doc fragments to them. Ansible only gathers the values (defaults,
environment fallbacks, no_log): an option whose value this collection checks is declared ``raw`` (or ``str``, and
without ``choices`` or ``required``), so that it reaches the collection's own check as given and the user reads
that check's message, which names the option, shows the value and says what is allowed. ``OptionAdapter`` reads
the options from ``module.params`` or a plugin's ``get_option``; ``connection_settings`` here and ``build_query``
(in ``_query``) validate everything before the first request, with the checks of ``_checks``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Callable

from ansible.module_utils.basic import env_fallback

from ansible_collections.opswat.itot.plugins.module_utils._checks import (
    RATE_UNIT,
    agent_types_value,
    base_url_value,
    bool_value,
    ca_path_value,
    choice_value,
    int_value,
    list_value,
    seconds_value,
    shown,
    str_value,
)
from ansible_collections.opswat.itot.plugins.module_utils._errors import OptionError
from ansible_collections.opswat.itot.plugins.module_utils._query import (
    build_query,
)
from ansible_collections.opswat.itot.plugins.module_utils._vocabulary import (
    CATEGORIES,
    DAY_SECONDS,
    DEFAULT_BASE_URL,
    MAX_AGE,
    MAX_PAGE_SIZE,
    MAX_WINDOW_RANGE,
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
    'validate_certs': {'type': 'raw', 'default': True, 'env': 'ITOT_VALIDATE_CERTS', 'var': 'itot_validate_certs'},
    'ca_path': {'type': 'str', 'env': 'ITOT_CA_PATH', 'var': 'itot_ca_path'},
    'timeout': {'type': 'raw', 'default': 30, 'var': 'itot_timeout'},
    'max_retries': {'type': 'raw', 'default': 5, 'var': 'itot_max_retries'},
    'rate_limit': {'type': 'raw', 'default': 10, 'env': 'ITOT_RATE_LIMIT', 'var': 'itot_rate_limit'},
    'rate_window': {'type': 'raw', 'default': 60, 'env': 'ITOT_RATE_WINDOW', 'var': 'itot_rate_window'},
    # no_log False: a place, not a secret (ansible-test's no-log-needed guesses from the name).
    'access_token_location': {'type': 'str', 'default': 'query', 'no_log': False,
                              'env': 'ITOT_ACCESS_TOKEN_LOCATION', 'var': 'itot_access_token_location',
                              'ini': 'access_token_location'},
    'max_window': {'type': 'raw', 'default': DAY_SECONDS,
                   'env': 'ITOT_MAX_WINDOW', 'var': 'itot_max_window', 'ini': 'max_window'},
}

# The itot_* variables the lookup reads, by the option each one sets: the log_archive role forwards every one of
# them to the module (the itot_connection_args filter) and checks them (log_archive_problems) from this mapping.
CONNECTION_VARIABLES: dict[str, str] = {option['var']: name for name, option in CONNECTION_OPTIONS.items()
                                        if 'var' in option}

# Query options shared by the module and the lookup (the query doc fragment).
QUERY_OPTIONS: dict[str, dict[str, Any]] = {
    'events': {'type': 'raw'},
    'agent_types': {'type': 'raw'},
    'search': {'type': 'str'},
    'age': {'type': 'raw'},
    'start_time': {'type': 'raw'},
    'end_time': {'type': 'raw'},
    'page_size': {'type': 'raw', 'default': 100},
    'max_results': {'type': 'raw', 'default': 0},
}

# Query options of the module only: the lookup takes categories as terms and has no resume token. event_category
# is checked by build_query (not given, or not a category, with the collection's message), not by Ansible.
MODULE_QUERY_OPTIONS: dict[str, dict[str, Any]] = {
    'event_category': {'type': 'str'},
    'token': {'type': 'str', 'no_log': False},
}

LOOKUP_OPTION_NAMES = tuple(CONNECTION_OPTIONS) + tuple(QUERY_OPTIONS)

# The filters a category may be given per category (the role's itot_log_archive_filters, the event source's filters).
FILTER_KEYS = ('events', 'agent_types', 'search')


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


def _max_window(value: Any) -> int:
    low, high = MAX_WINDOW_RANGE
    return int_value('max_window', value, low, high, ' seconds (86400 = 24 h, the default; 2592000 = 30 days)')


# The check of each option whose value needs no other option, by option name: it takes the value as given (not
# None) and returns it converted. check_values, connection_settings and the role's check (log_archive_problems) use
# these; the cross-option rules (credentials, the query's filters by category, the window) come on top.
VALUE_CHECKS: dict[str, Callable[[Any], Any]] = {
    'base_url': base_url_value,
    'validate_certs': lambda value: bool_value('validate_certs', value),
    'ca_path': ca_path_value,
    'timeout': lambda value: seconds_value('timeout', value),
    'max_retries': lambda value: int_value('max_retries', value, 0, 100),
    'rate_limit': lambda value: int_value('rate_limit', value, 0, None, RATE_UNIT),
    'rate_window': lambda value: seconds_value('rate_window', value),
    'access_token_location': lambda value: choice_value('access_token_location', value, TOKEN_LOCATIONS),
    'max_window': _max_window,
    'events': lambda value: list_value('events', value),
    'agent_types': agent_types_value,
    'age': lambda value: int_value('age', value, 1, MAX_AGE, ' seconds'),
    'page_size': lambda value: int_value('page_size', value, 1, MAX_PAGE_SIZE),
    'max_results': lambda value: int_value('max_results', value, 0, None, ' (0: no cap)'),
}


def check_values(values: dict[str, Any]) -> None:
    """Check option values one by one, as given; OptionError for the first bad one.

    For callers that hold single values (the role's variables). Options without a single-value check, and None, pass.
    """
    for name, value in values.items():
        check = VALUE_CHECKS.get(name)
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


def _connection_value(options: OptionAdapter, name: str) -> Any:
    """One connection option: its default when not given, then its check (a string for those without one)."""
    value = options.get(name)
    if value is None:
        value = CONNECTION_OPTIONS[name].get('default')
    if value is None:
        return None
    check = VALUE_CHECKS.get(name)
    return check(value) if check is not None else str_value(name, value)


def _check_credentials(token: str | None, client_id: str | None, client_secret: str | None) -> None:
    if client_id and not client_secret:
        raise OptionError.about('client_id', '%s given without client_secret; client_id and client_secret must be '
                                'given together' % shown(client_id))
    if client_secret and not client_id:
        raise OptionError.about('client_secret', 'given (value not shown) without client_id; client_id and '
                                'client_secret must be given together')
    if not token and not client_id:
        raise OptionError.about('access_token', 'not given or empty; set access_token, or client_id and '
                                'client_secret (options, or the ITOT_ACCESS_TOKEN, ITOT_CLIENT_ID and '
                                'ITOT_CLIENT_SECRET environment variables)')


def connection_settings(options: OptionAdapter) -> ConnectionSettings:
    """Validated connection options, checked in the order of the table (the credentials as a pair after them)."""
    names = list(CONNECTION_OPTIONS)
    credentials = names.index('client_secret') + 1
    values = {name: _connection_value(options, name) for name in names[:credentials]}
    _check_credentials(values['access_token'], values['client_id'], values['client_secret'])
    values.update((name, _connection_value(options, name)) for name in names[credentials:])
    return ConnectionSettings(**values)


def filters_problems(name: str, value: Any, now_ms: int) -> list[str]:
    """What is wrong with per-category filters ``{category: {events, agent_types, search}}`` named ``name``.

    The role's ``itot_log_archive_filters`` and the event source's ``filters``: each category's filters are checked
    as the module's options of the same names (``build_query``); an empty list when all is well.
    """
    if not isinstance(value, Mapping):
        return ['%s: %s is not a dict; allowed: {category: {events: [...], agent_types: [...], search: ...}}'
                % (name, shown(value))]
    problems = []
    for category, spec in value.items():
        label = '%s.%s' % (name, category)
        if category not in CATEGORIES:
            problems.append('%s: %s is not an event category; allowed: %s' % (name, shown(category), allowed(CATEGORIES)))
        elif spec is None:
            continue
        elif not isinstance(spec, Mapping):
            problems.append('%s: %s is not a dict; allowed: {events: [...], agent_types: [...], search: ...}'
                            % (label, shown(spec)))
        elif set(spec) - set(FILTER_KEYS):
            unknown = sorted(set(spec) - set(FILTER_KEYS), key=str)
            problems.append('%s: %s is not a filter; allowed: %s'
                            % (label, ', '.join(shown(key) for key in unknown), ', '.join(FILTER_KEYS)))
        else:
            try:
                build_query(OptionAdapter.from_dict(dict(spec, event_category=category)), now_ms)
            except OptionError as exc:
                problems.append('%s.%s' % (label, exc.message))
    return problems
