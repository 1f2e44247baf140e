#!/usr/bin/python
# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: itot_archive
short_description: Archive IT-OT Access log entries on a host, exactly once, with a hash-chained manifest
version_added: 1.0.0
author: opswat.itot maintainers (@opswat-itot)
description:
  - Keeps an append-only archive of one event category of the MetaDefender IT-OT Access Get Logs API under
    C({dir}/{category}/), the layout the C(opswat.itot.log_archive) role and the C(opswat.itot.audit) playbook use.
  - Archive files are C(YYYY/MM/DD/{category}-{first}-{last}.jsonl.gz) (gzip, one API entry per line as compact JSON,
    fields unchanged, grouped by the UTC day of the entry's C(timestamp), oldest first). A file is written once, atomically,
    and never rewritten. Entries whose time cannot be read go to C(undated/{category}-undated-{sha256}.jsonl.gz).
  - C(manifest.jsonl) gets one line per file added or removed, each carrying the SHA-256 of the previous line (a hash chain).
    C(state.json) holds the cursor (the newest archived entry time) and the identities (SHA-256 of the canonical JSON) of the
    entries at or after O(overlap) seconds before it, so that entries read again are not written twice.
  - With O(state=present), the module takes an exclusive C(flock) on C({category}/.lock), completes a write that an earlier
    run left unfinished, gives the host exactly the O(entries) it does not hold yet, applies O(retention_days) and verifies.
  - With O(state=query), it only reads the cursor (no lock, nothing written), so that a play can query the API once from the
    oldest cursor of its hosts.
  - Identical entries in one API answer are distinct events and are all kept. An entry older than the host's cursor minus its
    overlap is taken as already archived.
options:
  dir:
    description:
      - Archive root; the category's folder is O(dir)/O(category).
      - An absolute path without C(..) components. Missing folders are created with O(dir_mode), O(owner) and O(group).
    type: path
    required: true
  category:
    description:
      - The event category whose entries are archived.
      - One of O(category) and O(categories) is required.
    type: str
    choices: [admin, device, webhook, device_report]
  categories:
    description:
      - Several categories in one run, each as if it had been given alone as O(category), one after another (a
        category's failure does not stop the others; the run fails at the end, naming each failed category). Their
        answers are RV(categories).
      - Only to query (O(state=query)) or to verify and apply O(retention_days) (O(state=present) without O(entries)).
        O(entries), O(window_start_ms), O(window_end_ms), O(read_from_ms), O(watermark_ms) and O(known_head) belong to
        one category and cannot be given with it.
      - One run instead of one per category, which is what the C(opswat.itot.log_archive) role does on each host.
    type: list
    elements: str
    choices: [admin, device, webhook, device_report]
    version_added: 1.1.0
  state:
    description:
      - V(present) writes the new entries (and completes, prunes and verifies).
      - V(query) only returns the cursor (and the manifest's head); nothing is written and O(entries) is ignored.
    type: str
    choices: [present, query]
    default: present
  entries:
    description:
      - The API's entries, as M(opswat.itot.itot_logs_info) returns them in RV(opswat.itot.itot_logs_info#module:logs).
      - May span several days, may repeat entries the host already holds, and need not be sorted.
      - Omitted or empty, the run still completes an interrupted write, applies O(retention_days) and verifies.
    type: list
    elements: dict
  window_start_ms:
    description:
      - Start of the time window (epoch ms) the O(entries) were read for.
      - When it (or O(read_from_ms)) lies after the host's cursor, entries between the two were never offered; the module warns.
    type: int
  read_from_ms:
    description:
      - Where the read that this window continues began (epoch ms), when a run reads a category in several windows one after
        another (the C(opswat.itot.log_archive) role's slices) and archives each in turn; the warning about entries never
        offered compares the host's cursor with it instead of O(window_start_ms).
      - Omitted, O(window_start_ms).
      - The folder's first run with a window records where its reading began (this, else O(window_start_ms)) as
        C(covered_from_ms) in C(state.json), even when it archives no entry (a change), and keeps it afterwards;
        M(opswat.itot.itot_archive_report) reports the archive's coverage of a period from it.
    type: int
  window_end_ms:
    description:
      - End of the time window (epoch ms) the O(entries) were read for; must not be before O(window_start_ms).
      - Entries stamped outside O(window_start_ms)..O(window_end_ms) are archived but do not move the cursor (see RV(outside_window)).
      - When the host's cursor is already after it (an earlier version let a future-stamped entry move it), the module warns
        that the window's entries before the cursor minus O(overlap) are taken as archived.
    type: int
  overlap:
    description:
      - Seconds behind the cursor that are read again each run to catch late entries; the identities of the archived entries
        in that range are kept in C(state.json) so that re-read entries are not written twice.
      - Use the value the query used (the role's C(itot_log_archive_overlap)).
    type: int
    default: 300
  retention_days:
    description:
      - Archive files whose newest entry is older than this many days are removed, and each removal is recorded in the manifest.
      - V(0) keeps everything. Undated files are never removed.
    type: int
    default: 0
  verify:
    description:
      - After writing (or when there is nothing to write), re-hash every live archive file against the manifest, check the hash
        chain and its head recorded in C(state.json), and look for missing and extra C(*.jsonl.gz) files. Any problem fails the host.
      - The chain and its head are always checked before anything is appended to the manifest, whatever this option says.
    type: bool
    default: true
  known_head:
    description:
      - The head of the manifest recorded off the host the last time (C(lines), the manifest's line count, and C(sha256),
        the SHA-256 of that line; C(recorded), when, is only shown in messages). Before anything is written, the manifest
        must extend it (have at least C(lines) lines, and its line C(lines) must hash to C(sha256)), and every C(remove) line
        after it must be one O(retention_days) allows (O(retention_days) above 0 and the file's newest entry older than
        O(retention_days) days). Otherwise the host fails, naming the manifest line.
      - C(lines=0) (nothing recorded yet) checks every C(remove) line. Omitted, neither is checked.
      - Set from O(heads_file) by the module's action; give it directly only to check a head kept elsewhere.
    type: dict
  known_heads:
    description:
      - With O(categories), O(known_head) per category (a dict by category name; a category not in it is not checked).
      - Set from O(heads_file) by the module's action, like O(known_head).
    type: dict
    version_added: 1.1.0
  heads_file:
    description:
      - A JSON file on the controller that holds the head of every host's manifest per tenant, host, archive root and category
        (the C(opswat.itot.log_archive) role's C(itot_log_archive_heads_file)).
      - Read by the module's action on the controller before the module runs, to set O(known_head) from this host's
        (C(inventory_hostname)) record; after a successful run that is not in check mode, the new head
        (RV(manifest_lines), RV(manifest_head)) is written back (with O(record_watermark), when given), atomically and
        under a lock, other records kept as they are.
      - With O(state=query), the record is only read, and returned as RV(recorded_head).
      - It holds line counts and hashes, no secret. A missing file is created; a file that is not a heads file fails the task.
    type: path
  watermark_ms:
    description:
      - Where the controller's watermark for this host and category ends (epoch ms) - every entry of the category (as
        filtered) up to it was given to this host by earlier runs (see O(record_watermark)). The warning about entries
        never offered compares O(read_from_ms) with the later of the host's cursor and this, so that a read that starts
        at the watermark minus the overlap, after an old cursor (a quiet category), is not taken for a gap.
      - Set by the C(opswat.itot.log_archive) role from the heads file; it changes nothing that is written.
    type: int
  record_watermark:
    description:
      - With O(heads_file), a watermark the module's action records with this host's new head once the module has run
        without failing (not in check mode) - C(from_ms) and C(to_ms) (epoch ms; this host has been given every entry of
        the category from C(from_ms) to C(to_ms)) and C(filters) (the SHA-256 of the category's filters).
      - The C(opswat.itot.log_archive) role gives it in its verify step, after the host archived every slice of the run;
        the next run plans the host's reads from the later of its cursor and C(to_ms), minus the overlap, while the host's
        manifest still ends at the head recorded with it and the filters are the same. A new head recorded without a
        watermark drops the one recorded before.
      - With O(categories), a dict of such watermarks by category name (a category not in it, or null, records none).
      - Not sent to the host's files; ignored without O(heads_file) and with O(state=query).
    type: dict
  tenant:
    description:
      - The tenant whose archive O(dir) holds (its name; see the C(opswat.itot.log_archive) role's C(itot_tenant)), under
        which its head is kept in O(heads_file). Omitted, the head is kept under the tenant V(default), as in 1.0.
      - Letters, digits, C(-) and C(_).
    type: str
  owner:
    description:
      - Owner of the files and folders the module creates or writes, and of O(dir), the category folder, C(manifest.jsonl),
        C(state.json) and C(.lock). Omitted, ownership is left as it is.
    type: str
  group:
    description:
      - Group of the same files and folders as O(owner). Omitted, the group is left as it is.
    type: str
  mode:
    description:
      - Permissions of the files, as for M(ansible.builtin.file) (for example V('0640')). Omitted, new files get the umask default.
    type: raw
  dir_mode:
    description:
      - Permissions of the folders, as for M(ansible.builtin.file) (for example V('0750')). Omitted, new folders get the umask default.
    type: raw
  lock_timeout:
    description:
      - Seconds to wait for another run that holds the folder's lock before failing.
    type: int
    default: 300
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Nothing is written, not even the lock file or the completion of an interrupted write; the files that would be added
      or removed are returned.
  diff_mode:
    support: full
    details: One line per archive file that is (or would be) added or removed.
  platform:
    platforms: posix
notes:
  - A play killed at any point leaves no partial archive file and no advanced cursor. Every write first puts fsynced temporary
    files and a C(.pending.json) (final names, checksums, manifest lines, new state) on disk; the next run completes it
    before anything else, then deletes leftover C(.tmp-*) files.
  - "Test aid, never set by the role: when the environment variable C(OPSWAT_ITOT_TEST_KILL_AT) of the module's process is
    set to a step of a write (C(temp:N), C(pending), C(rename:N), C(remove:N), C(files), C(manifest), C(state), C(done)),
    optionally prefixed by a category (C(device:manifest)), the module kills itself with SIGKILL right after that step.
    The collection's integration tests use it to check that a run killed at that point is completed by the next one."
  - Nothing under the category folder is trusted (an account given O(owner) or O(group) can write there). Every path read from
    C(.pending.json) or C(manifest.jsonl) must name an archive file inside the category folder (a relative path without C(..)),
    and a pending write's temporary file must be a C(.tmp-*) file in its archive file's own folder. Files and folders under the
    category folder are reached without following symbolic links, and C(.lock), C(manifest.jsonl), C(state.json),
    C(.pending.json) and the archive files must be regular files (a FIFO is refused at once, not waited on). Anything else fails
    the host with a message naming the path, before anything is renamed, deleted or has its owner or mode changed; a manifest
    line naming a path outside the archive is a verification problem and is never deleted by O(retention_days).
  - Timestamps are read as ISO 8601 (with or without a fraction, with C(Z), an offset, or none for UTC), epoch seconds or
    milliseconds (numbers or digit strings; 1e11 or more means milliseconds), or RFC 1123 (C(Sun, 29 Nov 2026 07:00:00 GMT)).
seealso:
  - module: opswat.itot.itot_logs_info
  - module: opswat.itot.itot_archive_report
  - name: The user guide, archiving the logs
    link: https://github.com/opswat-itot/opswat.itot/blob/main/docs/docsite/rst/guide_archive.rst
    description: The opswat.itot.log_archive role and the opswat.itot.audit playbook, which use this module; the
      archive's layout and how to verify it without Ansible. Also installed with the collection as
      ansible_collections/opswat/itot/docs/docsite/rst/guide_archive.rst.
"""

EXAMPLES = r"""
- name: Read where this host's device archive ends (changes nothing)
  opswat.itot.itot_archive:
    dir: /var/log/itot
    category: device
    state: query
  register: cursor

- name: Archive the entries this host does not hold yet
  opswat.itot.itot_archive:
    dir: /var/log/itot
    category: device
    entries: "{{ device_logs.logs }}"
    window_start_ms: "{{ device_logs.window.start_time }}"
    window_end_ms: "{{ device_logs.window.end_time }}"
    overlap: 300
    owner: root
    group: root
    mode: '0640'
    dir_mode: '0750'
    retention_days: 365

- name: Only verify the archive (and apply retention)
  opswat.itot.itot_archive:
    dir: /var/log/itot
    category: admin
    retention_days: 90

- name: Read where each category's archive ends, in one run
  opswat.itot.itot_archive:
    dir: /var/log/itot
    categories: [admin, device, webhook, device_report]
    state: query
  register: cursors

- name: Show each category's cursor
  ansible.builtin.debug:
    msg: "{{ cursors.categories | items2dict(key_name='category', value_name='cursor') }}"
"""

RETURN = r"""
categories:
  description:
    - With O(categories), one answer per category, in their order - the keys below (those returned with O(category))
      and C(category); a category that failed has C(failed), C(msg) and, when verification failed, C(problems).
    - Without O(categories), not returned; the keys below are the answer itself.
  returned: with O(categories)
  type: list
  elements: dict
  sample: [{category: admin, cursor_ms: 1795935604000, cursor: '2026-11-29T07:00:04.000Z', manifest_lines: 12}]
  version_added: 1.1.0
category_dir:
  description: The category's folder.
  returned: with O(category)
  type: str
  sample: /var/log/itot/device
cursor_ms:
  description: Newest archived entry time, epoch milliseconds; null while the host holds no dated entry of the category.
  returned: with O(category)
  type: int
  sample: 1795935604000
cursor:
  description: RV(cursor_ms) as ISO 8601 UTC with milliseconds; null with it.
  returned: with O(category)
  type: str
  sample: '2026-11-29T07:00:04.000Z'
files:
  description: The archive files added by this run (in check mode, that would be added).
  returned: with O(category)
  type: list
  elements: dict
  contains:
    file:
      description: Path relative to the category folder.
      type: str
      sample: 2026/11/29/device-20261129T070000000Z-20261129T070004000Z.jsonl.gz
    entries:
      description: Number of entries (lines) in the file.
      type: int
      sample: 5
    first:
      description: Time of the first entry, ISO 8601 UTC; null for an undated file.
      type: str
      sample: '2026-11-29T07:00:00.000Z'
    last:
      description: Time of the last entry, ISO 8601 UTC; null for an undated file.
      type: str
      sample: '2026-11-29T07:00:04.000Z'
    sha256:
      description: SHA-256 of the file's (gzip) bytes, as recorded in the manifest.
      type: str
      sample: 0083aff13515d4b8a2b148b684de686573f6fa03725db8a6064190f9aa6ede70
removed:
  description: The archive files removed by O(retention_days) in this run (same keys as RV(files)).
  returned: with O(category)
  type: list
  elements: dict
  sample: []
entries_written:
  description: Entries written by this run (in check mode, that would be written).
  returned: with O(category)
  type: int
  sample: 5
entries_skipped:
  description: Entries of O(entries) that the host already held.
  returned: with O(category)
  type: int
  sample: 30
outside_window:
  description:
    - Entries of O(entries) stamped outside the window they were read for (before O(window_start_ms) or after
      O(window_end_ms)), a server clock error. They are archived under their own time (and counted in RV(entries_written),
      or in RV(entries_skipped) when the host already holds them; their identities are kept in C(state.json) for good), but
      they never move the cursor, so that one entry stamped in 2099 cannot make every later window empty. The module warns
      once when there are any.
    - 0 without O(window_start_ms)/O(window_end_ms), in O(state=query), and when all entries lie inside the window.
  returned: with O(category)
  type: int
  sample: 0
verified:
  description: Whether the archive was verified (O(verify), not in O(state=query), not in check mode while a write is pending).
  returned: with O(category)
  type: bool
  sample: true
recovered:
  description: Whether an interrupted write of an earlier run was completed (in check mode, would be).
  returned: with O(category)
  type: bool
  sample: false
temps_removed:
  description: Leftover temporary files of interrupted runs that were deleted, relative to the category folder.
  returned: with O(category)
  type: list
  elements: str
  sample: []
manifest_lines:
  description: Number of lines in C(manifest.jsonl) after this run.
  returned: with O(category)
  type: int
  sample: 12
manifest_head:
  description:
    - SHA-256 of the last manifest line after this run (64 zeros for an empty manifest).
    - Record it elsewhere to detect a later rewrite of the whole archive.
  returned: with O(category)
  type: str
  sample: fc28efc02b4fdda10b71aff08524c022463c938b6d9c2482a283c65023148195
days:
  description:
    - Per UTC day (C(YYYY-MM-DD)) of the live dated archive files after this run, C(entries), C(first) and C(last) entry time.
    - What the C(opswat.itot.log_archive) role compares across the hosts that hold the same category.
  returned: with O(category) (empty with O(state=query))
  type: dict
  sample: {'2026-11-29': {entries: 412, first: '2026-11-29T00:00:04.000Z', last: '2026-11-29T07:00:04.000Z'}}
known_head:
  description: The head the manifest was checked against (O(known_head), or the one read from O(heads_file)); null when none.
  returned: with O(heads_file) and O(state=present)
  type: dict
  sample: {lines: 10, sha256: fc28efc02b4fdda10b71aff08524c022463c938b6d9c2482a283c65023148195, recorded: '2026-11-28T08:00:00.000Z'}
head:
  description:
    - The head after this run (C(lines), RV(manifest_lines), and C(sha256), RV(manifest_head)), as recorded in O(heads_file)
      (in check mode, not recorded).
  returned: with O(heads_file) and O(state=present)
  type: dict
  sample: {lines: 12, sha256: fc28efc02b4fdda10b71aff08524c022463c938b6d9c2482a283c65023148195}
recorded_head:
  description:
    - With O(state=query), this host's record in O(heads_file) - C(lines), C(sha256), C(recorded) and, when one was
      recorded with that head, C(watermark) (see O(record_watermark)); null when there is none.
  returned: with O(heads_file) and O(state=query)
  type: dict
  sample: {lines: 12, sha256: fc28efc02b4fdda10b71aff08524c022463c938b6d9c2482a283c65023148195, recorded: '2026-11-28T08:00:00.000Z',
           watermark: {from_ms: 1795330800000, to_ms: 1795939200000,
                       filters: 44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a}}
head_recorded:
  description: Whether the action wrote a new head (or watermark) for this host and category to O(heads_file).
  returned: with O(heads_file) and O(state=present)
  type: bool
  sample: true
pending:
  description: With O(state=query), whether an interrupted write waits to be completed by the next O(state=present) run.
  returned: with O(category)
  type: bool
  sample: false
problems:
  description:
    - What verification found wrong; each item has C(kind) (V(tampered), V(missing), V(extra), V(chain); V(head) when the
      manifest does not extend O(known_head), V(remove) for a removal retention does not allow), C(file), C(line), C(detail).
  returned: failure
  type: list
  elements: dict
  sample: [{kind: tampered, file: 2026/11/29/device-20261129T070000000Z-20261129T070004000Z.jsonl.gz, line: null, detail: '...'}]
"""

import os
import signal
from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.opswat.itot.plugins.module_utils._archive import ArchiveRequest, read_cursor, write_archive
from ansible_collections.opswat.itot.plugins.module_utils._archive_attrs import FILE_OPTIONS, module_attr_setter
from ansible_collections.opswat.itot.plugins.module_utils._archive_fs import os_errors_as
from ansible_collections.opswat.itot.plugins.module_utils._archive_txn import StepHook
from ansible_collections.opswat.itot.plugins.module_utils._errors import ItotError, failure
from ansible_collections.opswat.itot.plugins.module_utils._vocabulary import CATEGORIES

TEST_KILL_ENV = 'OPSWAT_ITOT_TEST_KILL_AT'


def kill_hook_for_tests(category: str) -> StepHook | None:
    """The test aid of the notes: a hook that SIGKILLs this process after the step named in OPSWAT_ITOT_TEST_KILL_AT."""
    value = os.environ.get(TEST_KILL_ENV, '')
    if not value:
        return None
    prefix, _sep, rest = value.partition(':')
    if prefix in CATEGORIES:
        if prefix != category:
            return None
        value = rest

    def hook(step: str) -> None:
        if step == value:
            os.kill(os.getpid(), signal.SIGKILL)

    return hook


def archive_one(module: AnsibleModule, category: str, known_head: dict[str, Any] | None) -> dict[str, Any]:
    """One category's answer (with its ``warnings`` and ``diff_lines``); an OSError becomes an ItotError."""
    params = module.params
    with os_errors_as('cannot update the archive in %s' % os.path.join(params['dir'], category)):
        if params['state'] == 'query':
            return read_cursor(params['dir'], category)
        return write_archive(ArchiveRequest(
            params['dir'], category, params['entries'], overlap=params['overlap'],
            retention_days=params['retention_days'], verify=params['verify'], window_start_ms=params['window_start_ms'],
            window_end_ms=params['window_end_ms'], check_mode=module.check_mode, apply_attrs=module_attr_setter(module),
            lock_timeout=params['lock_timeout'], hook=kill_hook_for_tests(category),
            known_head=known_head, read_from_ms=params['read_from_ms'], watermark_ms=params['watermark_ms'],
        ))


def finish(module: AnsibleModule, result: dict[str, Any], prefix: str = '') -> dict[str, Any] | None:
    """Gives ``result``'s warnings to the module (after ``prefix``); returns its diff in diff mode (else None)."""
    for warning in result.pop('warnings'):
        module.warn(prefix + warning)
    diff_lines = result.pop('diff_lines')
    if not module._diff or module.params['state'] != 'present':
        return None
    return dict(before='', after=''.join(line + '\n' for line in diff_lines),
                before_header=result['category_dir'], after_header=result['category_dir'])


def run(module: AnsibleModule) -> dict[str, Any]:
    """The answer for O(category) (warnings given to the module, the diff in diff mode)."""
    result = archive_one(module, module.params['category'], module.params['known_head'])
    diff = finish(module, result)
    if diff is not None:
        result['diff'] = diff
    return result


def run_categories(module: AnsibleModule) -> tuple[dict[str, Any], list[str]]:
    """The answer for O(categories), one item per category in their order, and what failed (each category is done
    whatever became of the ones before it)."""
    known_heads = module.params['known_heads'] or {}
    items, failures, diffs = [], [], []
    for category in module.params['categories']:
        try:
            result = archive_one(module, category, known_heads.get(category))
        except ItotError as exc:
            items.append(dict(failure(exc), category=category, failed=True))
            failures.append('category %s: %s' % (category, exc.message))
            continue
        diff = finish(module, result, 'category %s: ' % category)
        if diff is not None:
            diffs.append(diff)
        items.append(dict(result, category=category))
    answer: dict[str, Any] = {'changed': any(item.get('changed') for item in items), 'categories': items}
    if diffs:
        answer['diff'] = diffs
    return answer, failures


# What only one category's run can take: with O(categories), the module only queries or verifies.
ONE_CATEGORY_ONLY = ('entries', 'window_start_ms', 'window_end_ms', 'read_from_ms', 'watermark_ms', 'known_head')


def categories_problem(params: dict[str, Any]) -> str | None:
    """Why O(categories) cannot be run as given (None when it can)."""
    given = [name for name in ONE_CATEGORY_ONLY if params[name] is not None]
    if given:
        return ('categories: %s cannot be given with categories (a run of several categories only queries or verifies; '
                'give category to archive entries)' % ', '.join(given))
    categories = params['categories']
    if not categories or len(set(categories)) != len(categories):
        return 'categories: %r must name each category once, and at least one; allowed: %s' % (categories, ', '.join(CATEGORIES))
    return None


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            dir=dict(type='path', required=True),
            category=dict(type='str', choices=list(CATEGORIES)),
            categories=dict(type='list', elements='str', choices=list(CATEGORIES)),
            state=dict(type='str', default='present', choices=['present', 'query']),
            entries=dict(type='list', elements='dict'),
            window_start_ms=dict(type='int'),
            read_from_ms=dict(type='int'),
            window_end_ms=dict(type='int'),
            overlap=dict(type='int', default=300),
            retention_days=dict(type='int', default=0),
            verify=dict(type='bool', default=True),
            known_head=dict(type='dict'),
            known_heads=dict(type='dict'),
            heads_file=dict(type='path'),
            watermark_ms=dict(type='int'),
            record_watermark=dict(type='dict'),
            tenant=dict(type='str'),
            **FILE_OPTIONS
        ),
        mutually_exclusive=[('category', 'categories')],
        required_one_of=[('category', 'categories')],
        supports_check_mode=True,
        # Ansible would log every argument, the entries too (megabytes of log content), to the host's syslog.
        no_log=True,
    )
    params = module.params
    # What the result shows of the arguments: the entries as a count, not a second copy of what the controller sent
    # (with several hosts and large slices those copies are what the controller's memory would grow with).
    invocation = {'module_args': dict(params, entries=None if params['entries'] is None
                                      else '(%d entries)' % len(params['entries']))}
    if params['categories'] is not None:
        problem = categories_problem(params)
        if problem:
            module.fail_json(msg=problem, invocation=invocation)
        result, failures = run_categories(module)
        if failures:
            module.fail_json(msg='; '.join(failures), invocation=invocation, **result)
        module.exit_json(invocation=invocation, **result)
    try:
        result = run(module)
    except ItotError as exc:
        module.fail_json(invocation=invocation, **failure(exc))
    module.exit_json(invocation=invocation, **result)


if __name__ == '__main__':
    main()
