# shellcheck shell=bash
# Sourced by the runme.sh integration targets: the emulator, playbook runs at -vvvv with an Ansible log, and the
# secret sweep.  Every target that uses it runs with the same distinctive access token and client secret, and
# ends with itot_sweep, which searches everything the target wrote for them.
#
#   source ../setup_itot_emulator/files/itot_test_lib.sh
#   itot_emulator_start --pagination 200-cursor ...      # sets ITOT_URL; the token and client credentials are added
#   itot_play playbook.yml -e ...                        # -vvvv, ANSIBLE_LOG_PATH; secrets in a vars file
#   itot_ctl POST /_control/config '{"faults": {...}}'
#   itot_sweep [DIR ...]                                 # every file below $ITOT_WORK and DIRs (gzip read through)

ITOT_TEST_TOKEN="itot-SWEEP-token-3f9b1c7d2e"
ITOT_TEST_CLIENT_ID="itot-sweep-client"
ITOT_TEST_SECRET="itot-SWEEP-secret-8a4e6d0b5c"
ITOT_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ITOT_PY=$(python -c 'import sys; print(sys.executable)')
ITOT_EMULATOR_SCRIPT=$(sed -n 's/^itot_emulator_script: //p' ../../integration_config.yml)
ITOT_WORK=$(mktemp -d)
ITOT_SECRETS_DIR=$(mktemp -d)  # outside ITOT_WORK: the vars file holding the secrets is not swept
ITOT_URL=""
ITOT_EMULATOR_PID=""
ITOT_PLAYS=0
export ITOT_TEST_TOKEN ITOT_TEST_CLIENT_ID ITOT_TEST_SECRET ITOT_PY ITOT_WORK
# Ansible's own temporary folders inside the swept folder: a module payload left behind would carry its arguments.
export ANSIBLE_LOCAL_TEMP="$ITOT_WORK/ansible-local-tmp" ANSIBLE_REMOTE_TMP="$ITOT_WORK/ansible-remote-tmp"
# The rate ledgers of this target's modules and lookups: its own, not the user's ~/.cache/opswat.itot.
export XDG_CACHE_HOME="$ITOT_WORK/xdg-cache"

itot_cleanup() {
  itot_emulator_stop
  rm -rf "$ITOT_WORK" "$ITOT_SECRETS_DIR"
}
trap itot_cleanup EXIT

# step TEXT: a heading in the target's output, with the seconds since it started.
step() { printf '\n=== [%ss] %s\n' "$SECONDS" "$*"; }

# fail TEXT: ends the target, with the last lines of the last play.
fail() {
  echo "FAILED: $*"
  if [ -n "${ITOT_LAST_PLAY:-}" ] && [ -f "$ITOT_LAST_PLAY" ]; then
    echo "--- last lines of $(basename "$ITOT_LAST_PLAY")"
    tail -n 40 "$ITOT_LAST_PLAY"
  fi
  exit 1
}

# itot_emulator_start [EMULATOR OPTIONS...]: starts a fresh emulator; ITOT_URL is its base URL.
itot_emulator_start() {
  itot_emulator_stop
  local n=$((ITOT_PLAYS + 1)) tls=http
  rm -f "$ITOT_WORK/emulator.port"
  case " $* " in *" --tls-cert "*) tls=https ;; esac
  "$ITOT_PY" "$ITOT_EMULATOR_SCRIPT" --port 0 --port-file "$ITOT_WORK/emulator.port" \
    --log-file "$ITOT_WORK/emulator-$n.log" --access-token "$ITOT_TEST_TOKEN" \
    --client-id "$ITOT_TEST_CLIENT_ID" --client-secret "$ITOT_TEST_SECRET" "$@" >"$ITOT_WORK/emulator-$n.out" 2>&1 &
  ITOT_EMULATOR_PID=$!
  local _
  for _ in $(seq 200); do [ -s "$ITOT_WORK/emulator.port" ] && break; sleep 0.05; done
  [ -s "$ITOT_WORK/emulator.port" ] || { cat "$ITOT_WORK/emulator-$n.out"; echo "the emulator did not start"; return 1; }
  ITOT_URL="$tls://127.0.0.1:$(cat "$ITOT_WORK/emulator.port")"
  export ITOT_URL
  itot_write_vars
}

itot_emulator_stop() {
  if [ -n "$ITOT_EMULATOR_PID" ]; then
    kill "$ITOT_EMULATOR_PID" 2>/dev/null || true
    wait "$ITOT_EMULATOR_PID" 2>/dev/null || true
    ITOT_EMULATOR_PID=""
  fi
}

# The vars file that hands the secrets and the URL to playbooks (-e @file: -vvvv prints -e key=value pairs).
itot_write_vars() {
  (umask 077 && cat >"$ITOT_SECRETS_DIR/vars.yml" <<VARS
itot_test_url: "$ITOT_URL"
itot_test_token: "$ITOT_TEST_TOKEN"
itot_test_client_id: "$ITOT_TEST_CLIENT_ID"
itot_test_secret: "$ITOT_TEST_SECRET"
itot_test_work: "$ITOT_WORK"
itot_test_python: "$ITOT_PY"
VARS
  )
}

# itot_ctl METHOD PATH [JSON]: a control request to the emulator; prints the JSON answer.
itot_ctl() {
  "$ITOT_PY" "$ITOT_LIB_DIR/ctl.py" "$ITOT_URL" "$@"
}

# itot_play PLAYBOOK [ARGS...]: ansible-playbook -vvvv with an Ansible log; output in $ITOT_WORK/play-N.log and in
# $ITOT_LAST_PLAY.  Returns ansible-playbook's exit status.
itot_play() {
  ITOT_PLAYS=$((ITOT_PLAYS + 1))
  ITOT_LAST_PLAY="$ITOT_WORK/play-$ITOT_PLAYS.log"
  local rc
  set +e
  ANSIBLE_LOG_PATH="$ITOT_WORK/ansible.log" ansible-playbook -vvvv -e "@$ITOT_SECRETS_DIR/vars.yml" "$@" >"$ITOT_LAST_PLAY" 2>&1
  rc=$?
  set -e
  return $rc
}

# play: runs the target's archive.yml against $ITOT_WORK/inventory.ini and says how it ended and how long it took.
play() {
  local rc=0 start=$SECONDS
  itot_play archive.yml -i "$ITOT_WORK/inventory.ini" || rc=$?
  echo "play $ITOT_PLAYS: exit $rc after $((SECONDS - start))s"
  return $rc
}

# itot_sweep [DIR ...]: searches every file below $ITOT_WORK and the DIRs given for the test token and secret
# (secret_sweep.py: raw bytes, and gzip decompressed as far as it goes).  Fails on a leak, on a file it cannot read,
# and when it did not search every play's log and the Ansible log, or Ansible's temp folder is not where it was put.
itot_sweep() {
  local n required=()
  for n in $(seq "$ITOT_PLAYS"); do required+=(--require "$ITOT_WORK/play-$n.log"); done
  if [ "$ITOT_PLAYS" -gt 0 ]; then
    required+=(--require "$ITOT_WORK/ansible.log" --require-dir "$ANSIBLE_LOCAL_TEMP")
  fi
  "$ITOT_PY" "$ITOT_LIB_DIR/secret_sweep.py" --secret "$ITOT_TEST_TOKEN" --secret "$ITOT_TEST_SECRET" \
    --min-files $((ITOT_PLAYS + 1)) "${required[@]}" "$ITOT_WORK" "$@"
}
