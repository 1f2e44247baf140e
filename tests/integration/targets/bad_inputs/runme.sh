#!/usr/bin/env bash
# Bad inputs (issue 5): every case of cases.yml - the itot_logs_info module, the itot_logs lookup, the log_archive
# role's variables, the audit playbook's and the itot_archive module's paths - must fail with a message that names
# the option and shows the value, without a traceback, and without a single request reaching the emulator (its
# counters are read after each case).  Prints one line per case and the totals; any bad case fails the target.
set -eu -o pipefail

here=$(pwd)
# shellcheck source=../setup_itot_emulator/files/itot_test_lib.sh
source ../setup_itot_emulator/files/itot_test_lib.sh
started=$(date +%s)
# Credentials or settings from the environment would change what "no credentials" means.
unset ITOT_BASE_URL ITOT_ACCESS_TOKEN ITOT_CLIENT_ID ITOT_CLIENT_SECRET ITOT_VALIDATE_CERTS ITOT_CA_PATH ITOT_RATE_LIMIT

itot_emulator_start --rate-limit 0 --entries 40 --span 7200

echo "=== module, lookup, role and archive cases (one play)"
if ! itot_play bad_inputs.yml -i localhost, -c local -e "ansible_python_interpreter=$ITOT_PY" \
  -e "bad_cases_file=$here/cases.yml"; then
  tail -n 80 "$ITOT_LAST_PLAY"
  echo "FAILED: bad_inputs.yml did not run to its end"
  exit 1
fi

echo "=== audit cases (one run each)"
: >"$ITOT_WORK/audit.jsonl"
while IFS=$'\t' read -r case_id case_vars; do
  before=$(itot_ctl GET /_control/counters)
  printf '%s\n' "$case_vars" >"$ITOT_WORK/audit-case.json"
  rc=0
  itot_play audit_case.yml -i localhost, -c local -e "ansible_python_interpreter=$ITOT_PY" \
    -e "@$ITOT_WORK/audit-case.json" || rc=$?
  after=$(itot_ctl GET /_control/counters)
  "$ITOT_PY" check_cases.py audit-record cases.yml "$case_id" "$rc" "$ITOT_LAST_PLAY" "$before" "$after" \
    >>"$ITOT_WORK/audit.jsonl"
done < <("$ITOT_PY" check_cases.py audit-cases cases.yml)

echo "=== results"
rc=0
"$ITOT_PY" check_cases.py check cases.yml "$ITOT_WORK/results.json" "$ITOT_WORK/audit.jsonl" || rc=$?
echo "bad_inputs: $(($(date +%s) - started)) s"
itot_sweep
exit $rc
