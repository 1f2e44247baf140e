# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Every SEE ALSO of ansible-doc points somewhere that exists (issue 18): a ``ref:`` renders as a docs.ansible.com
search that finds nothing for this collection, so the guide is linked on the repository and named where installed."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
GALAXY = yaml.safe_load((ROOT / 'galaxy.yml').read_text(encoding='utf-8'))
GUIDE_URL = GALAXY['repository'] + '/blob/main/'
INSTALLED = 'ansible_collections/%s/%s/' % (GALAXY['namespace'], GALAXY['name'])
SOURCES = sorted(path for path in (ROOT / 'plugins').glob('*/*.py') if path.name != '__init__.py')


def seealso_entries():
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
            if (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
                    and node.targets[0].id == 'DOCUMENTATION' and isinstance(node.value, ast.Constant)):
                for entry in (yaml.safe_load(node.value.value) or {}).get('seealso') or []:
                    yield path.relative_to(ROOT).as_posix(), entry


ENTRIES = list(seealso_entries())


def test_there_are_guide_links():
    assert any('link' in entry for dummy, entry in ENTRIES)


@pytest.mark.parametrize('source, entry', ENTRIES, ids=['%s-%d' % (source, n) for n, (source, dummy) in enumerate(ENTRIES)])
def test_every_seealso_points_somewhere_that_exists(source, entry):
    assert 'ref' not in entry, source
    if 'link' not in entry:
        return
    assert entry['link'].startswith(GUIDE_URL), source
    relative = entry['link'][len(GUIDE_URL):]
    assert (ROOT / relative).is_file(), (source, relative)
    assert (INSTALLED + relative) in ' '.join(entry['description'].split()), source
    assert entry['name'], source
