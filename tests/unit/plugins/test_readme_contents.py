# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The README's content table names every module, lookup and filter the collection ships (issue 18)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
TABLE = [line for line in (ROOT / 'README.md').read_text(encoding='utf-8').splitlines() if line.startswith('| ')]


def filter_names():
    for path in sorted((ROOT / 'plugins' / 'filter').glob('*.py')):
        if path.name != '__init__.py':
            module = importlib.import_module('ansible_collections.opswat.itot.plugins.filter.' + path.stem)
            yield from module.FilterModule().filters()


NAMES = sorted(set(filter_names()) | {path.stem for kind in ('modules', 'lookup', 'action')
                                      for path in (ROOT / 'plugins' / kind).glob('*.py') if path.name != '__init__.py'})


@pytest.mark.parametrize('name', NAMES)
def test_the_readme_table_names_every_plugin(name):
    assert any('`opswat.itot.%s`' % name in line for line in TABLE), name
