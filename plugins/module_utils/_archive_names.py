# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The names inside a category folder, and which paths read from the archive's own files are allowed.

For internal collection use only.  Nothing under a category folder is trusted: a path read from ``.pending.json``
or ``manifest.jsonl`` must be relative, of plain components, and name an archive file (or its ``.tmp-*`` file in
the same folder); anything else is refused here, with an ArchiveError naming it, before anything is touched.
Reaching the files without following links is ``_archive_fs``'s job.
"""

from __future__ import annotations

import os
from typing import Any

from ansible_collections.opswat.itot.plugins.module_utils._errors import ArchiveError

# The names inside ``{root}/{category}/`` (the layout is described in _archive.py).
MANIFEST = 'manifest.jsonl'
STATE = 'state.json'
PENDING = '.pending.json'
LOCK = '.lock'
TEMP_PREFIX = '.tmp-'
ARCHIVE_SUFFIX = '.jsonl.gz'
UNDATED_DIR = 'undated'


def refuse(path: str, why: str) -> ArchiveError:
    return ArchiveError('refusing %s: %s; nothing was renamed, deleted or changed' % (path, why))


def check_relative(cat_dir: str, name: Any, source: str) -> str:
    """name, when it is a relative path of plain components ('a/b/c'); ArchiveError naming it and its source otherwise."""
    if not isinstance(name, str) or not name or '\x00' in name:
        raise refuse(os.path.join(cat_dir, source), 'it names %r, which is not a path' % (name,))
    if name.startswith('/'):
        raise refuse(os.path.join(cat_dir, source), 'it names the absolute path %r (only paths inside %s are allowed)' % (name, cat_dir))
    parts = name.split('/')
    if '..' in parts:
        raise refuse(os.path.join(cat_dir, source), "it names %r, which has a '..' component (only paths inside %s are allowed)" % (name, cat_dir))
    if '' in parts or '.' in parts:
        raise refuse(os.path.join(cat_dir, source), "it names %r, which has an empty or '.' component" % (name,))
    return name


def archive_name_problem(name: Any) -> str | None:
    """Why name cannot be an archive file's name (``YYYY/MM/DD/x.jsonl.gz``, ``undated/x.jsonl.gz``), or None."""
    if not isinstance(name, str) or not name or '\x00' in name:
        return 'it is not a path'
    if name.startswith('/'):
        return 'it is an absolute path'
    parts = name.split('/')
    if '..' in parts:
        return "it has a '..' component"
    if '' in parts or '.' in parts:
        return "it has an empty or '.' component"
    if len(parts) < 2 or parts[-1].startswith('.') or not parts[-1].endswith(ARCHIVE_SUFFIX):
        return 'it is not an archive file (a *%s file in a day or undated folder)' % ARCHIVE_SUFFIX
    return None


def check_archive_name(cat_dir: str, name: Any, source: str) -> str:
    """name when it can be an archive file of cat_dir; ArchiveError naming it and where it was read otherwise."""
    problem = archive_name_problem(name)
    if problem is not None:
        raise refuse(os.path.join(cat_dir, source), 'it names %r: %s (only archive files inside %s are allowed)' % (name, problem, cat_dir))
    return name


def check_temp_name(cat_dir: str, temp: Any, final: str, source: str) -> str:
    """temp when it is a ``.tmp-*`` file in final's own folder; ArchiveError naming it otherwise."""
    check_relative(cat_dir, temp, source)
    folder, _sep, base = temp.rpartition('/')
    if folder != final.rpartition('/')[0] or not base.startswith(TEMP_PREFIX):
        raise refuse(os.path.join(cat_dir, source), 'its temp file %r for %s is not a %s* file in the folder of %s'
                     % (temp, final, TEMP_PREFIX, final))
    return temp
