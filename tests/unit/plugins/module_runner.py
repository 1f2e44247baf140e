# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The module test harness: run a module's main() and get back its result, or build the AnsibleModule it would build.

``run_module`` replaces exit_json and fail_json and returns what the module handed them; ``run_module_output`` lets
them run as on a host (no_log masking included) and returns the exit status and what was printed;
``make_module`` builds an AnsibleModule from an argument spec and arguments, for a module's ``run(module, ...)``.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any, Callable

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core before 2.19
    @contextlib.contextmanager
    def patch_module_args(args=None):
        saved = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = to_bytes(json.dumps({'ANSIBLE_MODULE_ARGS': args or {}}))
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = saved


class ExitJson(Exception):
    pass


class FailJson(Exception):
    pass


def run_module(monkeypatch: Any, main: Callable[[], None], args: dict, check: bool = False,
               diff: bool = False) -> tuple[bool, dict]:
    """main() with args; returns (ok, result): ok is False when the module failed."""
    def exit_json(self, **kwargs):
        raise ExitJson(kwargs)

    def fail_json(self, msg, **kwargs):
        kwargs['msg'] = msg
        raise FailJson(kwargs)

    monkeypatch.setattr(basic.AnsibleModule, 'exit_json', exit_json)
    monkeypatch.setattr(basic.AnsibleModule, 'fail_json', fail_json)
    args = dict(args)
    if check:
        args['_ansible_check_mode'] = True
    if diff:
        args['_ansible_diff'] = True
    with patch_module_args(args):
        try:
            main()
        except ExitJson as exc:
            return True, exc.args[0]
        except FailJson as exc:
            return False, exc.args[0]
    raise AssertionError('main() returned without exit_json or fail_json')


def run_module_output(capsys: Any, main: Callable[[], None], args: dict) -> tuple[int, dict, str]:
    """main() with args, exit_json and fail_json as they are; returns (exit status, printed result, printed text)."""
    with patch_module_args(dict(args)):
        try:
            main()
        except SystemExit as exc:
            out = capsys.readouterr().out
            return exc.code, json.loads(out), out
    raise AssertionError('main() returned without exit_json or fail_json')


def make_module(argument_spec: dict, args: dict, **kwargs: Any) -> basic.AnsibleModule:
    """The AnsibleModule that main() would build from ``argument_spec`` with ``args``."""
    with patch_module_args(dict(args)):
        return basic.AnsibleModule(argument_spec=argument_spec, **kwargs)
