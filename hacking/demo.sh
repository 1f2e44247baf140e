#!/usr/bin/env bash
# make demo: the audit playbook against two bundled API emulators (two tenants), with four local archive hosts
# under ./demo/.
#
# 1. creates .venv (pinned tools), builds and installs the collection into .build/demo-collections
# 2. starts two emulators on 127.0.0.1 with a day of generated logs each: tenant plant-north (an access token) and
#    tenant plant-south (OAuth client credentials)
# 3. writes demo/inventory.yml: site hosts per group (plant_north: north-1, north-2; plant_south: south-1) with their
#    tenant's connection as group variables, and a central host that archives both tenants (itot_log_archive_tenants)
# 4. runs `ansible-playbook opswat.itot.audit`: each tenant is read once per slice, every host of it archives it
# 5. appends new entries to both emulators and runs the audit again: only the new entries are archived
# 6. prints, per host, where the archives and the reports are, and the latest report's totals; stops the emulators
set -eu -o pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
venv="$root/.venv"
demo="$root/demo"
collections="$root/.build/demo-collections"
north_token="demo-north-access-token"
south_id="demo-south-client"
south_secret="demo-south-secret"
hosts=(north-1 north-2 south-1 central)
emu_pids=()

cleanup() {
  local pid
  for pid in "${emu_pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  [ "${#emu_pids[@]}" -eq 0 ] || echo "==> emulators stopped"
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

# start_emulator NAME SEED ARGS...: a day of logs, a budget of 30 requests a minute (the vendor's is 10)
start_emulator() {
  local name=$1 seed=$2
  shift 2
  python tests/emulator/itot_emulator.py --port 0 --port-file "$demo/$name.port" --log-file "$demo/$name.log" \
    --entries 300 --span 86400 --rate-limit 30 --seed "$seed" "$@" >"$demo/$name.out" 2>&1 &
  emu_pids+=("$!")
}

echo "==> starting two API emulators (two tenants, a day of logs each; budget 30 requests/minute, the vendor's is 10)"
start_emulator plant-north 1 --access-token "$north_token"
start_emulator plant-south 2 --client-id "$south_id" --client-secret "$south_secret"
for name in plant-north plant-south; do
  for _ in $(seq 100); do [ -s "$demo/$name.port" ] && break; sleep 0.1; done
  [ -s "$demo/$name.port" ] || { echo "the emulator $name did not start; see $demo/$name.out" >&2; exit 1; }
done
north_url="http://127.0.0.1:$(cat "$demo/plant-north.port")"
south_url="http://127.0.0.1:$(cat "$demo/plant-south.port")"
echo "plant-north: $north_url (access token)"
echo "plant-south: $south_url (client credentials)"

cat >"$demo/inventory.yml" <<EOF
# make demo: site hosts per tenant group, and a central host that archives both tenants.
all:
  children:
    itot_archive_hosts:
      vars:
        ansible_connection: local
        ansible_python_interpreter: $venv/bin/python
        itot_log_archive_owner: $(id -un)
        itot_log_archive_group: $(id -gn)
        itot_log_archive_initial_lookback: -1d
        itot_rate_limit: 30
        itot_audit_period: -1d
      children:
        plant_north:
          vars:
            itot_tenant: plant-north
            itot_base_url: $north_url
            itot_access_token: $north_token
          hosts:
            north-1:
              itot_log_archive_dir: $demo/north-1
            north-2:
              itot_log_archive_dir: $demo/north-2
        plant_south:
          vars:
            itot_tenant: plant-south
            itot_base_url: $south_url
            itot_client_id: $south_id
            itot_client_secret: $south_secret
          hosts:
            south-1:
              itot_log_archive_dir: $demo/south-1
        central_log_host:
          hosts:
            central:
              itot_log_archive_dir: $demo/central
              itot_log_archive_tenants:
                - name: plant-north
                  base_url: $north_url
                  access_token: $north_token
                - name: plant-south
                  base_url: $south_url
                  client_id: $south_id
                  client_secret: $south_secret
EOF
chmod 0600 "$demo/inventory.yml"

audit() {
  ansible-playbook opswat.itot.audit -i "$demo/inventory.yml"
}

echo "==> first run: archives the last day of each tenant on its site hosts and on the central host, then audits it"
audit

echo "==> both emulators record new events"
python - "$north_url" "$south_url" <<'EOF'
import json, sys, urllib.request
for name, url in zip(("plant-north", "plant-south"), sys.argv[1:]):
    for category, count in (("admin", 6), ("device", 25), ("webhook", 10), ("device_report", 8)):
        body = json.dumps({"category": category, "count": count}).encode()
        request = urllib.request.Request(url + "/_control/append", data=body, method="POST")
        with urllib.request.urlopen(request) as answer:
            print("  %-11s %-13s +%d new entries" % (name, category, len(json.load(answer)["appended"])))
EOF

echo "==> second run: only the new entries are archived (one new file per tenant, category and host)"
audit

echo
echo "==> what is on disk"
for host in "${hosts[@]}"; do
  dir="$demo/$host"
  echo "$host: $dir"
  for tenant in plant-north plant-south; do
    [ -d "$dir/$tenant" ] || continue
    files=$(find "$dir/$tenant" -name '*.jsonl.gz' | wc -l)
    lines=$(cat "$dir/$tenant"/*/manifest.jsonl | wc -l)
    echo "  archive of $tenant: $dir/$tenant/ ($files archive files, $lines manifest lines)"
  done
  report=$(find "$dir/reports" -name 'audit-*.html' 2>/dev/null | sort | tail -n 1)
  if [ -n "$report" ]; then
    echo "  latest report: $report (and ${report%.html}.json, ${report%.html}.md)"
  else
    echo "  no report found under $dir/reports"
  fi
done
echo "controller's record of the chain heads: $demo/itot-heads.json"

echo
echo "==> totals of each host's latest report"
for host in "${hosts[@]}"; do
  report=$(find "$demo/$host/reports" -name 'audit-*.json' 2>/dev/null | sort | tail -n 1)
  [ -n "$report" ] || continue
  python - "$host" "$report" <<'EOF'
import json, sys
host, path = sys.argv[1:]
with open(path, encoding="utf-8") as handle:
    report = json.load(handle)

def line(label, part):
    summary = part.get("summary", {})
    figures = ", ".join("%s %s" % (key, summary[key]) for key in
                        ("failed_auth", "noncompliant_devices", "deleted_user", "webhook_errors") if key in summary)
    print("  %-22s %s entries; %s" % (label, part.get("entries_total", "?"), figures))

print(host)
tenants = report.get("tenants")
line("total" if isinstance(tenants, dict) and tenants else "archive", report)
for name, part in (tenants or {}).items():
    line("tenant " + name, part)
EOF
done
