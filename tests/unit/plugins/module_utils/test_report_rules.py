# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The audit's rule engine on crafted entries: checks before anything is read, windows, ties, durations, evidence."""

from __future__ import annotations

import pytest

from ansible_collections.opswat.itot.plugins.module_utils._errors import OptionError
from ansible_collections.opswat.itot.plugins.module_utils._report_rules import check_rules, default_rules, evaluate, evaluate_rules

T0 = 1704507300000  # 2024-01-06T02:15:00Z, a Saturday
MIN = 60000
HOUR = 60 * MIN


def located(category, rows):
    """(time, entry, (file, line)) from (ms, fields) rows, one file, lines from 1, as the archive reader hands them."""
    return [(ms, dict(fields), ('%s/2024/01/06/f.jsonl.gz' % category, line)) for line, (ms, fields) in enumerate(rows, 1)]


def admin(ms, email='ann@example.com', event='failed_auth'):
    return ms, {'timestamp': ms, 'event': event, 'admin_name': email.split('@')[0], 'admin_email': email}


def device(ms, event, device_id='d1', group='plc-line-1'):
    return ms, {'timestamp': ms, 'event': event, 'device_id': device_id, 'device_name': 'n-' + device_id, 'device_group': group}


def one(spec):
    return check_rules([dict({'name': 'r', 'severity': 'error'}, **spec)])[0]


# --- checked before anything is read: the message names the rule and the key -------------------------------------

@pytest.mark.parametrize('spec, says', [
    ({'category': 'audit', 'count': True, 'max': 1}, "itot_audit_rules[0] (rule r).category: 'audit' is not an event category"),
    ({'category': 'admin', 'events': ['added'], 'count': True, 'max': 1},
     "itot_audit_rules[0] (rule r).events: 'added' is not an event of category admin"),
    ({'category': 'device_report', 'events': ['added'], 'count': True, 'max': 1},
     "itot_audit_rules[0] (rule r).events: 'added' is not an event of category device_report"),
    ({'category': 'admin', 'match': {'device_group': 'x'}, 'count': True, 'max': 1},
     "itot_audit_rules[0] (rule r).match: 'device_group' is not a field of admin entries"),
    ({'category': 'admin', 'group_by': 'device_id', 'count': True, 'max': 1},
     "itot_audit_rules[0] (rule r).group_by: 'device_id' is not a field of admin entries"),
    ({'category': 'device', 'match': {'device_group': {'regex': '^plc-('}}, 'count': True, 'max': 1},
     "itot_audit_rules[0] (rule r).match.device_group.regex: '^plc-(' is not a valid regular expression"),
    ({'category': 'device', 'match': {'device_group': {'like': 'plc'}}, 'count': True, 'max': 1},
     "itot_audit_rules[0] (rule r).match.device_group: 'like' is not a condition"),
    ({'category': 'admin', 'count': True, 'window': '10 minutes', 'max': 5},
     "itot_audit_rules[0] (rule r).window: '10 minutes' is not a duration"),
    ({'category': 'admin', 'count': True, 'window': '0m', 'max': 5}, "itot_audit_rules[0] (rule r).window: '0m' is not a duration"),
    ({'category': 'admin', 'count': True}, 'itot_audit_rules[0] (rule r).max: missing'),
    ({'category': 'admin', 'count': True, 'max': -1}, 'itot_audit_rules[0] (rule r).max: -1 is out of range'),
    ({'category': 'device', 'duration': True, 'max': 'long'}, "itot_audit_rules[0] (rule r).max: 'long' is not a duration"),
    ({'category': 'device', 'count': True, 'duration': True, 'max': 1}, 'itot_audit_rules[0] (rule r): has count and duration'),
    ({'category': 'device', 'duration': True, 'window': '1h', 'max': '4h'}, 'itot_audit_rules[0] (rule r).window: only a count'),
    ({'category': 'admin', 'duration': True, 'max': '4h'}, 'itot_audit_rules[0] (rule r).duration: category admin has no default state'),
    ({'category': 'admin', 'count': True, 'max': 1, 'severity': 'fatal'}, "itot_audit_rules[0] (rule r).severity: 'fatal' is not a severity"),
    ({'category': 'admin', 'count': True, 'max': 1, 'limit': 3}, 'itot_audit_rules[0] (rule r): limit is not a key of a rule'),
])
def test_a_bad_rule_is_named_with_its_key(spec, says):
    with pytest.raises(OptionError) as caught:
        one(spec)
    assert says in caught.value.message


def test_names_are_unique_and_the_defaults_reserved():
    with pytest.raises(OptionError, match=r"\[1\] \(rule a\)\.name: 'a' is given twice"):
        check_rules([{'name': 'a', 'category': 'admin', 'count': True, 'max': 1}] * 2)
    with pytest.raises(OptionError, match='itot_audit_max_failed_auth'):
        check_rules([{'name': 'itot_audit_max_failed_auth', 'category': 'admin', 'count': True, 'max': 1}])
    with pytest.raises(OptionError, match=r"itot_audit_rules: \{'name': 'a'\} is not a list of rules"):
        check_rules({'name': 'a'})
    assert check_rules(None) == [] and check_rules([]) == []


# --- sliding windows ---------------------------------------------------------------------------------------------

def test_a_window_holds_entries_less_than_its_length_apart():
    rule = one({'category': 'admin', 'events': ['failed_auth'], 'group_by': 'admin', 'count': True, 'window': '-10m', 'max': 1})
    # two entries 10 minutes minus 1 ms apart share a window; 10 minutes apart they do not
    inside = evaluate(rule, located('admin', [admin(T0), admin(T0 + 10 * MIN - 1)]), T0 + HOUR)
    assert [v['value'] for v in inside['violations']] == [2]
    assert inside['violations'][0]['window_start'] == '2024-01-06T02:15:00.000Z'
    assert inside['violations'][0]['window_end'] == '2024-01-06T02:24:59.999Z'
    apart = evaluate(rule, located('admin', [admin(T0), admin(T0 + 10 * MIN)]), T0 + HOUR)
    assert apart['passed'] and apart['violations'] == []


def test_ties_at_the_same_millisecond_count_together_and_the_densest_window_is_the_evidence():
    rule = one({'category': 'admin', 'group_by': 'admin_email', 'count': True, 'window': '1s', 'max': 2})
    rows = [admin(T0), admin(T0 + 5000), admin(T0 + 5000), admin(T0 + 5000), admin(T0 + 9000, 'bob@example.com')]
    result = evaluate(rule, located('admin', rows), T0 + HOUR)
    assert result['entries_checked'] == 5
    [violation] = result['violations']
    assert (violation['group'], violation['value'], violation['max']) == ('ann@example.com', 3, 2)
    assert [(e['file'], e['line']) for e in violation['entries']] == [('admin/2024/01/06/f.jsonl.gz', n) for n in (2, 3, 4)]
    assert violation['message'] == "rule r, admin_email 'ann@example.com': 3 entries within 1s, more than max 2"


def test_of_equally_dense_windows_the_first_is_the_evidence():
    rule = one({'category': 'admin', 'count': True, 'window': '1s', 'max': 1})
    rows = [admin(T0), admin(T0 + 100), admin(T0 + 5000), admin(T0 + 5100)]
    [violation] = evaluate(rule, located('admin', rows), T0 + HOUR)['violations']
    assert (violation['value'], [e['line'] for e in violation['entries']]) == (2, [1, 2])


def test_a_count_without_a_window_is_over_the_whole_period():
    rule = one({'category': 'admin', 'events': ['failed_auth'], 'count': True, 'max': 2})
    rows = [admin(T0), admin(T0 + 20 * HOUR, 'bob@example.com'), admin(T0 + 21 * HOUR, event='login'), admin(T0 + 22 * HOUR)]
    [violation] = evaluate(rule, located('admin', rows), T0 + 23 * HOUR)['violations']
    assert violation['group'] is None and violation['value'] == 3
    assert [e['line'] for e in violation['entries']] == [1, 2, 4]


# --- match --------------------------------------------------------------------------------------------------------

def test_match_conditions_and_their_negations():
    rows = [admin(T0, 'ann@example.com', 'whitelist'), admin(T0 + 1, 'eve@example.org', 'whitelist'),
            admin(T0 + 2, 'mal@example.com', 'whitelist'), admin(T0 + 3, 'mal@example.com', 'login'),
            (T0 + 4, {'timestamp': T0 + 4, 'event': 'whitelist'})]  # no admin at all
    rule = one({'category': 'admin', 'events': ['whitelist'], 'match': {'admin_email': {'not_in': ['ann@example.com']}},
                'group_by': 'admin', 'count': True, 'max': 0})
    result = evaluate(rule, located('admin', rows), T0 + HOUR)
    # a missing field is not in the list: the entry without an admin is a violation too, grouped as (none)
    assert [(v['group'], v['value']) for v in result['violations']] == [('eve@example.org', 1), ('mal@example.com', 1), ('(none)', 1)]
    rule = one({'category': 'admin', 'match': {'admin_email': {'regex': r'@example\.com$', 'not_equals': 'ann@example.com'}},
                'count': True, 'max': 0})
    assert [e['line'] for e in evaluate(rule, located('admin', rows), T0 + HOUR)['violations'][0]['entries']] == [3, 4]
    rule = one({'category': 'admin', 'match': {'admin_email': {'not_regex': r'@example\.com$'}, 'event': 'whitelist'},
                'count': True, 'max': 0})
    assert [e['line'] for e in evaluate(rule, located('admin', rows), T0 + HOUR)['violations'][0]['entries']] == [2, 5]


def test_weekday_time_expresses_a_change_window():
    # deleted_api outside Saturday 02:00-03:59 UTC: T0 is Saturday 02:15 (inside), one day later is Sunday (outside)
    rule = one({'category': 'device', 'events': ['deleted_api'], 'match': {'weekday_time': {'not_regex': '^sat 0[23]:'}},
                'group_by': 'device', 'count': True, 'max': 0})
    rows = [device(T0, 'deleted_api', 'd1'), device(T0 + 2 * HOUR, 'deleted_api', 'd3'), device(T0 + 24 * HOUR, 'deleted_api', 'd2')]
    result = evaluate(rule, located('device', rows), T0 + 30 * HOUR)
    assert [(v['group'], v['entries'][0]['timestamp']) for v in result['violations']] == [
        ('d3', '2024-01-06T04:15:00.000Z'), ('d2', '2024-01-07T02:15:00.000Z')]


# --- durations ----------------------------------------------------------------------------------------------------

def test_a_device_that_goes_non_compliant_twice_has_two_durations():
    rule = one({'category': 'device', 'match': {'device_group': {'regex': '^plc-'}}, 'duration': True, 'max': '4h'})
    rows = [device(T0, 'noncompliant'), device(T0 + HOUR, 'compliant'), device(T0 + 2 * HOUR, 'noncompliant'),
            device(T0 + 3 * HOUR, 'noncompliant'),  # still non-compliant: the state goes on from its first event
            device(T0 + 7 * HOUR + 1, 'compliant'), device(T0 + 8 * HOUR, 'compliant'),  # a compliant device stays so
            device(T0, 'noncompliant', 'd2', 'office')]  # another group: not matched
    result = evaluate(rule, located('device', rows), T0 + 24 * HOUR)
    [violation] = result['violations']
    assert (violation['group'], violation['value'], violation['max']) == ('d1', 5 * HOUR + 1, 4 * HOUR)
    assert (violation['start'], violation['end'], violation['open']) == ('2024-01-06T04:15:00.000Z', '2024-01-06T09:15:00.001Z', False)
    assert [e['line'] for e in violation['entries']] == [3, 4, 5]
    assert violation['message'] == "rule r, device 'd1': 5:00:00.001 (from noncompliant until compliant), more than max 4:00:00.000"


def test_a_period_that_ends_while_non_compliant_counts_to_its_end():
    rule = one({'category': 'device', 'duration': True, 'max': '4h'})
    rows = [device(T0, 'compliant'), device(T0 + HOUR, 'noncompliant')]
    at_four = evaluate(rule, located('device', rows), T0 + 5 * HOUR)  # exactly 4 h: not more than max
    assert at_four['passed']
    [violation] = evaluate(rule, located('device', rows), T0 + 5 * HOUR + 1)['violations']
    assert violation['open'] is True and violation['value'] == 4 * HOUR + 1 and violation['end'] == '2024-01-06T07:15:00.001Z'


def test_a_tie_between_states_keeps_the_archive_order():
    rule = one({'category': 'device', 'duration': {'from': ['noncompliant'], 'until': ['compliant', 'deleted']}, 'max': 0})
    rows = [device(T0, 'noncompliant'), device(T0, 'compliant'), device(T0 + MIN, 'noncompliant'), device(T0 + 2 * MIN, 'deleted')]
    result = evaluate(rule, located('device', rows), T0 + HOUR)
    assert [(v['value'], [e['line'] for e in v['entries']]) for v in result['violations']] == [(MIN, [3, 4])]


# --- the thresholds as default rules ------------------------------------------------------------------------------

def test_the_thresholds_are_default_rules_with_their_own_words():
    rules = default_rules({'itot_audit_max_failed_auth': '1', 'itot_audit_max_noncompliant': None, 'itot_audit_max_deleted_user': 0})
    assert [rule.name for rule in rules] == ['itot_audit_max_failed_auth', 'itot_audit_max_deleted_user']
    entries = {'admin': located('admin', [admin(T0), admin(T0 + 1, 'bob@example.com'), admin(T0 + 2, event='login')]),
               'device': located('device', [device(T0, 'deleted_user', 'd1'), device(T0 + 1, 'deleted_user', 'd1'),
                                            device(T0 + 2, 'deleted_user', 'd2')])}
    failed, deleted = evaluate_rules(rules, entries, T0 + HOUR)
    assert failed['violations'][0]['message'] == 'failed admin logins = 2, more than itot_audit_max_failed_auth = 1'
    assert deleted['violations'][0]['message'] == ('devices whose agent a local user removed (distinct devices with a deleted_user '
                                                   'event) = 2, more than itot_audit_max_deleted_user = 0')
    assert [e['line'] for e in deleted['violations'][0]['entries']] == [1, 2, 3]
    assert evaluate_rules(default_rules({'itot_audit_max_failed_auth': 2}), entries, T0 + HOUR)[0]['passed']
    with pytest.raises(OptionError, match="itot_audit_max_failed_auth: 'x' is not a number"):
        default_rules({'itot_audit_max_failed_auth': 'x'})
