#!/usr/bin/env bash
# The collection as users get it: the built tarball installed with ansible-galaxy into a folder of its own, used
# from a folder outside this repository (so nothing but the installed copy can be picked up):
#   1. `ansible-playbook opswat.itot.audit` with two local archive hosts against the emulator: both archives hold
#      exactly the emulator's ground truth and a report;
#   2. module_defaults: {group/opswat.itot.itot: ...} sets the connection for opswat.itot.itot_logs_info.
#
#   tests/installed/run.sh TARBALL          (run by `make test`, step "installed", with the .venv on PATH)
set -eu -o pipefail

tarball=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
token="installed-test-token-$$"
emu_pid=""
cleanup() {
  if [ -n "$emu_pid" ]; then kill "$emu_pid" 2>/dev/null || true; wait "$emu_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAILED: $*"; exit 1; }

export ANSIBLE_COLLECTIONS_PATH="$work/collections" ANSIBLE_LOCAL_TEMP="$work/tmp" ANSIBLE_NOCOLOR=1
export XDG_CACHE_HOME="$work/cache"
ansible-galaxy collection install --force -p "$work/collections" "$tarball" >/dev/null
ansible-galaxy collection list opswat.itot -p "$work/collections" | grep -q '^opswat\.itot ' || fail "not installed"
echo "installed $(basename "$tarball") into $work/collections"

python "$root/tests/emulator/itot_emulator.py" --port 0 --port-file "$work/port" --access-token "$token" \
  --entries 150 --span 80000 --rate-limit 0 >"$work/emulator.out" 2>&1 &
emu_pid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
url="http://127.0.0.1:$(cat "$work/port")"
umask 077
cat >"$work/secrets.yml" <<YAML
itot_access_token: $token
YAML
cd "$work"  # outside the repository

echo "=== ansible-playbook opswat.itot.audit, two local hosts"
cat >"$work/inventory.ini" <<INI
[itot_archive_hosts]
host-1 itot_log_archive_dir=$work/archive-1
host-2 itot_log_archive_dir=$work/archive-2

[itot_archive_hosts:vars]
ansible_connection=local
ansible_python_interpreter=$(command -v python)
itot_log_archive_owner=$(id -un)
itot_log_archive_group=$(id -gn)
INI
ansible-playbook opswat.itot.audit -i "$work/inventory.ini" -e "@$work/secrets.yml" \
  -e "itot_base_url=$url itot_rate_limit=0 itot_log_archive_initial_lookback=-1d itot_audit_period=-1d" \
  >"$work/audit.log" 2>&1 || { tail -n 40 "$work/audit.log"; fail "opswat.itot.audit failed"; }
python - "$url" "$work/archive-1" "$work/archive-2" <<'PY' || fail "the archives differ from the ground truth"
import collections, glob, gzip, json, os, sys, urllib.request
url, folders = sys.argv[1], sys.argv[2:]
for category in ('admin', 'device', 'webhook', 'device_report'):
    with urllib.request.urlopen('%s/_control/truth?category=%s' % (url, category)) as answer:
        truth = collections.Counter(json.dumps(e, sort_keys=True) for e in json.load(answer)['data'])
    for folder in folders:
        got = collections.Counter()
        for path in glob.glob(os.path.join(folder, category, '*', '*', '*', '*.jsonl.gz')):
            with gzip.open(path, 'rt', encoding='utf-8') as handle:
                got.update(json.dumps(json.loads(line), sort_keys=True) for line in handle if line.strip())
        assert got == truth, (folder, category, sum(got.values()), sum(truth.values()))
        assert os.path.exists(os.path.join(folder, category, 'manifest.jsonl'))
    print('%-13s %4d entries, on both hosts exactly once' % (category, sum(truth.values())))
for folder in folders:
    reports = glob.glob(os.path.join(folder, 'reports', 'audit-*.json'))
    assert len(reports) == 1 and os.path.exists(reports[0][:-5] + '.md'), reports
    print('report: %s' % os.path.relpath(reports[0], os.path.dirname(folder)))
PY

echo "=== module_defaults: {group/opswat.itot.itot: ...}"
window=$(python - "$url" <<'PY'
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1] + '/_control/truth?category=device') as answer:
    times = json.load(answer)['timestamps_ms']
print('%d %d' % (times[0], times[-1]))
PY
)
ansible-playbook "$here/module_defaults.yml" -e "@$work/secrets.yml" \
  -e "itot_test_url=$url itot_test_start=${window% *} itot_test_end=${window#* }" >"$work/defaults.log" 2>&1 ||
  { tail -n 40 "$work/defaults.log"; fail "module_defaults play failed"; }
grep -q 'equal to the ground truth' "$work/defaults.log" || fail "module_defaults play did not check its result"
echo "itot_logs_info with the group's defaults only: equal to the ground truth"
