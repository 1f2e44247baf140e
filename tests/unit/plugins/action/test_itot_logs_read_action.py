# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""opswat.itot.itot_logs_read: several tenants read side by side, each with its own settings, checked first."""

from __future__ import annotations

import threading
from unittest.mock import MagicMock

import pytest
from ansible.playbook.task import Task

from ansible_collections.opswat.itot.plugins.action import itot_logs_read
from ansible_collections.opswat.itot.plugins.module_utils._client import LogsResult
from ansible_collections.opswat.itot.plugins.module_utils._errors import RetryError

SECRET_A = 'tok-SITE-A-5c1e9d'
SECRET_B = 'sec-SITE-B-77aa01'


class FakeClient:
    """Stands for LogsClient: records its settings and queries, answers entries named after tenant and category."""

    made: list = []
    barrier: threading.Barrier | None = None
    failing: set = set()

    def __init__(self, settings, warn=None, **_transport):
        self.settings = settings
        self.warn = warn
        FakeClient.made.append(self)
        self.queries = []

    def fetch(self, query):
        self.queries.append(query)
        tenant = 'a' if self.settings.base_url.endswith('a.example.test') else 'b'
        if FakeClient.barrier is not None:
            FakeClient.barrier.wait()  # every tenant's thread must be here at once, or this times out
        if tenant in FakeClient.failing:
            raise RetryError('HTTP 503 after 5 retries')
        self.warn('slow answer')
        logs = [{'tenant': tenant, 'category': query.event_category, 'n': n} for n in range(2)]
        return LogsResult(logs=logs, next_token=None, window=(query.start_ms, query.end_ms), api_requests=3)

    def close(self):
        pass


@pytest.fixture(autouse=True)
def fake_client(monkeypatch):
    FakeClient.made = []
    FakeClient.barrier = None
    FakeClient.failing = set()
    monkeypatch.setattr(itot_logs_read, 'LogsClient', FakeClient)


TENANTS = [
    {'name': 'site-a', 'connection': {'base_url': 'https://a.example.test', 'access_token': SECRET_A, 'timeout': 7}},
    {'name': 'site-b', 'connection': {'base_url': 'https://b.example.test', 'client_id': 'audit', 'client_secret': SECRET_B}},
]
READS = [
    {'tenant': 'site-b', 'query': {'event_category': 'device', 'start_time': 1795000000000, 'end_time': 1795003600000}},
    {'tenant': 'site-a', 'query': {'event_category': 'admin', 'start_time': 1795000000000, 'end_time': 1795003600000}},
    {'tenant': 'site-a', 'query': {'event_category': 'device', 'start_time': 1795000000000, 'end_time': 1795003600000}},
]


def run(args):
    task = Task()
    task.action = 'opswat.itot.itot_logs_read'
    task.args = args
    action = itot_logs_read.ActionModule(task, MagicMock(), MagicMock(check_mode=False), loader=None, templar=None,
                                         shared_loader_obj=None)
    return action.run(task_vars={})


def test_answers_come_in_the_order_of_the_reads_each_from_its_own_tenant():
    result = run({'tenants': TENANTS, 'reads': READS})
    assert not result.get('failed'), result
    got = [(answer['tenant'], answer['event_category'], {log['tenant'] for log in answer['logs']}) for answer in result['reads']]
    assert got == [('site-b', 'device', {'b'}), ('site-a', 'admin', {'a'}), ('site-a', 'device', {'a'})]
    assert result['api_requests'] == 9
    # One client per tenant; a tenant's queries go through its own client, in order.
    by_url = {client.settings.base_url: [query.event_category for query in client.queries] for client in FakeClient.made}
    assert by_url == {'https://a.example.test': ['admin', 'device'], 'https://b.example.test': ['device']}
    assert sorted(result['warnings']) == ['tenant site-a: slow answer'] * 2 + ['tenant site-b: slow answer']


def test_tenants_are_read_side_by_side():
    FakeClient.barrier = threading.Barrier(2, timeout=10)
    result = run({'tenants': TENANTS, 'reads': READS[:2]})
    assert not result.get('failed'), result  # a serial read would leave the first thread waiting alone: BrokenBarrierError


def test_task_options_are_defaults_below_each_tenant_and_read():
    result = run({'tenants': TENANTS, 'reads': READS, 'timeout': 41, 'max_retries': 2, 'page_size': 50})
    assert not result.get('failed'), result
    settings = {client.settings.base_url: client.settings for client in FakeClient.made}
    assert settings['https://a.example.test'].timeout == 7  # the tenant's own
    assert settings['https://b.example.test'].timeout == 41  # the task's (module_defaults)
    assert {client.settings.max_retries for client in FakeClient.made} == {2}
    assert {query.page_size for client in FakeClient.made for query in client.queries} == {50}


def test_a_failing_tenant_fails_the_task_by_name_and_returns_no_entries():
    FakeClient.failing = {'b'}
    result = run({'tenants': TENANTS, 'reads': READS})
    assert result['failed'] is True
    assert result['msg'] == 'tenant site-b: HTTP 503 after 5 retries'
    assert 'reads' not in result


@pytest.mark.parametrize('args, message', [
    ({'tenants': TENANTS, 'reads': [{'tenant': 'site-c', 'query': {'event_category': 'admin'}}]},
     "reads[0].tenant: 'site-c' is not one of the tenants given (site-a, site-b)"),
    ({'tenants': [{'name': 'a/b', 'connection': TENANTS[0]['connection']}], 'reads': []},
     "tenants[0].name: 'a/b' is not a tenant name"),
    ({'tenants': [{'name': 'bare', 'connection': {'base_url': 'https://a.example.test'}}], 'reads': []},
     'tenant bare: access_token: not given or empty'),
    ({'tenants': TENANTS, 'reads': [{'tenant': 'site-a', 'query': {'event_category': 'nope'}}]},
     'tenant site-a, reads[0]: event_category'),
    ({'tenants': TENANTS, 'reads': READS, 'colour': 'blue'}, 'colour: not an option of opswat.itot.itot_logs_read'),
    ({'tenants': 'site-a', 'reads': READS}, 'tenants: a value of type str is not a list of dicts'),
])
def test_bad_arguments_fail_before_any_client_is_made(args, message):
    result = run(args)
    assert result['failed'] is True
    assert message in result['msg']
    assert FakeClient.made == []


def test_no_secret_in_the_result():
    FakeClient.failing = {'a'}
    for result in (run({'tenants': TENANTS, 'reads': READS}), run({'tenants': TENANTS, 'reads': READS[:1]})):
        assert SECRET_A not in repr(result) and SECRET_B not in repr(result)
