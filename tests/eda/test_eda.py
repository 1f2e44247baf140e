# Copyright: (c) 2026, opswat.itot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Event-Driven Ansible source against the bundled emulator (make test's eda step).

- The real ansible-rulebook runs the bundled rulebooks: entries appended to the emulator fire their rule (and run
  its playbook) exactly once per firing, not before the count is reached; a restart with the state file repeats
  no entry and loses none; a playbook reading the same tenant meanwhile draws no HTTP 429 (one pacing ledger); the
  secret sweep finds neither the token nor the client secret in anything the runs wrote, at -vv.
- The source itself (main(queue, args), in process) against every mode of the emulator that API-NOTES lists
  (pagination readings, orders, time formats, window bounds, token in a header, duplicates, faults, 429 bursts,
  token expiry): the events are the emulator's ground truth, each once, oldest first.
"""
from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable

import pytest
from itot_emulator import EmulatorConfig, run_in_thread

from ansible_collections.opswat.itot.extensions.eda.plugins.event_source import itot_logs

ROOT = Path(__file__).resolve().parents[2]
RULEBOOKS = ROOT / 'extensions' / 'eda' / 'rulebooks'
SWEEP = ROOT / 'tests' / 'integration' / 'targets' / 'setup_itot_emulator' / 'files' / 'secret_sweep.py'
TOKEN = 'itot-EDA-SWEEP-token-5b7c1e9d4a'
CLIENT_ID = 'itot-eda-client'
SECRET = 'itot-EDA-SWEEP-secret-2f6a0c4e8b'
WAIT = 90  # seconds a rule may take to fire (ansible-rulebook, then ansible-playbook)


def now_ms() -> int:
    return int(time.time() * 1000)


def ctl(url: str, method: str, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode('utf-8')
    request = urllib.request.Request(url + path, data=data, method=method, headers={'Content-Type': 'application/json'})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read().decode('utf-8'))


def wait_for(what: str, check: Callable[[], Any], timeout: float = WAIT) -> Any:
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError('timed out after %g s waiting for %s' % (timeout, what))


@pytest.fixture
def emulator():
    servers = []

    def start(**config: Any) -> str:
        config.setdefault('access_tokens', [TOKEN])
        config.setdefault('clients', {CLIENT_ID: SECRET})
        server = run_in_thread(EmulatorConfig(**config))
        servers.append(server)
        return server.base_url
    yield start
    for server in servers:
        server.stop()


# --- the real ansible-rulebook ---------------------------------------------------------------------------------

class Rulebook:
    """One ansible-rulebook process at -vv (the most it logs), its output in the work folder."""

    runs = 0

    def __init__(self, work: Path, rulebook: str, env: dict[str, str]) -> None:
        Rulebook.runs += 1
        self.log = work / ('rulebook-%d.log' % Rulebook.runs)
        command = ['ansible-rulebook', '--rulebook', str(RULEBOOKS / rulebook), '-i', str(work / 'inventory.yml'),
                   '--vars', str(work / 'vars.yml'), '-vv']
        with open(self.log, 'wb') as out:
            self.process = subprocess.Popen(command, cwd=str(work), env=env, stdout=out, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def alive(self) -> None:
        assert self.process.poll() is None, 'ansible-rulebook ended (%s):\n%s' % (
            self.process.returncode, self.log.read_text(errors='replace')[-4000:])


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / 'tmp').mkdir()
    (tmp_path / 'state').mkdir()
    (tmp_path / 'inventory.yml').write_text(
        'all:\n  hosts:\n    localhost:\n      ansible_connection: local\n      ansible_python_interpreter: %s\n'
        % sys.executable)
    (tmp_path / 'vars.yml').write_text('itot_eda_state_dir: %s\n' % (tmp_path / 'state'))
    return tmp_path


def environment(work: Path, url: str, **extra: str) -> dict[str, str]:
    """The connection from ITOT_* only (never in a rulebook or on a command line); every temp folder under work."""
    env = dict(os.environ, ITOT_BASE_URL=url, ITOT_ACCESS_TOKEN=TOKEN, ITOT_RATE_LIMIT='10', ITOT_RATE_WINDOW='2',
               ITOT_EDA_ACTIONS_FILE=str(work / 'actions.jsonl'), XDG_CACHE_HOME=str(work / 'cache'),
               TMPDIR=str(work / 'tmp'), ANSIBLE_LOCAL_TEMP=str(work / 'ansible-local'),
               ANSIBLE_LOG_PATH=str(work / 'ansible.log'), ANSIBLE_NOCOLOR='1')
    env.update(extra)
    return env


def actions(work: Path) -> list[dict[str, Any]]:
    path = work / 'actions.jsonl'
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def admin_entries(url: str, email: str, count: int) -> list[dict[str, Any]]:
    """``count`` failed logins of one admin, now (1 ms apart)."""
    start = now_ms()
    entries = [{'timestamp': start + i, 'event': 'failed_auth', 'details': 'SSO login failed',
                'admin_name': email.split('@')[0], 'admin_email': email} for i in range(count)]
    return ctl(url, 'POST', '/_control/append', {'category': 'admin', 'entries': entries})['appended']


def polled(state: Path, after: float) -> bool:
    """The source wrote its state after ``after``: it has polled (the file is written after every poll)."""
    return state.exists() and state.stat().st_mtime > after


def cleaned_up(work: Path) -> None:
    """ansible-runner writes ansible-rulebook's environment (the ITOT_* secrets with it) into the playbook run's
    private folder (mode 0700, under TMPDIR); ansible-rulebook removes the folder when the run ends. Wait for that
    before stopping it, so that the sweep below finds it only when it is left behind."""
    wait_for('the playbook runs to be cleaned up', lambda: not list((work / 'tmp').glob('eda*')), timeout=30)


def quiet_for(work: Path, seconds: float, expected: int, rulebook: Rulebook) -> None:
    """No rule fires during ``seconds`` (several polls at the default interval of 0.4 s)."""
    time.sleep(seconds)
    rulebook.alive()
    assert len(actions(work)) == expected, actions(work)


def test_failed_logins_rulebook_fires_once_per_count_survives_a_restart_and_shares_the_budget(emulator, work):
    # The API's budget, 10 requests per 2 s, on the emulator and (ITOT_RATE_*) in every client of the tenant.
    url = emulator(rate_limit=10, rate_window=2, entries=200, span=3600)
    env = environment(work, url)
    state = work / 'state' / 'failed_admin_logins.json'
    rulebook = Rulebook(work, 'failed_admin_logins.yml', env)
    try:
        wait_for('the source to poll', lambda: polled(state, 0))
        # A playbook reading the same tenant at the same time, through the lookup and the module (about 20 requests).
        reader = subprocess.Popen(['ansible-playbook', '-vvv', '-i', str(work / 'inventory.yml'),
                                   str(Path(__file__).parent / 'read_same_tenant.yml')],
                                  cwd=str(work), env=env, stdout=open(work / 'reader.log', 'wb'), stderr=subprocess.STDOUT)
        admin_entries(url, 'ann@example.com', 4)
        admin_entries(url, 'bob@example.com', 4)
        quiet_for(work, 4, 0, rulebook)  # 4 of ann, 4 of bob: below the threshold of 5, nothing fires
        admin_entries(url, 'ann@example.com', 1)
        fired = wait_for('the rule to fire', lambda: actions(work))
        assert [(a['action'], a['admin_email']) for a in fired] == [('failed_admin_logins', 'ann@example.com')]
        assert reader.wait(timeout=300) == 0, (work / 'reader.log').read_text()[-3000:]
        quiet_for(work, 3, 1, rulebook)
        cleaned_up(work)
    finally:
        rulebook.stop()
    # While ansible-rulebook is away: two more of ann. The rule engine's count starts again with the new process.
    admin_entries(url, 'ann@example.com', 2)
    restarted = time.time()
    rulebook = Rulebook(work, 'failed_admin_logins.yml', env)
    try:
        wait_for('the restarted source to poll', lambda: polled(state, restarted + 1))
        # Nothing repeated: the 11 entries of before would make ann's count 7 and fire at once.
        quiet_for(work, 4, 1, rulebook)
        # Nothing lost: the 2 of the break and 3 new ones are ann's 5.
        admin_entries(url, 'ann@example.com', 3)
        wait_for('the rule to fire again', lambda: len(actions(work)) == 2)
        quiet_for(work, 3, 2, rulebook)
        cleaned_up(work)
    finally:
        rulebook.stop()
    counters = ctl(url, 'GET', '/_control/counters')
    assert counters['rate_limited'] == 0 and counters['by_status'].get('429', 0) == 0, counters
    assert counters['logs_requests'] > 20  # the source and the reader both read, side by side
    sweep(work)


def test_noncompliant_rulebook_runs_the_remediation_with_the_device(emulator, work):
    url = emulator(rate_limit=0, entries=50, span=3600)
    env = environment(work, url, ITOT_RATE_LIMIT='0')
    state = work / 'state' / 'device_noncompliant.json'
    # rate_limit 0: the default interval is 10 s; the rule must still fire within a poll or two.
    rulebook = Rulebook(work, 'device_noncompliant.yml', env)
    try:
        wait_for('the source to poll', lambda: polled(state, 0))
        entry = {'timestamp': now_ms(), 'event': 'noncompliant', 'details': 'Antivirus is off',
                 'device_id': 'a1b2c3d4e5f60718293a4b5c6d7e8f90', 'device_name': 'OT-HMI-03',
                 'device_username': 'op', 'device_group': 'Plant'}
        other = dict(entry, event='compliant', device_name='OT-PLC-07')
        ctl(url, 'POST', '/_control/append', {'category': 'device', 'entries': [other, entry]})
        fired = wait_for('the remediation to run', lambda: actions(work))
        assert [(a['action'], a['device_name'], a['device_id']) for a in fired] == [
            ('remediate_device', 'OT-HMI-03', 'a1b2c3d4e5f60718293a4b5c6d7e8f90')]
        cleaned_up(work)
    finally:
        rulebook.stop()
    sweep(work)


def sweep(work: Path) -> None:
    """Every file the runs wrote (ansible-rulebook's and the playbooks' output at -vv and -vvv, ansible-runner's
    folders under TMPDIR, the Ansible log, the state files, the ledger), for the token and the secret."""
    logs = sorted(str(path) for path in work.glob('rulebook-*.log'))
    required = [arg for path in logs for arg in ('--require', path)]
    subprocess.run([sys.executable, str(SWEEP), '--secret', TOKEN, '--secret', SECRET, '--min-files', str(len(logs) + 2)]
                   + required + [str(work)], check=True)


# --- the source in process, against every mode of the emulator ---------------------------------------------------

def poll_once(args: dict[str, Any]) -> list[dict[str, Any]]:
    queue: asyncio.Queue = asyncio.Queue()
    asyncio.run(itot_logs.main(queue, args, polls=1))
    return [queue.get_nowait() for dummy in range(queue.qsize())]


MODES = {
    '406-token desc iso': {},
    '200-cursor asc epoch-ms, token in a header': {'pagination': '200-cursor', 'order': 'asc',
                                                   'time_format': 'epoch-ms', 'auth': 'header'},
    '406-split mixed times, duplicates': {'pagination': '406-split', 'time_format': 'mixed', 'duplicates': 5},
    '200-413 rfc1123, exclusive bounds': {'pagination': '200-413', 'time_format': 'rfc1123', 'bounds': 'exclusive'},
    'half-open bounds, one event per filter': {'bounds': 'half-open', 'events_format': 'single'},
    '5xx, resets and bad JSON': {'faults': {'500': 0.1, '503': 0.05, 'reset': 0.05, 'badjson': 0.05}, 'fault_seed': 4},
    '429 bursts (5 per 3 s)': {'rate_limit': 5, 'rate_window': 3},
    'page tokens that expire': {'page_token_ttl': 0.001},
}


@pytest.mark.parametrize('mode', list(MODES))
def test_the_source_returns_the_truth_once_in_every_emulator_mode(emulator, tmp_path, monkeypatch, mode):
    config = dict(MODES[mode])
    config.setdefault('rate_limit', 0)
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'cache'))
    url = emulator(entries=150, span=600, anchor_ms=now_ms() - 60000, **config)
    args = {'base_url': url, 'access_token': TOKEN, 'categories': ['admin', 'device'], 'start': '-15m',
            'filters': {'admin': {'events': ['failed_auth', 'login']}}, 'state_file': str(tmp_path / 'state.json'),
            'max_retries': 8, 'rate_limit': 0, 'interval': 0.1}
    if config.get('auth') == 'header':
        args['access_token_location'] = 'header'
    if mode.startswith('429'):
        args.update(rate_limit=120, interval=1)  # more than the server allows: its 429s are waited out
    truth = {'admin': ctl(url, 'GET', '/_control/truth?category=admin&events=failed_auth,login')['data'],
             'device': ctl(url, 'GET', '/_control/truth?category=device')['data']}
    assert all(truth.values())
    check(poll_once(args), truth)
    # New entries (the same moment: ties), and a restart from the state file: exactly the new ones.
    appended = {'admin': ctl(url, 'POST', '/_control/append', {'category': 'admin', 'count': 7, 'events': ['login']}),
                'device': ctl(url, 'POST', '/_control/append', {'category': 'device', 'count': 9})}
    check(poll_once(args), {category: answer['appended'] for category, answer in appended.items()})
    assert poll_once(args) == []


def check(events: list[dict[str, Any]], expected: dict[str, list[Any]]) -> None:
    for category, entries in expected.items():
        got = [event['itot']['log'] for event in events if event['itot']['category'] == category]
        assert got == entries, category
    assert len(events) == sum(len(entries) for entries in expected.values())


def test_the_source_renews_an_expired_token_mid_run(emulator, tmp_path, monkeypatch):
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'cache'))
    url = emulator(rate_limit=0, entries=20, span=600, anchor_ms=now_ms() - 60000)
    poller = itot_logs.make_poller({'base_url': url, 'client_id': CLIENT_ID, 'client_secret': SECRET,
                                    'categories': ['device'], 'start': '-15m', 'rate_limit': 0})
    try:
        assert len(poller.poll()) == 20
        ctl(url, 'POST', '/_control/config', {'expire_access_tokens': True})  # while the source runs
        appended = ctl(url, 'POST', '/_control/append', {'category': 'device', 'count': 3})['appended']
        check(poller.poll(), {'device': appended})
    finally:
        poller.close()
    counters = ctl(url, 'GET', '/_control/counters')
    assert counters['oauth_requests'] == 2 and counters['by_status']['401'] == 1, counters
