"""make bench: opswat.itot against the bundled emulator, side by side with a hand-written ansible.builtin.uri loop.

Run by hacking/bench.sh (which builds and installs the collection first) with the .venv's Python:

    python hacking/bench.py --collections DIR [--runs 3] [--only 1,2,...] [--output bench-results.json]

Every scenario runs real ``ansible-playbook`` processes (tests/bench/*.yml) against tests/emulator/itot_emulator.py,
checks what they returned or wrote against the emulator's ground truth, and reports the median of ``--runs`` runs.
Wall time is the whole ``ansible-playbook`` process; CPU time and peak memory come from ``os.wait4`` (the process and
every child it waited for; peak RSS is that of the largest single process).  Pacing times are read from the
emulator's access log (first request's arrival to the last answer), since they are about the walk, not Ansible.
"""
from __future__ import annotations

import argparse
import collections
import datetime
import gzip
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EMULATOR = os.path.join(ROOT, 'tests', 'emulator', 'itot_emulator.py')
PLAYBOOKS = os.path.join(ROOT, 'tests', 'bench')
TOKEN = 'bench-access-token-5e1f'  # a throwaway token of the local emulator
PAGE = 100
# Runs a command and writes its wall time, CPU time and peak RSS (os.wait4: the process and every child it waited
# for). A small process of its own, because a child's peak RSS starts at its parent's size at fork time, and the
# bench holds the ground truth of 100,000 entries.
# The controller's own peak (the ansible-playbook process, VmHWM) is read from /proc while it runs.
LAUNCHER = """
import json, os, subprocess, sys, threading, time
started = time.monotonic()
proc = subprocess.Popen(sys.argv[2:])
peak = [0]
def watch():
    while True:
        try:
            with open('/proc/%d/status' % proc.pid) as handle:
                for line in handle:
                    if line.startswith('VmHWM:'):
                        peak[0] = max(peak[0], int(line.split()[1]))
        except OSError:
            return
        time.sleep(0.05)
threading.Thread(target=watch, daemon=True).start()
dummy, status, usage = os.wait4(proc.pid, 0)
wall = time.monotonic() - started
with open(sys.argv[1], 'w') as handle:
    json.dump({'wall': wall, 'cpu': usage.ru_utime + usage.ru_stime, 'rss_mb': usage.ru_maxrss / 1024.0,
               'controller_rss_mb': peak[0] / 1024.0}, handle)
sys.exit(os.waitstatus_to_exitcode(status))
"""
CATEGORIES = ('admin', 'device', 'webhook', 'device_report')


def canonical(entry: Any) -> str:
    return json.dumps(entry, sort_keys=True, separators=(',', ':'))


def median(values: list[float]) -> float:
    return statistics.median(values)


def measured_median(values: list[float | None]) -> float | None:
    """The median, or None when any run could not be measured."""
    return None if not values or any(value is None for value in values) else median(values)


def walk_note(walks: list[float | None]) -> str:
    walk = measured_median(walks)
    return 'walk NOT MEASURED (no logs request in the emulator log)' if walk is None else 'walk %.2f s' % walk


# --- the emulator ---------------------------------------------------------------------------------------------

class Emulator:
    """One emulator process with its access log; control endpoints as methods."""

    def __init__(self, work: str, name: str, *args: str, token: str = TOKEN) -> None:
        self.log_path = os.path.join(work, name + '.log')
        port_file = os.path.join(work, name + '.port')
        self.out = open(os.path.join(work, name + '.out'), 'wb')  # pylint: disable=consider-using-with
        self.proc = subprocess.Popen(  # pylint: disable=consider-using-with
            [sys.executable, EMULATOR, '--port', '0', '--port-file', port_file, '--log-file', self.log_path,
             '--access-token', token] + list(args), stdout=self.out, stderr=subprocess.STDOUT)
        deadline = time.time() + 120
        while not (os.path.exists(port_file) and open(port_file, encoding='ascii').read().strip()):
            if self.proc.poll() is not None or time.time() > deadline:
                raise SystemExit('the emulator did not start; see %s' % self.out.name)
            time.sleep(0.1)
        with open(port_file, encoding='ascii') as handle:
            self.url = 'http://127.0.0.1:%s' % handle.read().strip()

    def ctl(self, method: str, path: str, body: dict | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode('utf-8')
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={'Content-Type': 'application/json'})
        with urllib.request.urlopen(request, timeout=300) as answer:
            return json.load(answer)

    def truth(self, category: str, start: int | None = None, end: int | None = None) -> dict:
        query = 'category=%s' % category
        if start is not None:
            query += '&start_time=%d&end_time=%d' % (start, end)
        return self.ctl('GET', '/_control/truth?' + query)

    def config(self, **settings: Any) -> None:
        self.ctl('POST', '/_control/config', settings)

    def counters(self) -> dict:
        return self.ctl('GET', '/_control/counters')

    def reset(self) -> None:
        self.ctl('POST', '/_control/reset_counters', {})
        self.config(reset_rate_limits=True)

    def log_lines(self) -> list[str]:
        with open(self.log_path, encoding='utf-8') as handle:
            return handle.read().splitlines()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.out.close()


_LOG_LINE = re.compile(r'^(\S+) POST /o/api/v3\.3/logs (\S+) ([0-9.]+)s')


def request_spans(lines: list[str]) -> list[tuple[float, float]]:
    """(arrival, answer) of every logs request in emulator access log lines, in log order."""
    spans = []
    for line in lines:
        match = _LOG_LINE.match(line)
        if match:
            end = datetime.datetime.strptime(match.group(1), '%Y-%m-%dT%H:%M:%S.%fZ').timestamp()
            spans.append((end - float(match.group(3)), end))
    return spans


def longest_pause(lines: list[str]) -> float:
    """The longest time between an answer and the next logs request: under a budget of 10 per 3 s the pacing
    waits up to 3 s; a longer pause is work between two reads (a round's archive step)."""
    spans = request_spans(lines)
    return max([later[0] - earlier[1] for earlier, later in zip(spans, spans[1:])] or [0.0])


def walk_seconds(lines: list[str]) -> float | None:
    """From the first logs request's arrival to the last answer, from emulator access log lines; None when no line
    is a logs request (nothing was measured: a target judged on it is missed, not met)."""
    spans = request_spans(lines)
    if not spans:
        return None
    return max(end for dummy, end in spans) - min(start for start, dummy in spans)


# --- running Ansible -------------------------------------------------------------------------------------------

class Runner:
    """ansible-playbook with the installed collection, a private Ansible temp and budget ledger folder."""

    def __init__(self, work: str, collections_path: str) -> None:
        self.work = work
        self.count = 0
        bindir = os.path.dirname(sys.executable)
        self.env = dict(os.environ)
        self.env.update({
            'PATH': bindir + os.pathsep + self.env.get('PATH', ''),
            'ANSIBLE_COLLECTIONS_PATH': collections_path,
            'ANSIBLE_LOCAL_TEMP': os.path.join(work, 'ansible-local'),
            'ANSIBLE_REMOTE_TEMP': os.path.join(work, 'ansible-remote'),
            'ANSIBLE_NOCOLOR': '1',
            'ANSIBLE_RETRY_FILES_ENABLED': 'false',
            'ANSIBLE_HOST_KEY_CHECKING': 'false',
            'ANSIBLE_PYTHON_INTERPRETER': sys.executable,
        })
        self.playbook_bin = os.path.join(bindir, 'ansible-playbook')

    def inventory(self, name: str, hosts: list[str], host_vars: dict | None = None) -> str:
        path = os.path.join(self.work, 'inventory-%s.ini' % name)
        with open(path, 'w', encoding='utf-8') as handle:
            handle.write('[bench]\n')
            for host in hosts:
                extra = ' '.join('%s=%s' % item for item in (host_vars or {}).get(host, {}).items())
                handle.write('%s ansible_connection=local %s\n' % (host, extra))
        return path

    def playbook(self, playbook: str, variables: dict, inventory: str | None = None, forks: int = 5) -> dict:
        """Run a playbook of tests/bench with a budget ledger of its own; the variables (with the token) go in a
        0600 vars file."""
        self.count += 1
        tag = '%03d' % self.count
        vars_file = os.path.join(self.work, 'vars-%s.json' % tag)
        with open(os.open(vars_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'w', encoding='utf-8') as handle:
            json.dump(variables, handle)
        env = dict(self.env, XDG_CACHE_HOME=os.path.join(self.work, 'cache-%s' % tag))
        cmd = [self.playbook_bin, os.path.join(PLAYBOOKS, playbook), '-i', inventory or 'localhost,',
               '-f', str(forks), '-e', '@' + vars_file, '-e', 'bench_vars_file=' + vars_file]
        if inventory is None:
            cmd += ['-c', 'local']
        log_path = os.path.join(self.work, 'play-%s-%s.log' % (tag, os.path.splitext(playbook)[0]))
        usage_path = os.path.join(self.work, 'usage-%s.json' % tag)
        with open(log_path, 'wb') as log:
            proc = subprocess.run([sys.executable, '-c', LAUNCHER, usage_path] + cmd, stdout=log, stderr=subprocess.STDOUT,
                                  env=env, check=False)
        usage = self.load_usage(usage_path)
        with open(log_path, encoding='utf-8', errors='replace') as handle:
            output = handle.read()
        if proc.returncode != 0:
            tail = output[-3000:]
            raise SystemExit('%s failed (exit %d); its output: %s\n%s' % (playbook, proc.returncode, log_path, tail))
        return dict(usage, output=output, log=log_path)

    @staticmethod
    def load_usage(path: str) -> dict:
        with open(path, encoding='utf-8') as handle:
            return json.load(handle)


def recap_changed(output: str) -> dict[str, int]:
    """changed=N per host from a PLAY RECAP."""
    return {m.group(1): int(m.group(2)) for m in re.finditer(r'^(\S+)\s+:\s+ok=\d+\s+changed=(\d+)', output, re.M)}


# --- the bench -------------------------------------------------------------------------------------------------

class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.work = tempfile.mkdtemp(prefix='itot-bench-')
        self.run = Runner(self.work, args.collections)
        self.rows: list[dict] = []
        self.problems: list[str] = []
        self.emulator: Emulator | None = None

    # reporting
    def row(self, scenario: str, figure: str, ours: Any, baseline: Any = None, ratio: float | None = None,
            target: str = '', met: bool | None = None, note: str = '') -> None:
        self.rows.append({'scenario': scenario, 'figure': figure, 'ours': ours, 'baseline': baseline,
                          'ratio': None if ratio is None else round(ratio, 2), 'target': target, 'met': met,
                          'note': note})
        mark = {True: 'met', False: 'MISSED', None: ''}[met]
        print('  %-4s %-58s ours=%-10s baseline=%-10s ratio=%-7s target=%-14s %s'
              % (scenario, figure, _fmt(ours), _fmt(baseline), _fmt(ratio), target, mark), flush=True)

    def check(self, what: str, ok: bool) -> None:
        if not ok:
            self.problems.append(what)
            print('  CHECK FAILED: ' + what, flush=True)

    def wanted(self, number: int) -> bool:
        return not self.args.only or number in self.args.only

    # helpers
    def query_vars(self, category: str, start: int, end: int, rate_limit: int = 0, rate_window: float | None = None,
                   **extra: Any) -> dict:
        variables = {'bench_base_url': self.emulator.url, 'bench_access_token': TOKEN, 'bench_rate_limit': rate_limit,
                     'bench_category': category, 'bench_start_time': start, 'bench_end_time': end,
                     'bench_output': os.path.join(self.work, 'out-%d' % (self.run.count + 1))}
        if rate_window is not None:
            variables['bench_rate_window'] = rate_window
        variables.update(extra)
        return variables

    @staticmethod
    def load(path: str) -> Any:
        with open(path, encoding='utf-8') as handle:
            return json.load(handle)

    def same_as_truth(self, what: str, got: list, truth: dict, ordered: bool = True) -> None:
        want = truth['data']
        if ordered:
            self.check('%s: %d entries, oldest first, equal to the truth (%d)' % (what, len(got), len(want)),
                       [canonical(e) for e in got] == [canonical(e) for e in want])
        else:
            self.check('%s: %d entries, as a multiset equal to the truth (%d)' % (what, len(got), len(want)),
                       collections.Counter(map(canonical, got)) == collections.Counter(map(canonical, want)))

    def window_of_last(self, timestamps: list[int], count: int) -> tuple[int, int]:
        """A window [start, end] holding exactly the newest ``count`` entries."""
        if count >= len(timestamps):
            return timestamps[0], timestamps[-1]
        start = timestamps[-count]
        if timestamps[-count - 1] == start:
            raise SystemExit('two entries share the millisecond at the window start; change the seed')
        return start, timestamps[-1]

    def module_runs(self, label: str, category: str, start: int, end: int, truth: dict, runs: int,
                    **query: Any) -> list[dict]:
        """Run module.yml ``runs`` times; each result checked; counters per run."""
        results = []
        for number in range(runs):
            self.emulator.reset()
            variables = self.query_vars(category, start, end, **query)
            measured = self.run.playbook('module.yml', variables)
            result = self.load(variables['bench_output'] + '-localhost-1.json')
            counters = self.emulator.counters()
            if number == 0:
                self.same_as_truth('%s, module' % label, result['logs'], truth)
            self.check('%s: api_requests %d equals the requests the emulator counted %d'
                       % (label, result['api_requests'], counters['logs_requests']),
                       result['api_requests'] == counters['logs_requests'])
            measured.update(api_requests=result['api_requests'], counters=counters, count=result['count'])
            results.append(measured)
        return results

    # --- scenarios on one big emulator (1, 2, 3, 4, 5, 8) --------------------------------------------------------

    def big_emulator(self) -> None:
        entries = 100000 if self.wanted(8) else 10000
        print('== emulator: %d entries per category over 86,000 s, rate limit off' % entries, flush=True)
        self.emulator = Emulator(self.work, 'emulator-big', '--entries', str(entries), '--span', '86000',
                                 '--rate-limit', '0', '--seed', '7')
        truth = self.emulator.truth('device')
        self.timestamps = truth['timestamps_ms']
        self.windows = {n: self.window_of_last(self.timestamps, n) for n in (1000, 1050, 6000, 3000, 10000, entries)}
        self.truths = {n: self.emulator.truth('device', *self.windows[n]) for n in self.windows}
        for n, window_truth in self.truths.items():
            assert len(window_truth['data']) == n, (n, len(window_truth['data']))

    def oracle_split_requests(self, n: int) -> int:
        """Fewest requests for a 406-split walk of the newest ``n`` entries by a client that knows the server returns
        the newest ``limit`` entries first: each answer ends a window at its oldest millisecond; plus the one request
        a client that does not know it needs to find out which end a 406 holds."""
        keys = self.truths[n]['timestamps_ms']
        start, end = self.windows[n]
        requests = 0
        while True:
            inside = [k for k in keys if start <= k <= end]
            requests += 1
            if len(inside) <= PAGE:
                break
            newest = sorted(inside)[-PAGE:]
            end = newest[0]
            if len([k for k in inside if k >= end]) > PAGE:
                raise SystemExit('more than a page in one millisecond')
        return requests + 1

    def scenario_1_2_8(self) -> None:
        runs = self.args.runs
        minimum = {'406-token': lambda n: math.ceil(n / PAGE), '200-cursor': lambda n: n // PAGE + 1,
                   '406-split': self.oracle_split_requests, '200-413': lambda n: n // PAGE + 1}
        explain = {'406-token': 'ceil(N/100)', '200-cursor': 'floor(N/100)+1 (a full last page needs one more)',
                   '406-split': 'newest-first narrowing + 1 probe',
                   '200-413': 'ceil(N/100), +1 (the 413) when N is a multiple of 100'}
        sizes = [1000, 10000]
        # The vendor's own client's reading: 413 past the last page; N=1,050 shows the walk without the 413.
        styles = {'406-token': sizes, '200-cursor': sizes, '406-split': sizes, '200-413': [1000, 1050, 10000]}
        self.token_runs: dict[int, list[dict]] = {}
        for style, style_sizes in styles.items():
            self.emulator.config(pagination=style)
            sizes = style_sizes
            for n in (sizes + [max(self.windows)] if style == '406-token' and self.wanted(8) else sizes):
                if not (self.wanted(1) or (style == '406-token' and (self.wanted(2) or self.wanted(8)))):
                    continue
                results = self.module_runs('%s N=%d' % (style, n), 'device', *self.windows[n], self.truths[n], runs)
                if style == '406-token':
                    self.token_runs[n] = results
                if n not in sizes or not self.wanted(1):
                    continue
                requests = [r['api_requests'] for r in results]
                normal = ('200', '406', '413') if style == '200-413' else ('200', '406')
                retries = sum(sum(v for k, v in r['counters']['by_status'].items() if k not in normal)
                              for r in results)
                want = minimum[style](n)
                self.row('1', 'api_requests, %s, N=%d' % (style, n), int(median(requests)), None,
                         median(requests) / want, '= %d (%s)' % (want, explain[style]),
                         max(requests) == want and retries == 0,
                         note='answers other than %s: %d' % ('/'.join(normal), retries))

    def scenario_2_3(self) -> None:
        runs = self.args.runs
        self.emulator.config(pagination='406-token')
        n = 10000
        start, end = self.windows[n]
        ours = self.token_runs.get(n) or self.module_runs('406-token N=%d' % n, 'device', start, end, self.truths[n], runs)
        baseline = []
        for number in range(runs):
            self.emulator.reset()
            output = os.path.join(self.work, 'baseline-%d.json' % number)
            measured = self.run.playbook('baseline_uri.yml', {
                'itot_base_url': self.emulator.url, 'itot_access_token': TOKEN, 'itot_category': 'device',
                'itot_start_time': start, 'itot_end_time': end, 'itot_page_size': PAGE, 'itot_output': output})
            if number == 0:
                doc = self.load(output)
                entries = doc['entries'] if isinstance(doc, dict) else doc
                self.same_as_truth('uri loop N=%d' % n, entries, self.truths[n], ordered=False)
            measured['requests'] = self.emulator.counters()['logs_requests']
            baseline.append(measured)
        base_wall = median([b['wall'] for b in baseline])
        self.baseline_requests = int(median([b['requests'] for b in baseline]))
        if self.wanted(2):
            wall = median([r['wall'] for r in ours])
            self.row('2', 'wall s, 10,000 entries, module vs uri loop (budget off)', round(wall, 2), round(base_wall, 2),
                     base_wall / wall, 'baseline/ours >= 20', base_wall / wall >= 20)
            self.row('2', 'CPU s (all processes), module vs uri loop', round(median([r['cpu'] for r in ours]), 2),
                     round(median([b['cpu'] for b in baseline]), 2),
                     median([b['cpu'] for b in baseline]) / median([r['cpu'] for r in ours]), 'info')
            self.row('2', 'API requests, module vs uri loop', int(median([r['api_requests'] for r in ours])),
                     self.baseline_requests, None, 'info')
        if self.wanted(3):
            lookup = []
            for number in range(runs):
                self.emulator.reset()
                variables = self.query_vars('device', start, end)
                measured = self.run.playbook('lookup.yml', variables)
                if number == 0:
                    self.same_as_truth('lookup N=%d' % n, self.load(variables['bench_output'] + '-lookup.json'),
                                       self.truths[n])
                lookup.append(measured)
            wall = median([r['wall'] for r in lookup])
            self.row('3', 'wall s, 10,000 entries, lookup vs uri loop (budget off)', round(wall, 2), round(base_wall, 2),
                     base_wall / wall, 'baseline/ours >= 20', base_wall / wall >= 20)

    def paced(self, label: str, n: int, playbook_vars: dict, inventory: str | None = None, forks: int = 5,
              outputs: tuple = ('localhost-1',)) -> tuple[list[dict], list[int], list[float]]:
        """Runs under the emulator budget of 10 requests per 3 s: results, 429 counts and walk times."""
        results, limited, walks = [], [], []
        for number in range(self.args.runs):
            self.emulator.reset()
            before = len(self.emulator.log_lines())
            variables = dict(self.query_vars('device', *self.windows[n], rate_limit=10, rate_window=3), **playbook_vars)
            measured = self.run.playbook('module.yml', variables, inventory=inventory, forks=forks)
            counters = self.emulator.counters()
            limited.append(counters['rate_limited'])
            walks.append(walk_seconds(self.emulator.log_lines()[before:]))
            if number == 0:
                for name in outputs:
                    self.same_as_truth('%s (%s)' % (label, name),
                                       self.load('%s-%s.json' % (variables['bench_output'], name))['logs'],
                                       self.truths[n])
            measured['requests'] = counters['logs_requests']
            results.append(measured)
        return results, limited, walks

    def scenario_4_5(self) -> None:
        self.emulator.config(pagination='406-token', rate_limit=10, rate_window=3)
        minimum = (math.ceil(60 / 10) - 1) * 3.0  # 60 requests, 10 per 3 s: the 60th can leave 15 s after the 1st
        if self.wanted(4):
            results, limited, walks = self.paced('paced 60 pages', 6000, {})
            walk = measured_median(walks)
            self.row('4', '429 answers, 60 pages under 10 req/3 s (max of runs)', max(limited), None, None, '0',
                     max(limited) == 0 and min(r['requests'] for r in results) > 0)
            self.row('4', 'walk s (first request to last answer), 60 pages', None if walk is None else round(walk, 2),
                     None, None if walk is None else walk / minimum, '<= 1.10 x %.0f s' % minimum,
                     walk is not None and walk <= 1.10 * minimum,
                     note='playbook wall %.2f s; requests %d%s' % (
                         median([r['wall'] for r in results]), results[0]['requests'],
                         '' if walk is not None else '; ' + walk_note(walks)))
        if self.wanted(5):
            results, limited, walks = self.paced('two tasks back to back', 3000, {'bench_repeat': 2},
                                                 outputs=('localhost-1', 'localhost-2'))
            self.row('5', '429 answers, two tasks back to back, 2 x 30 pages', max(limited), None, None, '0',
                     max(limited) == 0 and measured_median(walks) is not None,
                     note='%s for %d requests (minimum %.0f s)' % (walk_note(walks), results[0]['requests'], minimum))
            inventory = self.run.inventory('forks', ['bench-a', 'bench-b'])
            results, limited, walks = self.paced('two forks at once', 3000, {'bench_hosts': 'all'}, inventory=inventory,
                                                 forks=2, outputs=('bench-a-1', 'bench-b-1'))
            self.row('5', '429 answers, two forks at once, 2 x 30 pages', max(limited), None, None, '0',
                     max(limited) == 0 and measured_median(walks) is not None,
                     note='%s for %d requests (minimum %.0f s)' % (walk_note(walks), results[0]['requests'], minimum))
        self.emulator.config(rate_limit=0)

    def scenario_10(self) -> None:
        """10,000 entries in chunks of 500 (max_results + next_token) against one walk: requests and wall time, for a
        server that pages oldest first (a chunk stops after the pages it needs) and newest first (it cannot)."""
        n, size = 10000, 500
        window, truth = self.windows[n], self.truths[n]
        for order in ('asc', 'desc'):
            self.emulator.config(pagination='406-token', order=order)
            walk = self.module_runs('chunks, one walk, %s' % order, 'device', *window, truth, 1)[0]
            self.emulator.reset()
            variables = self.query_vars('device', *window, bench_chunk=size, bench_max_chunks=n // size + 2)
            measured = self.run.playbook('chunks.yml', variables)
            result = self.load(variables['bench_output'] + '-chunks.json')
            counters = self.emulator.counters()
            self.same_as_truth('chunks of %d, %s' % (size, order), result['logs'], truth)
            self.check('chunks of %d, %s: api_requests %d equal the requests the emulator counted %d'
                       % (size, order, result['api_requests'], counters['logs_requests']),
                       result['done'] and result['api_requests'] == counters['logs_requests'])
            # Oldest first, a chunk goes on with the API's page where the one before stopped: one walk plus one
            # request per chunk. Newest first, the first chunk reads the slice whole and marks where each coming chunk
            # ends: two walks plus one request per chunk.
            oldest_first = order == 'asc'
            walks = 1 if oldest_first else 2
            bound = walks * walk['api_requests'] + result['chunks']
            self.row('10', 'api_requests, N=%d in %d chunks of %d, pages %s first' % (
                n, result['chunks'], size, 'oldest' if oldest_first else 'newest'), counters['logs_requests'],
                walk['api_requests'], counters['logs_requests'] / walk['api_requests'],
                '<= %d (%s + chunks)' % (bound, 'walk' if oldest_first else '2 walks'),
                counters['logs_requests'] <= bound, note='one walk %d requests' % walk['api_requests'])
            self.row('10', 'wall s, N=%d in chunks of %d, pages %s first' % (
                n, size, 'oldest' if oldest_first else 'newest'), round(measured['wall'], 2), round(walk['wall'], 2),
                measured['wall'] / walk['wall'], note='baseline: one walk, one task')
        self.emulator.config(order='desc')

    def scenario_8(self) -> None:
        sizes = sorted(self.token_runs)
        if len(sizes) < 3:
            return
        small, middle, large = sizes[0], sizes[1], sizes[-1]
        wall = {n: median([r['wall'] for r in self.token_runs[n]]) for n in sizes}
        rss = {n: median([r['rss_mb'] for r in self.token_runs[n]]) for n in sizes}
        for n in sizes:
            self.row('8', 'module at N=%d: wall s / peak RSS MB' % n, '%.2f / %.0f' % (wall[n], rss[n]), None, None,
                     'info', note='%.1f us and %.2f KB per entry (whole process)'
                     % (wall[n] / n * 1e6, rss[n] * 1024 / n))
        # Per-entry cost above the fixed cost of a run (measured by the N=1,000 run): linear growth keeps it flat.
        for what, figure, unit in (('time', wall, 'us'), ('memory', rss, 'KB')):
            scale = 1e6 if unit == 'us' else 1024
            at_middle = (figure[middle] - figure[small]) / (middle - small) * scale
            at_large = (figure[large] - figure[small]) / (large - small) * scale
            self.row('8', 'marginal %s per entry (%s): N=%d vs N=%d' % (what, unit, large, middle),
                     round(at_large, 2), round(at_middle, 2), at_large / at_middle if at_middle > 0 else None,
                     '<= 1.5 x', at_middle > 0 and at_large <= 1.5 * at_middle,
                     note='baseline column: the N=%d figure; both above the N=%d run' % (middle, small))

    # --- the role (6, 7) -----------------------------------------------------------------------------------------

    @staticmethod
    def owner_vars() -> dict:
        user = os.environ.get('USER') or subprocess.run(['id', '-un'], capture_output=True, text=True,
                                                        check=True).stdout.strip()
        group = subprocess.run(['id', '-gn'], capture_output=True, text=True, check=True).stdout.strip()
        return {'itot_log_archive_owner': user, 'itot_log_archive_group': group}

    def role_vars(self) -> dict:
        return dict(self.owner_vars(), itot_base_url=self.emulator.url, itot_access_token=TOKEN, itot_rate_limit=0,
                    itot_log_archive_initial_lookback='-1d')

    def archive_entries(self, folder: str, category: str) -> list[str]:
        found = []
        for base, dummy, files in os.walk(os.path.join(folder, category)):
            for name in files:
                if name.endswith('.jsonl.gz'):
                    with gzip.open(os.path.join(base, name), 'rt', encoding='utf-8') as handle:
                        found.extend(canonical(json.loads(line)) for line in handle if line.strip())
        return found

    def scenario_6_7(self) -> None:
        per_category = 25000
        hosts = ['archive-%d' % i for i in range(1, 6)]
        print('== emulator: %d entries per category over 86,000 s, rate limit off' % per_category, flush=True)
        self.emulator = Emulator(self.work, 'emulator-role', '--entries', str(per_category), '--span', '86000',
                                 '--rate-limit', '0', '--seed', '11')
        truths = {c: collections.Counter(map(canonical, self.emulator.truth(c)['data'])) for c in CATEGORIES}
        variables = self.role_vars()

        def archive_run(name: str, names: list[str], fresh: bool) -> dict:
            folders = {h: os.path.join(self.work, 'role-%s' % name, h) for h in names}
            if fresh:
                for folder in folders.values():
                    shutil.rmtree(folder, ignore_errors=True)
            inventory = self.run.inventory('role-%s' % name, names,
                                           {h: {'itot_log_archive_dir': folders[h]} for h in names})
            self.emulator.reset()
            measured = self.run.playbook('role.yml', variables, inventory=inventory)
            measured['requests'] = self.emulator.counters()['logs_requests']
            measured['changed'] = recap_changed(measured['output'])
            measured['folders'] = folders
            return measured

        one = archive_run('one', hosts[:1], True)
        firsts, seconds = [], []
        for number in range(self.args.runs):
            first = archive_run('five', hosts, True)
            if number == 0:
                for host, folder in first['folders'].items():
                    for category in CATEGORIES:
                        got = collections.Counter(self.archive_entries(folder, category))
                        self.check('role first run: %s/%s holds the %d entries of the truth, each once (%d)'
                                   % (host, category, sum(truths[category].values()), sum(got.values())),
                                   got == truths[category])
            firsts.append(first)
            second = archive_run('five', hosts, False)
            self.check('role second run: changed=0 on every host (%s)' % second['changed'],
                       set(second['changed']) == set(hosts) and not any(second['changed'].values()))
            seconds.append(second)
        requests_five = [f['requests'] for f in firsts]
        self.row('6', 'API requests, 4 x 25,000 entries to 5 hosts vs to 1 host', int(median(requests_five)),
                 one['requests'], median(requests_five) / one['requests'], '= 1 host', max(requests_five) == one['requests'])
        rss = median([f['rss_mb'] for f in firsts])
        self.row('6', 'peak RSS MB, largest process of the run (5 hosts)', round(rss), None, None, '<= 300', rss <= 300,
                 note='1 host: %.0f MB' % one['rss_mb'])
        self.row('6', 'wall s, first run, 5 hosts', round(median([f['wall'] for f in firsts]), 1), None, None, 'report',
                 note='1 host: %.1f s; CPU %.1f s' % (one['wall'], median([f['cpu'] for f in firsts])))
        # Second run: one request per category, plus one more where the overlap holds more than a page.
        overlap_ms = 300 * 1000
        allowed = 0
        for category in CATEGORIES:
            keys = self.emulator.truth(category)['timestamps_ms']
            newest = keys[-1]
            allowed += max(1, math.ceil(len([k for k in keys if k >= newest - overlap_ms]) / PAGE))
        requests = [s['requests'] for s in seconds]
        self.row('7', 'API requests, second run, nothing new', int(median(requests)), None, None,
                 '<= %d' % allowed, max(requests) <= allowed)
        self.row('7', 'wall s, second run (changed=0 on all 5 hosts)', round(median([s['wall'] for s in seconds]), 1),
                 None, None, 'report')

    # --- a busy slice in chunks (12) ------------------------------------------------------------------------------

    def scenario_12(self) -> None:
        """One category of 200,000 entries in a day to 3 hosts, read and archived in chunks of 10,000, against the
        same run with 20,000: the controller's peak RSS and the largest process's (a worker or a module) must not
        grow with the day's volume; the API requests are those of one walk plus the chunks (pages oldest first) or
        two walks plus the chunks (newest first: the first chunk reads the slice whole, then each chunk its part)."""
        hosts = ['busy-%d' % i for i in range(1, 4)]
        runs = {}
        for order in ('asc', 'desc'):
            for n in (20000, 200000):
                self.emulator = Emulator(self.work, 'emulator-busy-%s-%d' % (order, n), '--entries', str(n), '--span',
                                         '86000', '--rate-limit', '0', '--seed', '13', '--order', order)
                try:
                    truth = collections.Counter(map(canonical, self.emulator.truth('device')['data']))
                    folders = {h: os.path.join(self.work, 'busy-%s-%d' % (order, n), h) for h in hosts}
                    inventory = self.run.inventory('busy-%s-%d' % (order, n), hosts,
                                                   {h: {'itot_log_archive_dir': folders[h]} for h in hosts})
                    # Newest first, a slice's first chunk reads the slice whole, and one window is read for at most
                    # 100,000 entries (MAX_ENTRIES_PER_WINDOW): 6 h slices keep 200,000 a day under it.
                    variables = dict(self.role_vars(), itot_log_archive_categories=['device'],
                                     itot_log_archive_chunk_size=10000,
                                     itot_log_archive_heads_file=os.path.join(self.work, 'heads-busy.json'),
                                     **({} if order == 'asc' else {'itot_max_window': 21600}))
                    measured = self.run.playbook('role.yml', variables, inventory=inventory)
                    measured['requests'] = self.emulator.counters()['logs_requests']
                    for host, folder in folders.items():
                        got = collections.Counter(self.archive_entries(folder, 'device'))
                        self.check('busy slice, %d entries, pages %s: %s holds the truth, each once (%d of %d)'
                                   % (n, order, host, sum(got.values()), sum(truth.values())), got == truth)
                        shutil.rmtree(folder, ignore_errors=True)
                    runs[order, n] = measured
                finally:
                    self.emulator.stop()
                    self.emulator = None
        for order in ('asc', 'desc'):
            big, small = runs[order, 200000], runs[order, 20000]
            first = 'oldest' if order == 'asc' else 'newest'
            for key, what in (('controller_rss_mb', 'controller peak RSS MB'),
                              ('rss_mb', 'largest process peak RSS MB')):
                ratio = big[key] / small[key]
                self.row('12', '%s, 200,000 entries in chunks of 10,000 to 3 hosts, pages %s first' % (what, first),
                         round(big[key]), round(small[key]), ratio, '<= 150 and <= 1.2x of 20,000',
                         big[key] <= 150 and ratio <= 1.2, note='baseline: the same run with 20,000 entries')
            pages = math.ceil(200000 / PAGE)
            walks = 1 if order == 'asc' else 2
            bound = walks * pages + 50  # + about one per chunk (20 to 24) and the extras of each slice's walk
            self.row('12', 'API requests, 200,000 entries in chunks of 10,000, pages %s first%s'
                     % (first, '' if order == 'asc' else ' (6 h slices)'),
                     big['requests'], pages, big['requests'] / pages,
                     '<= %d (%s of %d pages + chunks)' % (bound, 'one walk' if walks == 1 else 'two walks', pages),
                     big['requests'] <= bound, note='wall %.0f s' % big['wall'])
    # --- steady state with a quiet category (11) ---------------------------------------------------------------

    def scenario_11(self) -> None:
        """Issue 15, 4(a): 4 categories, device quiet for 30 days, nothing new: requests and wall time per run, with
        the watermark (the heads file kept) and, as the baseline, with the cursors alone (the heads file removed)."""
        busy, quiet_days, overlap_ms = 1000, 30, 300 * 1000
        print('== emulator: %d entries over the last day in admin, webhook, device_report; device\'s one entry %d days '
              'old; rate limit off' % (busy, quiet_days), flush=True)
        self.emulator = Emulator(self.work, 'emulator-quiet', '--entries', '0', '--rate-limit', '0')
        for category in CATEGORIES:
            quiet = category == 'device'
            append = {'category': category, 'count': 1, 'offset_seconds': quiet_days * 86400} if quiet else {
                'category': category, 'count': busy, 'spread_seconds': 86000}
            self.emulator.ctl('POST', '/_control/append', append)
        truths = {c: collections.Counter(map(canonical, self.emulator.truth(c)['data'])) for c in CATEGORIES}
        folder = os.path.join(self.work, 'quiet')
        heads_file = os.path.join(folder, 'itot-heads.json')
        variables = dict(self.role_vars(), itot_log_archive_dir=os.path.join(folder, 'archive'),
                         itot_log_archive_heads_file=heads_file, itot_log_archive_initial_lookback='-%dd' % (quiet_days + 1))
        inventory = self.run.inventory('quiet', ['steady'])

        def steady_run(label: str) -> dict:
            started_ms = int(time.time() * 1000)
            self.emulator.reset()
            measured = self.run.playbook('role.yml', variables, inventory=inventory)
            measured['requests'] = self.emulator.counters()['logs_requests']
            measured['changed'] = recap_changed(measured['output']).get('steady')
            measured['started_ms'] = started_ms
            print('  %s: %d requests, %.1f s, changed=%s'
                  % (label, measured['requests'], measured['wall'], measured['changed']), flush=True)
            return measured

        first = steady_run('first run (%d days back)' % (quiet_days + 1))
        os.remove(heads_file)  # the cursors alone: what every nothing-new run cost before the watermark
        cursors_only = steady_run('nothing new, no heads file')
        previous, runs = cursors_only, []
        for number in range(self.args.runs):
            runs.append(steady_run('nothing new, run %d' % (number + 1)))
            # Allowed: one request per category, plus one per further page of what the read re-reads (the overlap
            # before where the previous run's reads ended, which was no earlier than that run's start).
            allowed = 0
            for category in CATEGORIES:
                keys = self.emulator.truth(category)['timestamps_ms']
                allowed += max(1, math.ceil(len([k for k in keys if k >= previous['started_ms'] - overlap_ms]) / PAGE))
            runs[-1]['allowed'] = allowed
            previous = runs[-1]
        for category in CATEGORIES:
            got = collections.Counter(self.archive_entries(variables['itot_log_archive_dir'], category))
            self.check('steady state: %s holds the %d entries of the truth, each once (%d)'
                       % (category, sum(truths[category].values()), sum(got.values())), got == truths[category])
        self.check('steady state: changed=0 on every nothing-new run (%s)' % [r['changed'] for r in [cursors_only] + runs],
                   all(r['changed'] == 0 for r in [cursors_only] + runs))
        requests = [r['requests'] for r in runs]
        self.row('11', 'API requests per run, 4 categories, 1 quiet %d days, nothing new' % quiet_days,
                 int(median(requests)), cursors_only['requests'], median(requests) / cursors_only['requests'],
                 '<= %d' % max(r['allowed'] for r in runs), all(r['requests'] <= r['allowed'] for r in runs),
                 note='baseline: the same run with the cursors alone (heads file removed); first run (%d days back) '
                      '%d requests, %.1f s' % (quiet_days + 1, first['requests'], first['wall']))
        budget = (int(median(requests)), median(requests) / 10.0, cursors_only['requests'], cursors_only['requests'] / 10.0)
        self.row('11', 'wall s per run, nothing new (changed=0)', round(median([r['wall'] for r in runs]), 1),
                 round(cursors_only['wall'], 1), median([r['wall'] for r in runs]) / cursors_only['wall'], 'report',
                 note='at the real API\'s 10 requests a minute the requests are the time: %d requests are %.1f min '
                      'of the tenant\'s budget, %d were %.1f min' % budget)

    # --- many tenants (9) ----------------------------------------------------------------------------------------

    def tenant_run(self, name: str, emulators: dict[str, Emulator], variables: dict) -> dict:
        """One role run on one host (archive folder and heads file fresh) under each emulator's budget."""
        folder = os.path.join(self.work, 'tenants-%s' % name)
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder)
        variables = dict(variables, itot_log_archive_dir=os.path.join(folder, 'archive'),
                         itot_log_archive_heads_file=os.path.join(folder, 'itot-heads.json'))
        before = {}
        for tenant, emulator in emulators.items():
            emulator.reset()
            before[tenant] = len(emulator.log_lines())
        measured = self.run.playbook('role.yml', variables, inventory=self.run.inventory('tenants-' + name, [name]))
        measured['counters'] = {tenant: emulator.counters() for tenant, emulator in emulators.items()}
        lines = {tenant: emulator.log_lines()[before[tenant]:] for tenant, emulator in emulators.items()}
        measured['walks'] = {tenant: walk_seconds(lines[tenant]) for tenant in emulators}
        measured['pause'] = max(longest_pause(lines[tenant]) for tenant in emulators)
        measured['archive'] = variables['itot_log_archive_dir']
        return measured

    def tenant_checks(self, label: str, root: str, truths: dict[str, collections.Counter]) -> None:
        for category, truth in truths.items():
            got = collections.Counter(self.archive_entries(root, category))
            self.check('%s: %s holds the %d entries of its emulator\'s truth, each once (%d)'
                       % (label, category, sum(truth.values()), sum(got.values())), got == truth)

    @staticmethod
    def limited(counters: dict) -> int:
        return max(counters['rate_limited'], counters['by_status'].get('429', 0))

    def scenario_9(self) -> None:
        names, categories, entries = ('tenant-a', 'tenant-b', 'tenant-c'), ['admin', 'device'], 5000
        emulators: dict[str, Emulator] = {}
        try:
            for number, name in enumerate(names):
                emulators[name] = Emulator(self.work, 'emulator-' + name, '--entries', str(entries), '--span', '80000',
                                           '--rate-limit', '10', '--rate-window', '3', '--seed', str(31 + number),
                                           token='%s-%s' % (TOKEN, name))
            truths = {name: {c: collections.Counter(map(canonical, emulator.truth(c)['data'])) for c in categories}
                      for name, emulator in emulators.items()}
            common = dict(self.owner_vars(), itot_rate_limit=10, itot_rate_window=3,
                          itot_log_archive_initial_lookback='-1d', itot_log_archive_categories=categories)
            alone_vars = dict(common, itot_base_url=emulators['tenant-a'].url,
                              itot_access_token='%s-tenant-a' % TOKEN)
            three_vars = dict(common, itot_log_archive_tenants=[
                {'name': name, 'base_url': emulator.url, 'access_token': '%s-%s' % (TOKEN, name)}
                for name, emulator in emulators.items()])
            alone, three = [], []
            for number in range(self.args.runs):
                alone.append(self.tenant_run('alone', {'tenant-a': emulators['tenant-a']}, alone_vars))
                three.append(self.tenant_run('central', emulators, three_vars))
                if number == 0:
                    self.tenant_checks('one tenant alone', alone[0]['archive'], truths['tenant-a'])
                    for name in names:
                        self.tenant_checks('3 tenants, %s' % name, os.path.join(three[0]['archive'], name),
                                           truths[name])
            self.tenant_rows(names, alone, three)
        finally:
            for emulator in emulators.values():
                emulator.stop()

    def tenant_rows(self, names: tuple, alone: list[dict], three: list[dict]) -> None:
        wall_alone, wall_three = median([r['wall'] for r in alone]), median([r['wall'] for r in three])
        walks = ', '.join('%s %s' % (name, walk_note([r['walks'][name] for r in three])) for name in names)
        self.row('9', 'wall s, 3 tenants x 2 x 5,000 on 1 host vs 1 tenant alone', round(wall_three, 1),
                 round(wall_alone, 1), wall_three / wall_alone, '<= 1.3 x', wall_three <= 1.3 * wall_alone,
                 note='10 req/3 s per tenant; 3 tenants: %s; alone: %s; longest pause between two requests '
                      '(a round\'s archive step beyond the 3 s pacing) %.1f s vs %.1f s; CPU %.1f s vs %.1f s' % (
                          walks, walk_note([r['walks']['tenant-a'] for r in alone]),
                          median([r['pause'] for r in three]), median([r['pause'] for r in alone]),
                          median([r['cpu'] for r in three]), median([r['cpu'] for r in alone])))
        want = alone[0]['counters']['tenant-a']['logs_requests']
        requests = {name: [r['counters'][name]['logs_requests'] for r in three] for name in names}
        self.row('9', 'API requests per tenant (%s) vs 1 tenant alone' % ' / '.join(names),
                 ' / '.join(str(int(median(requests[name]))) for name in names), want, None, '= alone',
                 all(max(requests[name]) == min(requests[name]) == want for name in names)
                 and all(r['counters']['tenant-a']['logs_requests'] == want for r in alone))
        limited = max(self.limited(r['counters'][name]) for r in three for name in names)
        limited_alone = max(self.limited(r['counters']['tenant-a']) for r in alone)
        self.row('9', '429 answers, 3 tenants (max of tenants and runs) vs alone', limited, limited_alone, None, '0',
                 limited == 0 and limited_alone == 0)

    # --- main ----------------------------------------------------------------------------------------------------

    def big_emulator_scenarios(self) -> None:
        """The scenarios against the one big emulator (1, 2, 3, 4, 5, 8, 10)."""
        self.big_emulator()
        if any(self.wanted(n) for n in (1, 2, 8)):
            print('== 1, 2, 8: requests per pagination style; module wall time and memory by size', flush=True)
            self.scenario_1_2_8()
        if self.wanted(2) or self.wanted(3):
            print('== 2, 3: module and lookup against the hand-written uri loop', flush=True)
            self.scenario_2_3()
        if self.wanted(4) or self.wanted(5):
            print('== 4, 5: pacing under 10 requests per 3 s', flush=True)
            self.scenario_4_5()
        if self.wanted(8):
            self.scenario_8()
        if self.wanted(10):
            print('== 10: 10,000 entries in chunks of 500 against one walk', flush=True)
            self.scenario_10()
        self.emulator.stop()
        self.emulator = None

    def role_scenarios(self) -> None:
        if self.wanted(6) or self.wanted(7):
            print('== 6, 7: the log_archive role, 4 categories x 25,000 entries, 5 local hosts', flush=True)
            self.scenario_6_7()
            self.emulator.stop()
            self.emulator = None
        if self.wanted(12):
            print('== 12: a busy slice, 1 category x 200,000 entries to 3 hosts in chunks of 10,000, vs 20,000',
                  flush=True)
            self.scenario_12()
        if self.wanted(9):
            print('== 9: the log_archive role, 3 tenants x 2 categories x 5,000 entries on one central host, '
                  'vs one tenant alone (10 requests per 3 s each)', flush=True)
            self.scenario_9()
        if self.wanted(11):
            print('== 11: the log_archive role in steady state: 4 categories, one quiet for 30 days, nothing new',
                  flush=True)
            self.scenario_11()
            self.emulator.stop()
            self.emulator = None

    def main(self) -> int:
        started = time.monotonic()
        try:
            if any(self.wanted(n) for n in (1, 2, 3, 4, 5, 8, 10)):
                self.big_emulator_scenarios()
            self.role_scenarios()
        finally:
            if self.emulator is not None:
                self.emulator.stop()
        elapsed = time.monotonic() - started
        self.report(elapsed)
        if not self.args.keep:
            shutil.rmtree(self.work, ignore_errors=True)
        else:
            print('work folder kept: %s' % self.work)
        missed = [r for r in self.rows if r['met'] is False]
        return 1 if self.problems or missed else 0

    def report(self, elapsed: float) -> None:
        machine = {'date': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d'),
                   'cpus': os.cpu_count(), 'python': platform.python_version(), 'platform': platform.platform(),
                   'cpu': _cpu_model()}
        doc = {'machine': machine, 'runs_per_figure': self.args.runs, 'seconds': round(elapsed), 'rows': self.rows,
               'failed_checks': self.problems}
        with open(self.args.output, 'w', encoding='utf-8') as handle:
            json.dump(doc, handle, indent=2)
            handle.write('\n')
        print()
        print('make bench: %s, %s CPUs, %s, median of %d runs, %.0f s' % (machine['date'], machine['cpus'],
                                                                          machine['cpu'], self.args.runs, elapsed))
        header = ('#', 'figure', 'ours', 'baseline', 'ratio', 'target', '')
        lines = [header] + [(r['scenario'], r['figure'], _fmt(r['ours']), _fmt(r['baseline']), _fmt(r['ratio']),
                             r['target'], {True: 'met', False: 'MISSED', None: ''}[r['met']]) for r in self.rows]
        widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
        for line in lines:
            print('| ' + ' | '.join(str(v).ljust(w) for v, w in zip(line, widths)) + ' |')
        for row in self.rows:
            if row['note']:
                print('  %s %s: %s' % (row['scenario'], row['figure'], row['note']))
        verdict = '%d FAILED' % len(self.problems) if self.problems else 'all passed'
        print('checks against the ground truth: %s' % verdict)
        for problem in self.problems:
            print('  FAILED: ' + problem)
        print('results: %s' % self.args.output)


def _fmt(value: Any) -> str:
    if value is None:
        return '-'
    if isinstance(value, float):
        return '%.2f' % value
    return str(value)


def _cpu_model() -> str:
    try:
        with open('/proc/cpuinfo', encoding='utf-8') as handle:
            for line in handle:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown'


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--collections', required=True, help='where opswat.itot is installed (ANSIBLE_COLLECTIONS_PATH)')
    parser.add_argument('--runs', type=int, default=3, help='runs per figure; the median is reported [3]')
    parser.add_argument('--only', type=lambda text: {int(n) for n in text.split(',')}, default=set(),
                        help='comma-separated scenario numbers (1-10) [all]')
    parser.add_argument('--output', default=os.path.join(ROOT, 'bench-results.json'))
    parser.add_argument('--keep', action='store_true', help='keep the work folder (playbook logs, archives)')
    return parser.parse_args(argv)


if __name__ == '__main__':
    sys.exit(Bench(parse_args()).main())
