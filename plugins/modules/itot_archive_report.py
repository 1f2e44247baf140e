#!/usr/bin/python
# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: itot_archive_report
short_description: Compliance report over a host's IT-OT Access log archive
version_added: 1.0.0
author: opswat.itot maintainers (@opswat-itot)
description:
  - Reads the archive that M(opswat.itot.itot_archive) keeps under O(dir) and reports on the entries whose time lies
    between O(period_start_ms) and O(period_end_ms) (both included), for the C(opswat.itot.audit) playbook.
  - Only live archive files (added and not removed, per each category's C(manifest.jsonl)) whose first..last range overlaps
    the period are read. The SHA-256 of each file read is checked against the manifest, and the manifest's hash chain
    against C(state.json); a mismatch fails the host, naming the file.
  - The report holds counts per category and per event; the devices that went C(noncompliant) (from device events; the first
    time in the period, and whether a later C(compliant) event brought them back); the webhook
    C(status_changed_to_non_compliant) events; failed admin logins (admin C(failed_auth) events) per admin; each device
    C(deleted_user) event (an agent a local user removed) and the number of distinct devices they name; and the webhook calls
    answered with an HTTP code of 400 or more.
  - It is written as C({dest}/audit-{YYYYMMDDTHHMMSSZ}.json) (pretty JSON) with a Markdown twin C(audit-{...}.md) and an HTML
    twin C(audit-{...}.html) beside it. The HTML page is self-contained for an auditor who opens it offline (tables and inline
    SVG charts of entries per day per category, failed admin logins per admin, devices that went non-compliant and whether they
    came back, chain heads and what was verified); it holds no script, loads no external asset or font, and shows the JSON's
    figures. Every text taken from the entries (admin and device names, ...) is HTML-escaped.
  - With O(tenants), the host holds the archives of several tenants, each tenant's category folders under its own folder.
    The report then covers each tenant's archive (RV(report.tenants)) and, at its top level, their total (the same keys,
    each figure the sum of the tenants'; devices of different tenants are never merged, even with the same id). The three
    files are still written once, the Markdown and HTML with a section for the total and one per tenant.
  - The report says how much of the period the archive covers (RV(report.coverage), RV(report.covered)), per category from
    where the archive began reading (C(covered_from_ms) in C(state.json); in an archive made before coverage was recorded,
    its first archived entry) until O(covered_until_ms) (else its newest entry), and every gap in the period, when the
    archive started later, when retention removed files of the period, or when it was not read that far yet. Counts over
    a gap are under-counts; the Markdown and HTML twins open with a warning, and the module warns once per category
    with gaps (naming the category, the tenant, each gap and its reason).
  - With O(rules) or O(thresholds), the report holds each rule's result (RV(report.rules)), the violations, each naming
    the group, the measured value against the rule's C(max) and the entries that make it up (their time, archive file and
    line). The rules' results are also written as JUnit XML, C(audit-{...}.junit.xml) (when there is at least one rule),
    one test case per rule (per tenant with O(tenants)), failed with its violations. Every rule is checked before anything is read.
  - A file that already holds the same bytes is left untouched; C(changed) is true when any of the files is (or, in check mode,
    would be) written, or its attributes changed.
options:
  dir:
    description:
      - Archive root, as given to M(opswat.itot.itot_archive). An absolute path without C(..) components.
      - With O(tenants), the archive root the role was given (C(itot_log_archive_dir)); the tenants' archives are read from
        their own folders, and O(dir) only places the default O(dest) and names RV(report.archive).
    type: path
    required: true
  categories:
    description:
      - Categories to read. A category without an archive on the host counts zero entries.
    type: list
    elements: str
    choices: [admin, device, webhook, device_report]
    default: [admin, device, webhook, device_report]
  period_start_ms:
    description:
      - Start of the period, epoch milliseconds. Default one day before O(period_end_ms).
    type: int
  period_end_ms:
    description:
      - End of the period, epoch milliseconds. Default now.
    type: int
  dest:
    description:
      - Folder of the report files; created with O(dir_mode), O(owner) and O(group) when missing.
      - Default O(dir)C(/reports).
    type: path
  name_time:
    description:
      - The C(YYYYMMDDTHHMMSSZ) stamp of the report's file names and its C(generated) time. Default now.
      - Fixed, a run that finds the same report again leaves the files untouched (C(changed=false)).
    type: str
  tenants:
    description:
      - 'The tenants whose archives the host holds, a list of C(name) (letters, digits, C(_) and C(-); each name once) and
        C(dir) (the folder holding that tenant''s category folders, each folder once; an absolute path without C(..) components), for example
        C([{name: acme, dir: /var/log/itot/acme}]).'
      - Given and not empty, the report covers each tenant's archive and their total; O(known_heads) is then per tenant.
      - Omitted or empty, the report covers the one archive under O(dir), as without tenants.
    type: raw
  known_heads:
    description:
      - 'With O(tenants), per tenant name the heads described next (C({tenant: {category: head}})); a tenant without an entry
        has every C(remove) line checked, and a name that is not a tenant fails the host.'
      - Per category, the head of its manifest recorded off the host (C(lines), C(sha256), as M(opswat.itot.itot_archive)'s
        O(opswat.itot.itot_archive#module:known_head)). Each category's manifest must extend its head, and every C(remove) line
        after it must be one O(retention_days) allows; a category without a head has every C(remove) line checked.
        Otherwise the host fails, naming the category folder and the manifest line.
      - Omitted, the heads are not checked (they are still reported in RV(report.heads)).
    type: dict
  covered_until_ms:
    description:
      - 'Per category, how far the archive has been read (epoch ms), for example C({admin: 1795939200000}): the end of
        the last window the C(opswat.itot.log_archive) role archived, which the C(opswat.itot.audit) playbook takes from
        the role''s plan. With O(tenants), per tenant name (C({tenant: {category: ms}})); a name that is not a tenant fails.'
      - A category without it is covered up to its newest archived entry (its cursor), and RV(report.coverage) says so.
    type: dict
  rules:
    description:
      - 'The audit''s rules (the C(opswat.itot.audit) playbook''s C(itot_audit_rules)), each a dict: C(name) (each rule its
        own), C(category), C(events) (optional, events of the category), C(match) (optional, C({field: value}) or C({field:
        {equals|not_equals|in|not_in|regex|not_regex: ...}}); all must hold), C(group_by) (optional, a field), one measure,
        C(count) (V(true): entries; C({distinct: field}): distinct values) with an optional sliding C(window) (V(10m), V(4h),
        ...), or C(duration) (V(true), or C({from: [events], until: [events]}): how long a state lasted, for C(device)
        non-compliant until compliant), C(max) (an integer; for C(duration) a length such as V(4h)), C(severity) (V(error),
        the default, or V(warning)) and an optional C(description).'
      - Fields are the entry fields the vendor's page lists for the category, and C(admin) (C(admin_email), else
        C(admin_name)), C(device) (C(device_id), else C(device_name)), C(group) (C(device_group)) and C(weekday_time) (the
        entry's time as C(ddd HH:MM), UTC, for example V(sat 02:15)).
      - A group whose measure is more than C(max) is a violation. The user guide describes each measure, how windows and
        durations are computed at the period's edges, and an example rules file.
      - A bad rule fails the module before any archive is read, with a message naming the rule and the key.
    type: list
    elements: raw
  thresholds:
    description:
      - 'The audit''s thresholds, as default rules evaluated before O(rules): C(itot_audit_max_failed_auth) (failed admin
        logins, C(failed_auth) events), C(itot_audit_max_noncompliant) (distinct devices with a C(noncompliant) event),
        C(itot_audit_max_deleted_user) (distinct devices with a C(deleted_user) event), each the C(max) of its rule
        (named after the variable); V(null) or an empty value leaves the rule out.'
    type: dict
  retention_days:
    description:
      - The archive's retention (the role's C(itot_log_archive_retention_days)), against which C(remove) lines are checked
        when O(known_heads) is given.
    type: int
    default: 0
  owner:
    description:
      - Owner of the report files and of O(dest). Omitted, ownership is left as it is.
    type: str
  group:
    description:
      - Group of the report files and of O(dest). Omitted, the group is left as it is.
    type: str
  mode:
    description:
      - Permissions of the report files, as for M(ansible.builtin.file). Omitted, the umask default.
    type: raw
  dir_mode:
    description:
      - Permissions of O(dest) when it is created or already exists. Omitted, left as it is (new folders get the umask default).
    type: raw
  lock_timeout:
    description:
      - Seconds to wait for a run of M(opswat.itot.itot_archive) that is writing a category before failing.
    type: int
    default: 300
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The report is built and returned; no file is written.
  diff_mode:
    support: none
  platform:
    platforms: posix
seealso:
  - module: opswat.itot.itot_archive
  - name: The user guide, archiving the logs
    link: https://github.com/opswat-itot/opswat.itot/blob/main/docs/docsite/rst/guide_archive.rst
    description: The opswat.itot.log_archive role and the opswat.itot.audit playbook, which use this module; the
      archive's layout and how to verify it without Ansible. Also installed with the collection as
      ansible_collections/opswat/itot/docs/docsite/rst/guide_archive.rst.
"""

EXAMPLES = r"""
- name: Report on the last day of archived logs
  opswat.itot.itot_archive_report:
    dir: /var/log/itot
    period_start_ms: "{{ (now().timestamp() * 1000) | int - 86400000 }}"
    period_end_ms: "{{ (now().timestamp() * 1000) | int }}"
    owner: root
    group: root
    mode: '0640'
  register: audit

- name: Report with rules; the results are also written as JUnit XML (audit.junit_path)
  opswat.itot.itot_archive_report:
    dir: /var/log/itot
    thresholds:
      itot_audit_max_noncompliant: 0
    rules:
      - name: admin-failed-logins
        category: admin
        events: [failed_auth]
        group_by: admin
        count: true
        window: 10m
        max: 5
        severity: error
      - name: plc-noncompliant-4h
        category: device
        match:
          device_group: {regex: '^plc-'}
        duration: true
        max: 4h
        severity: warning
  register: audit

- name: Fail on a violated rule of severity error, naming the rule and each group
  ansible.builtin.fail:
    msg: "{{ item.name }}: {{ item.violations | map(attribute='message') | join('; ') }}"
  loop: "{{ audit.report.rules | selectattr('severity', 'equalto', 'error') | rejectattr('passed') | list }}"
  loop_control:
    label: "{{ item.name }}"

- name: Fail when too many admin logins failed
  ansible.builtin.assert:
    that: audit.report.summary.failed_auth <= 5
    fail_msg: "{{ audit.report.summary.failed_auth }} failed admin logins, see {{ audit.html_path }}"
"""

RETURN = r"""
json_path:
  description: The JSON report (in check mode, where it would be written).
  returned: always
  type: str
  sample: /var/log/itot/reports/audit-20261129T080000Z.json
markdown_path:
  description: The Markdown twin of RV(json_path).
  returned: always
  type: str
  sample: /var/log/itot/reports/audit-20261129T080000Z.md
html_path:
  description:
    - The self-contained HTML twin of RV(json_path) (tables and inline SVG charts, no script, no external asset).
  returned: always
  type: str
  sample: /var/log/itot/reports/audit-20261129T080000Z.html
junit_path:
  description:
    - The rules' results as JUnit XML beside RV(json_path), a C(testsuite) per tenant (one without tenants) and a C(testcase)
      per rule, failed with its violations (C(failure) with C(type) the rule's severity).
    - Null when there is no rule (neither O(rules) nor O(thresholds)); no JUnit file is written then.
  returned: always
  type: str
  sample: /var/log/itot/reports/audit-20261129T080000Z.junit.xml
problems:
  description: When the manifest's chain is broken, what is wrong (C(kind), C(file), C(line), C(detail)).
  returned: failure
  type: list
  elements: dict
  sample: []
report:
  description: The report, as written to RV(json_path).
  returned: always
  type: dict
  contains:
    generated:
      description: When the report was made (O(name_time) when given), ISO 8601 UTC.
      type: str
      sample: '2026-11-29T08:00:00.000Z'
    archive:
      description: The archive root that was read.
      type: str
      sample: /var/log/itot
    period:
      description: The period, as C(start)/C(end) (ISO 8601 UTC) and C(start_ms)/C(end_ms) (epoch ms).
      type: dict
      sample: {start: '2026-11-28T08:00:00.000Z', end: '2026-11-29T08:00:00.000Z', start_ms: 1795852800000, end_ms: 1795939200000}
    categories:
      description: The categories read.
      type: list
      elements: str
      sample: [admin, device, webhook, device_report]
    entries_total:
      description: Entries in the period, all categories.
      type: int
      sample: 412
    files_read:
      description: Archive files read (and checked).
      type: int
      sample: 8
    undated_entries:
      description: Per category, archived entries whose time cannot be read; they belong to no period and are not counted.
      type: dict
      sample: {admin: 0, device: 1, webhook: 0, device_report: 0}
    counts:
      description: Per category, C(total) entries in the period and C(events), the count per event name.
      type: dict
      sample: {admin: {total: 3, events: {failed_auth: 2, login: 1}}}
    entries_per_day:
      description: Per category, the entries of each UTC day (C(YYYY-MM-DD)) of the period that has any, oldest day first.
      type: dict
      sample: {admin: {'2026-11-28': 2, '2026-11-29': 1}, device: {}}
    summary:
      description:
        - Totals for thresholds. C(failed_auth) is the number of failed_auth events, C(noncompliant_devices) the number of
          distinct devices that went non-compliant, C(deleted_user) the number of distinct devices with a deleted_user
          event, C(webhook_errors) the number of webhook entries with a response code of 400 or more.
      type: dict
      sample: {failed_auth: 2, noncompliant_devices: 1, deleted_user: 0, webhook_errors: 3}
    noncompliant_devices:
      description:
        - Devices with a C(noncompliant) device event in the period, in the order they first went non-compliant.
        - C(back_to_compliant) is true when a C(compliant) event follows the device's last C(noncompliant) event in the period;
          C(compliant_at) is its time.
      type: list
      elements: dict
      sample: [{device_id: d-1, device_name: pc-1, first_noncompliant: '2026-11-29T07:00:00.000Z', noncompliant_events: 1,
                back_to_compliant: true, compliant_at: '2026-11-29T07:30:00.000Z'}]
    webhook_noncompliant_events:
      description: Webhook C(status_changed_to_non_compliant) events in the period.
      type: int
      sample: 1
    failed_auth:
      description: Per admin (C(admin_name), C(admin_email)), the C(count) of C(failed_auth) events and the C(first)/C(last) time; most first.
      type: list
      elements: dict
      sample: [{admin_name: Ann, admin_email: ann@example.com, count: 2, first: '2026-11-29T07:00:00.000Z', last: '2026-11-29T07:01:00.000Z'}]
    deleted_user_devices:
      description: Each device C(deleted_user) event (C(device_id), C(device_name), C(device_username), C(time)), oldest first.
      type: list
      elements: dict
      sample: []
    heads:
      description:
        - Per category, the head of the manifest that was read (C(lines), C(sha256) of the last line; 0 and 64 zeros without one).
        - Kept with the report on the controller, it is what a later manifest must extend.
      type: dict
      sample: {device: {lines: 12, sha256: fc28efc02b4fdda10b71aff08524c022463c938b6d9c2482a283c65023148195}}
    verification:
      description:
        - Per category, what was checked before its entries were counted (a report is written only when all of it held).
        - C(chain) is C(holds) (the manifest's hash chain agrees with C(state.json)) or C(empty) (no manifest line yet);
          C(files_checked) the archive files read, each checked against its SHA-256 in the manifest; C(known_head) is
          C(extended) (the manifest extends the head given in O(known_heads)), C(none recorded) (O(known_heads) has none for
          the category, so every C(remove) line was checked) or C(not given) (O(known_heads) omitted).
      type: dict
      sample: {device: {chain: holds, files_checked: 2, known_head: extended}}
    webhook_errors:
      description: C(total), C(by_code) (count per HTTP code) and C(events) (C(time), C(device_id), C(device_name), C(event), C(code)).
      type: dict
      sample: {total: 1, by_code: {'500': 1}, events: [{time: '2026-11-29T07:00:00.000Z', device_id: d-1, device_name: pc-1,
                                                      event: added, code: 500}]}
    covered:
      description:
        - Whether the archive covers all of the period in every category (with O(tenants), every tenant's); false when
          RV(report.coverage) lists any gap.
      type: bool
      sample: false
    coverage:
      description:
        - Per category (with O(tenants), in the total, per C({tenant}/{category}), each with its C(tenant) and C(category)),
          the part of the period the archive covers. C(from) and C(until) (ISO 8601 UTC; C(from_ms), C(until_ms) epoch ms;
          null without an archive), C(basis) (where both come from in words; an archive made before coverage was recorded
          is covered from the first archived entry, and says so), and C(gaps), the parts of the period the archive does
          not cover, each C(start), C(end), C(start_ms), C(end_ms) and C(reason).
        - 'The reasons: C(the archive started later) (before C(from); the role does not reach back once a category has an
          archive), C(removed by retention (itot_log_archive_retention_days)) (up to the newest time of the files retention
          removed that overlap the period), C(not read yet) (after C(until)), C(no archive of this category).'
      type: dict
      sample: {admin: {from: '2026-11-28T08:00:00.000Z', until: '2026-11-29T08:00:00.000Z', from_ms: 1795852800000,
                       until_ms: 1795939200000, gaps: [],
                       basis: 'from where the archive began reading (state.json covered_from_ms); until the end of the last read
                               of the archive run (covered_until_ms)'}}
    rules:
      description:
        - Each rule's result, the default rules of O(thresholds) first, then O(rules) in their order; with O(tenants), in the
          total a result per tenant and rule (each with its C(tenant)), tenant by tenant, and each tenant's report its own.
        - C(name), C(category), C(severity), C(description) (what it measures), C(measure) (C(count), C(distinct) or
          C(duration)), C(group_by), C(window), C(max) (for C(duration) in ms), C(unit), C(variable) (the threshold variable
          of a default rule, else null), C(entries_checked) (entries that the rule picked), C(passed), and C(violations).
        - Each violation has C(group) (the C(group_by) value, null without C(group_by)), C(value) (the count, or the
          duration in ms), C(max), C(message), and C(entries), each C(timestamp) (ISO 8601 UTC), C(event), C(file) (relative
          to the archive root, C({category}/YYYY/MM/DD/...jsonl.gz)) and C(line) (from 1). A windowed count adds
          C(window_start) and C(window_end) (its first and last entry); a duration adds C(start), C(end) and C(open) (true
          when the period ended in the state, so the duration runs to the period's end).
      type: list
      elements: dict
      sample: [{name: admin-failed-logins, tenant: acme, passed: false, severity: error, max: 5,
                violations: [{group: ann@example.com, value: 6, max: 5, entries: [{timestamp: '2026-11-29T07:00:00.000Z',
                              event: failed_auth, file: admin/2026/11/29/admin-20261129T070000000Z-20261129T075900000Z.jsonl.gz,
                              line: 3}]}]}]
    tenants:
      description:
        - Per tenant name of O(tenants) (in their order), that tenant's report, with the same keys as a report without tenants
          (RV(report.archive) is the tenant's folder).
        - The keys around it are then the total over the tenants. Each figure (C(entries_total), C(files_read),
          C(undated_entries), C(counts), C(entries_per_day), C(summary), C(webhook_noncompliant_events), C(webhook_errors.total)
          and C(by_code)) is the sum of the tenants' figures; a device of one tenant is never counted as a device of another,
          even with the same id. The lists (C(noncompliant_devices), C(failed_auth), C(deleted_user_devices),
          C(webhook_errors.events)) hold every tenant's items, each with a C(tenant) key, in the order each list documents.
          C(heads) and C(verification) are keyed C({tenant}/{category}).
      returned: when O(tenants) is given and not empty
      type: dict
      sample: {acme: {archive: /var/log/itot/acme, entries_total: 12, summary: {failed_auth: 2, noncompliant_devices: 1,
                                                                                 deleted_user: 0, webhook_errors: 0}}}
"""

import os
import time
from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.opswat.itot.plugins.module_utils._archive_attrs import FILE_OPTIONS, module_attr_setter
from ansible_collections.opswat.itot.plugins.module_utils._archive_fs import check_root, os_errors_as
from ansible_collections.opswat.itot.plugins.module_utils._errors import ItotError, failure
from ansible_collections.opswat.itot.plugins.module_utils._report_analysis import HeadCheck, build_report, default_period, parse_name_time
from ansible_collections.opswat.itot.plugins.module_utils._report_coverage import check_until, coverage_warnings
from ansible_collections.opswat.itot.plugins.module_utils._report_render import write_report
from ansible_collections.opswat.itot.plugins.module_utils._report_rules import check_rules, default_rules
from ansible_collections.opswat.itot.plugins.module_utils._report_tenants import TenantHeads, build_tenants_report, check_tenants, check_tenants_until
from ansible_collections.opswat.itot.plugins.module_utils._timeparse import format_name_time
from ansible_collections.opswat.itot.plugins.module_utils._vocabulary import CATEGORIES


def _report(params: dict[str, Any], root: str, period: tuple[int, int, int], now: int) -> dict[str, Any]:
    """The report over the archive under root, or over each tenant's and their total when tenants is given."""
    # Every rule is checked before anything is read: the default rules of the thresholds first, then the given ones.
    rules = default_rules(params['thresholds']) + check_rules(params['rules'], 'rules')
    tenants = check_tenants(params['tenants'])
    if not tenants:
        heads = HeadCheck(params['known_heads'], params['retention_days'], now)
        until = check_until(params['covered_until_ms'])
        return build_report(root, params['categories'], period[0], period[1], period[2], params['lock_timeout'], heads, until, rules)
    names = [name for name, _folder in tenants]
    tenant_heads = TenantHeads(params['known_heads'], names, params['retention_days'], now)
    tenant_until = check_tenants_until(params['covered_until_ms'], names)
    return build_tenants_report(root, tenants, params['categories'], period, params['lock_timeout'], tenant_heads, tenant_until, rules)


def run(module: AnsibleModule) -> dict[str, Any]:
    """The report, built and written (in check mode only built); an OSError becomes an ItotError."""
    params = module.params
    with os_errors_as('audit report over %s' % params['dir']):
        root = check_root(params['dir'])
        dest = check_root(params['dest'], 'dest') if params['dest'] is not None else os.path.join(root, 'reports')
        now = int(time.time() * 1000)
        generated = parse_name_time(params['name_time']) if params['name_time'] is not None else now
        start, end = default_period(params['period_start_ms'], params['period_end_ms'], now)
        report = _report(params, root, (start, end, generated), now)
        changed, json_path, markdown_path, html_path, junit_path = write_report(dest, format_name_time(generated), report,
                                                                                module_attr_setter(module), module.check_mode)
    # The play shows every gap in the period: counts over a period the archive does not cover are under-counts.
    for warning in coverage_warnings(report):
        module.warn(warning)
    return dict(changed=changed, report=report, json_path=json_path, markdown_path=markdown_path, html_path=html_path,
                junit_path=junit_path)


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            dir=dict(type='path', required=True),
            categories=dict(type='list', elements='str', choices=list(CATEGORIES), default=list(CATEGORIES)),
            period_start_ms=dict(type='int'),
            period_end_ms=dict(type='int'),
            dest=dict(type='path'),
            name_time=dict(type='str'),
            known_heads=dict(type='dict'),
            tenants=dict(type='raw'),
            retention_days=dict(type='int', default=0),
            covered_until_ms=dict(type='dict'),
            rules=dict(type='list', elements='raw'),
            thresholds=dict(type='dict'),
            **FILE_OPTIONS
        ),
        supports_check_mode=True,
    )
    try:
        result = run(module)
    except ItotError as exc:
        module.fail_json(**failure(exc))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
