# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Verification of a category folder: the chain and its anchor, then tampered, missing and extra archive files.

For internal collection use only.  Each problem is a dict (``kind``, ``file``, ``line``, ``detail``); a failed
verification is one ArchiveError that carries them all.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from ansible_collections.opswat.itot.plugins.module_utils._archive_chain import chain_problems, live_files, parse_manifest
from ansible_collections.opswat.itot.plugins.module_utils._archive_fs import sha256_file
from ansible_collections.opswat.itot.plugins.module_utils._archive_names import ARCHIVE_SUFFIX, TEMP_PREFIX
from ansible_collections.opswat.itot.plugins.module_utils._errors import ArchiveError


def iter_archive_files(cat_dir: str) -> Iterator[str]:
    """Every ``*.jsonl.gz`` under the category folder, relative, with '/' separators."""
    for folder, dirs, files in os.walk(cat_dir):
        dirs.sort()
        for name in sorted(files):
            if name.endswith(ARCHIVE_SUFFIX) and not name.startswith(TEMP_PREFIX):
                yield os.path.relpath(os.path.join(folder, name), cat_dir).replace(os.sep, '/')


def _file_problem(kind: str, name: str, detail: str) -> dict[str, Any]:
    return {'kind': kind, 'file': name, 'line': None, 'detail': detail}


def live_file_problems(cat_dir: str, live: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The live files of the manifest that are missing or whose sha256 is not the manifest's."""
    problems = []
    for name, record in live.items():
        try:
            actual = sha256_file(cat_dir, name)
        except FileNotFoundError:
            problems.append(_file_problem('missing', name, 'missing: %s' % name))
            continue
        except ArchiveError as exc:
            # A link or a special file where an archive file belongs: never followed, never hashed.
            problems.append(_file_problem('tampered', name, 'tampered: %s' % exc.message))
            continue
        if actual != record.get('sha256'):
            problems.append(_file_problem('tampered', name, 'tampered: %s has sha256 %s, the manifest says %s'
                                                            % (name, actual, record.get('sha256'))))
    return problems


def verify_archive(cat_dir: str, lines: list[bytes], state: dict[str, Any] | None) -> list[dict[str, Any]]:
    """What is wrong with a category folder: the chain and its anchor, tampered / missing / extra files."""
    problems = chain_problems(lines, state)
    live = live_files(parse_manifest(lines)[0])[0]
    problems.extend(live_file_problems(cat_dir, live))
    for name in iter_archive_files(cat_dir):
        if name not in live:
            problems.append(_file_problem('extra', name, 'extra: %s is not a live file of the manifest' % name))
    return problems


def verify_error(cat_dir: str, problems: list[dict[str, Any]]) -> ArchiveError:
    return ArchiveError('archive verification failed in %s: %s' % (cat_dir, '; '.join(p['detail'] for p in problems)),
                        problems)
