"""make mutate: hand mutations of the code where a defect loses or doubles entries; each must be caught.

    python hacking/mutate.py [--only NAME ...] [--list] [--keep]

Each mutation below is (name, file, exact old text, new text, unit test files, why).  For each one, in a copy of the
collection (``$ITOT_BUILD/mutate/wN/ansible_collections/opswat/itot``, default ``.build/mutate/...``, one copy per
worker, one worker per CPU up to 4; the working tree is never changed) the old text is replaced by the new one and the
named unit test files are run with pytest (the .venv's Python, or this one).  A mutation that no test notices "survived"; the script then fails.  It also fails,
loudly, when an old text is not found exactly once (the code moved: update the list), when the unmutated copy
does not pass its tests, and when a mutated copy cannot even be collected (the mutation is not valid Python).

Add a mutation for every defect a review finds that no test caught, together with the test that catches it.
"""
from __future__ import annotations

import argparse
import os
import queue
import shutil
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

ARCHIVE_SELECT = 'plugins/module_utils/_archive_select.py'
ARCHIVE_CHAIN = 'plugins/module_utils/_archive_chain.py'
WINDOWS = 'plugins/module_utils/_windows.py'
PAGING = 'plugins/module_utils/_paging.py'
WALK = 'plugins/module_utils/_walk.py'
T_ARCHIVE = ['tests/unit/plugins/module_utils/test_archive.py']
T_ATTACKS = ['tests/unit/plugins/module_utils/test_archive_attacks.py']
ARCHIVE_FS = 'plugins/module_utils/_archive_fs.py'
ARCHIVE_NAMES = 'plugins/module_utils/_archive_names.py'
ARCHIVE_TXN = 'plugins/module_utils/_archive_txn.py'
ARCHIVE = 'plugins/module_utils/_archive.py'
WATERMARK = 'plugins/module_utils/_archive_watermark.py'
HEADS = 'plugins/module_utils/_archive_heads.py'
T_WATERMARK = ['tests/unit/plugins/filter/test_log_archive_watermark.py']
T_HEADS = ['tests/unit/plugins/module_utils/test_archive_heads.py']
T_WALK = ['tests/unit/plugins/module_utils/test_itot_client_walk.py',
          'tests/unit/plugins/module_utils/test_itot_client_page_tokens.py']
T_TOKENS = ['tests/unit/plugins/module_utils/test_itot_client_page_tokens.py']
T_REAL = ['tests/unit/plugins/module_utils/test_itot_client_real_servers.py']
ANSWER = 'plugins/module_utils/_answer.py'
LIMITS = 'plugins/module_utils/_limits.py'
T_LIMITS = ['tests/unit/plugins/module_utils/test_itot_client_limits.py']
REPORT_TENANTS = 'plugins/module_utils/_report_tenants.py'
T_TENANTS = ['tests/unit/plugins/modules/test_itot_archive_report_tenants.py']
HTTP = 'plugins/module_utils/_http.py'
T_TRANSPORT = ['tests/unit/plugins/module_utils/test_itot_client_transport.py']
REPORT_COVERAGE = 'plugins/module_utils/_report_coverage.py'
T_COVERAGE = ['tests/unit/plugins/modules/test_itot_archive_report_coverage.py']
POLL = 'plugins/module_utils/_poll.py'
T_POLL = ['tests/unit/plugins/event_source/test_itot_logs_source.py']
CHUNKS = 'plugins/module_utils/_chunks.py'
T_CHUNKS = ['tests/unit/plugins/module_utils/test_itot_client_chunks.py']
T_KEEPER = ['tests/unit/plugins/module_utils/test_itot_client_keeper.py']

# (name, file, old, new, test files, why)
MUTATIONS = [
    # --- the archive: which entries a host does not have yet (select_new), and what the state remembers ----------
    ('overlap-start-exclusive', ARCHIVE_SELECT,
     '        elif moment < overlap_from or _held(have, ident):\n',
     '        elif moment <= overlap_from or _held(have, ident):\n',
     T_ARCHIVE, 'a late entry (or a second identical event) stamped exactly at cursor - overlap is lost'),
    ('overlap-not-capped-by-old-ids', ARCHIVE_SELECT,
     '            overlap_from = max(overlap_from, old_from)\n',
     '            pass\n',
     T_ARCHIVE, 'after the overlap grows, the state claims identities it never kept: the next re-read doubles'),
    ('cursor-equal-is-new', ARCHIVE_SELECT,
     '        elif cursor is None or moment > cursor:\n',
     '        elif cursor is None or moment >= cursor:\n',
     T_ARCHIVE, 'an entry at the cursor millisecond is written again on every run'),
    ('held-copy-not-counted', ARCHIVE_SELECT,
     '    if have[ident] > 0:\n        have[ident] -= 1\n        return True\n',
     '    if have[ident] > 0:\n        return True\n',
     T_ARCHIVE, 'a host holding one copy of an event skips every further identical copy (multiset lost)'),
    ('new-ids-exclude-overlap-start', ARCHIVE_SELECT,
     '        if moment >= overlap_from:\n            ids.setdefault(ident, [0, moment])[0] += 1\n',
     '        if moment > overlap_from:\n            ids.setdefault(ident, [0, moment])[0] += 1\n',
     T_ARCHIVE, 'entries written at exactly cursor - overlap are forgotten: the next re-read writes them again'),
    ('old-ids-exclude-overlap-start', ARCHIVE_SELECT,
     '        if int(value[1]) >= overlap_from:\n',
     '        if int(value[1]) > overlap_from:\n',
     T_ARCHIVE, 'held identities at exactly the new overlap start are dropped: the next re-read writes them again'),
    # --- the archive: the manifest's hash chain -----------------------------------------------------------------
    ('chain-not-advanced', ARCHIVE_CHAIN,
     '        lines.append(line)\n        prev = line_hash(line)\n',
     '        lines.append(line)\n',
     T_ARCHIVE, 'every manifest line of a run points at the same predecessor: the chain is broken as written'),
    ('chain-prev-not-checked', ARCHIVE_CHAIN,
     "        if record and record.get('prev') != prev:\n",
     "        if record and record.get('prev') != prev and False:\n",
     T_ARCHIVE, 'verify no longer notices an edited or reordered manifest line'),
    ('chain-head-not-checked', ARCHIVE_CHAIN,
     "state.get('manifest_lines') != len(lines) or state.get('manifest_head') != manifest_head(lines):",
     "state.get('manifest_lines') != len(lines):",
     T_ARCHIVE, 'verify no longer notices an edited last manifest line'),
    # --- the archive: nothing leaves it (issue 13 item 1) -------------------------------------------------------
    ('pending-paths-not-checked', ARCHIVE_TXN,
     '    check_pending(cat_dir, pending)\n    return pending\n',
     '    return pending\n',
     T_ATTACKS, "a planted .pending.json moves a payload into a root-only folder and deletes files outside ('../')"),
    ('archive-name-allows-dotdot', ARCHIVE_NAMES,
     "    if '..' in parts:\n        return \"it has a '..' component\"\n",
     '',
     T_ATTACKS, "a manifest or pending path with '..' reaches outside the category folder"),
    ('archive-name-allows-absolute', ARCHIVE_NAMES,
     "    if name.startswith('/'):\n        return 'it is an absolute path'\n",
     '',
     T_ATTACKS, 'retention deletes the absolute path a planted manifest line names'),
    ('temp-any-folder', ARCHIVE_NAMES,
     "    if folder != final.rpartition('/')[0] or not base.startswith(TEMP_PREFIX):\n",
     "    if not base.startswith(TEMP_PREFIX):\n",
     T_ATTACKS, "a pending temp file from another folder (the attacker's) is renamed into place"),
    ('temp-link-followed', ARCHIVE_TXN,
     '    if not stat.S_ISREG(info.st_mode):\n        raise refuse(os.path.join(cat_dir, temp),',
     '    if False:\n        raise refuse(os.path.join(cat_dir, temp),',
     T_ATTACKS, 'a pending temp that is a link to a root-only file is moved into the archive'),
    ('temp-hardlink-moved', ARCHIVE_TXN,
     '    if info.st_nlink != 1:\n',
     '    if False:\n',
     T_ATTACKS, 'a pending temp hard-linked to a root-only file is moved into the archive'),
    ('folders-followed', ARCHIVE_FS,
     "_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, 'O_CLOEXEC', 0)\n",
     "_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | getattr(os, 'O_CLOEXEC', 0)\n",
     T_ATTACKS, 'a category, year or day folder planted as a link makes a root run write in the folder it points to'),
    ('files-followed', ARCHIVE_FS,
     "_FILE_FLAGS = os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, 'O_CLOEXEC', 0)\n",
     "_FILE_FLAGS = os.O_NONBLOCK | getattr(os, 'O_CLOEXEC', 0)\n",
     T_ATTACKS, '.lock, manifest.jsonl or state.json planted as a link makes a root run create or write its target'),
    ('special-files-accepted', ARCHIVE_FS,
     '    if not stat.S_ISREG(os.fstat(fd).st_mode):\n        os.close(fd)\n',
     '    if False:\n        os.close(fd)\n',
     T_ATTACKS, 'a FIFO at .lock, manifest.jsonl or state.json is read (or locked) as if it were a file'),
    ('attrs-through-links', ARCHIVE,
     '        self.attrs = guarded_attrs(cat_dir, request.apply_attrs or no_attrs)\n',
     '        self.attrs = request.apply_attrs or no_attrs\n',
     T_ATTACKS, 'chmod/chown reach the target of a planted link (the category folder, the lock, the manifest)'),
    # --- the archive: no stray time moves the cursor (issue 13 item 2) ------------------------------------------
    ('stray-moves-cursor', ARCHIVE_SELECT,
     '        elif outside_window(moment, window):\n',
     '        elif False:\n',
     T_ATTACKS, 'one entry stamped 2099 moves the cursor to 2099: every later window is empty'),
    ('stray-past-dropped', ARCHIVE_SELECT,
     '    return (start is not None and moment < start) or (end is not None and moment > end)\n',
     '    return end is not None and moment > end\n',
     T_ATTACKS, 'an entry stamped before its window (and before the overlap) is taken as archived and lost'),
    ('stray-archived-twice', ARCHIVE_SELECT,
     "    for _moment, _position, _entry, ident in selection.outside:\n        outside[ident] += 1\n",
     "    for _moment, _position, _entry, ident in selection.outside:\n        pass\n",
     T_ATTACKS, 'a stray entry read again (the overlap) is archived again on every run'),
    # --- the client: a refused pagination token, read again from where the entries end (rest_after, _merge) ------
    ('resume-asc-start-not-widened', WINDOWS,
     '        return Span(boundary - 1, span.end, True, span.pad_hi), boundary\n',
     '        return Span(boundary, span.end, False, span.pad_hi), boundary\n',
     T_TOKENS, 'on an API whose start is exclusive, the rest of a run of equal times split by the page is lost'),
    ('resume-desc-end-not-widened', WINDOWS,
     '    return Span(span.start, boundary + 1, span.pad_lo, True), boundary\n',
     '    return Span(span.start, boundary, span.pad_lo, False), boundary\n',
     T_TOKENS, 'on an API whose end is exclusive, newest-first pages lose the rest of the meeting millisecond'),
    ('merge-drops-unheld', WALK,
     '                if held[identity] > 0:\n',
     '                if held[identity] >= 0:\n',
     T_TOKENS, 'entries of the meeting millisecond that were not read before the refusal are dropped'),
    ('merge-keeps-held', WALK,
     '                    held[identity] -= 1\n                    continue\n',
     '                    held[identity] -= 1\n',
     T_TOKENS, 'entries of the meeting millisecond read before the refusal come twice'),
    # --- the client: the walk of one window -------------------------------------------------------------------
    ('walk-stops-on-full-page', PAGING,
     'if not fresh or (page.status == 200 and len(page.data) < self._query.page_size):',
     'if not fresh or (page.status == 200 and len(page.data) <= self._query.page_size):',
     T_WALK, 'a 200 page with a token is taken for the last one: every later page is lost'),
    ('walk-repeated-page-kept', PAGING,
     '            added = fresh or seen.get(page.token) != digest\n',
     '            added = True\n',
     T_WALK, 'a server repeating a token with its page makes the client keep that page twice'),
    ('split-drops-right-half', WALK,
     '        return self._walk(left, events, False) + self._walk(right, events, False)\n',
     '        return self._walk(left, events, False)\n',
     T_WALK, 'a 406 without a token split in two reads only the older half'),
    ('sort-not-stable-oldest-first', WALK,
     '        items.sort(key=sort_key)\n        self._span = span\n',
     '        items.sort(key=sort_key, reverse=True)\n        self._span = span\n',
     T_WALK, 'entries are handed out newest first'),
    ('walk-413-drops-the-window', PAGING,
     'return Reading(Outcome.COMPLETE, entries)  # past the last page',
     'return Reading(Outcome.COMPLETE, [])  # past the last page',
     T_REAL, 'a 413 after the last page (how the vendor client ends a walk) throws away the pages read before it'),
    ('resume-skips-one-more-twin', WALK,
     '            while index < len(items) and items[index][0] == point.after_us and same < point.same:\n',
     '            while index < len(items) and items[index][0] == point.after_us and same <= point.same:\n',
     T_WALK, 'a resumed walk skips one entry too many of the millisecond it stopped in'),
    # --- the client's bounds on a hostile server (issue 13) -------------------------------------------------------
    ('deadline-watchdog-idle', ANSWER,
     '                socket.socket.shutdown(self._sock, socket.SHUT_RDWR)\n',
     '                pass\n',
     T_LIMITS, 'timeout is per socket read again: a server dripping its answer holds a request for as long as it likes'),
    ('answer-cap-ignored', ANSWER,
     '            if size > cap:\n',
     '            if False:\n',
     T_LIMITS, 'an answer of any size is read whole into memory'),
    ('deep-json-recursion', ANSWER,
     '    except RecursionError:\n',
     '    except KeyError:\n',
     T_LIMITS, 'JSON nested too deep ends the task with a bare RecursionError instead of being retried'),
    ('repeated-page-followed', LIMITS,
     "        if earlier != self._pages - 1 or self._run > PAGE_SLACK or any(entry != data[0] for entry in data):\n",
     "        if False:\n",
     T_LIMITS, 'a page repeated under a new token is kept again and again: its entries doubled until a page cap'),
    ('requests-beyond-entries', LIMITS,
     '        if self._pages + 1 > needed:\n',
     '        if False:\n',
     T_LIMITS, 'pages that bring one entry, or none, under new tokens are followed 10,000 times'),
    ('entries-cap-ignored', LIMITS,
     '        if self._entries > MAX_ENTRIES_PER_WINDOW:\n',
     '        if False:\n',
     T_LIMITS, 'a server handing out fresh full pages forever is followed for 10,000 pages (a million entries)'),
    ('odd-entry-passed-on', LIMITS,
     '        if not isinstance(entry, dict):\n',
     '        if False:\n',
     T_LIMITS, 'an entry that is not an object reaches the role, whose archive task fails with a generic message'),

    # --- the audit over several tenants: the total is the tenants' sum, nothing merged across tenants ------------
    ('tenants-devices-merged', REPORT_TENANTS,
     "        'noncompliant_devices': _tagged(parts, lambda part: part['noncompliant_devices'], lambda item: item['first_noncompliant']),\n",
     "        'noncompliant_devices': list(dict((item['device_id'], item) for item in _tagged(\n"
     "            parts, lambda part: part['noncompliant_devices'], lambda item: item['first_noncompliant'])).values()),\n",
     T_TENANTS, 'a device id two tenants share is one device in the total: the other tenant\'s device is lost'),
    ('tenants-total-not-summed', REPORT_TENANTS,
     "        'summary': _sum_counts([part['summary'] for part in values], list(values[0]['summary'])),\n",
     "        'summary': dict(values[0]['summary']),\n",
     T_TENANTS, 'the total\'s summary is the first tenant\'s: the other tenants\' failed logins are not counted'),
    # --- the client against a server whose budget is smaller than its own (issue 18 item 7) -----------------------
    ('429-bare-waits-only-backoff', HTTP,
     '        wait = max(self.settings.rate_window, self._backoff(attempts)) * (1 + RATE_LIMITED_JITTER * self._rand())\n',
     '        wait = self._backoff(attempts) * (1 + RATE_LIMITED_JITTER * self._rand())\n',
     T_TRANSPORT, 'a 429 without Retry-After is retried before the server\'s window turned: max_retries used up, the '
                  'read lost'),
    ('429-block-not-shared', HTTP,
     '            self.budget.block_until(self._clock() + wait)\n',
     '            pass\n',
     T_TRANSPORT, 'after a 429 the other tasks of the tenant keep sending and draw 429s of their own'),

    # --- the audit's coverage of its period (issue 18): an under-count never passes without a word --------------
    ('coverage-start-not-kept', ARCHIVE_SELECT,
     "    kept = state.get('covered_from_ms')\n",
     "    kept = None\n",
     T_ARCHIVE, 'the second run forgets where the archive began: every later report counts from its first entry'),
    ('quiet-first-run-not-recorded', ARCHIVE,
     '        writes = bool(plan.planned or plan.expired or coverage is not None)\n',
     '        writes = bool(plan.planned or plan.expired)\n',
     T_ARCHIVE, 'a category with no entry in its first window never records where its archive began'),
    ('started-later-not-a-gap', REPORT_COVERAGE,
     '    if from_ms > start:\n',
     '    if False:\n',
     T_COVERAGE, 'a period reaching before the archive is reported covered: the issue\'s silent under-count'),
    ('retention-not-a-gap', REPORT_COVERAGE,
     '    if removed_until is not None:\n',
     '    if False:\n',
     T_COVERAGE, 'files retention removed from the period leave no gap in the report'),
    ('unread-end-not-a-gap', REPORT_COVERAGE,
     '    if until_ms < end:\n',
     '    if False:\n',
     T_COVERAGE, 'a period after the last read is reported covered'),
    # --- the event source: each new entry once, across polls and restarts ---------------------------------------
    ('poll-twins-collapsed', POLL,
     '            if held is None or counts[identity] > held[1]:\n',
     '            if held is None:\n',
     T_POLL, 'a second identical event (a real one) arriving in a later poll is never returned'),
    ('poll-overlap-ignored', POLL,
     '        start_ms = max(cursor.since_ms, cursor.read_ms - self.settings.overlap_ms)\n',
     '        start_ms = max(cursor.since_ms, cursor.read_ms)\n',
     T_POLL, 'an entry that reaches the API late (stamped before the last read) is lost'),
    ('poll-position-not-restored', POLL,
     '        cursors.update((category, cursor) for category, cursor in held.items() if category in cursors)\n',
     '        pass\n',
     T_POLL, 'a restart with state_file repeats what it returned (or loses what came while it was away)'),
    # --- a window read in chunks (issue 18) ---------------------------------------------------------------------
    ('chunk-page-place-off-by-one', CHUNKS,
     '                return token, raw\n',
     '                return token, raw + 1\n',
     T_CHUNKS, 'next_token points one entry past the next one in the API\'s page: the next chunk loses it'),
    ('chunk-page-read-again-whole', WALK,
     'self._hand_out_kept(cont, keeper, cont.span, self._chained(cont.span, cont.events, reading, cont.offset))',
     'self._hand_out_kept(cont, keeper, cont.span, self._chained(cont.span, cont.events, reading, 0))',
     T_CHUNKS, 'the next chunk hands out the page it goes on with from its start: what the last chunk returned, twice'),
    ('chunk-stops-without-slack', CHUNKS,
     '        settled = self._top - SLACK_US\n',
     '        settled = self._top + 1\n',
     T_CHUNKS, 'a chunk stops once it holds its entries, though a later page may hold one stating an earlier time '
     '(whole seconds): it is lost'),
    ('chunk-cut-at-the-mark', WALK,
     '            cut = mark + SLACK_US // 1000\n',
     '            cut = mark\n',
     T_CHUNKS, 'a newest-first chunk\'s part ends at its mark: an entry stating the mark\'s second, filed later, is lost'),
    ('keeper-hands-out-hollow', WALK,
     '        if not any(keeper.hollowed(entry) for dummy, entry in items[start:start + self._want]):\n',
     '        if True:\n',
     T_KEEPER, 'a chunk that reaches an entry its keeper hollowed out hands out the entry\'s time alone'),
    ('keeper-reread-keeps-the-continuation', WALK,
     '        self._cont, self._chain = None, None  # this reading is given up: where it would go on too\n',
     '        pass\n',
     T_KEEPER, 'a chunk that reads its part again also goes on where the reading it gave up would have: doubles'),
    ('keeper-counts-copies', CHUNKS,
     '            if copies is not None:\n',
     '            if copies is not None and copies[0] is entry:\n',
     T_KEEPER, 'a page read twice counts its entries twice: the chunk\'s oldest entries are hollowed out'),
    ('keeper-keeps-the-newest', CHUNKS,
     '            if full and key > -self._heap[0][0]:\n',
     '            if full and key < -self._heap[0][0]:\n',
     T_KEEPER, 'the keeper hollows out the oldest entries, the ones the chunk hands out'),
    ('page-repeat-told-by-data', PAGING,
     '            added = fresh or seen.get(page.token) != digest\n',
     '            added = fresh or seen.get(page.token) != page.data\n',
     T_WALK, 'a page handed out again with the token it came with is told from it by its entries, not their digest: '
     'it is read twice'),
    # --- the audit's rules: a violation missed, or evidence that points at the wrong entry -----------------------
    ('rule-window-end-inclusive', 'plugins/module_utils/_report_rules.py',
     '        while items[last][0] - items[first][0] >= window_ms:\n',
     '        while items[last][0] - items[first][0] > window_ms:\n',
     ['tests/unit/plugins/module_utils/test_report_rules.py'], 'two entries exactly a window apart are counted in one window'),
    ('rule-open-state-dropped', 'plugins/module_utils/_report_rules.py',
     '        found.append(dict(current, end_ms=period_end, open=True))\n',
     '        pass\n',
     ['tests/unit/plugins/module_utils/test_report_rules.py'], 'a device still non-compliant when the period ends is never a violation'),
    ('evidence-line-from-0', 'plugins/module_utils/_archive_fs.py',
     "enumerate(text.split('\\n'), 1)",
     "enumerate(text.split('\\n'))",
     ['tests/unit/plugins/modules/test_itot_archive_report_rules.py'], 'the evidence names the line before the entry'),

    # --- the watermark (issue 15): a quiet category read from where the last run ended, never past an entry -------
    ('watermark-in-the-future-used', WATERMARK,
     '    if start is None or stop is None or start > stop or stop > end:\n',
     '    if start is None or stop is None or start > stop:\n',
     T_WATERMARK, 'after the controller clock jumped back, the plan starts after entries nobody was given'),
    ('watermark-other-filters-used', WATERMARK,
     "    if mark.get('filters') != filters:\n",
     '    if False:\n',
     T_WATERMARK, 'entries that widened filters now match, before the watermark, are never read'),
    ('watermark-outlives-its-head', WATERMARK,
     "found.get('lines') != manifest_lines or found.get('sha256') != manifest_head",
     "found.get('lines') != manifest_lines",
     T_WATERMARK, 'a restored or rewritten archive skips what it lost since the head the watermark was recorded with'),
    ('watermark-coverage-gap', WATERMARK,
     '    if start > complete_to:\n',
     '    if False:\n',
     T_WATERMARK, 'an audit period that starts before the watermark\'s coverage is not read'),
    ('watermark-kept-with-a-new-head', HEADS,
     "                update.pop('watermark', None)\n",
     '                update.update(watermark=known.get(\'watermark\') if known else None)\n',
     T_HEADS, 'a head recorded without a watermark keeps the old one, which then vouches for the new head'),
]


def tracked_files() -> list[str]:
    out = subprocess.run(['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'], cwd=ROOT,
                         check=True, stdout=subprocess.PIPE).stdout.decode('utf-8')
    return [name for name in out.split('\0') if name and os.path.isfile(os.path.join(ROOT, name))]


def make_copy(dest: str) -> None:
    if os.path.exists(dest):
        shutil.rmtree(dest)
    for name in tracked_files():
        target = os.path.join(dest, name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(os.path.join(ROOT, name), target)


def python() -> str:
    venv = os.path.join(ROOT, '.venv', 'bin', 'python')
    return venv if os.access(venv, os.X_OK) else sys.executable


def run_tests(coll: str, files: list[str], env: dict, first_failure: bool) -> tuple[int, str, float]:
    argv = [python(), '-m', 'pytest', '-q', '-p', 'no:cacheprovider', '--no-header', '-W', 'ignore::DeprecationWarning']
    if first_failure:
        argv.append('-x')
    started = time.monotonic()
    done = subprocess.run(argv + files, cwd=coll, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          check=False)  # a failing test run is what a killed mutation looks like
    return done.returncode, done.stdout.decode('utf-8', 'replace'), time.monotonic() - started


def last_lines(text: str, count: int) -> str:
    return '\n'.join('    | ' + line for line in text.rstrip().splitlines()[-count:])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--only', nargs='+', metavar='NAME', help='run these mutations only')
    parser.add_argument('--list', action='store_true', help='list the mutations and exit')
    parser.add_argument('--keep', action='store_true', help='keep the copy of the collection afterwards')
    return parser.parse_args(argv)


def choose(args: argparse.Namespace) -> tuple[list[tuple], list[str]]:
    """(the mutations to run, problems with the names asked for or with the list itself)."""
    names = [m[0] for m in MUTATIONS]
    if len(set(names)) != len(names):
        return [], ['two mutations have the same name']
    unknown = set(args.only or []) - set(names)
    if unknown:
        return [], ['unknown mutation(s): %s' % ', '.join(sorted(unknown))]
    return [m for m in MUTATIONS if not args.only or m[0] in args.only], []


def list_problems(coll: str, chosen: list[tuple]) -> list[str]:
    """Every old text must be there exactly once before anything runs: a refactor that moves code updates the list."""
    problems = []
    for name, path, old, new, files, _why in chosen:
        with open(os.path.join(coll, path), encoding='utf-8') as handle:
            count = handle.read().count(old)
        if count != 1:
            problems.append('%s: the old text is found %d times in %s (must be exactly once; update hacking/mutate.py):'
                            '\n%s' % (name, count, path, '\n'.join('    | ' + line for line in old.splitlines())))
        if old == new:
            problems.append('%s: the new text is the old one' % name)
        problems.extend('%s: no test file %s' % (name, test_file) for test_file in files
                        if not os.path.isfile(os.path.join(coll, test_file)))
    return problems


def try_mutation(coll: str, env: dict[str, str], mutation: tuple) -> str:
    """Applies one mutation in the copy, runs its tests, restores the file: 'killed', 'survived' or 'error'."""
    name, path, old, new, test_files, why = mutation
    target = os.path.join(coll, path)
    with open(target, encoding='utf-8') as handle:
        original = handle.read()
    with open(target, 'w', encoding='utf-8') as handle:
        handle.write(original.replace(old, new, 1))
    try:
        rc, out, seconds = run_tests(coll, test_files, env, first_failure=True)
    finally:
        with open(target, 'w', encoding='utf-8') as handle:
            handle.write(original)
    if rc == 1:
        failed = [line.split(' - ')[0] for line in out.splitlines() if line.startswith('FAILED ')]
        print('killed    %-32s %5.1f s  by %s' % (name, seconds, failed[0] if failed else '?'))
        return 'killed'
    if rc == 0:
        print('SURVIVED  %-32s %5.1f s  %s: %s' % (name, seconds, path, why))
        return 'survived'
    print('ERROR     %-32s %5.1f s  pytest exit %d (not a valid mutation?)' % (name, seconds, rc))
    print(last_lines(out, 20))
    return 'error'


def fail(problems: list[str]) -> int:
    for problem in problems:
        print('FAIL: ' + problem)
    return 2


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    chosen, problems = choose(args)
    if problems:
        return fail(problems)
    if args.list:
        for name, path, _old, _new, files, why in chosen:
            print('%-32s %s: %s\n%32s tests: %s' % (name, path, why, '', ' '.join(files)))
        return 0

    build = os.environ.get('ITOT_BUILD') or os.path.join(ROOT, '.build')
    top = os.path.join(os.path.abspath(build), 'mutate')
    started = time.monotonic()
    # One copy of the collection per worker (a mutation changes a file of its copy while its tests run); the
    # workers share the mutations out, one CPU each.
    workers = []
    for number in range(max(1, min(len(chosen), os.cpu_count() or 1, 4))):
        path = os.path.join(top, 'w%d' % number)
        coll = os.path.join(path, 'ansible_collections', 'opswat', 'itot')
        make_copy(coll)
        env = dict(os.environ, PYTHONPATH=path, PYTHONDONTWRITEBYTECODE='1', XDG_CACHE_HOME=os.path.join(path, 'cache'))
        env.pop('PYTEST_ADDOPTS', None)
        workers.append((coll, env))
    problems = list_problems(workers[0][0], chosen)
    if problems:
        return fail(problems)

    files = sorted({f for m in chosen for f in m[4]})
    shares = [files[number::len(workers)] for number in range(len(workers))]
    with ThreadPoolExecutor(len(workers)) as pool:
        runs = list(pool.map(lambda share: run_tests(share[0][0], share[1], share[0][1], first_failure=False),
                             [(worker, part) for worker, part in zip(workers, shares) if part]))
    failed = [out for rc, out, seconds in runs if rc != 0]
    print('unmutated: %s in %.1f s (%s)' % ('FAIL' if failed else 'pass', max(r[2] for r in runs), ' '.join(files)))
    if failed:
        print(last_lines(failed[0], 40))
        return fail(['the unmutated copy does not pass its tests; nothing can be learned from mutations'])

    free: queue.Queue = queue.Queue()
    for worker in workers:
        free.put(worker)

    def attempt(mutation: tuple) -> str:
        coll, env = free.get()
        try:
            return try_mutation(coll, env, mutation)
        finally:
            free.put((coll, env))

    with ThreadPoolExecutor(len(workers)) as pool:
        outcomes = Counter(pool.map(attempt, chosen))
    if not args.keep:
        shutil.rmtree(top, ignore_errors=True)
    print('mutations: %d tried, %d killed, %d survived, %d errors in %.0f s'
          % (len(chosen), outcomes['killed'], outcomes['survived'], outcomes['error'], time.monotonic() - started))
    return 1 if outcomes['survived'] or outcomes['error'] else 0


if __name__ == '__main__':
    sys.exit(main())
