# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""archive_plan and stray cursors (issue 13): a cursor a stray time left in the future is reported, and the plan
never ends before it starts. (Filters import ansible.errors, so these tests live beside the filters' tests.)"""

from __future__ import annotations

from ansible_collections.opswat.itot.plugins.filter import archive_plan as archive_plan_module

T0 = 1795903200000  # 2026-11-28T22:00:00Z
MINUTE = 60 * 1000
HOUR = 60 * MINUTE


def test_the_next_window_after_a_stray_entry_starts_at_the_cursor_minus_the_overlap():
    plan = archive_plan_module.archive_plan([{'results': [{'item': 'admin', 'cursor_ms': T0 + MINUTE}]}], ['admin'],
                                            overlap=300, now_ms=T0 + 2 * HOUR)
    assert [(item['start_time'], item['end_time']) for item in plan] == [(T0 + MINUTE - 300000, T0 + 2 * HOUR)]


def test_a_cursor_already_in_the_future_is_reported_by_the_plan(monkeypatch):
    warned = []
    monkeypatch.setattr(archive_plan_module.display, 'warning', warned.append)
    hosts = [{'results': [{'item': 'admin', 'cursor_ms': 4070908800000}]}, {'results': [{'item': 'admin', 'cursor_ms': T0}]}]
    plan = archive_plan_module.archive_plan(hosts, ['admin'], overlap=300, now_ms=T0 + HOUR)
    assert len(warned) == 1 and '1 host(s) hold a admin cursor after the end of this run' in warned[0]
    assert '2099-01-01T00:00:00.000Z' in warned[0]
    assert [(item['start_time'], item['end_time']) for item in plan] == [(T0 - 300000, T0 + HOUR)]
    # Only future cursors: the plan is one window that does not end before it starts.
    plan = archive_plan_module.archive_plan(hosts[:1], ['admin'], overlap=300, now_ms=T0 + HOUR)
    assert all(item['start_time'] <= item['end_time'] for item in plan) and len(warned) == 2
