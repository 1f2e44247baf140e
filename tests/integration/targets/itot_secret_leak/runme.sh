#!/usr/bin/env bash
# Runs the module and the lookup with a distinctive access token and client secret through failing and
# succeeding paths at -vvvv, with an Ansible log, then searches every output for the two secrets.
set -eu -o pipefail

work=$(mktemp -d)
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
mkdir -p "$work/emulator"
"$py" "$emulator" --port 0 --port-file "$work/emulator/port" --log-file "$work/emulator/access.log" --rate-limit 0 \
  --entries 120 --access-token "$token" --client-id itot-leak-client --client-secret "$secret" >"$work/emulator/out" 2>&1 &
emu_pid=$!
for _ in $(seq 100); do [ -s "$work/emulator/port" ] && break; sleep 0.1; done
# Secrets reach the playbook in a vars file (ansible-playbook -vvvv prints extra vars given on the command line).
umask 077
printf 'itot_leak_token: %s\nitot_leak_secret: %s\nitot_emulator_url: http://127.0.0.1:%s\n' \
  "$token" "$secret" "$(cat "$work/emulator/port")" >"$work/secrets.yml"

counters() {  # counters KEY: one of the emulator's counters
  "$py" -c 'import json, sys, urllib.request; print(json.load(urllib.request.urlopen(sys.argv[1] + "/_control/counters"))[sys.argv[2]])' \
    "http://127.0.0.1:$(cat "$work/emulator/port")" "$1"
}

# Twice: with the access token in the URL's query string (the default), then in an Authorization header
# (ITOT_ACCESS_TOKEN_LOCATION, read by the module and the lookup alike).  Both runs' outputs are searched.
for location in query header; do
  in_query=$(counters token_in_query)
  in_header=$(counters token_in_header)
  set +e
  ITOT_ACCESS_TOKEN_LOCATION=$location ANSIBLE_LOG_PATH="$work/ansible.log" \
    ansible-playbook leak.yml -vvvv -e "@$work/secrets.yml" "$@" >>"$work/output.log" 2>&1
  rc=$?
  set -e
  if [ $rc -ne 0 ]; then
    tail -n 80 "$work/output.log"
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
  if [ "$(grep -cF "$expected" "$work/output.log")" -lt 2 ]; then
    echo "expected output not found in both runs: $expected"
    exit 1
  fi
done

found=0
for f in "$work/output.log" "$work/ansible.log" "$work/emulator/access.log" "$work/emulator/out"; do
  [ -e "$f" ] || { echo "missing: $f"; exit 1; }
  for s in "$token" "$secret"; do
    n=$(grep -cF "$s" "$f" || true)
    if [ "$n" -gt 0 ]; then
      echo "LEAK: $n line(s) of $(basename "$f") carry a secret"
      found=$((found + n))
    fi
  done
done
# Reverse-order and partial forms a scrubber might miss.
for f in "$work/output.log" "$work/ansible.log"; do
  n=$(grep -cE "LEAKCHECK-(token|secret)" "$f" || true)
  found=$((found + n))
done
echo "secret occurrences in outputs: $found"
[ "$found" -eq 0 ]
