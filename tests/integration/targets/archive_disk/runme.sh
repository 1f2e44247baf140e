#!/usr/bin/env bash
# The log_archive role with one host's archive folder on a small tmpfs (mounted here, as root) that is full or nearly
# full: that host fails with a message naming it, the folder and file, and the OS reason; it keeps no partial file,
# its cursor does not move; the other host is archived; once there is room again, a normal run completes the job.
#   full                 no page free: the first archive file cannot be written
#   one page free        the archive file is written, its pending journal is not: the file is deleted again
#   two pages free       files and journal are written, manifest appended, state.json is not: the write stays pending
#                        (cursor unchanged) and the next run with room completes it
set -eu -o pipefail

# shellcheck source=../setup_itot_emulator/files/itot_test_lib.sh
source ../setup_itot_emulator/files/itot_test_lib.sh
# Ansible's own temp folders inside the work folder too: a killed play leaves module payloads there, and the secret
# sweep below reads them.
export ANSIBLE_REMOTE_TMP="$ITOT_WORK/ansible-remote-tmp" ANSIBLE_LOCAL_TEMP="$ITOT_WORK/ansible-local-tmp"

checker=../log_archive/check_archive.py
categories=(admin device webhook device_report)
small="$ITOT_WORK/a"  # host archive_a's archive root: the small file system
page=$(getconf PAGESIZE)


# cannot_run REASON: under CI (itot_ci in integration_config.yml) the target fails; elsewhere it says SKIPPED, which
# make test shows in its summary line.
cannot_run() {
  if [ "$(sed -n 's/^itot_ci: //p' ../../integration_config.yml)" = true ]; then
    echo "FAILED archive_disk: $* (CI=true: nothing is skipped)"
    exit 1
  fi
  echo "SKIPPED archive_disk: $*"
  exit 0
}

mkdir -p "$small"
if [ "$(id -u)" != 0 ]; then
  cannot_run "mounting a small tmpfs needs root (running as uid $(id -u))"
fi
if ! mount -t tmpfs -o size=512k tmpfs "$small"; then
  cannot_run "mount -t tmpfs is not permitted here"
fi
cleanup_disk() {
  umount "$small" 2>/dev/null || umount -l "$small" 2>/dev/null || echo "could not unmount $small"
  itot_cleanup
}
trap cleanup_disk EXIT

itot_emulator_start --entries 20 --span 3600 --time-format mixed --rate-limit 0

cat >"$ITOT_WORK/inventory.ini" <<EOF
[itot_archive_hosts]
archive_a itot_log_archive_dir=$small
archive_b itot_log_archive_dir=$ITOT_WORK/b
[all:vars]
ansible_connection=local
ansible_python_interpreter=$ITOT_PY
EOF

check_host() {
  "$ITOT_PY" "$checker" --dir "$ITOT_WORK/$1" --url "$ITOT_URL" --mode 0640 --dir-mode 0750 || fail "host $1 $2"
}
free_pages() { "$ITOT_PY" -c 'import os, sys; s = os.statvfs(sys.argv[1]); print(s.f_bavail * s.f_frsize // int(sys.argv[2]))' "$small" "$page"; }
# every file of host a's category folders with its sha256 (the lock file aside)
snap_a() { (cd "$small" && find "${categories[@]}" -type f ! -name .lock -exec sha256sum {} + | sort -k 2); }
states_a() { (cd "$small" && sha256sum ./*/state.json); }
append_all() {
  local c
  for c in "${categories[@]}"; do itot_ctl POST /_control/append "{\"category\": \"$c\", \"count\": 4}" >/dev/null; done
}
# the result block Ansible printed for archive_a's failure
# (the role archives a round's slices in a loop: a failed item shows as "failed: [archive_a] (item=...) => {")
failure_of_a() { awk '/^(fatal: \[archive_a\]: FAILED!|failed: \[archive_a\] \(item=)/ {p = 1} p {print} p && /^}/ {exit}' "$ITOT_LAST_PLAY"; }

# failing_run WHAT: a run in which archive_a must fail for lack of space and archive_b must be archived
failing_run() {
  if play; then fail "the run with $1 succeeded"; fi
  failure_of_a >"$ITOT_WORK/failure.txt"
  [ -s "$ITOT_WORK/failure.txt" ] || fail "no failure of archive_a with $1"
  grep -q '"msg": ".*'"$small"'/admin.*: No space left on device (ENOSPC)' "$ITOT_WORK/failure.txt" ||
    fail "archive_a's failure with $1 does not name the folder $small/admin and the reason"
  sed -n 's/^ *"msg": //p' "$ITOT_WORK/failure.txt"
  ! grep -q 'Traceback' "$ITOT_WORK/failure.txt" || fail "archive_a's failure with $1 is a traceback"
  grep -q '^archive_b .* failed=0 ' "$ITOT_LAST_PLAY" || fail "archive_b failed in the run with $1"
  check_host b "after the run with $1"
  if find "$small" -name '.tmp-*' | grep .; then fail "temp files left on the full file system after $1"; fi
}

step "a first run with room: both hosts hold the ground truth"
play || fail "the first run"
check_host a "after the first run"
check_host b "after the first run"

step "the file system is full: archive_a fails clearly, keeps nothing, its cursor does not move"
dd if=/dev/zero of="$small/filler" bs="$page" 2>/dev/null || true
[ "$(free_pages)" = 0 ] || fail "the filler left $(free_pages) pages free"
append_all
before=$(snap_a)
failing_run "a full file system"
grep -q '"msg": "cannot write .* in '"$small"'/admin: No space left on device (ENOSPC); nothing of this run was kept' \
  "$ITOT_WORK/failure.txt" || fail "the message does not say that nothing was kept"
[ "$(snap_a)" = "$before" ] || fail "the archive of archive_a changed on a full file system"

step "one page free: the archive file fits, its pending journal does not; the file is deleted again"
truncate -s "-$page" "$small/filler"
[ "$(free_pages)" = 1 ] || fail "not exactly one page free"
failing_run "one page free"
grep -q '"msg": "cannot write .pending.json in '"$small"'/admin: No space left on device (ENOSPC); nothing of this run was kept' \
  "$ITOT_WORK/failure.txt" || fail "the failure with one page free is not the pending journal's"
[ "$(snap_a)" = "$before" ] || fail "the archive of archive_a changed with one page free"
[ "$(free_pages)" = 1 ] || fail "the archive file written before the failure still takes up space"

step "two pages free: files, journal and manifest fit, state.json does not; the cursor does not move"
truncate -s "-$page" "$small/filler"
states=$(states_a)
failing_run "two pages free"
grep -q '"msg": "cannot complete the write recorded in '"$small"'/admin/.pending.json (writing state.json): No space left on device (ENOSPC); .*the cursor in state.json was not advanced' \
  "$ITOT_WORK/failure.txt" || fail "the failure with two pages free is not the state.json write's"
[ "$(states_a)" = "$states" ] || fail "a cursor (state.json) of archive_a moved although the write failed"
[ -f "$small/admin/.pending.json" ] || fail "no pending write left for the next run"

step "room again: a normal run completes archive_a's write and catches up"
rm -f "$small/filler"
append_all
play || fail "the run with room again"
grep -q '"recovered": true' "$ITOT_LAST_PLAY" || fail "the run with room does not report completing the pending write"
check_host a "after the run with room again"
check_host b "after the run with room again"

step "secret sweep"
itot_sweep
echo
echo "archive_disk: all scenarios passed"
