#!/usr/bin/env bash
# The log_archive role and the audit playbook against the emulator, with two (then three) local archive hosts:
# exact ground truth on every host, no change on a second run, incremental and late entries once, a new host
# backfilled, an interrupted run completed, tampering caught, report counts checked, thresholds enforced.
set -eu -o pipefail

here=$(pwd)
py=$(python -c 'import sys; print(sys.executable)')
emulator=$(sed -n 's/^itot_emulator_script: //p' ../../integration_config.yml)
work=$(mktemp -d)
export XDG_CACHE_HOME="$work/xdg-cache"  # the rate ledgers: this target's own, not ~/.cache/opswat.itot
token="itot-archive-it-token"
emu_pid=""
cleanup() {
  if [ -n "$emu_pid" ]; then kill "$emu_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n=== %s\n' "$*"; }
fail() { echo "FAILED: $*"; exit 1; }

# --- the emulator: two hours of data in mixed time formats, with duplicates; windows served as [start, end) ----
"$py" "$emulator" --port 0 --port-file "$work/port" --log-file "$work/emulator.log" --entries 150 --span 7200 \
  --rate-limit 0 --access-token "$token" --time-format mixed --duplicates 3 --order desc --bounds half-open \
  >"$work/emulator.out" 2>&1 &
emu_pid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || fail "the emulator did not start"
url="http://127.0.0.1:$(cat "$work/port")"
ctl() { "$py" "$here/../setup_itot_emulator/files/ctl.py" "$url" "$@"; }

write_inventory() {
  {
    echo "[itot_archive_hosts]"
    echo "archive_a itot_log_archive_dir=$work/a"
    echo "archive_b itot_log_archive_dir=$work/b itot_log_archive_mode=0600 itot_log_archive_dir_mode=0700 itot_log_archive_group=daemon"
    for extra in "$@"; do echo "$extra"; done
    echo "[all:vars]"
    echo "ansible_connection=local"
    echo "ansible_python_interpreter=$py"
  } >"$work/inventory.ini"
}

# run_play PLAYBOOK [ARGS...]: runs it, output in $work/play.log (and on screen); returns ansible-playbook's status
run_play() {
  local playbook=$1
  shift
  set +e
  ANSIBLE_ROLES_PATH="$here/.." ansible-playbook -i "$work/inventory.ini" "$playbook" \
    -e "itot_base_url=$url itot_access_token=$token itot_rate_limit=0 itot_log_archive_initial_lookback=-1d" \
    -e "itot_log_archive_heads_file=$work/itot-heads.json" \
    "$@" 2>&1 | tee "$work/play.log"
  local rc=${PIPESTATUS[0]}
  set -e
  return "$rc"
}

check_host() {  # check_host NAME [check_archive options]
  local name=$1
  shift
  "$py" "$here/check_archive.py" --dir "$work/$name" --url "$url" "$@"
}

check_all() {
  check_host a --mode 0640 --dir-mode 0750 --owner root --group root
  check_host b --mode 0600 --dir-mode 0700 --owner root --group daemon
}

recap_changed() {  # recap_changed HOST: the changed= count of the last play's recap
  sed -n "s/^$1 *: .*changed=\([0-9]*\).*/\1/p" "$work/play.log" | tail -n 1
}

write_inventory

step "first run: every host holds exactly the ground truth"
run_play archive.yml || fail "first run"
check_all

step "second run with nothing new: changed=0 on every host"
run_play archive.yml || fail "second run"
[ "$(recap_changed archive_a)" = 0 ] || fail "second run changed archive_a"
[ "$(recap_changed archive_b)" = 0 ] || fail "second run changed archive_b"
check_all

step "new entries, and late ones timestamped inside the overlap, arrive exactly once"
for c in admin device webhook device_report; do
  ctl POST /_control/append "{\"category\": \"$c\", \"count\": 12}" >/dev/null
done
ctl POST /_control/append '{"category": "device", "count": 4, "offset_seconds": 150}' >/dev/null
ctl POST /_control/append '{"category": "admin", "count": 3, "offset_seconds": 200, "events": ["failed_auth"]}' >/dev/null
run_play archive.yml || fail "incremental run"
check_all

step "check mode with diff: says what it would add, writes nothing"
ctl POST /_control/append '{"category": "webhook", "count": 5}' >/dev/null
before=$(find "$work/a" "$work/b" -type f -exec sha256sum {} + | sort)
run_play archive.yml --check --diff || fail "check mode run"
after=$(find "$work/a" "$work/b" -type f -exec sha256sum {} + | sort)
[ "$before" = "$after" ] || fail "check mode changed files"
grep -q "webhook-" "$work/play.log" || fail "the diff does not name the webhook file it would add"
run_play archive.yml || fail "run after check mode"
check_all

step "a host added later is backfilled, the others are not touched"
write_inventory "archive_c itot_log_archive_dir=$work/c"
run_play archive.yml || fail "run with a new host"
[ "$(recap_changed archive_a)" = 0 ] || fail "adding a host changed archive_a"
check_host c --mode 0640 --dir-mode 0750
check_all

step "a run interrupted by API failures, then a normal run: nothing lost, nothing doubled"
for c in admin device webhook device_report; do
  ctl POST /_control/append "{\"category\": \"$c\", \"count\": 30}" >/dev/null
done
ctl POST /_control/config '{"fail_next": ["none", "none", "500", "500", "500", "500", "500", "500", "500", "500"]}' >/dev/null
if run_play archive.yml -e itot_test_max_retries=1; then fail "the run with failures succeeded"; fi
grep -q "after 2 attempts" "$work/play.log" || fail "the failure does not say how often it was tried"
if find "$work" -name '.tmp-*' -o -name '.pending.json' | grep -q .; then fail "temp files left behind"; fi
ctl POST /_control/config '{"fail_next": []}' >/dev/null
run_play archive.yml || fail "run after the interrupted one"
for h in a b c; do check_host "$h"; done

step "a busy slice in chunks of 25 (itot_log_archive_chunk_size): a run failing between two chunks, then a normal run"
# 80 new entries per category: each category's slice is read and archived in at least four chunks. The emulator
# pages newest first, so each first chunk reads its slice whole and marks where the later ones end.
for c in admin device webhook device_report; do
  ctl POST /_control/append "{\"category\": \"$c\", \"count\": 80}" >/dev/null
done
ctl POST /_control/config '{"fail_next": ["none", "none", "none", "none", "none", "500", "500", "500", "500"]}' >/dev/null
if run_play archive.yml -e itot_test_max_retries=1 -e itot_log_archive_chunk_size=25; then
  fail "the run failing between chunks succeeded"
fi
chunks=$(grep -c "TASK \[opswat.itot.log_archive : Archive the chunk of" "$work/play.log")
[ "$chunks" -ge 2 ] || fail "the failing run archived $chunks chunks before its failure (expected at least 2)"
if find "$work" -name '.tmp-*' -o -name '.pending.json' | grep -q .; then fail "temp files left behind"; fi
ctl POST /_control/config '{"fail_next": []}' >/dev/null
run_play archive.yml -e itot_log_archive_chunk_size=25 || fail "the run in chunks after the failing one"
chunks=$(grep -c "TASK \[opswat.itot.log_archive : Archive the chunk of" "$work/play.log")
[ "$chunks" -ge 8 ] || fail "the rest was archived in $chunks chunks (expected at least 8: 4 categories, 2 or more each)"
for h in a b c; do check_host "$h"; done
run_play archive.yml -e itot_log_archive_chunk_size=25 || fail "the second run in chunks"
for h in archive_a archive_b archive_c; do
  [ "$(recap_changed $h)" = 0 ] || fail "the second run in chunks changed $h"
done

step "the role's own itot_max_retries and itot_timeout reach its reads (archive.yml's module_defaults say 5 retries)"
for c in admin device webhook device_report; do
  ctl POST /_control/append "{\"category\": \"$c\", \"count\": 5}" >/dev/null
done
before=$(find "$work/a" "$work/b" "$work/c" -type f -exec sha256sum {} + | sort)
# Three failures: with 5 retries the fourth attempt would succeed; itot_max_retries=2 gives up after the third.
ctl POST /_control/config '{"fail_next": ["500", "500", "500"]}' >/dev/null
if run_play archive.yml -e itot_max_retries=2; then fail "itot_max_retries=2 did not reach the read: the run succeeded"; fi
grep -q "failed after 3 attempts" "$work/play.log" || fail "itot_max_retries=2 did not make the read fail after 3 attempts"
# One answer 4 s late: the default timeout (30 s) waits for it, itot_timeout=1 does not.
ctl POST /_control/config '{"slow_seconds": 4, "fail_next": ["slow"]}' >/dev/null
if run_play archive.yml -e itot_timeout=1 -e itot_max_retries=0; then fail "itot_timeout=1 did not reach the read: the run succeeded"; fi
grep -q "failed after 1 attempt: last error .*timed out" "$work/play.log" || fail "itot_timeout=1 did not make the read time out"
after=$(find "$work/a" "$work/b" "$work/c" -type f -exec sha256sum {} + | sort)
[ "$before" = "$after" ] || fail "a failed read changed the archive"
ctl POST /_control/config '{"fail_next": ["slow"]}' >/dev/null
run_play archive.yml -e itot_timeout=10 -e itot_max_retries=0 || fail "a 4 s answer within itot_timeout=10 failed"
ctl POST /_control/config '{"slow_seconds": 5}' >/dev/null
for h in a b c; do check_host "$h"; done

step "tampering is caught by verify"
for kind in edit delete extra manifest; do
  rm -rf "$work/t" && cp -a "$work/a" "$work/t"
  victim=$(find "$work/t/device" -name '*.jsonl.gz' | sort | head -n 1)
  case $kind in
    edit) printf 'x' | dd of="$victim" bs=1 seek=20 conv=notrunc status=none ;;
    delete) rm "$victim" ;;
    extra) cp "$victim" "$(dirname "$victim")/device-20200101T000000000Z-20200101T000000000Z.jsonl.gz" ;;
    manifest) sed -i '1s/"entries":[0-9]*/"entries":999/' "$work/t/device/manifest.jsonl" ;;
  esac
  set +e
  ansible localhost -i localhost, -c local -e "ansible_python_interpreter=$py" -m opswat.itot.itot_archive \
    -a "dir=$work/t category=device" >"$work/verify.log" 2>&1
  rc=$?
  set -e
  cat "$work/verify.log"
  [ $rc -ne 0 ] || fail "verify did not catch: $kind"
  case $kind in
    manifest) grep -q "manifest" "$work/verify.log" || fail "verify does not name the manifest" ;;
    extra) grep -q "device-20200101T000000000Z" "$work/verify.log" || fail "verify does not name the extra file" ;;
    *) grep -q "$(basename "$victim")" "$work/verify.log" || fail "verify does not name $(basename "$victim")" ;;
  esac
done

step "the audit playbook: report counts equal the ground truth's, thresholds fail the play"
write_inventory
ms_now() { "$py" -c 'import time; print(int(time.time() * 1000))'; }
audit_from=$(ms_now)
run_play opswat.itot.audit -e itot_audit_period=-1d || fail "audit run"
audit_to=$(ms_now)
for h in a b; do
  report=$(find "$work/$h/reports" -name 'audit-*.json' | sort | tail -n 1)
  if [ -z "$report" ] || [ ! -s "${report%.json}.md" ]; then fail "no report pair on host $h"; fi
  # -1d: the report covers exactly the 86,400,000 ms before the moment the audit ran
  "$py" "$here/check_report.py" "$report" "$url" --period-ms 86400000 --ended-between "$audit_from" "$audit_to" |
    tee "$work/expected.json" || fail "report of host $h"
done
failed_auth=$("$py" -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])["failed_auth"])' "$work/expected.json")
[ "$failed_auth" -gt 0 ] || fail "the data has no failed admin logins to test a threshold with"
run_play opswat.itot.audit -e itot_audit_period=-1d -e "itot_audit_max_failed_auth=$failed_auth" \
  -e itot_audit_max_noncompliant=1000 -e itot_audit_max_deleted_user=1000 || fail "audit at the threshold failed"
if run_play opswat.itot.audit -e itot_audit_period=-1d -e "itot_audit_max_failed_auth=$((failed_auth - 1))" \
  -e itot_audit_max_deleted_user=0; then
  fail "audit over the threshold passed"
fi
grep -q "itot_audit_max_failed_auth = $((failed_auth - 1))" "$work/play.log" || fail "the failure does not name itot_audit_max_failed_auth"

step "audit rules (issue 19): the five example policies against the truth, an error rule fails naming rule and group, JUnit"
# Crafted entries that violate each policy, beside the generated ones: a burst of 6 failed logins by one admin within
# 10 minutes, a plant device non-compliant for 5 hours, an API deletion, an allowlist change by an admin not on the
# list, four webhook calls answered 500.  Fresh archives: the audit reads back over its whole period.
now_ms=$(ms_now)
crafted() {  # crafted CATEGORY JSON-ENTRIES
  ctl POST /_control/append "{\"category\": \"$1\", \"entries\": $2}" >/dev/null
}
burst=""
for k in 0 1 2 3 4 5; do
  burst="$burst${burst:+,}{\"timestamp\": $((now_ms - 3 * 3600000 + k * 60000)), \"event\": \"failed_auth\", \"details\": \"burst $k\", \"admin_name\": \"Burst Admin\", \"admin_email\": \"burst.admin@example.com\"}"
done
crafted admin "[$burst, {\"timestamp\": $((now_ms - 3600000)), \"event\": \"whitelist\", \"details\": \"Added CVE-2026-1 to the CVE allowlist\", \"admin_name\": \"Burst Admin\", \"admin_email\": \"burst.admin@example.com\"}]"
plc='"device_id": "plc-crafted-01", "device_name": "OT-PLC-99", "device_username": "operator", "device_group": "OT Plant A"'
crafted device "[{\"timestamp\": $((now_ms - 10 * 3600000)), \"event\": \"noncompliant\", \"details\": \"x\", $plc},
  {\"timestamp\": $((now_ms - 5 * 3600000 + 1)), \"event\": \"compliant\", \"details\": \"y\", $plc},
  {\"timestamp\": $((now_ms - 2 * 3600000)), \"event\": \"deleted_api\", \"details\": \"z\", $plc}]"
hooks=""
for k in 0 1 2 3; do
  hooks="$hooks${hooks:+,}{\"timestamp\": $((now_ms - 4 * 3600000 + k * 1000)), \"event\": \"added\", \"details\": \"POST\", \"device_id\": \"plc-crafted-01\", \"device_name\": \"OT-PLC-99\", \"response_code\": \"500\", \"response_body\": \"{}\"}"
done
crafted webhook "[$hooks]"
rm -rf "$work/a" "$work/b" "$work/itot-heads.json"
write_inventory
rules_file="$(dirname "$(dirname "$(dirname "$emulator")")")/playbooks/vars/audit_rules_example.yml"  # the collection's own
[ -s "$rules_file" ] || fail "no example rules file at $rules_file"
if run_play opswat.itot.audit -e itot_audit_period=-1d -e "@$rules_file"; then fail "the audit passed rules of severity error that the data violates"; fi
flat_rules_log=$(tr '\n' ' ' <"$work/play.log" | tr -s ' ')
grep -q "Audit rule admin-failed-logins failed on archive_a: rule admin-failed-logins, admin 'burst.admin@example.com': 6 entries within 10m, more than max 5" <<<"$flat_rules_log" ||
  fail "the failure does not name the rule admin-failed-logins and the admin"
grep -q "Audit rule plc-noncompliant-4h failed on archive_a: rule plc-noncompliant-4h, device 'plc-crafted-01': 5:00:00.001" <<<"$flat_rules_log" ||
  fail "the failure does not name the rule plc-noncompliant-4h and the device"
for h in a b; do
  report=$(find "$work/$h/reports" -name 'audit-*.json' | sort | tail -n 1)
  [ -s "${report%.json}.junit.xml" ] || fail "no JUnit results on host $h"
  "$py" "$here/check_rules.py" "$report" "$url" "$rules_file" || fail "the rules of host $h against the truth"
done

step "the vendor's own client's reading: 200-413 paging, the token in a header, (start, end) windows, slices, a filter"
# 260 entries per category over the last 20 hours; the first run's lookback, 49 hours back, is three slices, the
# first of them quiet but for exactly 100 webhook entries (a full page: the 413 ends its walk).  Every page with data
# is a 200 with a token, 413 past the end; the emulator refuses the token in the query string and serves neither end
# of a window.  Admin entries sit exactly on the lookback's start and around the slice cuts (a day apart, give or
# take the few milliseconds a client may shift a cut by).
kill "$emu_pid" 2>/dev/null || true
wait "$emu_pid" 2>/dev/null || true
rm -f "$work/port"
"$py" "$emulator" --port 0 --port-file "$work/port" --log-file "$work/emulator-413.log" --entries 260 --span 72000 \
  --rate-limit 0 --access-token "$token" --time-format mixed --duplicates 2 --pagination 200-413 --auth header \
  --bounds exclusive >"$work/emulator-413.out" 2>&1 &
emu_pid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || fail "the 200-413 emulator did not start"
url="http://127.0.0.1:$(cat "$work/port")"
# Archives started over from nothing: their chain heads (on the controller) go with them.
rm -rf "$work/a" "$work/b" "$work/c" "$work/itot-heads.json"
write_inventory
lookback=$(( ($(date +%s) - 49 * 3600) * 1000 + 123 ))
edge_times=("$lookback" "$lookback")
for cut in $((lookback + 86400000)) $((lookback + 2 * 86400000)); do
  for delta in -6 -5 -4 -3 -2 -1 0 1 2; do edge_times+=("$((cut + delta))"); done
done
edge_json=$("$py" -c 'import json, sys; print(json.dumps({"category": "admin", "entries": [{"timestamp": int(t), "event": "login",
  "details": "edge %d" % i, "admin_name": "Edge", "admin_email": "edge@example.com"} for i, t in enumerate(sys.argv[1:])]}))' "${edge_times[@]}")
ctl POST /_control/append "$edge_json" >/dev/null
ctl POST /_control/append '{"category": "webhook", "count": 100, "offset_seconds": 171000, "spread_seconds": 3600}' >/dev/null
leg2=(-e itot_access_token_location=header -e "itot_log_archive_initial_lookback=$lookback"
  -e '{"itot_log_archive_filters": {"device": {"events": ["added", "compliant", "noncompliant"]}}}')
check_leg2() {
  for h in a b; do check_host "$h" --start-ms "$lookback" --events device=added,compliant,noncompliant; done
}
run_play archive.yml "${leg2[@]}" || fail "first run, 200-413"
check_leg2
run_play archive.yml "${leg2[@]}" || fail "second run, 200-413"
[ "$(recap_changed archive_a)" = 0 ] || fail "second run changed archive_a (200-413)"
# Exactly 100 new admin entries (a full last page, then the 413), and 150 device ones (a short last page).
ctl POST /_control/append '{"category": "admin", "count": 100}' >/dev/null
ctl POST /_control/append '{"category": "device", "count": 150, "events": ["compliant", "unseen"]}' >/dev/null
ctl POST /_control/append '{"category": "webhook", "count": 3, "offset_seconds": 120}' >/dev/null
run_play archive.yml "${leg2[@]}" || fail "incremental run, 200-413"
check_leg2
counters=$(ctl GET /_control/counters)
"$py" -c 'import json, sys; c = json.loads(sys.argv[1]); sys.exit(0 if c["token_in_query"] == 0 and c["token_in_header"] == c["logs_requests"] > 0 and c["by_status"]["413"] > 0 else 1)' "$counters" ||
  fail "200-413 leg: tokens not only in the header, or no 413 served: $counters"

step "coverage (issue 18): a first audit over -3d archives the 3 days; a later -5d audit flags the 2 days before the archive"
# Three days of data, fresh archives, and the role's first-run lookback left at -1d (run_play sets it): the audit
# reaches back as far as its period all the same, and counts every failed_auth of the 3 days.
kill "$emu_pid" 2>/dev/null || true
wait "$emu_pid" 2>/dev/null || true
rm -f "$work/port"
"$py" "$emulator" --port 0 --port-file "$work/port" --log-file "$work/emulator-cover.log" --entries 300 --span 259200 \
  --rate-limit 0 --access-token "$token" >"$work/emulator-cover.out" 2>&1 &
emu_pid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || fail "the 3-day emulator did not start"
url="http://127.0.0.1:$(cat "$work/port")"
rm -rf "$work/a" "$work/b" "$work/c" "$work/itot-heads.json"
write_inventory
audit_from=$(ms_now)
run_play opswat.itot.audit -e itot_audit_period=-3d || fail "the -3d audit on a fresh archive"
audit_to=$(ms_now)
if tr '\n' ' ' <"$work/play.log" | tr -s ' ' | grep -q "does not cover all of the"; then fail "the -3d audit on a fresh archive says it is not covered"; fi
report=$(find "$work/a/reports" -name 'audit-*.json' | sort | tail -n 1)
"$py" "$here/check_report.py" "$report" "$url" --period-ms 259200000 --ended-between "$audit_from" "$audit_to" |
  tee "$work/expected.json" || fail "the -3d report against the truth"
# The truth over the 3 days has more failed logins than its last day: the -1d lookback alone would have under-counted.
"$py" - "$report" "$url" <<'PY' || fail "the -3d report does not count the failed logins of all 3 days, or says it is not covered"
import json, sys, urllib.request
report = json.load(open(sys.argv[1]))
start, end = report['period']['start_ms'], report['period']['end_ms']
def failed(lo):
    with urllib.request.urlopen('%s/_control/truth?category=admin&start_time=%d&end_time=%d' % (sys.argv[2], lo, end)) as answer:
        return sum(1 for entry in json.load(answer)['data'] if entry['event'] == 'failed_auth')
three, one = failed(start), failed(end - 86400000)
print('failed_auth: report %d, truth over 3 days %d, over the last day %d' % (report['summary']['failed_auth'], three, one))
assert report['summary']['failed_auth'] == three > one, 'under-counted'
assert report['covered'] is True and all(not item['gaps'] for item in report['coverage'].values()), report['coverage']
assert all(item['from_ms'] <= start for item in report['coverage'].values()), report['coverage']
PY
# A second audit over -5d: the archive exists (cursors), so nothing is backfilled; the report names the gap.
run_play opswat.itot.audit -e itot_audit_period=-5d -e itot_audit_max_failed_auth=100000 || fail "the -5d audit"
report=$(find "$work/a/reports" -name 'audit-*.json' | sort | tail -n 1)
"$py" - "$report" <<'PY' || fail "the -5d report does not flag the days before the archive"
import json, sys
report = json.load(open(sys.argv[1]))
start = report['period']['start_ms']
assert report['covered'] is False, report['coverage']
for category, item in report['coverage'].items():
    assert item['from_ms'] > start + 2 * 86400000 - 3600000, (category, item)
    assert item['gaps'] == [{'start': report['period']['start'], 'end': item['from'], 'start_ms': start, 'end_ms': item['from_ms'],
                             'reason': 'the archive started later'}], (category, item)
markdown = open(sys.argv[1][:-len('.json')] + '.md').read()
assert 'Warning: the archive does not cover all of the period' in markdown
assert '| admin | %s | %s | the archive started later |' % (report['period']['start'], report['coverage']['admin']['from']) in markdown
print('-5d report: gaps %s' % dict((c, (i['gaps'][0]['start'], i['gaps'][0]['end'])) for c, i in report['coverage'].items()))
PY
# Warnings are wrapped to the terminal's width: read the log as one line.
flat_log() { tr '\n' ' ' <"$work/play.log" | tr -s ' '; }
flat_log | grep -q "the archive does not cover all of the audit period: category admin, " || fail "the play shows no coverage warning"
flat_log | grep -q "thresholds passed on archive_a over a partly covered period" || fail "no warning that the pass is over a partly covered period"
if run_play opswat.itot.audit -e itot_audit_period=-5d -e itot_audit_max_failed_auth=0; then fail "the -5d audit over the threshold passed"; fi
flat_log | grep -q "itot_audit_max_failed_auth = 0 (report: [^)]*); the archive does not cover all of the period (see the report's coverage)" ||
  fail "the threshold failure does not say the archive does not cover the period"

step "a quiet category (issue 15): nothing new costs one request per category, a new entry after the quiet is archived once"
# Two categories: admin busy this last hour, device quiet for 8 days (its only entry).  The first run reads the 9 days
# in daily slices; from then on the watermark in the heads file starts each category's read at the last run's end
# (minus the overlap), where the cursor alone would re-read device's 8 quiet days (9 requests) every run.
kill "$emu_pid" 2>/dev/null || true
wait "$emu_pid" 2>/dev/null || true
rm -f "$work/port"
"$py" "$emulator" --port 0 --port-file "$work/port" --log-file "$work/emulator-quiet.log" --entries 0 \
  --rate-limit 0 --access-token "$token" >"$work/emulator-quiet.out" 2>&1 &
emu_pid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || fail "the quiet-category emulator did not start"
url="http://127.0.0.1:$(cat "$work/port")"
rm -rf "$work/a" "$work/b" "$work/c" "$work/itot-heads.json"
write_inventory
ctl POST /_control/append '{"category": "admin", "count": 20, "spread_seconds": 3600}' >/dev/null
ctl POST /_control/append '{"category": "device", "count": 1, "offset_seconds": 691200}' >/dev/null
quiet=(-e itot_log_archive_initial_lookback=-9d -e '{"itot_log_archive_categories": ["admin", "device"]}')
check_quiet() { for h in a b; do check_host "$h" --categories admin,device; done; }
requests() { ctl GET /_control/counters | "$py" -c 'import json, sys; print(json.load(sys.stdin)["logs_requests"])'; }
ctl POST /_control/reset_counters '{}' >/dev/null
run_play archive.yml "${quiet[@]}" || fail "first run, quiet category"
check_quiet
first=$(requests)
[ "$first" -ge 18 ] || fail "the first run read 9 days of two categories in $first requests: fewer than 18 daily slices"
# Nothing new, twice: at most one request per category (each read holds less than a page), changed=0 on every host,
# and no host warns of entries never offered (the read starts after device's cursor, at the watermark).
for round in 1 2; do
  ctl POST /_control/reset_counters '{}' >/dev/null
  run_play archive.yml "${quiet[@]}" || fail "nothing-new run $round, quiet category"
  got=$(requests)
  [ "$got" -le 2 ] || fail "nothing-new run $round sent $got logs requests for 2 categories (device quiet for 8 days)"
  [ "$(recap_changed archive_a)" = 0 ] || fail "nothing-new run $round changed archive_a"
  [ "$(recap_changed archive_b)" = 0 ] || fail "nothing-new run $round changed archive_b"
  if tr '\n' ' ' <"$work/play.log" | tr -s ' ' | grep -q "were not offered"; then fail "nothing-new run $round warns of a gap"; fi
done
check_quiet
# Losing the heads file costs requests (device's quiet days read again), never entries; then one request again.
rm -f "$work/itot-heads.json"
ctl POST /_control/reset_counters '{}' >/dev/null
run_play archive.yml "${quiet[@]}" || fail "run without the heads file"
got=$(requests)
[ "$got" -ge 9 ] || fail "without its heads file the run re-read device's quiet days in only $got requests"
[ "$(recap_changed archive_a)" = 0 ] || fail "the run without the heads file changed archive_a"
check_quiet
ctl POST /_control/reset_counters '{}' >/dev/null
run_play archive.yml "${quiet[@]}" || fail "run after the heads file was recreated"
got=$(requests)
[ "$got" -le 2 ] || fail "after the heads file was recreated, a nothing-new run sent $got logs requests"
[ "$(recap_changed archive_a)" = 0 ] || fail "the run after the heads file was recreated changed archive_a"
# One new device entry after the quiet, and a late admin one inside the overlap: each archived exactly once.
ctl POST /_control/append '{"category": "device", "count": 1}' >/dev/null
ctl POST /_control/append '{"category": "admin", "count": 1, "offset_seconds": 120}' >/dev/null
ctl POST /_control/reset_counters '{}' >/dev/null
run_play archive.yml "${quiet[@]}" || fail "run with a new entry after the quiet"
got=$(requests)
[ "$got" -le 2 ] || fail "the run with a new entry after the quiet sent $got logs requests"
check_quiet

echo
echo "log_archive: all scenarios passed"
