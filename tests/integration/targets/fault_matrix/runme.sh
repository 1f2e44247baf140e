#!/usr/bin/env bash
# shellcheck disable=SC2317  # the row_* functions are called by name: "row_$row"
# The fault matrix of issue 5: every fault below against each face of the collection (the itot_logs_info module,
# the itot_logs lookup, the log_archive role with two local hosts), each cell on a fresh, seeded emulator.
# A cell passes when the result equals the emulator's ground truth exactly (entries and order), or when the task
# fails with a message that says what happened; for the role, a failed run must be followed by a run without the
# fault that leaves the exact truth on every host.  A silent short (or long) result, a vague failure, or a fault
# the emulator never injected fails the cell.  The matrix is printed at the end; any failed cell fails the target.
set -eu -o pipefail

here=$(pwd)
# shellcheck source=../setup_itot_emulator/files/itot_test_lib.sh
source ../setup_itot_emulator/files/itot_test_lib.sh

record="$ITOT_WORK/matrix.jsonl"
check_archive="$here/../log_archive/check_archive.py"
started=$(date +%s)

# 300 entries per category over the last hour, read in pages of 20: a walk is 15 pages per category.  The
# client's backoff starts at ~1 s and doubles (with jitter), so the defaults below keep cells short.
data=(--entries 300 --span 3600 --rate-limit 0)

# --- the rows: each starts the emulator with its fault and says what the cell expects ---------------------------
# fm_label: the row's name in the matrix
# fm_outcome: truth (the client must absorb the fault), error (it must fail, clearly), either (the issue's rule)
# fm_exercised: emulator counters (joined by +) whose sum shows the fault happened
# fm_expect: what a failure message must say (a Python regular expression)
# fm_trigger_after, fm_trigger: POST the JSON fm_trigger to /_control/config once the emulator counted
#                               fm_trigger_after logs requests (a background process; none when fm_trigger is empty)
# fm_auth: token (the static test token) | credentials (client id + secret) | issued (an OAuth-issued token alone)
#          | both (an OAuth-issued token, and client id + secret to get a new one)
defaults() {
  fm_timeout=2 fm_retries=5 fm_rate=0 fm_auth=token fm_trigger="" fm_outcome=truth fm_location=query
  # Where timed faults strike: the 5th logs request; for the role the 20th, in the device walk (admin, read first,
  # takes 15 requests): the failed run has archived admin already, which its rerun must not double.
  fm_mid=5
  if [ "$face" = role ]; then fm_mid=20; fi
  fm_trigger_after=$fm_mid
}

# The fm_mid-th logs request is slow, so that a trigger fired once it arrived lands mid-walk.
slow_mid() {
  local queue='"slow"' i
  for ((i = 1; i < fm_mid; i++)); do queue="\"none\", $queue"; done
  itot_ctl POST /_control/config "{\"fail_next\": [$queue]}" >/dev/null
}

issue_token() {  # an OAuth token for the test client, in a vars file next to the library's (never below ITOT_WORK)
  "$ITOT_PY" "$here/matrix.py" token "$ITOT_URL" "$ITOT_SECRETS_DIR/issued.yml" "$ITOT_SECRETS_DIR/issued-tokens"
}

row_http5xx() {  # seed 9 draws faults for the 3rd, 5th, 8th, 11th, ... request; every time format, duplicates
  fm_label="HTTP 500/502/503 at 20 %"
  itot_emulator_start "${data[@]}" --fault 500=0.07 --fault 502=0.07 --fault 503=0.06 --fault-seed 9 \
    --time-format mixed --duplicates 5
  fm_exercised=faults.500+faults.502+faults.503
  fm_expect='after [0-9]+ attempts.*HTTP 50[0-4]'
}

row_reset() {  # seed 7: the 4th, 7th, 9th, 11th, ... request; pages are 200s with a cursor
  fm_label="connection reset at 10 %"
  itot_emulator_start "${data[@]}" --fault reset=0.1 --fault-seed 7 --pagination 200-cursor
  fm_exercised=faults.reset
  fm_expect='after [0-9]+ attempts.*(reset|Connection)'
}

row_slow() {  # answers after 3 s to a client that waits 1 s; seed 9: the 5th, 8th, 11th, ... request; oldest first
  fm_label="slower than timeout, 10 %"
  itot_emulator_start "${data[@]}" --fault slow=0.1 --fault-seed 9 --slow-seconds 3 --order asc
  fm_timeout=1
  fm_exercised=faults.slow
  fm_expect='timed out|[Tt]imeout'
}

row_badjson() {  # a 200 with a truncated JSON body; seed 9: the 5th and 11th request; 200s with a cursor
  fm_label="malformed JSON at 5 %"
  itot_emulator_start "${data[@]}" --fault badjson=0.05 --fault-seed 9 --pagination 200-cursor
  fm_exercised=faults.badjson
  fm_expect='malformed JSON|JSON'
}

row_429() {  # the emulator allows 5 requests per 3 s, fewer than the client's 120 per minute: 429 bursts
  fm_label="429 bursts (5 per 3 s)"
  itot_emulator_start "${data[@]}" --rate-limit 5 --rate-window 3
  fm_rate=120
  fm_exercised=rate_limited
  fm_expect='HTTP 429|rate limit'
}

# The access token expires mid-walk: while the fm_mid-th request waits, every OAuth-issued token is expired.
row_token_refresh() {
  fm_label="token expiry, credentials"
  itot_emulator_start "${data[@]}" --slow-seconds 1.5
  slow_mid
  issue_token
  fm_auth=both fm_timeout=3 fm_trigger='{"expire_access_tokens": true}'
  fm_exercised=by_status.401
  fm_expect='Authentication'
}

row_token_alone() {
  fm_label="token expiry, token alone"
  itot_emulator_start "${data[@]}" --slow-seconds 1.5
  slow_mid
  issue_token
  fm_auth=issued fm_timeout=3 fm_trigger='{"expire_access_tokens": true}' fm_outcome=error
  fm_exercised=by_status.401
  fm_expect='Authentication.*401.*expired'
}

row_page_token() {  # pagination tokens live 1 s; the fm_mid-th request is answered after 2 s: its token has expired
  fm_label="page token expiry"
  itot_emulator_start "${data[@]}" --page-token-ttl 1 --slow-seconds 2
  slow_mid
  fm_timeout=3
  fm_exercised=by_status.400
  fm_expect='expired|pagination token'
}

row_outage() {  # from the fm_mid-th request on, every request is reset for 4 s: less than the retries wait (15.5 s)
  fm_label="server away for 4 s"
  itot_emulator_start "${data[@]}" --slow-seconds 0.5
  slow_mid
  fm_trigger='{"outage_seconds": 4}'
  fm_exercised=faults.outage
  fm_expect='after [0-9]+ attempts'
}

row_outage_long() {  # away for longer than one retry waits: a clear failure (and for the role, a rerun)
  fm_label="server away > retries"
  itot_emulator_start "${data[@]}" --slow-seconds 0.5
  slow_mid
  fm_retries=1 fm_trigger='{"outage_seconds": 60}' fm_outcome=error
  fm_exercised=faults.outage
  fm_expect='after 2 attempts.*(reset|Connection)'
}

# The vendor's own client's reading of paging (200 + token on every page with data, 413 past the end), with the
# access token in an Authorization header: the same faults, the same verdicts.
row_http5xx_413() {
  row_http5xx
  fm_label="HTTP 5xx, 200-413 + header"
  itot_emulator_start "${data[@]}" --fault 500=0.07 --fault 502=0.07 --fault 503=0.06 --fault-seed 9 \
    --time-format mixed --duplicates 5 --pagination 200-413 --auth header
  fm_location=header
}

row_reset_413() {
  row_reset
  fm_label="reset, 200-413"
  itot_emulator_start "${data[@]}" --fault reset=0.1 --fault-seed 7 --pagination 200-413
}

row_429_413() {
  row_429
  fm_label="429 bursts, 200-413 + header"
  itot_emulator_start "${data[@]}" --rate-limit 5 --rate-window 3 --pagination 200-413 --auth header
  fm_location=header
}

row_token_refresh_413() {
  fm_label="token expiry, 200-413 + header"
  itot_emulator_start "${data[@]}" --slow-seconds 1.5 --pagination 200-413 --auth header
  slow_mid
  issue_token
  fm_auth=both fm_timeout=3 fm_trigger='{"expire_access_tokens": true}' fm_location=header
  fm_exercised=by_status.401
  fm_expect='Authentication'
}

# --- one cell ----------------------------------------------------------------------------------------------
write_inventory() {  # write_inventory DIR
  cat >"$1/inventory.ini" <<INI
[fm_archive_hosts]
fm_a itot_log_archive_dir=$1/a
fm_b itot_log_archive_dir=$1/b

[all:vars]
ansible_connection=local
ansible_python_interpreter=$ITOT_PY
INI
}

play_args() {  # the extra variables of a face's play
  args=(-e "fm_auth=$fm_auth fm_timeout=$fm_timeout fm_max_retries=$fm_retries fm_rate_limit=$fm_rate fm_page_size=20")
  args+=(-e "fm_location=$fm_location")
  case $fm_auth in issued | both) args+=(-e "@$ITOT_SECRETS_DIR/issued.yml") ;; esac
}

cell() {  # cell ROW FACE
  local row=$1 face=$2 dir="$ITOT_WORK/$1-$2" rc=0 rerun_rc=0 checks_rc=0 trigger_pid="" t0 categories=device
  mkdir -p "$dir"
  defaults
  "row_$row"
  local args=()
  play_args
  case $face in
    module) args+=(-e "fm_result=$dir/result.json") ;;
    lookup) args+=(-e "fm_result=$dir/result.json") categories=admin,device ;;
    role) write_inventory "$dir" && args+=(-i "$dir/inventory.ini") categories=admin,device ;;
  esac
  if [ -n "$fm_trigger" ]; then
    "$ITOT_PY" "$here/matrix.py" trigger "$ITOT_URL" "$fm_trigger_after" "$fm_trigger" &
    trigger_pid=$!
  fi
  t0=$(date +%s)
  itot_play "$face.yml" "${args[@]}" || rc=$?
  local log=$ITOT_LAST_PLAY seconds=$(($(date +%s) - t0))
  if [ -n "$trigger_pid" ]; then
    kill "$trigger_pid" 2>/dev/null || true
    wait "$trigger_pid" 2>/dev/null || true
  fi
  itot_ctl GET /_control/counters >"$dir/counters.json"
  if [ "$face" = role ]; then
    if [ $rc -ne 0 ]; then
      # The run after the failed one, without the fault (and with the static token), with a few new entries in
      # each category: the exact truth everywhere, nothing lost and nothing doubled.
      itot_ctl POST /_control/config '{"faults": {}, "fail_next": [], "outage_seconds": 0, "rate_limit": 0,
        "page_token_ttl": 300}' >/dev/null
      for category in admin device; do
        itot_ctl POST /_control/append "{\"category\": \"$category\", \"count\": 5}" >/dev/null
      done
      fm_auth=token fm_rate=0
      play_args
      itot_play role.yml -i "$dir/inventory.ini" "${args[@]}" || rerun_rc=$?
      [ $rerun_rc -eq 0 ] || tail -n 30 "$ITOT_LAST_PLAY"
    fi
    for host in a b; do
      "$ITOT_PY" "$check_archive" --dir "$dir/$host" --url "$ITOT_URL" --categories "$categories" || checks_rc=1
    done
  fi
  "$ITOT_PY" "$here/matrix.py" judge --url "$ITOT_URL" --row "$fm_label" --face "$face" --rc $rc --log "$log" \
    --counters "$dir/counters.json" --result "$dir/result.json" --categories "$categories" --rerun-rc $rerun_rc \
    --checks-rc $checks_rc --seconds $seconds --exercised "$fm_exercised" --expect "$fm_expect" \
    --outcome "$fm_outcome" --record "$record"
}

rows=(http5xx reset slow badjson 429 token_refresh token_alone page_token outage outage_long
  http5xx_413 reset_413 429_413 token_refresh_413)
faces=(module lookup role)
for row in ${FM_ROWS:-${rows[*]}}; do
  for face in ${FM_FACES:-${faces[*]}}; do
    cell "$row" "$face"
  done
done
itot_emulator_stop

echo
echo "fault matrix (fault x face), $(($(date +%s) - started)) s:"
matrix_rc=0
"$ITOT_PY" "$here/matrix.py" table "$record" || matrix_rc=$?
"$ITOT_PY" "$here/matrix.py" sweep "$ITOT_SECRETS_DIR/issued-tokens" "$ITOT_WORK" || matrix_rc=1
# shellcheck disable=SC2119  # no extra folders: everything this target wrote is below $ITOT_WORK
itot_sweep || matrix_rc=1
exit $matrix_rc
