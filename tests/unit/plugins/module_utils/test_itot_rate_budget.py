# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import http.server
import json
import os
import stat
import subprocess
import sys
import threading
import time

import ansible.module_utils
import pytest

from ansible_collections.opswat.itot.plugins.module_utils import _rate_budget
from ansible_collections.opswat.itot.plugins.module_utils._rate_budget import (
    RateBudget,
    connection_identity,
    ledger_name,
)

SECRET_TOKEN = 'tok-4f9c2a77e1b0d3'


def budget(path, clock, limit=3, window=60.0):
    return RateBudget(str(path), limit, window=window, clock=clock.time, sleep=clock.sleep)


def test_limit_per_window(tmp_path, clock):
    b = budget(tmp_path / 'l.json', clock)
    start = clock.now
    times = [b.reserve() for dummy in range(7)]
    assert times[:3] == [start] * 3
    assert times[3] == start + 60 and times[6] == start + 120
    for i in range(len(times) - 3):
        assert times[i + 3] - times[i] >= 60


def test_budget_is_shared_through_the_ledger(tmp_path, clock):
    first, second = budget(tmp_path / 'l.json', clock), budget(tmp_path / 'l.json', clock)
    assert first.reserve() == clock.now and second.reserve() == clock.now
    clock.now += 10
    assert first.reserve() == clock.now
    assert second.delay() == 50
    assert second.reserve() == clock.now  # after waiting 50 s
    assert clock.sleeps == [50]


def test_settle_counts_a_slot_from_when_the_answer_came(tmp_path, clock):
    b = budget(tmp_path / 'l.json', clock, limit=1)
    stamp = b.reserve()
    clock.now += 4  # the request took 4 s: the API counted it somewhere in between
    b.settle(stamp)
    assert b.delay() == 60
    b.settle(12345.0)  # an unknown stamp changes nothing
    assert b.delay() == 60


def test_zero_limit_is_no_pacing(tmp_path, clock):
    b = budget(tmp_path / 'l.json', clock, limit=0)
    for dummy in range(50):
        b.reserve()
    assert clock.sleeps == [] and not os.path.exists(str(tmp_path / 'l.json'))


def test_block_until_is_seen_by_other_instances(tmp_path, clock):
    first, second = budget(tmp_path / 'l.json', clock), budget(tmp_path / 'l.json', clock)
    first.block_until(clock.now + 12)
    assert second.delay() == 12
    second.reserve()
    assert clock.sleeps == [12]


def test_damaged_ledger_is_replaced(tmp_path, clock):
    path = tmp_path / 'l.json'
    path.write_text('{not json')
    b = budget(path, clock)
    b.reserve()
    assert json.loads(path.read_text())['sent'] == [clock.now]


def test_ledger_holds_no_secret_and_is_private(cache_home, clock):
    b = RateBudget.for_connection('https://gears.opswat.com', connection_identity(None, SECRET_TOKEN), 10,
                                  clock=clock.time, sleep=clock.sleep)
    b.reserve()
    assert b.shared and os.path.dirname(b.path) == str(cache_home / 'opswat.itot')
    assert SECRET_TOKEN not in b.path and SECRET_TOKEN not in open(b.path).read()
    assert stat.S_IMODE(os.stat(b.path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(b.path)).st_mode) == 0o700


def test_ledger_names():
    url = 'https://gears.opswat.com'
    assert connection_identity('client-1', SECRET_TOKEN) == 'client:client-1'
    assert SECRET_TOKEN not in connection_identity(None, SECRET_TOKEN)
    names = {ledger_name(url, connection_identity('a', None)), ledger_name(url, connection_identity('b', None)),
             ledger_name('http://127.0.0.1:1', connection_identity('a', None)),
             ledger_name(url, connection_identity(None, 'x')), ledger_name(url, connection_identity(None, 'y'))}
    assert len(names) == 5


def test_unwritable_cache_falls_back_to_this_process(tmp_path, clock):
    blocker = tmp_path / 'file'
    blocker.write_text('')
    b = RateBudget.for_connection('https://x', 'client:a', 2, cache_dir=str(blocker / 'sub'),
                                  clock=clock.time, sleep=clock.sleep)
    assert not b.shared
    for dummy in range(3):
        b.reserve()
    assert clock.sleeps == [60]


def test_default_cache_dir_honours_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path))
    assert _rate_budget.default_cache_dir() == os.path.join(str(tmp_path), 'opswat.itot')
    monkeypatch.delenv('XDG_CACHE_HOME')
    monkeypatch.setenv('HOME', str(tmp_path / 'home'))
    assert _rate_budget.default_cache_dir() == os.path.join(str(tmp_path), 'home', '.cache', 'opswat.itot')


_CHILD = r'''
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location('rate_budget', sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
budget = module.RateBudget(sys.argv[2], 2, window=float(sys.argv[3]))
print('ready', flush=True)
sys.stdin.readline()  # start together
print(json.dumps([budget.reserve() for dummy in range(3)]))
'''


def test_two_processes_stay_within_the_budget(tmp_path):
    window = 1.0
    ledger = str(tmp_path / 'shared.json')
    children = [subprocess.Popen([sys.executable, '-c', _CHILD, _rate_budget.__file__, ledger, str(window)],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, universal_newlines=True)
                for dummy in range(2)]
    # Both children have started (a loaded machine can take seconds for that) before the clock starts.
    for child in children:
        assert child.stdout.readline() == 'ready\n'
    for child in children:
        child.stdin.write('go\n')
        child.stdin.flush()
    times = []
    for child in children:
        out, dummy = child.communicate(timeout=60)
        assert child.returncode == 0
        times.extend(json.loads(out))
    times.sort()
    assert len(times) == 6
    # No window holds more than 2 of the 6 requests of both processes together...
    for i in range(len(times) - 2):
        assert times[i + 2] - times[i] >= window - 1e-6
    # ...and they were not needlessly slow: 6 requests need 2 windows after the first one; a budget that waited a
    # window too long per wait would need 4.  The margin between (1 window) is for a loaded machine.
    assert times[-1] - times[0] < 3 * window


_CLIENT_CHILD = r'''
import sys, time
from ansible_collections.opswat.itot.plugins.module_utils._client import LogsClient
from ansible_collections.opswat.itot.plugins.module_utils._options import OptionAdapter, connection_settings
from ansible_collections.opswat.itot.plugins.module_utils._query import build_query
from ansible_collections.opswat.itot.plugins.module_utils._rate_budget import RateBudget
options = OptionAdapter.from_dict({'base_url': sys.argv[1], 'access_token': 'tok-child-0001', 'rate_limit': 2,
                                   'event_category': 'admin', 'age': 60})
client = LogsClient(connection_settings(options), budget=RateBudget(sys.argv[2], 2, window=0.4))
sys.stdin.readline()  # start together
for dummy in range(3):
    client.fetch(build_query(options, now_ms=int(time.time() * 1000)))
print(client.api_requests)
'''


class _CountingHandler(http.server.BaseHTTPRequestHandler):
    arrivals = []

    def do_POST(self):
        self.arrivals.append(time.time())
        self.rfile.read(int(self.headers.get('Content-Length', 0)))
        body = b'{"data": [], "token": ""}'
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_two_clients_in_two_processes_stay_within_the_budget(tmp_path):
    """Counted where the API counts: at the server, when each request arrives."""
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _CountingHandler)
    _CountingHandler.arrivals = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    # The children import the collection and ansible.module_utils from where this process found them.
    roots = [os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(_rate_budget.__file__))))))),
        os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(ansible.module_utils.__file__))))]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(roots))
    base_url = 'http://127.0.0.1:%d' % server.server_address[1]
    try:
        children = [subprocess.Popen([sys.executable, '-c', _CLIENT_CHILD, base_url, str(tmp_path / 'ledger.json')],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, universal_newlines=True)
                    for dummy in range(2)]
        for child in children:
            child.stdin.write('go\n')
            child.stdin.flush()
        for child in children:
            out, dummy = child.communicate(timeout=30)
            assert child.returncode == 0 and out.strip() == '3'
    finally:
        server.shutdown()
        server.server_close()
    arrivals = sorted(_CountingHandler.arrivals)
    assert len(arrivals) == 6
    for i in range(len(arrivals) - 2):
        assert arrivals[i + 2] - arrivals[i] >= 0.4 - 1e-3


@pytest.mark.parametrize('content', ['', '[]', '{"sent": "x"}', '{"sent": [1, "a", true], "blocked_until": "z"}'])
def test_odd_ledger_contents(content):
    state = _rate_budget._parse_state(content.encode())
    assert state['blocked_until'] == 0.0
    assert state['sent'] in ([], [1.0])


# --- a shared cache folder (issue 13): planted links, FIFOs, foreign folders and absurd waits ----------------------

def shared_budget(folder, clock, warnings, limit=2):
    return RateBudget.for_connection('https://x', 'client:a', limit, cache_dir=str(folder), clock=clock.time,
                                     sleep=clock.sleep, warn=warnings.append)


def paces_this_process_only(b, clock):
    """Three reservations at limit 2: the third waits a whole window, as a per-process budget does."""
    for dummy in range(3):
        b.reserve()
    return clock.sleeps == [60]


def test_a_linked_cache_folder_is_not_followed(tmp_path, clock):
    target = tmp_path / 'rootonly'
    target.mkdir(mode=0o700)
    (tmp_path / 'cache').symlink_to(target)
    warnings = []
    b = shared_budget(tmp_path / 'cache', clock, warnings)
    assert not b.shared and paces_this_process_only(b, clock)
    assert os.listdir(target) == []
    assert warnings == ['The request budget cannot be shared with other tasks (the cache folder %s is a symbolic '
                        'link); pacing requests of this task only' % (tmp_path / 'cache')]


def test_a_linked_ledger_is_not_followed_and_its_target_is_untouched(tmp_path, clock):
    folder = tmp_path / 'cache'
    folder.mkdir(mode=0o700)
    victim = tmp_path / 'victim.conf'
    victim.write_text('keep me\n')
    (folder / ledger_name('https://x', 'client:a')).symlink_to(victim)
    warnings = []
    b = shared_budget(folder, clock, warnings)
    assert not b.shared and paces_this_process_only(b, clock)
    assert victim.read_text() == 'keep me\n'
    assert len(warnings) == 1 and 'is a symbolic link' in warnings[0]


def test_a_fifo_ledger_does_not_hang(tmp_path, clock):
    folder = tmp_path / 'cache'
    folder.mkdir(mode=0o700)
    os.mkfifo(folder / ledger_name('https://x', 'client:a'))
    warnings = []
    b = shared_budget(folder, clock, warnings)
    assert not b.shared and paces_this_process_only(b, clock)
    assert len(warnings) == 1 and 'is not a regular file' in warnings[0]


def test_a_folder_others_can_write_is_not_used(tmp_path, clock):
    folder = tmp_path / 'cache'
    folder.mkdir()
    folder.chmod(0o777)
    warnings = []
    b = shared_budget(folder, clock, warnings)
    assert not b.shared and os.listdir(folder) == []
    assert len(warnings) == 1 and 'writable by group or others (mode 0777)' in warnings[0]


@pytest.mark.skipif(os.geteuid() != 0, reason='needs root to give a folder to another user')
def test_a_folder_of_another_user_is_not_used(tmp_path, clock):
    folder = tmp_path / 'cache'
    folder.mkdir(mode=0o700)
    os.chown(folder, 65534, 65534)
    warnings = []
    b = shared_budget(folder, clock, warnings)
    assert not b.shared and os.listdir(folder) == []
    assert len(warnings) == 1 and 'belongs to user id 65534' in warnings[0]


def test_a_ledger_swapped_for_a_link_after_the_checks_is_left_alone(tmp_path, clock):
    folder = tmp_path / 'cache'
    warnings = []
    b = shared_budget(folder, clock, warnings)
    assert b.shared and warnings == []
    victim = tmp_path / 'victim.conf'
    victim.write_text('keep me\n')
    os.unlink(b.path)
    os.symlink(victim, b.path)
    assert paces_this_process_only(b, clock)
    assert not b.shared and victim.read_text() == 'keep me\n'
    assert len(warnings) == 1 and 'is a symbolic link' in warnings[0]


def test_a_wait_longer_than_any_answer_asks_for_is_cut_and_named(tmp_path, clock):
    warnings = []
    b = RateBudget(str(tmp_path / 'l.json'), 10, clock=clock.time, sleep=clock.sleep, warn=warnings.append)
    b.block_until(clock.now + 3000)  # a clock stepped back 50 minutes, or an edited ledger
    b.reserve()
    b.block_until(clock.now + 3000)
    b.reserve()
    assert clock.sleeps == [120, 120]
    assert warnings == ['The request ledger asks to wait 3000 s, longer than any answer of the API asks for (120 s): '
                        'a clock stepped back, or the ledger was edited; waiting 120 s']


def test_a_retry_after_within_the_cap_is_honoured(tmp_path, clock):
    warnings = []
    b = RateBudget(str(tmp_path / 'l.json'), 10, clock=clock.time, sleep=clock.sleep, warn=warnings.append)
    b.block_until(clock.now + 90)
    b.reserve()
    assert clock.sleeps == [90] and warnings == []
