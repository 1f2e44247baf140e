#!/usr/bin/env bash
# A log_archive run killed with SIGKILL at several points, each followed by a normal run that must end with the exact
# ground truth on both hosts, a valid manifest chain, no temp file and no pending write:
#   - on the hosts, with the itot_archive module's test aid OPSWAT_ITOT_TEST_KILL_AT=[CATEGORY:]STEP (the module
#     SIGKILLs itself right after that step of its write; see the module's notes): after some files were renamed
#     into place (rename:1), between the files and the manifest (files), between the manifest and state.json
#     (manifest), and while the files are still temp files (temp:1);
#   - on the controller: the whole ansible-playbook process tree while it reads the API (a slow emulator answer).
set -eu -o pipefail

# shellcheck source=../setup_itot_emulator/files/itot_test_lib.sh
source ../setup_itot_emulator/files/itot_test_lib.sh
# Ansible's own temp folders inside the work folder too: a killed play leaves module payloads there, and the secret
# sweep below reads them.
export ANSIBLE_REMOTE_TMP="$ITOT_WORK/ansible-remote-tmp" ANSIBLE_LOCAL_TEMP="$ITOT_WORK/ansible-local-tmp"

checker=../log_archive/check_archive.py
hosts=(a b)
categories=(admin device webhook device_report)

pyval() { "$ITOT_PY" -c "$@"; }

# --- data: entries on both sides of a UTC midnight, so that the first run writes two files per category -----------
day=86400000
now=$(pyval 'import time; print(int(time.time() * 1000))')
midnight=$(((now / day - 1) * day))  # the start of yesterday, UTC: 24 to 48 hours ago
itot_emulator_start --entries 10 --span 7200 --anchor-ms $((midnight + 3600000)) --time-format mixed --duplicates 2 \
  --rate-limit 0
for c in "${categories[@]}"; do
  for at in $((midnight - 600000)) $((midnight + 600000)); do
    now=$(pyval 'import time; print(int(time.time() * 1000))')
    itot_ctl POST /_control/append "{\"category\": \"$c\", \"count\": 1, \"offset_seconds\": $(((now - at) / 1000))}" >/dev/null
  done
done
lookback=$(pyval 'import datetime, sys; print(datetime.datetime.fromtimestamp(int(sys.argv[1]) / 1000, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))' \
  $((midnight - 2 * 3600000)))

cat >"$ITOT_WORK/inventory.ini" <<EOF
[itot_archive_hosts]
archive_a itot_log_archive_dir=$ITOT_WORK/a
archive_b itot_log_archive_dir=$ITOT_WORK/b
[all:vars]
ansible_connection=local
ansible_python_interpreter=$ITOT_PY
itot_log_archive_initial_lookback=$lookback
EOF


append_all() {  # new entries in every category, timestamped now
  local c
  for c in "${categories[@]}"; do
    itot_ctl POST /_control/append "{\"category\": \"$c\", \"count\": 4}" >/dev/null
  done
}

# snap HOST CATEGORY: every file of the category folder with its sha256 (empty when the folder does not exist)
snap() {
  local d="$ITOT_WORK/$1/$2"
  [ -d "$d" ] || return 0
  (cd "$d" && find . -type f ! -name .lock -exec sha256sum {} + | sort -k 2)
}
state_sum() { sha256sum "$ITOT_WORK/$1/$2/state.json" 2>/dev/null | cut -d' ' -f1 || true; }
count_files() { find "$ITOT_WORK/$1/$2" -name "$3" -type f | wc -l; }
manifest_lines() { wc -l <"$ITOT_WORK/$1/$2/manifest.jsonl"; }
state_lines() { pyval 'import json, sys; print(json.load(open(sys.argv[1]))["manifest_lines"])' "$ITOT_WORK/$1/$2/state.json"; }
pending() { [ -f "$ITOT_WORK/$1/$2/.pending.json" ]; }

check_all() {  # the exact ground truth, a valid chain, no temp file or pending write, on every host
  local h
  for h in "${hosts[@]}"; do
    "$ITOT_PY" "$checker" --dir "$ITOT_WORK/$h" --url "$ITOT_URL" --mode 0640 --dir-mode 0750 || fail "host $h after $1"
  done
}

# killed_on_hosts STEP: a run whose itot_archive modules SIGKILL themselves after STEP; it must fail on both hosts
killed_on_hosts() {
  local h rc=0
  export OPSWAT_ITOT_TEST_KILL_AT=$1
  play || rc=$?
  unset OPSWAT_ITOT_TEST_KILL_AT
  [ $rc -ne 0 ] || fail "the run killed at $1 succeeded"
  for h in archive_a archive_b; do
    # a task's failure, or a loop item's (the role archives a round's slices in a loop)
    grep -E -A 60 "^(fatal: \[$h\]: FAILED!|failed: \[$h\] \(item=)" "$ITOT_LAST_PLAY" | grep -q '"rc": 137' ||
      fail "the kill at $1 does not show as $h's module killed by SIGKILL (rc 137)"
  done
}

normal_run() {  # normal_run WHAT: a run that must succeed and leave the exact ground truth
  play || fail "the normal run after $1 failed"
  check_all "$1"
}

# kill_tree PID: SIGKILL the process and everything below it.  Ansible's workers call setsid(), so killing the
# process group of ansible-playbook would leave them (and the modules they run) alive: stop the tree, then kill it.
kill_tree() {
  local pids="" round
  for round in 1 2 3; do
    pids=$(pyval '
import os, sys
children = {}
for name in os.listdir("/proc"):
    if name.isdigit():
        try:
            with open("/proc/%s/stat" % name) as handle:
                ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(name))
tree, todo = [], [int(sys.argv[1])]
while todo:
    pid = todo.pop()
    tree.append(pid)
    todo.extend(children.get(pid, []))
print(" ".join(map(str, tree)))' "$1")
    echo "kill_tree round $round: stopping $pids"
    # shellcheck disable=SC2086  # a list of pids
    kill -STOP $pids 2>/dev/null || true
  done
  # shellcheck disable=SC2086
  kill -KILL $pids 2>/dev/null || true
  KILLED_PIDS=$pids
}

step "killed after the first of two files was renamed into place, on the first run of both hosts"
killed_on_hosts rename:1
for h in "${hosts[@]}"; do
  pending "$h" admin || fail "host $h: no pending write after the kill at rename:1"
  [ -z "$(state_sum "$h" admin)" ] || fail "host $h: state.json written although the run was killed before it"
  [ "$(count_files "$h" admin '*.jsonl.gz')" = 1 ] || fail "host $h: not exactly one archive file in place after rename:1"
  [ "$(count_files "$h" admin '.tmp-*')" = 1 ] || fail "host $h: the second file's temp file is not there after rename:1"
  [ ! -e "$ITOT_WORK/$h/device" ] || fail "host $h: the device folder exists although the run was killed in admin"
done
normal_run "the kill at rename:1"
grep -q '"recovered": true' "$ITOT_LAST_PLAY" || fail "the normal run does not report that it completed the interrupted write"

step "killed between the files and the manifest (device), after admin was archived"
append_all
declare -A before
for h in "${hosts[@]}"; do
  for c in "${categories[@]}"; do before[$h.$c]=$(snap "$h" "$c"); done
  before[$h.admin.state]=$(state_sum "$h" admin)
  before[$h.device.state]=$(state_sum "$h" device)
  before[$h.device.files]=$(count_files "$h" device '*.jsonl.gz')
done
killed_on_hosts device:files
for h in "${hosts[@]}"; do
  [ "$(state_sum "$h" admin)" != "${before[$h.admin.state]}" ] || fail "host $h: admin was not archived before the kill in device"
  pending "$h" device || fail "host $h: no pending write in device after the kill at files"
  [ "$(state_sum "$h" device)" = "${before[$h.device.state]}" ] ||
    fail "host $h: the device cursor (state.json) changed although the run was killed before the manifest"
  [ "$(count_files "$h" device '*.jsonl.gz')" -gt "${before[$h.device.files]}" ] || fail "host $h: no new device file in place"
  [ "$(manifest_lines "$h" device)" = "$(state_lines "$h" device)" ] || fail "host $h: device manifest appended before the kill"
  for c in webhook device_report; do
    [ "$(snap "$h" "$c")" = "${before[$h.$c]}" ] || fail "host $h: $c changed although the run was killed in device"
  done
done
normal_run "the kill between files and manifest"

step "killed between the manifest and state.json (webhook)"
append_all
for h in "${hosts[@]}"; do before[$h.webhook.state]=$(state_sum "$h" webhook); done
killed_on_hosts webhook:manifest
for h in "${hosts[@]}"; do
  pending "$h" webhook || fail "host $h: no pending write in webhook after the kill at manifest"
  [ "$(state_sum "$h" webhook)" = "${before[$h.webhook.state]}" ] || fail "host $h: the webhook cursor changed before state.json was due"
  [ "$(manifest_lines "$h" webhook)" -gt "$(state_lines "$h" webhook)" ] || fail "host $h: the webhook manifest was not appended"
done
normal_run "the kill between manifest and state"

step "killed while the files are temp files (admin), before the pending write exists"
append_all
for h in "${hosts[@]}"; do before[$h.admin]=$(snap "$h" admin); done
killed_on_hosts admin:temp:1
for h in "${hosts[@]}"; do
  ! pending "$h" admin || fail "host $h: a pending write exists after a kill before it was written"
  [ "$(count_files "$h" admin '.tmp-*')" -ge 1 ] || fail "host $h: no temp file after the kill at temp:1"
  [ "$(snap "$h" admin | grep -v '/\.tmp-')" = "${before[$h.admin]}" ] || fail "host $h: admin changed beyond its temp files"
done
normal_run "the kill at temp:1"
grep -q '"temps_removed": \[$' "$ITOT_LAST_PLAY" || fail "the normal run does not report the temp files it removed"

step "the controller killed (SIGKILL, whole process tree) while it reads the API"
append_all
for h in "${hosts[@]}"; do
  for c in "${categories[@]}"; do before[$h.$c]=$(snap "$h" "$c"); done
  before[$h.admin.state]=$(state_sum "$h" admin)
done
itot_ctl POST /_control/reset_counters >/dev/null
# The admin read is answered at once; the device read waits 30 s in the emulator: the kill lands inside it.
itot_ctl POST /_control/config '{"slow_seconds": 30, "fail_next": ["none", "slow", "slow", "slow"]}' >/dev/null
# The role's read task uses pipelining, so the module's arguments (the access token) reach Python through a pipe:
# no payload file with the token survives this SIGKILL in Ansible's temp folder (the sweep below checks it).
play &
bg=$!
ITOT_PLAYS=$((ITOT_PLAYS + 1))
ITOT_LAST_PLAY="$ITOT_WORK/play-$ITOT_PLAYS.log"
started=""
for _ in $(seq 600); do
  if [ "$(itot_ctl GET /_control/counters | pyval 'import json, sys; print(json.load(sys.stdin)["faults"]["slow"])')" -ge 1 ]; then
    started=yes
    break
  fi
  kill -0 "$bg" 2>/dev/null || break
  sleep 0.1
done
[ -n "$started" ] || { kill_tree "$bg"; fail "the API walk never reached the slow answer"; }
sleep 0.5
kill_tree "$bg"
wait "$bg" 2>/dev/null || true
alive=""
for _ in $(seq 50); do  # SIGKILL is delivered asynchronously: wait until each is gone (or a zombie nobody reaped yet)
  alive=""
  for pid in $KILLED_PIDS; do
    state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$pid/status" 2>/dev/null || true)
    if [ -n "$state" ] && [ "$state" != Z ]; then alive="$alive $pid($state)"; fi
  done
  [ -n "$alive" ] || break
  sleep 0.1
done
[ -z "$alive" ] || fail "processes of the killed play are still alive 5 s after SIGKILL:$alive"
grep -q "TASK \[opswat.itot.log_archive : Read a chunk of device" "$ITOT_LAST_PLAY" || fail "the play was not reading device when killed"
! grep -q "TASK \[opswat.itot.log_archive : Archive the chunk of device" "$ITOT_LAST_PLAY" || fail "the play got past the device read"
for h in "${hosts[@]}"; do
  [ "$(state_sum "$h" admin)" != "${before[$h.admin.state]}" ] || fail "host $h: admin was not archived before the kill"
  for c in device webhook device_report; do
    [ "$(snap "$h" "$c")" = "${before[$h.$c]}" ] || fail "host $h: $c changed although the play was killed reading device"
  done
done
if find "$ITOT_WORK/a" "$ITOT_WORK/b" -name '.tmp-*' -o -name .pending.json | grep .; then
  fail "temp files or a pending write left by a play killed while reading the API"
fi
itot_ctl POST /_control/config '{"slow_seconds": 0.1, "fail_next": []}' >/dev/null
normal_run "the kill during the API walk"

step "secret sweep"
itot_sweep
echo
echo "archive_kill: all scenarios passed"
