#!/usr/bin/env bash
# make demo-eda: a rule firing against the bundled API emulator.
#
# 1. creates .build/eda-venv (ansible-rulebook, pinned in tests/requirements-eda.txt; needs Java 17: on Debian
#    apt-get install openjdk-17-jre-headless), builds and installs the collection into .build/demo-eda-collections
# 2. starts the emulator on 127.0.0.1 (a budget of 10 requests per 2 s; the source and the playbooks pace to it)
# 3. runs ansible-rulebook with extensions/eda/rulebooks/failed_admin_logins.yml (the connection from ITOT_*)
# 4. appends four failed logins of ann@example.com: nothing fires; then a fifth: the rule fires once and the playbook
#    opswat.itot.eda_failed_logins records it in demo-eda/actions.jsonl
# 5. prints the record and the rulebook's lines about the firing; stops ansible-rulebook and the emulator
set -eu -o pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
demo="$root/demo-eda"
venv="$root/.build/eda-venv"
collections="$root/.build/demo-eda-collections"
token="demo-eda-access-token"
pids=()

cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true  # TERM: a background job of a script ignores INT
      wait "$pid" 2>/dev/null || true
    fi
  done
}
trap cleanup EXIT

command -v java >/dev/null 2>&1 || { echo "ansible-rulebook needs Java 17: apt-get install openjdk-17-jre-headless" >&2; exit 1; }
echo "==> .build/eda-venv (ansible-rulebook)"
mkdir -p "$root/.build"
bash hacking/venv.sh "$venv" python3 tests/requirements-eda.txt
export PATH="$venv/bin:$PATH"

echo "==> building and installing the collection"
bash hacking/install-collection.sh "$collections"
export ANSIBLE_COLLECTIONS_PATH="$collections"

rm -rf "$demo"
mkdir -p "$demo/state" "$demo/tmp"
python tests/emulator/itot_emulator.py --port 0 --port-file "$demo/emulator.port" --log-file "$demo/emulator.log" \
  --entries 100 --span 3600 --rate-limit 10 --rate-window 2 --access-token "$token" >"$demo/emulator.out" 2>&1 &
pids+=("$!")
for _ in $(seq 100); do [ -s "$demo/emulator.port" ] && break; sleep 0.1; done
[ -s "$demo/emulator.port" ] || { echo "the emulator did not start; see $demo/emulator.out" >&2; exit 1; }
url="http://127.0.0.1:$(cat "$demo/emulator.port")"
echo "==> emulator: $url (10 requests per 2 s)"

cat >"$demo/inventory.yml" <<EOF
all:
  hosts:
    localhost:
      ansible_connection: local
      ansible_python_interpreter: $venv/bin/python
EOF
printf 'itot_eda_state_dir: %s\n' "$demo/state" >"$demo/vars.yml"

# The connection in the environment only (never in the rulebook); the pacing ledger and temp files in demo-eda/.
export ITOT_BASE_URL="$url" ITOT_ACCESS_TOKEN="$token" ITOT_RATE_LIMIT=10 ITOT_RATE_WINDOW=2
export ITOT_EDA_ACTIONS_FILE="$demo/actions.jsonl" XDG_CACHE_HOME="$demo/cache" TMPDIR="$demo/tmp" ANSIBLE_NOCOLOR=1

echo "==> ansible-rulebook --rulebook extensions/eda/rulebooks/failed_admin_logins.yml (output in demo-eda/rulebook.log)"
ansible-rulebook --rulebook extensions/eda/rulebooks/failed_admin_logins.yml -i "$demo/inventory.yml" \
  --vars "$demo/vars.yml" -v >"$demo/rulebook.log" 2>&1 &
pids+=("$!")
for _ in $(seq 300); do [ -s "$demo/state/failed_admin_logins.json" ] && break; sleep 0.1; done
[ -s "$demo/state/failed_admin_logins.json" ] || { tail -n 30 "$demo/rulebook.log"; echo "the source did not start" >&2; exit 1; }

failed_logins() {  # failed_logins N: N failed logins of ann@example.com, now
  python - "$url" "$1" <<'EOF'
import json, sys, time, urllib.request
url, count = sys.argv[1], int(sys.argv[2])
now = int(time.time() * 1000)
entries = [{"timestamp": now + i, "event": "failed_auth", "details": "SSO login failed", "admin_name": "Ann",
            "admin_email": "ann@example.com"} for i in range(count)]
request = urllib.request.Request(url + "/_control/append", data=json.dumps({"category": "admin", "entries": entries}).encode(),
                                 method="POST", headers={"Content-Type": "application/json"})
with urllib.request.urlopen(request) as answer:
    print("  the emulator records %d failed login(s) of ann@example.com" % len(json.load(answer)["appended"]))
EOF
}

fired() { [ -f "$demo/actions.jsonl" ] && wc -l <"$demo/actions.jsonl" || echo 0; }

failed_logins 4
sleep 5
echo "  after 5 s: the rule fired $(fired) time(s) (4 is below the threshold of 5)"
failed_logins 1
for _ in $(seq 120); do [ "$(fired)" -ge 1 ] && break; sleep 0.5; done
sleep 2
echo "  the rule fired $(fired) time(s); the playbook's record:"
sed 's/^/    /' "$demo/actions.jsonl" 2>/dev/null || { tail -n 40 "$demo/rulebook.log"; exit 1; }
echo
echo "==> from the rulebook's output"
grep -E "Five failed logins|eda_failed_logins|failed to log in" "$demo/rulebook.log" | head -n 8 | sed 's/^/    /'
[ "$(fired)" -eq 1 ]
echo
echo "==> stopping ansible-rulebook and the emulator (state in demo-eda/state: a restart goes on where it stopped)"
