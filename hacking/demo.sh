#!/usr/bin/env bash
# make demo: the audit playbook against the bundled API emulator, with two local archive hosts under ./demo/.
#
# 1. creates .venv (pinned tools), builds and installs the collection into .build/demo-collections
# 2. starts the emulator on 127.0.0.1 with a day of generated logs
# 3. runs `ansible-playbook opswat.itot.audit` for two hosts (two archive folders: demo/archive-1, demo/archive-2)
# 4. appends new entries to the emulator and runs the audit again: only the new entries are archived
# 5. prints where the archives and the reports are, and the report's summary; stops the emulator
set -eu -o pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
venv="$root/.venv"
demo="$root/demo"
collections="$root/.build/demo-collections"
token="demo-access-token"
emu_pid=""

cleanup() {
  if [ -n "$emu_pid" ] && kill -0 "$emu_pid" 2>/dev/null; then
    kill "$emu_pid" 2>/dev/null || true
    wait "$emu_pid" 2>/dev/null || true
    echo "==> emulator stopped"
  fi
}
trap cleanup EXIT

echo "==> .venv"
bash hacking/venv.sh
export PATH="$venv/bin:$PATH"

echo "==> building and installing the collection"
bash hacking/install-collection.sh "$collections"
export ANSIBLE_COLLECTIONS_PATH="$collections"

rm -rf "$demo"
mkdir -p "$demo"
echo "==> starting the API emulator (a day of logs; budget 30 requests/minute, the vendor's is 10)"
python tests/emulator/itot_emulator.py --port 0 --port-file "$demo/emulator.port" --log-file "$demo/emulator.log" \
  --entries 300 --span 86400 --rate-limit 30 --access-token "$token" >"$demo/emulator.out" 2>&1 &
emu_pid=$!
for _ in $(seq 100); do [ -s "$demo/emulator.port" ] && break; sleep 0.1; done
url="http://127.0.0.1:$(cat "$demo/emulator.port")"
echo "emulator: $url"

cat >"$demo/inventory.ini" <<EOF
[itot_archive_hosts]
archive-1 itot_log_archive_dir=$demo/archive-1
archive-2 itot_log_archive_dir=$demo/archive-2

[itot_archive_hosts:vars]
ansible_connection=local
ansible_python_interpreter=$venv/bin/python
itot_log_archive_owner=$(id -un)
itot_log_archive_group=$(id -gn)
EOF

audit() {
  ansible-playbook opswat.itot.audit -i "$demo/inventory.ini" \
    -e "itot_base_url=$url itot_access_token=$token itot_rate_limit=30 itot_log_archive_initial_lookback=-1d" \
    -e itot_audit_period=-1d
}

echo "==> first run: archives the last day on both hosts, then audits it"
audit

echo "==> the emulator records new events"
python - "$url" <<'EOF'
import json, sys, urllib.request
for category, count in (("admin", 6), ("device", 25), ("webhook", 10), ("device_report", 8)):
    body = json.dumps({"category": category, "count": count}).encode()
    request = urllib.request.Request(sys.argv[1] + "/_control/append", data=body, method="POST")
    with urllib.request.urlopen(request) as answer:
        print("  %-13s +%d new entries" % (category, len(json.load(answer)["appended"])))
EOF

echo "==> second run: only the new entries are archived (one new file per category and host)"
audit

echo
echo "==> what is on disk"
for host in archive-1 archive-2; do
  dir="$demo/$host"
  files=$(find "$dir" -name '*.jsonl.gz' | wc -l)
  lines=$(cat "$dir"/*/manifest.jsonl | wc -l)
  echo "$host: $dir ($files archive files, $lines manifest lines)"
done
report=$(find "$demo/archive-1/reports" -name 'audit-*.md' | sort | tail -n 1)
echo "latest report: $report (and ${report%.md}.json)"
echo
echo "==> report summary (archive-1)"
sed -n '1,/^## Events per category/p' "$report" | sed '$d'
