# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Owner, group and mode of what the archive writes, set only where no planted link can redirect them.

For internal collection use only.  ``module_attr_setter`` wraps the module's ``set_fs_attributes_if_different``;
``guarded_attrs`` lets it touch only paths whose every component under the category folder is a real folder or a
regular file (chown and chmod follow links, so a link planted by the archive's owner must never reach them).
"""

from __future__ import annotations

import os
import stat
from typing import Any, Callable

from ansible_collections.opswat.itot.plugins.module_utils._archive_names import LOCK, MANIFEST, STATE, refuse

# apply_attrs(path, is_dir) -> changed: sets owner/group/mode on a path (the module's set_fs_attributes_if_different).
AttrSetter = Callable[[str, bool], bool]


def check_tree(cat_dir: str, path: str, is_dir: bool) -> None:
    """ArchiveError unless path (cat_dir or a path under it) and each folder between are no links and of the right kind."""
    rel = os.path.relpath(path, cat_dir)
    if rel == '.':
        parts: list[str] = []
    elif rel == '..' or rel.startswith('../') or os.path.isabs(rel):
        return  # the root or another folder the administrator named: not the archive's own
    else:
        parts = rel.split('/')
    current = cat_dir
    for number, part in enumerate([''] + parts):
        current = os.path.join(current, part) if part else current
        info = os.lstat(current)
        last = number == len(parts)
        if stat.S_ISLNK(info.st_mode):
            raise refuse(current, 'it is a symbolic link (the archive follows no links)')
        if (not last or is_dir) and not stat.S_ISDIR(info.st_mode):
            raise refuse(current, 'it is not a folder')
        if last and not is_dir and not stat.S_ISREG(info.st_mode):
            raise refuse(current, 'it is not a regular file')


def guarded_attrs(cat_dir: str, attrs: AttrSetter) -> AttrSetter:
    """attrs, called only on paths that check_tree accepts (chown and chmod must not reach through a planted link)."""
    if attrs is no_attrs:
        return attrs

    def apply(path: str, is_dir: bool) -> bool:
        check_tree(cat_dir, path, is_dir)
        return attrs(path, is_dir)

    return apply


# --- owner, group and mode ----------------------------------------------------------------------------------

# Options the archive modules share: who owns what they write, with which modes, and how long to wait for the lock.
FILE_OPTIONS = dict(
    owner=dict(type='str'),
    group=dict(type='str'),
    mode=dict(type='raw'),
    dir_mode=dict(type='raw'),
    lock_timeout=dict(type='int', default=300),
)


def module_attr_setter(module: Any) -> AttrSetter:
    """apply(path, is_dir) -> changed, with an AnsibleModule's owner/group/mode/dir_mode (a no-op for the unset ones)."""
    params = module.params

    def apply(path: str, is_dir: bool) -> bool:
        mode = params['dir_mode'] if is_dir else params['mode']
        if mode is None and params['owner'] is None and params['group'] is None:
            return False
        file_args = dict(path=path, mode=mode, owner=params['owner'], group=params['group'], attributes=None,
                         seuser=None, serole=None, setype=None, selevel=None, secontext=[None, None, None])
        return module.set_fs_attributes_if_different(file_args, False)

    return apply


def no_attrs(path: str, is_dir: bool) -> bool:
    return False


def attrs_if_exists(attrs: AttrSetter, cat_dir: str) -> bool:
    """The attributes on the lock file, the manifest and the state, those that exist; True when one changed."""
    changed = False
    for name in (LOCK, MANIFEST, STATE):
        path = os.path.join(cat_dir, name)
        if os.path.lexists(path):
            changed = attrs(path, False) or changed
    return changed
