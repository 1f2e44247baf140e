# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""opswat.itot.itot_archive_report against a generated archive, checked with independently computed expectations."""

from __future__ import annotations

import errno
import gzip
import json
import os
import random
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.opswat.itot.plugins.module_utils import _archive_fs
from ansible_collections.opswat.itot.plugins.module_utils._archive import ArchiveRequest, write_archive
from ansible_collections.opswat.itot.plugins.modules import itot_archive_report
from ansible_collections.opswat.itot.tests.unit.plugins import report_html_reader as reader
from ansible_collections.opswat.itot.tests.unit.plugins.itot_fake_api import ACCESS_TOKEN
from ansible_collections.opswat.itot.tests.unit.plugins.module_runner import run_module


def run(monkeypatch, args, check=False):
    return run_module(monkeypatch, itot_archive_report.main, args, check=check)


EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
START = 1795824000000  # 2026-11-28T00:00:00Z: the generated data covers four days from here
DAY = 86400000
DEVICES = [('d%d' % n, 'pc-%d' % n) for n in range(8)]
ADMINS = [('Ann', 'ann@example.com'), ('Bob', 'bob@example.com'), ('Cy', None)]


def iso_ms(ms):
    moment = EPOCH + timedelta(milliseconds=ms)
    return moment.strftime('%Y-%m-%dT%H:%M:%S.') + '%03dZ' % (ms % 1000)


def some_timestamp(rng, ms):
    """The same instant in one of the forms the API may use."""
    moment = EPOCH + timedelta(milliseconds=ms)
    form = rng.randrange(5)
    if form == 0:
        return iso_ms(ms)
    if form == 1:
        return (moment + timedelta(hours=2)).strftime('%Y-%m-%dT%H:%M:%S') + '+02:00'
    if form == 2:
        return ms
    if form == 3:
        return str(ms // 1000)
    return moment.strftime('%a, %d %b %Y %H:%M:%S GMT')


def generate(seed=7):
    """{category: [(ms, entry), ...]} oldest first, whole seconds, no two entries of a category at the same time."""
    rng = random.Random(seed)
    data = {}
    for category, count in (('device', 700), ('admin', 300), ('webhook', 300), ('device_report', 150)):
        times = sorted(rng.sample(range(0, 4 * 86400), count))
        items = []
        for second in times:
            ms = START + second * 1000
            stamp = some_timestamp(rng, ms)
            if category == 'device':
                device = rng.choice(DEVICES)
                event = rng.choice(['noncompliant', 'noncompliant', 'compliant', 'compliant', 'deleted_user', 'added', 'access_granted'])
                item = {'timestamp': stamp, 'event': event, 'details': 'x', 'device_id': device[0], 'device_name': device[1],
                        'device_username': 'user-%s' % device[0], 'device_group': 'g'}
            elif category == 'admin':
                admin = rng.choice(ADMINS)
                item = {'timestamp': stamp, 'event': rng.choice(['failed_auth', 'failed_auth', 'login', 'config']), 'details': 'y',
                        'admin_name': admin[0], 'admin_email': admin[1]}
            elif category == 'webhook':
                device = rng.choice(DEVICES)
                item = {'timestamp': stamp, 'event': rng.choice(['added', 'deleted', 'status_changed_to_non_compliant',
                                                                 'status_changed_to_compliant']),
                        'details': 'z', 'device_id': device[0], 'device_name': device[1],
                        'response_code': rng.choice(['200', '201', '400', '404', '500', 503, 200, 399, 'timeout', '', None, ' 502 ']),
                        'response_body': '{}'}
            else:
                device = rng.choice(DEVICES)
                item = {'timestamp': stamp, 'event': 'report', 'details': 'r', 'device_id': device[0], 'device_name': device[1],
                        'status': 'ok', 'last_seen': 'Sun, 29 Nov 2026 07:00:00 GMT'}
            items.append((ms, item))
            if rng.random() < 0.03:
                items.append((ms, dict(item)))  # an identical twin: a second event
        data[category] = items
    return data


def archive(root, data):
    """Write data the way the role does: eight runs, each re-reading five minutes behind the previous one."""
    cuts = [START + k * DAY // 2 for k in range(1, 9)]
    for category, items in data.items():
        low = START
        for cut in cuts:
            batch = [item for ms, item in items if low <= ms <= cut]
            write_archive(ArchiveRequest(str(root), category, batch, overlap=300, now=cut))
            low = cut - 300000
    # One entry without a readable time: never counted in a period.
    write_archive(ArchiveRequest(str(root), 'admin', [{'timestamp': 'n/a', 'event': 'failed_auth', 'admin_name': 'Ann'}], now=cuts[-1]))


def expected_report(data, start, end):
    inside = dict((category, [(ms, item) for ms, item in items if start <= ms <= end]) for category, items in data.items())
    counts = {}
    for category, items in inside.items():
        events = Counter(item['event'] for _ms, item in items)
        counts[category] = {'total': len(items), 'events': dict(sorted(events.items()))}

    devices = []
    for device_id, device_name in DEVICES:
        mine = [(ms, item['event']) for ms, item in inside['device'] if item['device_id'] == device_id]
        bad = [ms for ms, event in mine if event == 'noncompliant']
        if not bad:
            continue
        good_after = [ms for ms, event in mine if event == 'compliant' and ms >= bad[-1]]
        devices.append({'device_id': device_id, 'device_name': device_name, 'first_noncompliant': iso_ms(bad[0]),
                        'noncompliant_events': len(bad), 'back_to_compliant': bool(good_after),
                        'compliant_at': iso_ms(good_after[0]) if good_after else None})
    devices.sort(key=lambda device: device['first_noncompliant'])

    failed = []
    for name, email in ADMINS:
        times = [ms for ms, item in inside['admin'] if item['event'] == 'failed_auth' and item['admin_name'] == name]
        if times:
            failed.append({'admin_name': name, 'admin_email': email, 'count': len(times), 'first': iso_ms(times[0]), 'last': iso_ms(times[-1])})
    failed.sort(key=lambda admin: (-admin['count'], admin['admin_name']))

    deleted = [{'device_id': item['device_id'], 'device_name': item['device_name'], 'device_username': item['device_username'],
                'time': iso_ms(ms)} for ms, item in inside['device'] if item['event'] == 'deleted_user']

    errors = []
    for ms, item in inside['webhook']:
        code = item['response_code']
        number = code if isinstance(code, int) else int(code) if isinstance(code, str) and code.strip().isdigit() else None
        if number is not None and number >= 400:
            errors.append({'device_id': item['device_id'], 'device_name': item['device_name'], 'time': iso_ms(ms), 'code': number,
                           'event': item['event']})
    return {
        'entries_total': sum(len(items) for items in inside.values()),
        'counts': counts,
        'summary': {'failed_auth': sum(admin['count'] for admin in failed), 'noncompliant_devices': len(devices),
                    'deleted_user': len(set(item['device_id'] for item in deleted)), 'webhook_errors': len(errors)},
        'noncompliant_devices': devices,
        'webhook_noncompliant_events': len([1 for _ms, item in inside['webhook'] if item['event'] == 'status_changed_to_non_compliant']),
        'failed_auth': failed,
        'deleted_user_devices': deleted,
        'webhook_errors': {'total': len(errors), 'by_code': dict(sorted(Counter(str(item['code']) for item in errors).items())),
                           'events': errors},
    }


def period_of(data):
    """About two days in the middle, starting and ending exactly on an entry's time (both ends are included)."""
    admin = [ms for ms, _item in data['admin'] if ms >= START + DAY + 3600000]
    webhook = [ms for ms, _item in data['webhook'] if ms <= START + 3 * DAY]
    return admin[0], webhook[-1]


@pytest.fixture(scope='module')
def generated(tmp_path_factory):
    root = tmp_path_factory.mktemp('report') / 'itot'
    data = generate()
    archive(root, data)
    return str(root), data


def args_for(root, data, **extra):
    period = period_of(data)
    args = {'dir': root, 'period_start_ms': period[0], 'period_end_ms': period[1], 'name_time': '20261201T080000Z'}
    args.update(extra)
    return args


def test_report_matches_independent_counts(monkeypatch, tmp_path, generated):
    root, data = generated
    dest = str(tmp_path / 'reports')
    ok, result = run(monkeypatch, args_for(root, data, dest=dest))
    assert ok, result
    report = result['report']
    period = period_of(data)
    expected = expected_report(data, *period)
    assert expected != expected_report(data, period[0] + 1, period[1] - 1)  # entries at both ends, each one counts
    for key, value in expected.items():
        assert report[key] == value, key
    # The generator makes sure every part of the report has something to show.
    assert expected['summary']['failed_auth'] > 10 and expected['summary']['noncompliant_devices'] >= 4
    assert expected['summary']['deleted_user'] >= 3 and expected['summary']['webhook_errors'] > 10
    assert any(device['back_to_compliant'] for device in expected['noncompliant_devices'])
    assert report['period'] == {'start': iso_ms(period[0]), 'end': iso_ms(period[1]), 'start_ms': period[0], 'end_ms': period[1]}
    assert report['generated'] == '2026-12-01T08:00:00.000Z'
    assert report['undated_entries'] == {'admin': 1, 'device': 0, 'webhook': 0, 'device_report': 0}
    assert report['categories'] == ['admin', 'device', 'webhook', 'device_report']
    assert 0 < report['files_read'] < 4 * 8
    assert result['changed'] is True
    assert result['json_path'] == os.path.join(dest, 'audit-20261201T080000Z.json')
    assert result['markdown_path'] == os.path.join(dest, 'audit-20261201T080000Z.md')
    with open(result['json_path']) as stream:
        assert json.load(stream) == report
    with open(result['markdown_path']) as stream:
        markdown = stream.read()
    for title in ('# IT-OT Access audit report', '## Summary', '## Events per category', '## Devices that went non-compliant',
                  '## Failed admin logins', '## Agents a local user removed (`deleted_user` events)', '## Webhook errors'):
        assert '\n%s\n' % title in '\n' + markdown
    assert '| Failed admin logins (`failed_auth`) | %d |' % expected['summary']['failed_auth'] in markdown
    for device in expected['noncompliant_devices']:
        assert '| %s | %s | %s |' % (device['device_id'], device['device_name'], device['first_noncompliant']) in markdown
    assert '| Cy | - |' in markdown  # an admin without an email
    # Same report again: the files are left alone.
    before = os.stat(result['json_path']).st_mtime_ns
    ok, again = run(monkeypatch, args_for(root, data, dest=dest))
    assert ok and again['changed'] is False and again['report'] == report
    assert os.stat(result['json_path']).st_mtime_ns == before


def test_default_dest_and_check_mode(monkeypatch, tmp_path, generated):
    root, data = generated
    copy = tmp_path / 'copy'
    os.symlink(root, str(copy))  # reports of this test land beside the shared archive's categories, not in it
    ok, result = run(monkeypatch, args_for(str(copy), data, categories=['admin']), check=True)
    assert ok and result['changed'] is True
    assert result['json_path'] == os.path.join(str(copy), 'reports', 'audit-20261201T080000Z.json')
    assert not os.path.exists(result['json_path'])
    assert list(result['report']['counts']) == ['admin']
    assert result['report']['summary']['failed_auth'] == expected_report(data, *period_of(data))['summary']['failed_auth']


def test_a_tampered_file_in_the_period_fails_naming_it(monkeypatch, tmp_path):
    root = tmp_path / 'itot'
    day1 = [{'timestamp': '2026-11-29T07:00:00Z', 'event': 'failed_auth', 'admin_name': 'Ann', 'admin_email': 'a@x'}]
    day2 = [{'timestamp': '2026-11-30T07:00:00Z', 'event': 'failed_auth', 'admin_name': 'Ann', 'admin_email': 'a@x'}]
    write_archive(ArchiveRequest(str(root), 'admin', day1))
    write_archive(ArchiveRequest(str(root), 'admin', day2))
    target = root / 'admin' / '2026/11/30/admin-20261130T070000000Z-20261130T070000000Z.jsonl.gz'
    target.write_bytes(gzip.compress(b'{"timestamp":"2026-11-30T07:00:00Z","event":"login"}\n'))
    day1_period = {'period_start_ms': 1795935600000 - 1000, 'period_end_ms': 1795935600000 + 1000}  # around 2026-11-29T07:00:00Z
    ok, result = run(monkeypatch, {'dir': str(root), 'categories': ['admin'], 'name_time': '20261201T000000Z',
                                   'dest': str(tmp_path / 'r'), 'period_start_ms': day1_period['period_start_ms'],
                                   'period_end_ms': day1_period['period_end_ms']})
    assert ok and result['report']['summary']['failed_auth'] == 1  # the tampered file lies outside the period
    ok, result = run(monkeypatch, {'dir': str(root), 'categories': ['admin'], 'name_time': '20261201T000000Z',
                                   'dest': str(tmp_path / 'r'), 'period_start_ms': 1795935600000, 'period_end_ms': 1795935600000 + DAY})
    assert not ok
    assert str(target) in result['msg'] and 'does not match the manifest' in result['msg']


def test_refusals(monkeypatch, tmp_path):
    root = tmp_path / 'itot'
    write_archive(ArchiveRequest(str(root), 'admin', [{'timestamp': '2026-11-29T07:00:00Z', 'event': 'login'}]))
    ok, result = run(monkeypatch, {'dir': 'itot', 'name_time': '20261201T000000Z'})
    assert not ok and result['msg'].startswith("dir must be an absolute path without '..' components") and "'itot'" in result['msg']
    ok, result = run(monkeypatch, {'dir': str(root), 'dest': '/tmp/../etc'})
    assert not ok and result['msg'].startswith('dest must be an absolute path')
    ok, result = run(monkeypatch, {'dir': str(root), 'name_time': '2026-12-01'})
    assert not ok and 'name_time must look like 20261129T070000Z' in result['msg']
    ok, result = run(monkeypatch, {'dir': str(root), 'period_start_ms': 2, 'period_end_ms': 1})
    assert not ok and 'period_start_ms (2) must not be after period_end_ms (1)' in result['msg']
    (root / 'admin' / '.pending.json').write_text('{"manifest": [], "files": [], "state": {}}')
    ok, result = run(monkeypatch, {'dir': str(root), 'categories': ['admin']})
    assert not ok and 'holds an interrupted write' in result['msg']
    assert not os.path.exists(str(root / 'reports'))


def test_default_period_is_the_last_day(monkeypatch, tmp_path):
    root = tmp_path / 'itot'
    write_archive(ArchiveRequest(str(root), 'admin', [{'timestamp': 'x', 'event': 'login'}]))
    ok, result = run(monkeypatch, {'dir': str(root), 'categories': ['admin', 'device']}, check=True)
    assert ok
    period = result['report']['period']
    assert period['end_ms'] - period['start_ms'] == DAY
    assert result['report']['counts'] == {'admin': {'total': 0, 'events': {}}, 'device': {'total': 0, 'events': {}}}


def test_a_full_disk_fails_naming_the_report_and_leaves_no_partial_file(monkeypatch, tmp_path):
    root = tmp_path / 'itot'
    write_archive(ArchiveRequest(str(root), 'admin', [{'timestamp': '2026-11-29T07:00:00Z', 'event': 'login'}]))
    real = _archive_fs.write_temp

    def no_space(folder, data, attrs):
        if folder == str(tmp_path / 'r'):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(folder, data, attrs)

    monkeypatch.setattr(_archive_fs, 'write_temp', no_space)
    ok, result = run(monkeypatch, {'dir': str(root), 'categories': ['admin'], 'name_time': '20261201T000000Z', 'dest': str(tmp_path / 'r')})
    assert not ok
    assert result['msg'] == ('cannot write the report %s: No space left on device (ENOSPC); no partial report was left'
                             % (tmp_path / 'r' / 'audit-20261201T000000Z.json'))
    assert os.listdir(str(tmp_path / 'r')) == []


def tree_state(folder):
    """Every path under folder with what it is and holds: what a planted link must not change."""
    state = {}
    for base, dirs, files in os.walk(str(folder)):
        for name in dirs + files:
            path = os.path.join(base, name)
            info = os.lstat(path)
            content = open(path, 'rb').read() if os.path.isfile(path) and not os.path.islink(path) else None
            state[os.path.relpath(path, str(folder))] = (info.st_mode, info.st_uid, content)
    return state


@pytest.mark.parametrize('check', [False, True])
def test_a_reports_folder_planted_as_a_link_is_refused(monkeypatch, tmp_path, check):
    root = tmp_path / 'itot'
    write_archive(ArchiveRequest(str(root), 'admin', [{'timestamp': '2026-11-29T07:00:00Z', 'event': 'login'}]))
    elsewhere = tmp_path / 'rootonly'
    elsewhere.mkdir(mode=0o700)
    (elsewhere / 'keep.conf').write_text('keep\n')
    (root / 'reports').symlink_to(elsewhere)
    before = tree_state(elsewhere)
    ok, result = run(monkeypatch, {'dir': str(root), 'categories': ['admin'], 'name_time': '20261201T000000Z',
                                   'mode': '0644', 'dir_mode': '0755'}, check=check)
    assert not ok
    assert result['msg'].startswith('refusing %s: it is a symbolic link' % (root / 'reports'))
    assert tree_state(elsewhere) == before and oct(elsewhere.stat().st_mode & 0o777) == '0o700'


@pytest.mark.parametrize('planted', ['json', 'md', 'html'])
def test_a_report_file_planted_as_a_link_is_refused_before_any_file_is_written(monkeypatch, tmp_path, planted):
    root = tmp_path / 'itot'
    write_archive(ArchiveRequest(str(root), 'admin', [{'timestamp': '2026-11-29T07:00:00Z', 'event': 'login'}]))
    (root / 'reports').mkdir()
    victim = tmp_path / 'victim.conf'
    victim.write_text('keep\n')
    victim.chmod(0o600)
    name = 'audit-20261201T000000Z.' + planted
    (root / 'reports' / name).symlink_to(victim)
    ok, result = run(monkeypatch, {'dir': str(root), 'categories': ['admin'], 'name_time': '20261201T000000Z', 'mode': '0644'})
    assert not ok
    assert result['msg'].startswith('refusing %s: it is a symbolic link' % (root / 'reports' / name))
    assert victim.read_text() == 'keep\n' and oct(victim.stat().st_mode & 0o777) == '0o600'
    assert os.listdir(str(root / 'reports')) == [name]


# --- the HTML twin ----------------------------------------------------------------------------------------------

def test_the_html_twin_shows_the_json_figures(monkeypatch, tmp_path, generated):
    root, data = generated
    dest = str(tmp_path / 'reports')
    ok, result = run(monkeypatch, args_for(root, data, dest=dest))
    assert ok, result
    assert result['html_path'] == os.path.join(dest, 'audit-20261201T080000Z.html')
    assert sorted(os.listdir(dest)) == ['audit-20261201T080000Z.html', 'audit-20261201T080000Z.json', 'audit-20261201T080000Z.md']
    with open(result['json_path']) as stream:
        report = json.load(stream)
    with open(result['html_path'], encoding='utf-8') as stream:
        page = reader.read(stream.read())  # strict parse, and no script or outside reference
    # Entries per day per category, computed here from the generated entries: the analysis' new figure.
    inside = dict((category, [ms for ms, _item in items if period_of(data)[0] <= ms <= period_of(data)[1]]) for category, items in data.items())
    assert report['entries_per_day'] == dict((category, dict(sorted(Counter(iso_ms(ms)[:10] for ms in times).items())))
                                             for category, times in inside.items())
    assert len(set(day for days in report['entries_per_day'].values() for day in days)) >= 2
    assert report['verification'] == dict((category, {'chain': 'holds', 'files_checked': report['verification'][category]['files_checked'],
                                                      'known_head': 'not given'}) for category in report['categories'])
    assert sum(item['files_checked'] for item in report['verification'].values()) == report['files_read']
    assert [section.get('id') for section in page.iter('section')] == ['all']
    reader.check_figures(page, 'all', report)
    assert reader.text_of(reader.by_id(page, 'report')).count(report['period']['start']) == 1

    # Same report again: all three files are left alone; a missing HTML twin alone is written again, byte for byte.
    with open(result['html_path'], 'rb') as stream:
        first = stream.read()
    before = os.stat(result['html_path']).st_mtime_ns
    ok, again = run(monkeypatch, args_for(root, data, dest=dest))
    assert ok and again['changed'] is False and os.stat(result['html_path']).st_mtime_ns == before
    os.unlink(result['html_path'])
    ok, again = run(monkeypatch, args_for(root, data, dest=dest), check=True)
    assert ok and again['changed'] is True and not os.path.exists(result['html_path'])
    ok, again = run(monkeypatch, args_for(root, data, dest=dest))
    assert ok and again['changed'] is True
    with open(result['html_path'], 'rb') as stream:
        assert stream.read() == first


def test_check_mode_writes_no_html(monkeypatch, tmp_path, generated):
    root, data = generated
    dest = tmp_path / 'reports'
    dest.mkdir()
    ok, result = run(monkeypatch, args_for(root, data, dest=str(dest)), check=True)
    assert ok and result['changed'] is True and result['html_path'] == str(dest / 'audit-20261201T080000Z.html')
    assert os.listdir(str(dest)) == []


def test_no_secret_reaches_the_html(monkeypatch, tmp_path):
    """Only the report's figures and names are rendered: a token echoed in an entry's other fields stays out."""
    root = tmp_path / 'itot'
    leak = 'https://itot.example/api?access_token=%s' % ACCESS_TOKEN
    write_archive(ArchiveRequest(str(root), 'admin', [{'timestamp': '2026-11-29T07:00:00Z', 'event': 'failed_auth', 'admin_name': 'Ann',
                                                       'details': leak}]))
    write_archive(ArchiveRequest(str(root), 'webhook', [{'timestamp': '2026-11-29T07:00:00Z', 'event': 'added', 'device_id': 'd1',
                                                         'response_code': 500, 'response_body': leak, 'url': leak}]))
    monkeypatch.setenv('ITOT_ACCESS_TOKEN', ACCESS_TOKEN)
    ok, result = run(monkeypatch, {'dir': str(root), 'categories': ['admin', 'webhook'], 'name_time': '20261201T000000Z',
                                   'period_start_ms': 1795935600000, 'period_end_ms': 1795935600000})
    assert ok and result['report']['summary'] == {'failed_auth': 1, 'noncompliant_devices': 0, 'deleted_user': 0, 'webhook_errors': 1}
    with open(result['html_path'], encoding='utf-8') as stream:
        text = stream.read()
    reader.check_figures(reader.read(text), 'all', result['report'])
    assert ACCESS_TOKEN not in text and 'itot.example' not in text
