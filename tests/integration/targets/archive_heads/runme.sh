#!/usr/bin/env bash
# Tamper evidence anchored off the host (issue 13), end to end through `ansible-playbook opswat.itot.audit` with two
# local archive hosts against the emulator.  Someone who can write a host's category folder and keeps manifest.jsonl
# and state.json consistent with each other passes the host's own check; the head recorded on the controller
# (itot_log_archive_heads_file, by default beside the inventory for the audit playbook) catches
#   - truncation: the last manifest lines and their files dropped, state.json rolled back;
#   - a chained remove line while itot_log_archive_retention_days is 0;
#   - a file edited, re-hashed and the chain re-built from its line;
# each failing the play with a message that names the host, the category and the line.  An honest run passes and
# advances the head; a host added later is not flagged; without a recorded head, a host whose days disagree with
# the other hosts' is named.
set -eu -o pipefail

# shellcheck source=../setup_itot_emulator/files/itot_test_lib.sh
source ../setup_itot_emulator/files/itot_test_lib.sh
here=$(pwd)
heads="$ITOT_WORK/itot-heads.json"  # the audit playbook's default: beside the inventory

# Three days of entries: hosts compare the days after their first one.
itot_emulator_start --entries 90 --span 259200 --rate-limit 0 --time-format mixed

write_inventory() {
  {
    echo "[itot_archive_hosts]"
    echo "archive_a itot_log_archive_dir=$ITOT_WORK/a"
    echo "archive_b itot_log_archive_dir=$ITOT_WORK/b"
    for extra in "$@"; do echo "$extra"; done
    echo "[all:vars]"
    echo "ansible_connection=local"
    echo "ansible_python_interpreter=$ITOT_PY"
    echo "itot_log_archive_categories=['admin', 'device']"
    echo "itot_log_archive_initial_lookback=-4d"
  } >"$ITOT_WORK/inventory.ini"
}

audit() {  # audit: the audit playbook; its status
  local rc=0 start=$SECONDS
  itot_play opswat.itot.audit -i "$ITOT_WORK/inventory.ini" -e itot_base_url="{{ itot_test_url }}" \
    -e itot_access_token="{{ itot_test_token }}" -e itot_rate_limit=0 || rc=$?
  echo "audit $ITOT_PLAYS: exit $rc after $((SECONDS - start))s"
  return $rc
}

head_lines() {  # head_lines HOST CATEGORY: the lines of the head recorded for it
  "$ITOT_PY" -c 'import json, sys
doc = json.load(open(sys.argv[1]))
print([h["lines"] for h in doc["heads"] if (h["host"], h["category"], h["tenant"]) == (sys.argv[2], sys.argv[3], "default")][0])' \
    "$heads" "$1" "$2"
}

append() {
  local c
  for c in admin device; do itot_ctl POST /_control/append "{\"category\": \"$c\", \"count\": ${1:-5}}" >/dev/null; done
}

# expect_failure WHAT LINE: the last audit failed on archive_a's device category, naming the manifest line
expect_failure() {
  grep -o "host archive_a, category device: [^\"]*" "$ITOT_LAST_PLAY" | head -n 1
  grep -q "host archive_a, category device: archive verification failed in $ITOT_WORK/a/device: .*manifest line $2 " \
    "$ITOT_LAST_PLAY" || fail "$1: the failure does not name host archive_a, category device and manifest line $2"
  grep -q "archive_b .*failed=0" "$ITOT_LAST_PLAY" || fail "$1: archive_b did not pass"
  [ "$(head_lines archive_a device)" = "$recorded" ] || fail "$1: the recorded head moved"
}

# own_check WHAT: the tampered archive passes the host's own verification (chain anchored to state.json only):
# what the head recorded off the host is for.
own_check() {
  ansible localhost -i localhost, -c local -e "ansible_python_interpreter=$ITOT_PY" -m opswat.itot.itot_archive \
    -a "dir=$ITOT_WORK/a category=device" >"$ITOT_WORK/own-check.log" 2>&1 ||
    { cat "$ITOT_WORK/own-check.log"; fail "$1: the tampered archive does not even pass the host's own check"; }
}

write_inventory

step "first audit: passes, and records every host's head per category beside the inventory"
audit || fail "first audit"
[ -s "$heads" ] || fail "no heads file at $heads"
for h in archive_a archive_b; do for c in admin device; do
  [ "$(head_lines $h $c)" -gt 0 ] || fail "no head recorded for $h $c"
done; done
grep -q '"heads"' "$(find "$ITOT_WORK/a/reports" -name 'audit-*.json' | sort | tail -n 1)" || fail "the report holds no heads"
grep -q "## Chain heads" "$(find "$ITOT_WORK/a/reports" -name 'audit-*.md' | sort | tail -n 1)" || fail "the Markdown report holds no heads"
html=$(find "$ITOT_WORK/a/reports" -name 'audit-*.html' | sort | tail -n 1)
grep -q 'id="all-heads"' "$html" || fail "the HTML report holds no heads"
if grep -Eqi '<script|https?://' "$html"; then fail "the HTML report holds a script or an outside reference"; fi
cp "$ITOT_WORK/a/device/state.json" "$ITOT_WORK/state-before.json"

step "an honest second run with new entries passes and advances the head"
before=$(head_lines archive_a device)
append 5
audit || fail "honest second audit"
recorded=$(head_lines archive_a device)
[ "$recorded" -gt "$before" ] || fail "the head did not advance ($before -> $recorded)"
rm -rf "$ITOT_WORK/a-honest" && cp -a "$ITOT_WORK/a" "$ITOT_WORK/a-honest"

restore() { rm -rf "$ITOT_WORK/a" && cp -a "$ITOT_WORK/a-honest" "$ITOT_WORK/a"; }

step "truncation: the lines of the last write and their files dropped, state.json rolled back"
"$ITOT_PY" "$here/tamper.py" truncate "$ITOT_WORK/a/device" "$ITOT_WORK/state-before.json"
own_check truncation
if audit; then fail "the audit passed a truncated chain"; fi
expect_failure truncation "$recorded"
restore

step "a chained remove line while retention_days is 0"
line=$("$ITOT_PY" "$here/tamper.py" remove "$ITOT_WORK/a/device")
own_check "fake retention"
if audit; then fail "the audit passed a remove line with retention 0"; fi
expect_failure "fake retention" "$line"
grep -q "retention_days is 0" "$ITOT_LAST_PLAY" || fail "fake retention: the failure does not say retention_days is 0"
restore

step "a file edited, re-hashed and the chain re-built from its line"
"$ITOT_PY" "$here/tamper.py" edit "$ITOT_WORK/a/device" >/dev/null
own_check "edit and re-chain"
if audit; then fail "the audit passed an edited and re-chained archive"; fi
expect_failure "edit and re-chain" "$recorded"
restore

step "the honest archive back: the audit passes and the head advances"
append 3
audit || fail "audit after the archive was restored"
[ "$(head_lines archive_a device)" -gt "$recorded" ] || fail "the head did not advance after the restore"

step "a host added later, with a shorter history, is not flagged"
write_inventory "archive_c itot_log_archive_dir=$ITOT_WORK/c itot_log_archive_initial_lookback=-2d"
audit || fail "audit with a host added later"
[ "$(head_lines archive_c device)" -gt 0 ] || fail "no head recorded for the host added later"

step "no head recorded yet (a lost heads file): the host whose days disagree with the others' is named"
mv "$heads" "$ITOT_WORK/heads-saved.json"
"$ITOT_PY" "$here/tamper.py" edit "$ITOT_WORK/a/device" newest >/dev/null
if audit; then fail "the audit passed a host that disagrees with the others"; fi
grep -o "host archive_a disagrees [^\"]*" "$ITOT_LAST_PLAY" | head -n 1
grep -Eq "host archive_a disagrees with the other hosts that archive the same tenant and category: tenant [A-Za-z0-9_-]+, category device on " \
  "$ITOT_LAST_PLAY" || fail "the disagreeing host is not named"
grep -q "archive_b .*failed=0" "$ITOT_LAST_PLAY" || fail "archive_b was flagged along with archive_a"
grep -q "archive_c .*failed=0" "$ITOT_LAST_PLAY" || fail "archive_c was flagged along with archive_a"

step "secret sweep"
itot_sweep
echo
echo "archive_heads: all scenarios passed"
