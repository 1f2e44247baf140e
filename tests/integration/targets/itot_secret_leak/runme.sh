#!/usr/bin/env bash
# Runs the module and the lookup with a distinctive access token and client secret through failing and
# succeeding paths at -vvvv, with an Ansible log, then searches every output for the two secrets.
set -eu -o pipefail

work=$(mktemp -d)
out="$work/out"  # everything the run writes, all of it swept below
secrets_dir="$work/secrets"  # the vars file holding the secrets: not swept
mkdir -p "$out/emulator" "$secrets_dir"
# Ansible's temp folders (a module payload left behind carries its arguments) and the rate ledgers inside the swept
# folder too.
export ANSIBLE_LOCAL_TEMP="$out/ansible-local-tmp" ANSIBLE_REMOTE_TMP="$out/ansible-remote-tmp" XDG_CACHE_HOME="$out/cache"
emu_pid=""
cleanup() {
  if [ -n "$emu_pid" ]; then kill "$emu_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
token="itot-LEAKCHECK-token-9c41f0e2b7"
secret="itot-LEAKCHECK-secret-5d2a88e1c3"
py=$(python -c 'import sys; print(sys.executable)')
emulator=$(sed -n 's/^itot_emulator_script: //p' ../../integration_config.yml)

# The emulator is started here, not by the playbook, so that its command line (which carries the secrets it
# accepts) is not part of the output searched below.  Its access log is searched too.
"$py" "$emulator" --port 0 --port-file "$out/emulator/port" --log-file "$out/emulator/access.log" --rate-limit 0 \
  --entries 120 --access-token "$token" --client-id itot-leak-client --client-secret "$secret" >"$out/emulator/out" 2>&1 &
emu_pid=$!
for _ in $(seq 100); do [ -s "$out/emulator/port" ] && break; sleep 0.1; done
# Secrets reach the playbook in a vars file (ansible-playbook -vvvv prints extra vars given on the command line).
umask 077
printf 'itot_leak_token: %s\nitot_leak_secret: %s\nitot_emulator_url: http://127.0.0.1:%s\n' \
  "$token" "$secret" "$(cat "$out/emulator/port")" >"$secrets_dir/secrets.yml"

counters() {  # counters KEY: one of the emulator's counters
  "$py" -c 'import json, sys, urllib.request; print(json.load(urllib.request.urlopen(sys.argv[1] + "/_control/counters"))[sys.argv[2]])' \
    "http://127.0.0.1:$(cat "$out/emulator/port")" "$1"
}

# Twice: with the access token in the URL's query string (the default), then in an Authorization header
# (ITOT_ACCESS_TOKEN_LOCATION, read by the module and the lookup alike).  Both runs' outputs are searched.
for location in query header; do
  in_query=$(counters token_in_query)
  in_header=$(counters token_in_header)
  set +e
  ITOT_ACCESS_TOKEN_LOCATION=$location ANSIBLE_LOG_PATH="$out/ansible.log" \
    ansible-playbook leak.yml -vvvv -e "@$secrets_dir/secrets.yml" "$@" >>"$out/output.log" 2>&1
  rc=$?
  set -e
  if [ $rc -ne 0 ]; then
    tail -n 80 "$out/output.log"
    echo "leak.yml failed with the token in the $location (exit $rc)"
    exit 1
  fi
  # The run sent its tokens where it was told to, and only there.
  if [ "$location" = query ]; then grew=$(($(counters token_in_header) - in_header)); used=$(($(counters token_in_query) - in_query)); fi
  if [ "$location" = header ]; then grew=$(($(counters token_in_query) - in_query)); used=$(($(counters token_in_header) - in_header)); fi
  if [ "$grew" -ne 0 ] || [ "$used" -lt 5 ]; then
    echo "with the token in the $location: $used requests carried it there, $grew elsewhere"
    exit 1
  fi
done

# The playbook really went through the failing paths, in both runs (so the search below has something to search).
for expected in "Authentication to the IT-OT Access API failed" "after 3 attempts" "itot-leak: all scenarios ran"; do
  if [ "$(grep -cF "$expected" "$out/output.log")" -lt 2 ]; then
    echo "expected output not found in both runs: $expected"
    exit 1
  fi
done

# Every file the runs wrote (the output, the Ansible log, the emulator's logs, Ansible's temp folders, the ledgers),
# in raw bytes and gzip decompressed, for the two secrets and for partial forms a scrubber might miss.
"$py" ../setup_itot_emulator/files/secret_sweep.py --secret "$token" --secret "$secret" \
  --pattern 'LEAKCHECK-(token|secret)' --min-files 4 \
  --require "$out/output.log" --require "$out/ansible.log" --require "$out/emulator/access.log" \
  --require "$out/emulator/out" --require-dir "$ANSIBLE_LOCAL_TEMP" "$out"
