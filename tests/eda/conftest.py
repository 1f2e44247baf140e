# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The eda step's tests import the bundled emulator (tests/emulator) and the collection from its layout."""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / 'emulator'))
# The layout's ansible_collections/ folder holds this collection: the source's module_utils import from there.
sys.path.insert(0, str(HERE.parents[4]))
