#!/usr/bin/env bash
# Issue 13, items 1 and 2, end to end.
#   1. An account that may write the category folder (the role's owner) plants files, links and FIFOs in it; the real
#      module then runs as root.  Each run must fail naming the planted path and what is wrong with it, and nothing
#      outside the archive may change (a sentinel tree with a root-only folder, hashed and stat'ed before and after).
#   2. The emulator stamps an entry 2099-01-01 (a server clock error): the role archives it, counts it, warns, and the
#      next run still reads and archives new entries (the cursor is not at 2099).
# Runs as root (as the role does, and in CI); a second local user is created for the planted files and removed after.
set -eu -o pipefail

# shellcheck source=../setup_itot_emulator/files/itot_test_lib.sh
source ../setup_itot_emulator/files/itot_test_lib.sh

if [ "$(id -u)" != 0 ]; then
  if [ "${CI:-}" = true ]; then
    echo "FAILED: archive_attacks must run as root in CI (it creates a local user and runs the modules as root)"
    exit 1
  fi
  echo "archive_attacks: skipped, not root (it runs as root in CI)"
  exit 0
fi

planter="itotplant$$"
useradd --system --no-create-home --shell /usr/sbin/nologin "$planter"
trap 'userdel "$planter" 2>/dev/null || true; itot_cleanup' EXIT
chmod 0711 "$ITOT_WORK"  # the planting user reaches its archive folder, and lists nothing else here
as_planter() { runuser -u "$planter" -- "$@"; }

arch="$ITOT_WORK/archive"
other="$ITOT_WORK/other"
mkdir -p "$other/rootonly"
echo 'keep me' >"$other/keep.conf"
echo 'root only' >"$other/rootonly/secret"
chmod 0600 "$other/rootonly/secret"
chmod 0700 "$other/rootonly"

sentinel() {  # every path under $other: type, mode, owner, size, mtime, and each file's sha256
  (cd "$other" && find . -printf '%y %m %u:%g %s %T@ %p\n' | sort && find . -type f -exec sha256sum {} + | sort -k 2)
}
before=$(sentinel)
unchanged() { [ "$(sentinel)" = "$before" ] || { diff <(echo "$before") <(sentinel) || true; fail "$1: something outside the archive changed"; }; }

results="$ITOT_WORK/results"
mkdir -p "$results"
n=0
# run_module MODULE JSON_ARGS [check]: the module as root; its result in $result (a JSON file)
run_module() {
  n=$((n + 1))
  result="$results/$n.json"
  printf '%s' "$2" >"$results/$n.args.json"
  timeout 120 ansible-playbook -vv module.yml -e "module_name=$1 module_args_file=$results/$n.args.json result_file=$result check=${3:-false}" \
    >"$results/$n.log" 2>&1 || { tail -n 30 "$results/$n.log"; fail "ansible-playbook for $1 did not finish (exit $?)"; }
  ITOT_LAST_PLAY="$results/$n.log"
}
# expect_failure WHAT TEXT...: the last module run failed and its message holds every TEXT
expect_failure() {
  local what=$1
  shift
  "$ITOT_PY" - "$result" "$what" "$@" <<'PY' || fail "$what"
import json, sys
result = json.load(open(sys.argv[1]))
msg = result.get('msg', '')
if not result.get('failed'):
    sys.exit('%s: the run did not fail: %s' % (sys.argv[2], json.dumps(result)[:2000]))
missing = [text for text in sys.argv[3:] if text not in msg]
if missing:
    sys.exit('%s: the message %r does not hold %r' % (sys.argv[2], msg, missing))
print('%s: failed as expected: %s' % (sys.argv[2], msg))
PY
}

entry() {  # entry ISO N: one admin entry
  printf '{"timestamp": "%s", "event": "login", "details": "event %s", "admin_name": "Ann"}' "$1" "$2"
}
honest() {  # honest CATEGORY: a fresh archive written by root, owned by the planting user (the role's owner option)
  rm -rf "$arch"
  run_module itot_archive "{\"dir\": \"$arch\", \"category\": \"$1\", \"owner\": \"$planter\", \"mode\": \"0640\",
    \"dir_mode\": \"0750\", \"entries\": [$(entry 2026-11-28T22:00:00.000Z 1), $(entry 2026-11-28T22:01:00.000Z 2)]}"
  "$ITOT_PY" -c 'import json, sys; r = json.load(open(sys.argv[1])); sys.exit(0 if r.get("changed") and not r.get("failed") else 1)' \
    "$result" || { cat "$result"; fail "the honest archive could not be written"; }
}
cat_dir="$arch/admin"
day="$cat_dir/2026/11/28"

step "the issue's .pending.json: a payload moved into a root-only folder, a file deleted outside"
honest admin
as_planter sh -c "printf '#!/bin/sh\n' >'$cat_dir/.payload' && printf '%s' '{\"files\": [{\"temp\": \".payload\", \"file\": \"../../other/rootonly/evil.sh\"}], \"remove\": [\"../../other/keep.conf\"], \"manifest\": [], \"state\": {\"version\": 1}}' >'$cat_dir/.pending.json'"
run_module itot_archive "{\"dir\": \"$arch\", \"category\": \"admin\", \"owner\": \"$planter\"}"
expect_failure "pending ../ paths" "refusing $cat_dir/.pending.json: it names '../../other/rootonly/evil.sh'" "'..' component"
unchanged "pending ../ paths"
[ -f "$cat_dir/.payload" ] || fail "the payload was moved"

step "a pending temp file that is a link to a root-only file"
honest admin
as_planter sh -c "ln -s '$other/rootonly/secret' '$day/.tmp-evil' && printf '%s' '{\"files\": [{\"temp\": \"2026/11/28/.tmp-evil\", \"file\": \"2026/11/28/admin-evil.jsonl.gz\"}], \"remove\": [], \"manifest\": [], \"state\": {\"version\": 1}}' >'$cat_dir/.pending.json'"
run_module itot_archive "{\"dir\": \"$arch\", \"category\": \"admin\", \"owner\": \"$planter\", \"mode\": \"0644\"}"
expect_failure "temp link" "refusing $day/.tmp-evil: it is not a regular file"
unchanged "temp link"

step "a chained manifest line for a path outside, with an old last, and retention"
honest admin
# The chained line and the re-anchored state.json are computed here; the planting user writes them (its Python may
# not be reachable for it).
"$ITOT_PY" - "$cat_dir" "$other/keep.conf" "$results/line" "$results/state.json" <<'PY'
import hashlib, json, os, sys
cat, target, line_out, state_out = sys.argv[1:]
lines = open(os.path.join(cat, 'manifest.jsonl'), 'rb').read().split(b'\n')[:-1]
line = json.dumps({'file': target, 'sha256': '0' * 64, 'entries': 1, 'first': '2000-01-01T00:00:00.000Z',
                   'last': '2000-01-01T00:00:00.000Z', 'action': 'add', 'prev': hashlib.sha256(lines[-1]).hexdigest(),
                   'at': '2000-01-01T00:00:00.000Z'}, separators=(',', ':')).encode()
open(line_out, 'wb').write(line + b'\n')
state = json.load(open(os.path.join(cat, 'state.json')))
state.update(manifest_lines=len(lines) + 1, manifest_head=hashlib.sha256(line).hexdigest())
json.dump(state, open(state_out, 'w'))
PY
chmod 0644 "$results/line" "$results/state.json"
as_planter sh -c "cat '$results/line' >>'$cat_dir/manifest.jsonl' && cp '$results/state.json' '$cat_dir/state.new' && mv '$cat_dir/state.new' '$cat_dir/state.json'"
run_module itot_archive "{\"dir\": \"$arch\", \"category\": \"admin\", \"retention_days\": 30}"
expect_failure "manifest absolute path" "archive verification failed in $cat_dir" "manifest line 2 names '$other/keep.conf': it is an absolute path"
unchanged "manifest absolute path"

step "links planted for .lock, manifest.jsonl and state.json"
for name in .lock manifest.jsonl state.json; do
  honest admin
  as_planter sh -c "rm -f '$cat_dir/$name' && ln -s '$other/rootonly/$name' '$cat_dir/$name'"
  run_module itot_archive "{\"dir\": \"$arch\", \"category\": \"admin\", \"owner\": \"$planter\", \"mode\": \"0644\", \"lock_timeout\": 2,
    \"entries\": [$(entry 2026-11-29T00:00:00.000Z 3)]}"
  expect_failure "linked $name" "refusing $cat_dir/$name: it is a symbolic link"
  unchanged "linked $name"
done

step "a dangling manifest.jsonl link in a category folder that holds nothing yet"
honest admin
# The archive root is the planting user's too (the module gives it the owner option's owner).
as_planter sh -c "mkdir '$arch/device' && ln -s '$other/rootonly/manifest.jsonl' '$arch/device/manifest.jsonl'"
run_module itot_archive "{\"dir\": \"$arch\", \"category\": \"device\", \"owner\": \"$planter\",
  \"entries\": [{\"timestamp\": \"2026-11-29T00:00:00.000Z\", \"event\": \"added\", \"device_id\": \"d1\"}]}"
expect_failure "dangling manifest" "refusing $arch/device/manifest.jsonl: it is a symbolic link"
unchanged "dangling manifest"

step "a year folder planted as a link to a root-only folder"
honest admin
as_planter ln -s "$other/rootonly" "$cat_dir/2027"
run_module itot_archive "{\"dir\": \"$arch\", \"category\": \"admin\", \"owner\": \"$planter\", \"dir_mode\": \"0755\",
  \"entries\": [$(entry 2027-01-02T00:00:00.000Z 4)]}"
expect_failure "linked year folder" "refusing $cat_dir/2027: it is a symbolic link" "the cursor was not advanced"
unchanged "linked year folder"

step "a FIFO at .lock: check mode and the report fail at once instead of hanging"
honest admin
as_planter sh -c "rm -f '$cat_dir/.lock' && mkfifo '$cat_dir/.lock'"
start=$SECONDS
run_module itot_archive "{\"dir\": \"$arch\", \"category\": \"admin\", \"lock_timeout\": 2, \"entries\": []}" true
expect_failure "FIFO lock, check mode" "refusing $cat_dir/.lock: it is not a regular file"
run_module itot_archive_report "{\"dir\": \"$arch\", \"categories\": [\"admin\"], \"lock_timeout\": 2}" true
expect_failure "FIFO lock, the report" "refusing $cat_dir/.lock: it is not a regular file"
[ $((SECONDS - start)) -lt 100 ] || fail "the FIFO runs took $((SECONDS - start)) s"
unchanged "FIFO lock"

step "item 2: an entry stamped 2099 by the server is archived, counted and warned; the next run reads on"
rm -rf "$arch"
itot_emulator_start --entries 6 --span 3000 --rate-limit 0 --stray-time 2099-01-01T00:00:00Z --stray-at 0
cat >"$ITOT_WORK/inventory.ini" <<INV
[itot_archive_hosts]
archive_a itot_log_archive_dir=$arch
[all:vars]
ansible_connection=local
ansible_python_interpreter=$ITOT_PY
itot_log_archive_categories=["admin"]
itot_log_archive_initial_lookback=-2h
INV
play || fail "the run with a stray time failed"
grep -q 'stamped outside the window read' "$ITOT_LAST_PLAY" || fail "no warning about the entry stamped outside the window"
grep -q '"outside_window": 1' "$ITOT_LAST_PLAY" || fail "the stray entry is not counted in outside_window"
ls "$cat_dir"/2099/01/01/admin-20990101T000000000Z-*.jsonl.gz >/dev/null || fail "the stray entry was not archived"
cursor() { "$ITOT_PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["cursor_ms"])' "$cat_dir/state.json"; }
first=$(cursor)
now=$("$ITOT_PY" -c 'import time; print(int(time.time() * 1000))')
[ "$first" -le "$now" ] || fail "the cursor moved to the future: $first"
itot_ctl POST /_control/config '{"stray_time": null}' >/dev/null
itot_ctl POST /_control/append '{"category": "admin", "count": 3}' >/dev/null
files_before=$(find "$cat_dir" -name '*.jsonl.gz' | wc -l)
play || fail "the run after the stray time failed"
second=$(cursor)
[ "$second" -gt "$first" ] || fail "the next run did not move the cursor on ($first -> $second): new entries not read"
[ "$(find "$cat_dir" -name '*.jsonl.gz' | wc -l)" -gt "$files_before" ] || fail "the next run archived nothing new"
grep -q '"outside_window": 0' "$ITOT_LAST_PLAY" || fail "the next run does not report outside_window 0"

step "secret sweep"
itot_sweep
echo
echo "archive_attacks: all scenarios passed"
