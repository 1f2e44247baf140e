# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The log_archive_problems filter: what is wrong with the variables of the log_archive role and the audit playbook."""
from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any, Callable

from ansible_collections.opswat.itot.plugins.module_utils._checks import absolute_path_problem, bool_value, int_value, shown
from ansible_collections.opswat.itot.plugins.module_utils._errors import OptionError
from ansible_collections.opswat.itot.plugins.module_utils._options import CONNECTION_VARIABLES, check_values, filters_problems
from ansible_collections.opswat.itot.plugins.module_utils._report_rules import check_rules
from ansible_collections.opswat.itot.plugins.module_utils._tenant import host_tenants, tenant_name_value
from ansible_collections.opswat.itot.plugins.module_utils._timeparse import TIME_FORMS, parse_time_option
from ansible_collections.opswat.itot.plugins.module_utils._vocabulary import CATEGORIES, allowed

DOCUMENTATION = r"""
---
name: log_archive_problems
short_description: Check the variables of the log_archive role and the audit playbook
version_added: 1.0.0
author: opswat.itot maintainers (@opswat-itot)
description:
  - Used by the C(opswat.itot.log_archive) role and the C(opswat.itot.audit) playbook before anything else runs, for what
    their argument specification cannot express (an absolute archive folder without C(..), a time that parses and is
    plausible, filters that suit their category, file modes, thresholds).
  - Times and filters are checked by the same code and rules as the options of M(opswat.itot.itot_logs_info). A
    number below 1e11 is epoch seconds, a time must lie from 2000-01-01T00:00:00Z to now, and C(events) given as a
    string is split on commas with blanks dropped.
  - Returns one message per problem, each naming the variable, the value and what is allowed; an empty list when all is well.
  - Variables it does not know, and variables whose value is V(null), are not checked.
options:
  _input:
    description:
      - The variables, by name. Known are C(itot_log_archive_categories), C(itot_log_archive_dir),
        C(itot_log_archive_initial_lookback), C(itot_log_archive_overlap), C(itot_log_archive_chunk_size),
        C(itot_log_archive_filters),
        C(itot_log_archive_owner), C(itot_log_archive_group), C(itot_log_archive_mode), C(itot_log_archive_dir_mode),
        C(itot_log_archive_retention_days), C(itot_log_archive_verify), C(itot_log_archive_heads_file), every connection variable the
        P(opswat.itot.itot_logs#lookup) lookup reads (C(itot_base_url), C(itot_timeout), C(itot_max_retries), ...;
        checked as the module option of the same name without the C(itot_) prefix), C(itot_audit_period),
        C(itot_audit_rules) (every rule, as M(opswat.itot.itot_archive_report) checks its O(opswat.itot.itot_archive_report#module:rules)),
        C(itot_audit_max_failed_auth), C(itot_audit_max_noncompliant) and C(itot_audit_max_deleted_user).
    type: dict
    required: true
  now_ms:
    description: What V(now) means for the times, epoch milliseconds. Defaults to the current time.
    type: int
"""

EXAMPLES = r"""
- name: Check the role's variables
  ansible.builtin.assert:
    that: problems | length == 0
    fail_msg: "{{ problems | join('; ') }}"
  vars:
    problems: "{{ {'itot_log_archive_dir': itot_log_archive_dir, 'itot_log_archive_overlap': itot_log_archive_overlap}
                  | opswat.itot.log_archive_problems }}"
"""

RETURN = r"""
_value:
  description: One message per problem, in the order of the variables above; empty when there is none.
  type: list
  elements: str
"""

_OCTAL_MODE = re.compile(r'^(0o)?[0-7]{3,4}$')
_SYMBOLIC_MODE = re.compile(r'^[ugoa]*[-+=][rwxXstugo]*(,[ugoa]*[-+=][rwxXstugo]*)*$')
MODE_ALLOWED = "an octal mode as a quoted string ('0640') or a symbolic one ('u=rw,g=r,o=')"


# How each answer of absolute_path_problem (the archive root's rule) is said about a variable.
_PATH_PROBLEMS = {'not a path': 'is not a path', 'relative': 'is a relative path', 'dotdot': "has a '..' component"}


def _archive_dir(name: str, value: Any, _now: int) -> None:
    problem = absolute_path_problem(value)
    if problem is not None:
        raise OptionError("%s: %s %s; allowed: an absolute path without '..' components"
                          % (name, shown(value), _PATH_PROBLEMS[problem]))


def _heads_file(name: str, value: Any, _now: int) -> None:
    if absolute_path_problem(value) is not None:
        raise OptionError("%s: %s is not an absolute path on the controller without '..' components"
                          % (name, shown(value)))


def _past_time(name: str, value: Any, now: int) -> None:
    if parse_time_option(value, now, name) > now:
        raise OptionError('%s: %s is in the future; allowed: a time not later than now, %s' % (name, shown(value), TIME_FORMS))


def _categories(name: str, value: Any, _now: int) -> None:
    listed = 'a list of %s' % allowed(CATEGORIES)
    if not isinstance(value, (list, tuple)):
        raise OptionError('%s: %s is not a list; allowed: %s' % (name, shown(value), listed))
    for category in value:
        if category not in CATEGORIES:
            raise OptionError('%s: %s is not an event category; allowed: %s' % (name, shown(category), listed))


def _text(name: str, value: Any, _now: int) -> None:
    if not isinstance(value, str) or not value.strip():
        raise OptionError('%s: %s is not a user or group name' % (name, shown(value)))


def _mode(name: str, value: Any, _now: int) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 0o7777:
        return
    if isinstance(value, str) and (_OCTAL_MODE.match(value) or _SYMBOLIC_MODE.match(value)):
        return
    raise OptionError('%s: %s is not a file mode; allowed: %s' % (name, shown(value), MODE_ALLOWED))


def _threshold(name: str, value: Any, _now: int) -> None:
    if value != '':  # an empty threshold is no threshold
        int_value(name, value, 0, None, ' (or empty for no threshold)')


def _rules(name: str, value: Any, _now: int) -> None:
    check_rules(value, name)


def _count(unit: str) -> Callable[[str, Any, int], None]:
    def check(name: str, value: Any, _now: int) -> None:
        int_value(name, value, 0, None, unit)
    return check


def _chunk_size(name: str, value: Any, _now: int) -> None:
    int_value(name, value, 1, None, ' entries')


def _boolean(name: str, value: Any, _now: int) -> None:
    bool_value(name, value)


def _connection(option: str) -> Callable[[str, Any, int], None]:
    """The check of a connection option (the module's own), its message naming the variable."""
    def check(name: str, value: Any, _now: int) -> None:
        try:
            check_values({option: value})
        except OptionError as exc:
            raise OptionError.about(name, exc.problem or exc.message) from None
    return check


def _filters(name: str, value: Any, now: int) -> list[str]:
    return filters_problems(name, value, now)


def _tenant_name(name: str, value: Any, _now: int) -> None:
    tenant_name_value(name, value)


def _tenants(name: str, value: Any, _now: int) -> None:
    """The definitions on their own (the host's other settings and the environment come on top in the role)."""
    if value:
        host_tenants({name: value}, {}, {}, '/')


# The role's own variables (meta/argument_specs.yml declares them; a unit test holds the two to each other).
ROLE_CHECKS: dict[str, Callable[[str, Any, int], Any]] = {
    'itot_log_archive_categories': _categories,
    'itot_log_archive_dir': _archive_dir,
    'itot_log_archive_initial_lookback': _past_time,
    'itot_log_archive_overlap': _count(' seconds'),
    'itot_log_archive_chunk_size': _chunk_size,
    'itot_log_archive_filters': _filters,
    'itot_log_archive_owner': _text,
    'itot_log_archive_group': _text,
    'itot_log_archive_mode': _mode,
    'itot_log_archive_dir_mode': _mode,
    'itot_log_archive_retention_days': _count(' days (0 keeps all)'),
    'itot_log_archive_verify': _boolean,
    'itot_log_archive_heads_file': _heads_file,
    'itot_tenant': _tenant_name,
    'itot_log_archive_tenants': _tenants,
}

# Checks by variable, in the order of the messages; each raises OptionError (or, for the filters, returns problems).
# A connection variable is checked as its module option is (check_values), so a new option is checked too.
CHECKS: dict[str, Callable[[str, Any, int], Any]] = {
    **ROLE_CHECKS,
    **{variable: _connection(option) for variable, option in CONNECTION_VARIABLES.items()},
    'itot_audit_period': _past_time,
    'itot_audit_rules': _rules,
    'itot_audit_max_failed_auth': _threshold,
    'itot_audit_max_noncompliant': _threshold,
    'itot_audit_max_deleted_user': _threshold,
}


def log_archive_problems(variables: Any, now_ms: int | None = None) -> list[str]:
    """One message per bad variable (name, value, what is allowed); empty when all are fine."""
    now = int(now_ms) if now_ms is not None else int(time.time() * 1000)
    if not isinstance(variables, Mapping):
        return ['log_archive_problems: %s is not a dict of variables' % shown(variables)]
    problems: list[str] = []
    for name, check in CHECKS.items():
        value = variables.get(name)
        if value is None:
            continue
        try:
            problems.extend(check(name, value, now) or [])
        except OptionError as exc:
            problems.append(exc.message)
    return problems


class FilterModule:
    """opswat.itot filters."""

    def filters(self) -> dict[str, Any]:
        return {'log_archive_problems': log_archive_problems}
