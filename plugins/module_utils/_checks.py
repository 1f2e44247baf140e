# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The checks of single values, each message written once; for internal collection use only.

Every check takes the value as the user gave it (a task's argument, a lookup keyword, a variable, an environment
variable: no type conversion has run before it), returns it converted, or raises ``OptionError.about(name, ...)``
naming the option, showing the value and saying what is allowed. The module, the lookup and the filters all call
these: an option's message is the same wherever its value came from.
"""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import SplitResult, urlsplit

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.opswat.itot.plugins.module_utils._errors import OptionError
from ansible_collections.opswat.itot.plugins.module_utils._vocabulary import AGENT_TYPES, DEFAULT_BASE_URL

SHOWN_MAX = 200
SECRET_OPTIONS = ('access_token', 'client_secret')
RATE_UNIT = ' requests per rate_window seconds (default 60: per minute; 0 turns pacing off)'
CA_PATH_ALLOWED = 'a CA bundle file or a directory of CA certificates'
SECONDS_ALLOWED = 'seconds, more than 0 and at most 3600'
BASE_URL_ALLOWED = 'http:// or https:// followed by a host name and an optional port, e.g. %s' % DEFAULT_BASE_URL
_INT_TEXT = re.compile(r'^\s*[-+]?[0-9]+\s*$')


def shown(value: Any) -> str:
    """A value as the collection's messages show it: its repr, shortened when long."""
    text = repr(value)
    return text if len(text) <= SHOWN_MAX else text[:SHOWN_MAX] + '...'


def _as_int(value: Any) -> int | None:
    """An integer, a digit string or a whole float as an int; None for anything else (booleans included)."""
    if isinstance(value, str) and _INT_TEXT.match(value):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def int_value(name: str, value: Any, low: int, high: int | None = None, unit: str = '') -> int:
    """An integer option (a digit string too) within [low, high]; OptionError naming it, the value and the range."""
    allowed = '%d to %d%s' % (low, high, unit) if high is not None else 'an integer of at least %d%s' % (low, unit)
    number = _as_int(value)
    if number is None:
        raise OptionError.about(name, '%s is not an integer; allowed: %s' % (shown(value), allowed))
    if number < low or (high is not None and number > high):
        raise OptionError.about(name, '%s is out of range; allowed: %s' % (shown(value), allowed))
    return number


def seconds_value(name: str, value: Any) -> float:
    """A duration in seconds, more than 0 and at most 3600 (a numeric string too); None reads as 0.0."""
    if value is None:
        return 0.0
    try:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError(value)
        seconds = float(value)
    except ValueError:
        raise OptionError.about(name, '%s is not a number; allowed: %s' % (shown(value), SECONDS_ALLOWED)) from None
    if not 0 < seconds <= 3600:  # NaN fails too
        raise OptionError.about(name, '%s is out of range; allowed: %s' % (shown(value), SECONDS_ALLOWED))
    return seconds


def bool_value(name: str, value: Any) -> bool:
    """A boolean, strictly (``maybe`` is an error, not false); None reads as false."""
    if value is None:
        return False
    try:
        return boolean(value, strict=True)
    except TypeError:
        raise OptionError.about(name, '%s is not a boolean; allowed: true or false' % shown(value)) from None


def choice_value(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    """One of ``allowed``."""
    if value not in allowed:
        raise OptionError.about(name, '%s is not allowed; allowed: %s' % (shown(value), ', '.join(allowed)))
    return value


def str_value(name: str, value: Any) -> str | None:
    """A string option; blank reads as not given. Secrets are never shown."""
    if value is None:
        return None
    if not isinstance(value, str):
        what = 'a value of type %s' % type(value).__name__ if name in SECRET_OPTIONS else shown(value)
        raise OptionError.about(name, '%s is not a string' % what)
    return value if value.strip() else None


def list_value(name: str, value: Any) -> list[Any]:
    """A list; a string is split on commas (blank items dropped), one number is a list of one."""
    if value is None:
        return []
    if isinstance(value, str):
        return [item.strip() for item in value.split(',') if item.strip()]
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, (int, float)):  # one value, as Ansible's list type reads it
        return [value]
    raise OptionError.about(name, '%s is not a list' % shown(value))


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
    raise OptionError.about('events', '%s is not a list' % shown(value))


def agent_types_value(value: Any) -> list[int]:
    """``agent_types``: known agent types, each once, in the order given."""
    allowed = ', '.join('%d (%s)' % item for item in AGENT_TYPES.items())
    agent_types: list[int] = []
    for raw_agent in list_value('agent_types', value):
        agent = raw_agent
        if isinstance(agent, str) and agent.strip().isdigit():
            agent = int(agent)
        if isinstance(agent, bool) or not isinstance(agent, int) or agent not in AGENT_TYPES:
            raise OptionError.about('agent_types', '%s is not an agent type; allowed: %s' % (shown(raw_agent), allowed))
        if agent not in agent_types:
            agent_types.append(agent)
    return agent_types


def _url_problem(parts: SplitResult, text: str) -> str | None:
    """What makes a parsed URL unfit as ``base_url``, or None."""
    if parts.scheme.lower() not in ('http', 'https'):
        return 'the scheme must be http or https'
    if not parts.hostname:
        return 'it has no host'
    if parts.username is not None or parts.password is not None:
        return 'it must not contain credentials'
    if parts.path not in ('', '/'):
        return 'it must not have a path (the client adds /o/api/v3.3/logs)'
    if parts.query or parts.fragment or text.endswith(('?', '#')):
        return 'it must not have a query or a fragment'
    return None


def base_url_value(value: Any) -> str:
    """``base_url`` without its trailing slash; scheme http(s), a host, and nothing else."""
    if not isinstance(value, str) or not value.strip():
        raise OptionError.about('base_url', '%s is not a URL; allowed: %s' % (shown(value), BASE_URL_ALLOWED))
    text = value.strip()
    try:
        parts = urlsplit(text)
        port = parts.port  # raises ValueError on a bad port
    except ValueError:
        raise OptionError.about('base_url', '%s is not a URL; allowed: %s' % (shown(text), BASE_URL_ALLOWED)) from None
    problem = _url_problem(parts, text)
    if problem:
        # Never echo a URL that carries credentials.
        what = '<redacted>' if '@' in parts.netloc else shown(text)
        raise OptionError.about('base_url', '%s is not allowed: %s; allowed: %s' % (what, problem, BASE_URL_ALLOWED))
    host = parts.hostname or ''
    netloc = host if ':' not in host else '[%s]' % host
    if port is not None:
        netloc += ':%d' % port
    return '%s://%s' % (parts.scheme.lower(), netloc)


def ca_path_value(value: Any) -> str | None:
    """``ca_path`` with ``~`` and environment variables expanded; it must exist."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise OptionError.about('ca_path', '%s is not a path; allowed: %s' % (shown(value), CA_PATH_ALLOWED))
    path = os.path.expanduser(os.path.expandvars(value))
    if not os.path.exists(path):
        raise OptionError.about('ca_path', '%s does not exist; allowed: %s' % (shown(path), CA_PATH_ALLOWED))
    return path


def absolute_path_problem(value: Any) -> str | None:
    """Why ``value`` is not an absolute path without ``..`` components (the archive's root), or None.

    One of ``'not a path'``, ``'relative'`` or ``'dotdot'``; callers word their message from it.
    """
    if not isinstance(value, str) or not value.strip() or '\x00' in value:
        return 'not a path'
    if not os.path.isabs(value):
        return 'relative'
    if '..' in value.split('/'):
        return 'dotdot'
    return None
