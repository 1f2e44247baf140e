#!/usr/bin/env bash
# Many tenants (issue 14): three emulators (three tenants), site hosts interleaved in the inventory (per-group
# connection variables), a central host with itot_log_archive_tenants, a host that keeps its 1.0 archive. Every
# archive equals its own tenant's ground truth (so it holds no entry of another), each tenant is read once per slice
# however many hosts share it, a rerun changes nothing, new entries arrive once, and bad tenant definitions fail
# before any request, naming the tenant.
set -eu -o pipefail
source ../setup_itot_emulator/files/itot_test_lib.sh
here=$(pwd)
work=$ITOT_WORK
check=$here/../log_archive/check_archive.py
token_c="itot-SWEEP-token-c-71d2e0a9"
pids=()
stop_extra() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; itot_cleanup; }
trap stop_extra EXIT

# The entries lie in the 12 hours that end an hour ago: every run reads the same slices of them.
anchor=$(( ($(date +%s) - 3600) * 1000 ))
emulator_opts=(--entries 150 --span 43200 --anchor-ms "$anchor" --rate-limit 0)

step "three tenants: A (access token), B (client credentials), C (another access token)"
itot_emulator_start "${emulator_opts[@]}" --seed 11
url_a=$ITOT_URL
start_extra() {  # start_extra NAME OPTIONS...: another emulator; prints its URL
  local name=$1
  shift
  "$ITOT_PY" "$ITOT_EMULATOR_SCRIPT" --port 0 --port-file "$work/$name.port" --log-file "$work/emulator-$name.log" \
    "${emulator_opts[@]}" "$@" >"$work/emulator-$name.out" 2>&1 &
  pids+=($!)
}
start_extra b --seed 22 --access-token "$ITOT_TEST_TOKEN-b-unused" --client-id "$ITOT_TEST_CLIENT_ID" --client-secret "$ITOT_TEST_SECRET"
start_extra c --seed 33 --access-token "$token_c"
for name in b c; do
  for _ in $(seq 200); do [ -s "$work/$name.port" ] && break; sleep 0.05; done
  [ -s "$work/$name.port" ] || fail "emulator $name did not start"
done
url_b="http://127.0.0.1:$(cat "$work/b.port")"
url_c="http://127.0.0.1:$(cat "$work/c.port")"
ctl() { "$ITOT_PY" "$ITOT_LIB_DIR/ctl.py" "$@"; }
requests() {  # requests URL: the logs and token requests the emulator answered since its counters were reset
  ctl "$1" GET /_control/counters | "$ITOT_PY" -c 'import json, sys; c = json.load(sys.stdin); print(c["logs_requests"], c["oauth_requests"], c["rate_limited"])'
}
reset() { for url in "$url_a" "$url_b" "$url_c"; do ctl "$url" POST /_control/reset_counters >/dev/null; done; }

# Secrets in a vars file (never on the command line: -vvvv prints it), the inventory refers to them.
(umask 077 && cat >"$ITOT_SECRETS_DIR/tenants.yml" <<VARS
t_a: {base_url: "$url_a", access_token: "$ITOT_TEST_TOKEN"}
t_b: {base_url: "$url_b", client_id: "$ITOT_TEST_CLIENT_ID", client_secret: "$ITOT_TEST_SECRET"}
t_c: {base_url: "$url_c", access_token: "$token_c"}
VARS
)
owner=$(id -un)
group=$(id -gn)
# Hosts interleaved: the play meets tenant A, B, C, A, then the central host, then the 1.0 host of C.
cat >"$work/inventory.yml" <<INV
all:
  hosts:
    s_a1: {itot_log_archive_dir: $work/s_a1}
    s_b1: {itot_log_archive_dir: $work/s_b1}
    s_c1: {itot_log_archive_dir: $work/s_c1}
    s_a2: {itot_log_archive_dir: $work/s_a2}
    hub:
      itot_log_archive_dir: $work/hub
      itot_log_archive_tenants:
        - "{{ t_a | combine({'name': 'site-a'}) }}"
        - "{{ t_b | combine({'name': 'site-b'}) }}"
    old_c: {itot_log_archive_dir: $work/old_c}
    ref_a: {itot_log_archive_dir: $work/ref_a, itot_base_url: "{{ t_a.base_url }}", itot_access_token: "{{ t_a.access_token }}", itot_tenant: site-a}
    ref_b: {itot_log_archive_dir: $work/ref_b, itot_tenant: site-b, itot_base_url: "{{ t_b.base_url }}", itot_client_id: "{{ t_b.client_id }}", itot_client_secret: "{{ t_b.client_secret }}"}
    ref_c: {itot_log_archive_dir: $work/ref_c, itot_base_url: "{{ t_c.base_url }}", itot_access_token: "{{ t_c.access_token }}"}
    alias_a:
      itot_log_archive_dir: $work/alias_a
      itot_log_archive_tenants: ["{{ t_a | combine({'name': 'alias-a'}) }}"]
  vars:
    ansible_connection: local
    ansible_python_interpreter: $ITOT_PY
    itot_log_archive_owner: $owner
    itot_log_archive_group: $group
    itot_log_archive_categories: [admin, device]
    itot_log_archive_initial_lookback: -1d
    itot_rate_limit: 0
    itot_log_archive_heads_file: $work/heads.json
  children:
    itot_archive_hosts:
      hosts: {hub: {}}
    site_a:
      hosts: {s_a1: {}, s_a2: {}}
      vars: {itot_tenant: site-a, itot_base_url: "{{ t_a.base_url }}", itot_access_token: "{{ t_a.access_token }}"}
    site_b:
      hosts: {s_b1: {}}
      vars: {itot_tenant: site-b, itot_base_url: "{{ t_b.base_url }}", itot_client_id: "{{ t_b.client_id }}", itot_client_secret: "{{ t_b.client_secret }}"}
    site_c:
      hosts: {s_c1: {}, old_c: {}}
      vars: {itot_base_url: "{{ t_c.base_url }}", itot_access_token: "{{ t_c.access_token }}"}
INV

run() {  # run PLAYBOOK HOSTS [ARGS...]
  local playbook=$1 hosts=$2 rc=0 start=$SECONDS
  shift 2
  itot_play "$playbook" -i "$work/inventory.yml" -e "@$ITOT_SECRETS_DIR/tenants.yml" -e "tenants_hosts=$hosts" "$@" || rc=$?
  echo "play $ITOT_PLAYS ($hosts): exit $rc after $((SECONDS - start))s"
  return $rc
}
recap_changed() { sed -n "s/^$1 *: .*changed=\([0-9]*\).*/\1/p" "$ITOT_LAST_PLAY" | tail -n 1; }
check_tenant() {  # check_tenant FOLDER URL: the category folders under FOLDER hold exactly the tenant's ground truth
  "$ITOT_PY" "$check" --dir "$1" --url "$2" --categories admin,device --mode 0640 --dir-mode 0750 || fail "$1 is not exactly the ground truth of $2"
}
check_all() {
  check_tenant "$work/s_a1/site-a" "$url_a"
  check_tenant "$work/s_a2/site-a" "$url_a"
  check_tenant "$work/s_b1/site-b" "$url_b"
  check_tenant "$work/s_c1" "$url_c"
  check_tenant "$work/hub/site-a" "$url_a"
  check_tenant "$work/hub/site-b" "$url_b"
  check_tenant "$work/old_c" "$url_c"
}
all_hosts=s_a1,s_b1,s_c1,s_a2,hub,old_c

step "a 1.0 archive: tenant C's first 6 hours, written as 1.0 wrote it (no tenant folder, heads under 'default')"
run archive_1_0.yml old_c -e "old_start_ms=$((anchor - 86400000))" -e "old_end_ms=$((anchor - 6 * 3600000))" || fail "writing the 1.0 archive"
cp "$work/old_c/admin/manifest.jsonl" "$work/old_c-admin-manifest.before"

step "first run: every host holds exactly its own tenant's ground truth"
reset
run tenants.yml "$all_hosts" || fail "first run"
check_all
[ "$(cd "$work/s_c1" && echo *)" = "admin device" ] || fail "the unnamed single tenant left the 1.0 layout: $(ls "$work/s_c1")"
for extra in "$work/hub"/*; do
  case "$(basename "$extra")" in site-a | site-b) ;; *) fail "the central host holds $(basename "$extra") besides its tenants' folders" ;; esac
done
read -r a_logs _ a_429 <<<"$(requests "$url_a")"
read -r b_logs b_oauth b_429 <<<"$(requests "$url_b")"
read -r c_logs _ c_429 <<<"$(requests "$url_c")"
echo "requests: A $a_logs, B $b_logs (+$b_oauth token requests), C $c_logs; 429s: $a_429 $b_429 $c_429"
[ "$((a_429 + b_429 + c_429))" = 0 ] || fail "a tenant drew a 429"

step "the 1.0 archive continued: its manifest goes on from where 1.0 left it, its heads under tenant 'default'"
head -c "$(stat -c %s "$work/old_c-admin-manifest.before")" "$work/old_c/admin/manifest.jsonl" | cmp - "$work/old_c-admin-manifest.before" ||
  fail "the 1.0 manifest was rewritten"
"$ITOT_PY" - "$work/heads.json" "$work/old_c" <<'PY' || fail "the 1.0 host's heads are not kept under tenant default, once per category"
import json, sys
heads = json.load(open(sys.argv[1]))
records = heads['heads'] if isinstance(heads, dict) else heads
mine = [r for r in records if r['host'] == 'old_c']
assert sorted((r['tenant'], r['dir'], r['category']) for r in mine) == [('default', sys.argv[2], 'admin'), ('default', sys.argv[2], 'device')], mine
named = sorted({r['tenant'] for r in records if r['host'] in ('s_a1', 'hub')})
assert named == ['site-a', 'site-b'], named
PY

step "each tenant is read once per slice: the same requests as one host per tenant"
reset
run tenants.yml ref_a,ref_b,ref_c -e "itot_log_archive_heads_file=$work/ref-heads.json" || fail "reference run"
check_tenant "$work/ref_a/site-a" "$url_a"
read -r ra _ _ <<<"$(requests "$url_a")"
read -r rb _ _ <<<"$(requests "$url_b")"
read -r rc _ _ <<<"$(requests "$url_c")"
echo "one host per tenant: A $ra, B $rb, C $rc"
[ "$a_logs $b_logs $c_logs" = "$ra $rb $rc" ] || fail "requests with several hosts per tenant ($a_logs $b_logs $c_logs) differ from one host per tenant ($ra $rb $rc)"

step "second run, nothing new: changed=0 on every host"
run tenants.yml "$all_hosts" || fail "second run"
for host in ${all_hosts//,/ }; do [ "$(recap_changed "$host")" = 0 ] || fail "the second run changed $host"; done

step "new entries for every tenant arrive once, each at its own tenant's hosts"
for url in "$url_a" "$url_b" "$url_c"; do
  ctl "$url" POST /_control/append '{"category": "admin", "count": 7}' >/dev/null
  ctl "$url" POST /_control/append '{"category": "device", "count": 13}' >/dev/null
done
run tenants.yml "$all_hosts" || fail "third run"
check_all

step "the audit of the central host: each tenant and the total, the thresholds per tenant"
failed_auth() {  # failed_auth URL: the tenant's failed admin logins, from its ground truth
  ctl "$1" GET "/_control/truth?category=admin" | "$ITOT_PY" -c 'import json, sys; print(sum(e.get("event") == "failed_auth" for e in json.load(sys.stdin)["data"]))'
}
fa=$(failed_auth "$url_a")
fb=$(failed_auth "$url_b")
if [ "$fa" -le "$fb" ]; then
  ctl "$url_a" POST /_control/append "{\"category\": \"admin\", \"count\": $((fb - fa + 1)), \"events\": [\"failed_auth\"]}" >/dev/null
  fa=$(failed_auth "$url_a")
fi
if itot_play opswat.itot.audit -i "$work/inventory.yml" -e "@$ITOT_SECRETS_DIR/tenants.yml" -e itot_audit_period=-2d \
  -e "itot_audit_max_failed_auth=$fb"; then
  fail "the audit passed with site-a over the threshold"
fi
grep -qF "Audit threshold exceeded on hub for tenant site-a: failed admin logins = $fa, more than itot_audit_max_failed_auth = $fb" "$ITOT_LAST_PLAY" ||
  fail "the threshold failure does not name tenant site-a with its figure $fa"
! grep -q "for tenant site-b:" "$ITOT_LAST_PLAY" || fail "site-b ($fb failed logins) failed a threshold of $fb"
report=$(printf '%s\n' "$work"/hub/reports/audit-*.json | sort | tail -n 1)
"$ITOT_PY" - "$report" "$url_a" "$url_b" <<'PY' || fail "the report's figures are not each tenant's ground truth and their sum"
import json, sys, urllib.request
report = json.load(open(sys.argv[1]))
start, end = report['period']['start_ms'], report['period']['end_ms']
def truth(url, category):
    query = '%s/_control/truth?category=%s&start_time=%d&end_time=%d' % (url, category, start, end)
    with urllib.request.urlopen(query) as answer:
        return json.load(answer)['data']
assert sorted(report['tenants']) == ['site-a', 'site-b'], sorted(report['tenants'])
total = 0
for name, url in (('site-a', sys.argv[2]), ('site-b', sys.argv[3])):
    part = report['tenants'][name]
    expected = sum(len(truth(url, category)) for category in ('admin', 'device'))
    failed = sum(entry.get('event') == 'failed_auth' for entry in truth(url, 'admin'))
    assert part['entries_total'] == expected, (name, part['entries_total'], expected)
    assert part['summary']['failed_auth'] == failed, (name, part['summary']['failed_auth'], failed)
    total += expected
assert report['entries_total'] == total, (report['entries_total'], total)
print('report: site-a %d, site-b %d, total %d entries' % (report['tenants']['site-a']['entries_total'],
                                                         report['tenants']['site-b']['entries_total'], total))
PY
for twin in md html; do [ -s "${report%.json}.$twin" ] || fail "no $twin twin of $report"; done

step "bad tenant definitions fail before any request, naming the tenant"
reset
bad() {  # bad WHAT EXPECTED HOSTS [ARGS...]
  local what=$1 expected=$2 hosts=$3
  shift 3
  if run tenants.yml "$hosts" "$@"; then fail "$what: the play passed"; fi
  grep -qF -- "$expected" "$ITOT_LAST_PLAY" || fail "$what: no message '$expected'"
  echo "refused: $what"
}
one() { printf '{"name": "%s", "base_url": "%s", "access_token": "%s"}' "$1" "$url_a" "${2:-a-made-up-token}"; }
bad "duplicate names" "the name 'twin' is given twice" hub -e "{\"itot_log_archive_tenants\": [$(one twin), $(one twin other-token)]}"
bad "a name with /" "'a/b' is not a tenant name" hub -e "{\"itot_log_archive_tenants\": [$(one a/b)]}"
bad "a name .." "'..' is not a tenant name" hub -e "{\"itot_log_archive_tenants\": [$(one ..)]}"
bad "no credentials" "itot_log_archive_tenants[0] (tenant bare): no credentials" hub \
  -e "{\"itot_log_archive_tenants\": [{\"name\": \"bare\", \"base_url\": \"$url_a\"}]}"
bad "two names for one tenant in a list" "tenants one and two are the same tenant" hub -e "{\"itot_log_archive_tenants\": [$(one one), $(one two)]}"
bad "two names for one tenant across hosts" "has two names, site-a (host s_a1) and alias-a (host alias_a)" s_a1,alias_a
bad "itot_tenant with a list" "itot_tenant: set together with itot_log_archive_tenants" hub -e itot_tenant=x
bad "a bad itot_tenant" "itot_tenant: 'no good' is not a tenant name" s_c1 -e '{"itot_tenant": "no good"}'
for url in "$url_a" "$url_b" "$url_c"; do
  read -r logs oauth _ <<<"$(requests "$url")"
  [ "$logs $oauth" = "0 0" ] || fail "a bad definition sent requests to $url: $logs logs, $oauth token"
done

step "no secret in anything the target wrote"
"$ITOT_PY" "$ITOT_LIB_DIR/secret_sweep.py" --secret "$ITOT_TEST_TOKEN" --secret "$ITOT_TEST_SECRET" --secret "$token_c" \
  --min-files "$((ITOT_PLAYS + 1))" --require "$ITOT_WORK/ansible.log" "$ITOT_WORK"

echo
echo "log_archive_tenants: all scenarios passed"
