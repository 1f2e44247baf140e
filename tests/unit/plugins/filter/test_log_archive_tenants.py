# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The role's tenants: who a host archives (log_archive_tenants), the plan per tenant in rounds
(log_archive_tenant_plan), and what each host reads and archives in a round (log_archive_round)."""

from __future__ import annotations

import hashlib

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.opswat.itot.plugins.filter.log_archive_problems import log_archive_problems
from ansible_collections.opswat.itot.plugins.filter.log_archive_round import log_archive_round
from ansible_collections.opswat.itot.plugins.filter.log_archive_tenant_plan import log_archive_tenant_plan
from ansible_collections.opswat.itot.plugins.filter.log_archive_tenants import log_archive_tenants

TOKEN_A = 'tok-SITE-A-0c4f1e'
TOKEN_B = 'tok-SITE-B-9d22aa'
HOUR = 3600000
NOW = 1795939200000


def site(**extra):
    return dict({'itot_log_archive_dir': '/srv/itot', 'itot_base_url': 'https://A.example.test:8443/',
                 'itot_access_token': TOKEN_A}, **extra)


@pytest.fixture(autouse=True)
def no_itot_environment(monkeypatch):
    for name in ('ITOT_BASE_URL', 'ITOT_ACCESS_TOKEN', 'ITOT_CLIENT_ID', 'ITOT_CLIENT_SECRET', 'ITOT_MAX_WINDOW'):
        monkeypatch.delenv(name, raising=False)


# --- log_archive_tenants -------------------------------------------------------------------------------------------

def test_one_unnamed_tenant_keeps_the_1_0_layout_and_its_identity_holds_no_secret():
    [tenant] = log_archive_tenants(site())
    digest = hashlib.sha256(TOKEN_A.encode()).hexdigest()
    assert tenant == {'name': 'a-example-test-8443-%s' % hashlib.sha256(
        ('https://a.example.test:8443 token:%s' % digest).encode()).hexdigest()[:8],
        'named': False, 'root': '/srv/itot', 'identity': 'https://a.example.test:8443 token:%s' % digest,
        'slice_seconds': 86400}


def test_itot_tenant_names_the_tenant_and_its_folder():
    [tenant] = log_archive_tenants(site(itot_tenant='plant-1', itot_max_window=3600))
    assert (tenant['name'], tenant['named'], tenant['root'], tenant['slice_seconds']) == ('plant-1', True, '/srv/itot/plant-1', 3600)
    assert 'connection' not in tenant


def test_a_client_id_is_the_identity_and_the_environment_counts_below_the_variables(monkeypatch):
    monkeypatch.setenv('ITOT_CLIENT_ID', 'audit')
    monkeypatch.setenv('ITOT_CLIENT_SECRET', 'sec-env')
    monkeypatch.setenv('ITOT_BASE_URL', 'https://env.example.test')
    [tenant] = log_archive_tenants({'itot_log_archive_dir': '/srv/itot', 'itot_base_url': 'https://B.example.test'},
                                   connection=True)
    assert tenant['identity'] == 'https://b.example.test client:audit'
    assert tenant['connection'] == {'base_url': 'https://B.example.test', 'client_id': 'audit', 'client_secret': 'sec-env'}


def test_omitted_variables_are_unset():
    omit = '__omit_place_holder__0123abcd'
    [tenant] = log_archive_tenants(site(itot_client_id=omit, itot_client_secret=omit), connection=True)
    assert tenant['identity'].endswith(' token:' + hashlib.sha256(TOKEN_A.encode()).hexdigest())
    assert set(tenant['connection']) == {'base_url', 'access_token'}


def test_a_central_host_takes_each_tenant_s_own_identity_and_the_host_s_other_settings():
    variables = site(itot_timeout=9, itot_client_id='host-client', itot_client_secret='host-secret', itot_log_archive_tenants=[
        {'name': 'a', 'base_url': 'https://a.example.test', 'access_token': TOKEN_A},
        {'name': 'b', 'base_url': 'https://b.example.test', 'access_token': TOKEN_B, 'timeout': 3},
    ])
    tenants = log_archive_tenants(variables, connection=True)
    assert [(t['name'], t['root'], t['named']) for t in tenants] == [('a', '/srv/itot/a', True), ('b', '/srv/itot/b', True)]
    assert tenants[0]['connection'] == {'base_url': 'https://a.example.test', 'access_token': TOKEN_A, 'timeout': 9}
    assert tenants[1]['connection'] == {'base_url': 'https://b.example.test', 'access_token': TOKEN_B, 'timeout': 3}


@pytest.mark.parametrize('tenants, extra, message', [
    ([{'name': 'x', 'base_url': 'https://a.example.test', 'access_token': TOKEN_A},
      {'name': 'x', 'base_url': 'https://b.example.test', 'access_token': TOKEN_B}], {}, "the name 'x' is given twice"),
    ([{'name': 'a/b', 'base_url': 'https://a.example.test', 'access_token': TOKEN_A}], {},
     "itot_log_archive_tenants[0].name: 'a/b' is not a tenant name"),
    ([{'name': '..', 'base_url': 'https://a.example.test', 'access_token': TOKEN_A}], {}, "'..' is not a tenant name"),
    ([{'name': 'bare', 'base_url': 'https://a.example.test'}], {},
     'itot_log_archive_tenants[0] (tenant bare): no credentials'),
    ([{'name': 'nourl', 'access_token': TOKEN_A}], {}, 'itot_log_archive_tenants[0] (tenant nourl): no base_url'),
    ([{'name': 'one', 'base_url': 'https://a.example.test', 'access_token': TOKEN_A},
      {'name': 'two', 'base_url': 'https://A.example.test/', 'access_token': TOKEN_A}], {}, 'tenants one and two are the same tenant'),
    ([{'name': 'x', 'base_url': 'https://a.example.test', 'access_token': TOKEN_A, 'colour': 1}], {}, 'colour is not a key of a tenant'),
    ([{'name': 'x', 'base_url': 'https://a.example.test', 'access_token': TOKEN_A, 'timeout': -1}], {},
     'itot_log_archive_tenants[0] (tenant x): timeout'),
    ([{'name': 'x', 'base_url': 'https://a.example.test', 'access_token': TOKEN_A}], {'itot_tenant': 'y'},
     'itot_tenant: set together with itot_log_archive_tenants'),
    ('x', {}, 'itot_log_archive_tenants: str is not a list'),
    ([], {'itot_tenant': 'no good'}, "itot_tenant: 'no good' is not a tenant name"),
])
def test_bad_definitions_are_refused_naming_the_tenant_and_the_role_check_says_the_same(tenants, extra, message):
    variables = site(itot_log_archive_tenants=tenants, **extra)
    with pytest.raises(AnsibleFilterError) as error:
        log_archive_tenants(variables)
    assert message in str(error.value)
    assert TOKEN_A not in str(error.value) and TOKEN_B not in str(error.value)
    if 'itot_tenant: set together' not in message:  # a rule between two variables: the role's tenants task says it
        assert any(message in problem for problem in log_archive_problems(variables))


# --- log_archive_tenant_plan ------------------------------------------------------------------------------------

def tenant(name, identity, slice_seconds=86400):
    return {'name': name, 'named': True, 'root': '/srv/' + name, 'identity': identity, 'slice_seconds': slice_seconds}


def cursors(*pairs):
    """A registered loop of itot_archive state=query: (tenant, category, cursor_ms) per item."""
    return {'results': [{'item': [tenant(name, ''), category], 'cursor_ms': cursor} for name, category, cursor in pairs]}


def test_each_tenant_planned_from_the_oldest_cursor_of_its_own_hosts_and_dealt_into_rounds():
    a, b = tenant('a', 'https://a id'), tenant('b', 'https://b id', slice_seconds=3600)
    hosts = {'h1': [a], 'h2': [b], 'h3': [a], 'hub': [a, b]}
    registered = {
        'h1': cursors(('a', 'admin', NOW - 2 * HOUR)),
        'h2': cursors(('b', 'admin', NOW - 3 * HOUR + 1000)),  # b: from 3 h ago (cursor minus 1 s overlap), 1 h slices
        'h3': cursors(('a', 'admin', NOW - 5 * HOUR)),
        'hub': cursors(('a', 'admin', NOW - 6 * HOUR), ('b', 'admin', NOW - HOUR)),  # a's oldest, never b's
    }
    plan = log_archive_tenant_plan(hosts, registered, ['admin'], overlap=1, now_ms=NOW)
    assert plan['tenants'] == {'a': {'identity': 'https://a id', 'hosts': ['h1', 'h3', 'hub']},
                               'b': {'identity': 'https://b id', 'hosts': ['h2', 'hub']}}
    a_start = NOW - 6 * HOUR - 1000
    b_start = NOW - 3 * HOUR
    step = HOUR - 2
    assert [[(item['tenant'], item['start_time'], item['end_time'], item['read_from']) for item in round_]
            for round_ in plan['rounds']] == [
        [('a', a_start, NOW, a_start), ('b', b_start, b_start + step, b_start)],
        [('b', b_start + step, b_start + 2 * step, b_start)],
        [('b', b_start + 2 * step, b_start + 3 * step, b_start)],
        [('b', b_start + 3 * step, NOW, b_start)],  # 3 h are 4 requests of at most 1 h: each is sent 1 ms wider per side
    ]
    assert plan['rounds'][0][0]['label'].startswith('tenant a: admin ')
    # Where the reads end, for the audit's period and coverage: every tenant's and category's last slice ends there.
    assert plan['end_ms'] == NOW


def test_one_tenant_alone_keeps_the_plain_labels():
    plan = log_archive_tenant_plan({'h1': [tenant('a', 'id')]}, {'h1': cursors(('a', 'admin', None))}, ['admin'],
                                   initial_lookback=NOW - HOUR, now_ms=NOW)
    assert [item['label'] for round_ in plan['rounds'] for item in round_] == [
        'admin 2026-11-29T07:00:00.000Z .. 2026-11-29T08:00:00.000Z (1/1)']


@pytest.mark.parametrize('hosts, message', [
    ({'h1': [tenant('a', 'https://x client:1')], 'h2': [tenant('a', 'https://x client:2')]},
     'tenant a: the name is given to two tenants, https://x client:1 (host h1) and https://x client:2 (host h2)'),
    ({'h1': [tenant('a', 'https://x client:1')], 'h2': [tenant('b', 'https://x client:1')]},
     'one tenant (https://x client:1) has two names, a (host h1) and b (host h2)'),
])
def test_names_and_identities_must_agree_across_hosts(hosts, message):
    registered = {host: cursors((t['name'], 'admin', None)) for host, ts in hosts.items() for t in ts}
    with pytest.raises(AnsibleFilterError) as error:
        log_archive_tenant_plan(hosts, registered, ['admin'], now_ms=NOW)
    assert message in str(error.value)


# --- log_archive_round --------------------------------------------------------------------------------------------

ROUND = [
    {'tenant': 'a', 'hosts': ['h1', 'h3', 'hub'], 'category': 'device', 'start_time': 1, 'end_time': 2, 'read_from': 1, 'label': 'a'},
    {'tenant': 'b', 'hosts': ['h2', 'hub'], 'category': 'admin', 'start_time': 3, 'end_time': 4, 'read_from': 3, 'label': 'b'},
]


def test_the_first_live_host_of_a_tenant_reads_it_and_every_live_host_of_it_archives_it():
    filters = {'device': {'events': ['added']}}
    h1 = log_archive_round(ROUND, ['h1', 'h2', 'h3', 'hub'], 'h1', filters)
    assert h1['reads'] == [{'tenant': 'a', 'query': {'event_category': 'device', 'start_time': 1, 'end_time': 2, 'events': ['added']}}]
    assert [(item['tenant'], item['reader']) for item in h1['archives']] == [('a', 'h1')]
    hub = log_archive_round(ROUND, ['h1', 'h2', 'h3', 'hub'], 'hub')
    assert hub['reads'] == [] and [(item['tenant'], item['reader']) for item in hub['archives']] == [('a', 'h1'), ('b', 'h2')]
    # h1 and h2 failed earlier: the next live host of each tenant reads it.
    hub = log_archive_round(ROUND, ['h3', 'hub'], 'hub')
    assert [read['tenant'] for read in hub['reads']] == ['b']
    assert [(item['tenant'], item['reader']) for item in hub['archives']] == [('a', 'h3'), ('b', 'hub')]


def test_a_chunk_reads_at_most_chunk_size_entries_from_where_the_tenant_s_slice_goes_on():
    first = log_archive_round(ROUND, ['h1', 'h2', 'h3', 'hub'], 'hub', chunk_size=500, tokens=None)
    assert first['reads'] == [] and [item['tenant'] for item in first['archives']] == ['a', 'b']
    h2 = log_archive_round(ROUND, ['h1', 'h2', 'h3', 'hub'], 'h2', chunk_size=500)
    assert h2['reads'] == [{'tenant': 'b', 'query': {'event_category': 'admin', 'start_time': 3, 'end_time': 4,
                                                     'max_results': 500}}]
    # Tenant b's slice ended in the first chunk; tenant a's goes on where its read stopped, its host h1 failed since.
    later = log_archive_round(ROUND, ['h2', 'h3', 'hub'], 'h3', chunk_size=500, tokens={'a': 'itot1.next'})
    assert later['reads'] == [{'tenant': 'a', 'query': {'event_category': 'device', 'start_time': 1, 'end_time': 2,
                                                        'max_results': 500, 'token': 'itot1.next'}}]
    hub = log_archive_round(ROUND, ['h2', 'h3', 'hub'], 'hub', chunk_size=500, tokens={'a': 'itot1.next'})
    assert hub['reads'] == [] and [(item['tenant'], item['reader']) for item in hub['archives']] == [('a', 'h3')]
    assert log_archive_round(ROUND, ['h2', 'h3', 'hub'], 'h2', chunk_size=500, tokens={'a': 'x'}) == {
        'reads': [], 'archives': []}


def test_a_chunk_holds_back_the_entries_of_its_last_time_for_the_next_one():
    from ansible_collections.opswat.itot.plugins.filter.log_archive_chunk import log_archive_chunk
    a = {'timestamp': '2026-11-29T07:00:00.000Z', 'event': 'added'}
    b = {'timestamp': '2026-11-29T07:00:01.000Z', 'event': 'added'}
    b_as_ms = {'timestamp': 1795935601000, 'event': 'removed'}  # the same time, written another way
    undated = {'event': 'added'}
    # The chunk ends between two copies of b: both copies, and every entry of b's time, go with the next chunk.
    first = log_archive_chunk([a, b, b_as_ms, b], 'itot1.more')
    assert first == {'archive': [a], 'held': [b, b_as_ms, b]}
    second = log_archive_chunk([b, undated], 'itot1.more', first['held'])
    assert second == {'archive': [b, b_as_ms, b, b], 'held': [undated]}
    # The last chunk keeps nothing back; a chunk of one time holds all of it.
    assert log_archive_chunk([undated], None, second['held']) == {'archive': [undated, undated], 'held': []}
    assert log_archive_chunk([b, b], 'itot1.more', [a]) == {'archive': [a], 'held': [b, b]}
