# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What a tenant is: the API account a set of connection settings points at; for internal collection use only.

A tenant's identity is the normalised ``base_url`` and the credential's identity (the client id, or a SHA-256 hash of
the access token: the pacing ledger's key too, never the secret). Its name labels it in archive paths, heads and
reports: the one given (letters, digits, ``-``, ``_``) or one derived from the identity.

``host_tenants`` turns one host's variables into its tenants: the host's own connection (``itot_*`` variables over
the ``ITOT_*`` environment) named by ``itot_tenant`` or not at all, or the list ``itot_log_archive_tenants``. Every
definition is checked here, before any request.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ansible_collections.opswat.itot.plugins.module_utils._checks import shown
from ansible_collections.opswat.itot.plugins.module_utils._errors import OptionError
from ansible_collections.opswat.itot.plugins.module_utils._options import (
    CONNECTION_OPTIONS,
    ConnectionSettings,
    OptionAdapter,
    connection_settings,
)
from ansible_collections.opswat.itot.plugins.module_utils._rate_budget import connection_identity

NAME_PATTERN = re.compile(r'^[A-Za-z0-9_-]{1,64}$')
NAME_ALLOWED = "a name of 1 to 64 letters, digits, '-' and '_' (for example site-a)"
# What a tenant of itot_log_archive_tenants must hold itself: the base_url and a credential are its identity, so
# they never come from the host's variables or the environment.
IDENTITY_OPTIONS = ('base_url', 'access_token', 'client_id', 'client_secret')
TENANT_KEYS = ('name',) + tuple(CONNECTION_OPTIONS)
ENVIRONMENT = {name: option['env'] for name, option in CONNECTION_OPTIONS.items() if 'env' in option}
TENANTS_VARIABLE = 'itot_log_archive_tenants'
NAME_VARIABLE = 'itot_tenant'


def tenant_name_value(label: str, value: Any) -> str:
    """``value`` as a tenant name, or OptionError naming ``label`` (the variable or key)."""
    if not isinstance(value, str) or not NAME_PATTERN.match(value):
        raise OptionError('%s: %s is not a tenant name; allowed: %s' % (label, shown(value), NAME_ALLOWED))
    return value


def tenant_identity(settings: ConnectionSettings) -> str:
    """``<base_url> client:<id>`` or ``<base_url> token:<sha256 of the token>``: who the API counts requests for."""
    return '%s %s' % (settings.base_url, connection_identity(settings.client_id, settings.access_token))


def shown_identity(identity: str) -> str:
    """The identity for a message: a token hash shortened (it is no secret, only long)."""
    base_url, _sep, who = identity.partition(' ')
    if who.startswith('token:'):
        who = 'token sha256 %s...' % who[len('token:'):][:12]
    return '%s %s' % (base_url, who)


def derived_name(identity: str) -> str:
    """``<host>-<port>-<8 hex>``: a name for a tenant that was given none, stable for its identity."""
    parts = urlsplit(identity.partition(' ')[0])
    port = parts.port or (443 if parts.scheme == 'https' else 80)
    host = re.sub(r'[^A-Za-z0-9_-]+', '-', parts.hostname or '').strip('-')[:40] or 'api'
    return '%s-%d-%s' % (host, port, hashlib.sha256(identity.encode('utf-8')).hexdigest()[:8])


def _settings(label: str, connection: dict[str, Any]) -> ConnectionSettings:
    try:
        return connection_settings(OptionAdapter.from_dict(connection))
    except OptionError as exc:
        raise OptionError('%s: %s' % (label, exc.message)) from None


def _definition(index: int, item: Any, shared: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(name, connection) of one item of itot_log_archive_tenants: its own identity over the host's other settings."""
    label = '%s[%d]' % (TENANTS_VARIABLE, index)
    if not isinstance(item, Mapping):
        raise OptionError('%s: %s is not a dict; allowed: {name: ..., base_url: ..., access_token: ...} or with '
                          'client_id and client_secret' % (label, type(item).__name__))
    name = tenant_name_value('%s.name' % label, item.get('name'))
    label = '%s (tenant %s)' % (label, name)
    unknown = sorted(str(key) for key in item if key not in TENANT_KEYS)
    if unknown:
        raise OptionError('%s: %s is not a key of a tenant; allowed: %s' % (label, ', '.join(unknown), ', '.join(TENANT_KEYS)))
    own = {key: value for key, value in item.items() if key != 'name' and value is not None}
    if 'base_url' not in own:
        raise OptionError('%s: no base_url; each tenant names its own API (base_url) and credentials' % label)
    if not own.get('access_token') and not own.get('client_id'):
        raise OptionError('%s: no credentials; give the tenant its own access_token, or client_id and client_secret '
                          '(they never come from the host\'s itot_* variables or the environment)' % label)
    connection = {key: value for key, value in shared.items() if key not in IDENTITY_OPTIONS}
    connection.update(own)
    return name, connection


def _named_once(tenants: list[dict[str, Any]]) -> None:
    """No name twice, no identity under two names (one tenant archived twice, its budget counted twice)."""
    names: dict[str, str] = {}
    identities: dict[str, str] = {}
    for tenant in tenants:
        name, identity = tenant['name'], tenant['identity']
        if name in names:
            raise OptionError('%s: the name %s is given twice' % (TENANTS_VARIABLE, shown(name)))
        if identity in identities:
            raise OptionError('%s: tenants %s and %s are the same tenant (%s); give each tenant once'
                              % (TENANTS_VARIABLE, identities[identity], name, shown_identity(identity)))
        names[name] = identity
        identities[identity] = name


def _tenant(name: str | None, connection: dict[str, Any], root: str, label: str) -> dict[str, Any]:
    settings = _settings(label, connection)
    identity = tenant_identity(settings)
    return {'name': name or derived_name(identity), 'named': name is not None,
            'root': posixpath.join(root, name) if name else root,
            'identity': identity, 'slice_seconds': settings.max_window, 'connection': connection}


def host_tenants(variables: Mapping[str, Any], host_connection: dict[str, Any], environ: Mapping[str, str],
                 root: str) -> list[dict[str, Any]]:
    """The tenants one host archives: ``{name, named, root, identity, slice_seconds, connection}`` each.

    ``host_connection``: the host's connection options from its itot_* variables; ``environ``: the controller's
    environment (ITOT_* below the variables, as the module reads them); ``root``: itot_log_archive_dir.
    ``connection`` holds the secrets: keep it out of facts and output.
    """
    shared = {name: environ[variable] for name, variable in ENVIRONMENT.items() if environ.get(variable)}
    shared.update(host_connection)
    definitions = variables.get(TENANTS_VARIABLE)
    name = variables.get(NAME_VARIABLE)
    if not definitions:
        if name is not None:
            tenant_name_value(NAME_VARIABLE, name)
        return [_tenant(name, shared, root, 'the host\'s connection variables')]
    if name is not None:
        raise OptionError('%s: set together with %s; name each tenant in the list instead' % (NAME_VARIABLE, TENANTS_VARIABLE))
    if not isinstance(definitions, (list, tuple)):
        raise OptionError('%s: %s is not a list; allowed: a list of {name: ..., base_url: ..., <credentials>}'
                          % (TENANTS_VARIABLE, type(definitions).__name__))
    tenants = []
    for index, item in enumerate(definitions):
        item_name, connection = _definition(index, item, shared)
        tenants.append(_tenant(item_name, connection, root, '%s[%d] (tenant %s)' % (TENANTS_VARIABLE, index, item_name)))
    _named_once(tenants)
    return tenants
