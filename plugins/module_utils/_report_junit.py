# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The audit's rules as JUnit XML results, the test report CI pipelines show check by check (GitLab, Jenkins, GitHub).

For internal collection use only.  Rendered from the report dict alone (its ``rules``, the JSON's), so its figures are
the JSON's: a ``testsuite`` per tenant (one, ``opswat.itot.audit``, without tenants), a ``testcase`` per rule, failed
(``failure``, ``type`` the rule's severity) with its violations as the message and the entries behind each as text.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

SUITE = 'opswat.itot.audit'
# Characters XML 1.0 cannot hold (entry texts are the API's): replaced, never written.
_NOT_XML = re.compile('[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]')


def _clean(value: Any) -> str:
    return _NOT_XML.sub('\ufffd', '' if value is None else str(value))


def _details(rule: dict[str, Any]) -> str:
    lines = []
    for violation in rule['violations']:
        lines.append(violation['message'])
        lines.extend('  %s %s %s line %s' % (entry['timestamp'], entry['event'], entry['file'], entry['line']) for entry in violation['entries'])
    return '\n'.join(lines)


def _case(suite: ET.Element, rule: dict[str, Any], classname: str) -> None:
    case = ET.SubElement(suite, 'testcase', {'name': _clean(rule['name']), 'classname': _clean(classname), 'time': '0'})
    about = '%s; max %s %s; %d entries checked' % (rule['description'], rule['max'], rule['unit'], rule['entries_checked'])
    ET.SubElement(case, 'system-out').text = _clean(about)
    if not rule['passed']:
        failure = ET.SubElement(case, 'failure', {'type': rule['severity'],
                                                  'message': _clean('; '.join(item['message'] for item in rule['violations']))})
        failure.text = _clean(_details(rule))


def _suite(root: ET.Element, name: str, rules: list[dict[str, Any]], report: dict[str, Any]) -> None:
    failed = sum(1 for rule in rules if not rule['passed'])
    suite = ET.SubElement(root, 'testsuite', {'name': _clean(name), 'tests': str(len(rules)), 'failures': str(failed), 'errors': '0',
                                              'skipped': '0', 'time': '0', 'timestamp': _clean(report['generated'])})
    properties = ET.SubElement(suite, 'properties')
    for key in ('start', 'end'):
        ET.SubElement(properties, 'property', {'name': 'period_%s' % key, 'value': _clean(report['period'][key])})
    ET.SubElement(properties, 'property', {'name': 'covered', 'value': 'true' if report.get('covered', True) else 'false'})
    for rule in rules:
        _case(suite, rule, '%s.%s' % (name, rule['category']))


def render_junit(report: dict[str, Any]) -> str:
    """The report's rules as a JUnit XML document (one case per rule and tenant)."""
    rules = report.get('rules') or []
    root = ET.Element('testsuites', {'name': SUITE, 'tests': str(len(rules)),
                                     'failures': str(sum(1 for rule in rules if not rule['passed'])), 'errors': '0', 'time': '0'})
    tenants = report.get('tenants')
    if isinstance(tenants, dict) and tenants:
        for name in tenants:
            _suite(root, '%s.%s' % (SUITE, name), [rule for rule in rules if rule.get('tenant') == name], report)
    else:
        _suite(root, SUITE, rules, report)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding='unicode') + '\n'
