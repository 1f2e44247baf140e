# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The collection's one error tree; for internal collection use only.

Every error the collection raises on purpose is an ``ItotError``: its ``message`` says what went wrong and what is
allowed or what to do, and never carries a URL, a token or a secret. ``failure(exc)`` is the one translation for
modules (the keyword arguments of ``module.fail_json``); the lookup and the filters raise their Ansible error with
``exc.message``.
"""

from __future__ import annotations

from typing import Any


class ItotError(Exception):
    """Base of every error the collection raises on purpose."""

    def __init__(self, message: str, status: int | None = None, attempts: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.attempts = attempts


class OptionError(ItotError):
    """An option (or a resume token) is invalid; raised before any request is sent.

    Made by ``OptionError.about(option, problem)``, the message is ``option: problem`` and both parts stay readable,
    so that a caller can say where the value came from (``option (from variable itot_x): problem``) or name it
    otherwise (a role variable) without taking the message apart.
    """

    option: str | None = None
    problem: str | None = None

    @classmethod
    def about(cls, option: str, problem: str) -> OptionError:
        error = cls('%s: %s' % (option, problem))
        error.option = option
        error.problem = problem
        return error


class AuthenticationError(ItotError):
    """The API refused the credentials (HTTP 401), or no token could be obtained."""


class ApiError(ItotError):
    """The API gave an answer the client cannot use (a 400, a 403, a 404, ...)."""


class RetryError(ItotError):
    """A request still failed after every retry (connection errors, timeouts, 5xx, 429)."""


class PaginationError(ItotError):
    """The API's answers do not allow reading every entry of the window."""


class ArchiveError(ItotError):
    """An archive cannot be read or written; the message says which folder or file and why.

    ``problems`` lists what verification found (each a dict naming the file and the problem).
    """

    def __init__(self, message: str, problems: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


def failure(exc: ItotError) -> dict[str, Any]:
    """The ``fail_json`` keyword arguments of an error: ``msg``, and ``problems`` for an archive error."""
    result: dict[str, Any] = {'msg': exc.message}
    if isinstance(exc, ArchiveError):
        result['problems'] = exc.problems
    return result
