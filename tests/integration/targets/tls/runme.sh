#!/usr/bin/env bash
# TLS (issue 5): the emulator serves HTTPS with a trustme CA.  The module and the lookup must fail with a clear
# certificate error with the default validate_certs and no ca_path, return the truth with ca_path, and with
# validate_certs false return the truth with exactly one warning.  ca_path and validate_certs must win over the
# environment's REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE (requests lets those replace verify=True).
set -eu -o pipefail

# shellcheck source=../setup_itot_emulator/files/itot_test_lib.sh
source ../setup_itot_emulator/files/itot_test_lib.sh
started=$(date +%s)
unset ITOT_BASE_URL ITOT_ACCESS_TOKEN ITOT_CLIENT_ID ITOT_CLIENT_SECRET ITOT_VALIDATE_CERTS ITOT_CA_PATH ITOT_RATE_LIMIT

fail() {
  tail -n 60 "$ITOT_LAST_PLAY"
  echo "FAILED: $*"
  exit 1
}

certs="$ITOT_WORK/certs"
mkdir -p "$certs"
"$ITOT_PY" gen_certs.py "$certs"
# A CA bundle without the test CA (what verify=True means when the environment names no bundle).
system_bundle=$("$ITOT_PY" -c 'import certifi; print(certifi.where())')

itot_emulator_start --tls-cert "$certs/server.pem" --tls-key "$certs/server.key" --rate-limit 0 --entries 60 --span 7200
case $ITOT_URL in https://*) ;; *) echo "FAILED: the emulator does not serve HTTPS: $ITOT_URL"; exit 1 ;; esac

echo "=== module: default fails, ca_path and validate_certs false give the truth (one warning)"
itot_play module.yml -i localhost, -c local -e "ansible_python_interpreter=$ITOT_PY" \
  -e "tls_system_bundle=$system_bundle" || fail "module.yml"

echo "=== lookup, environment bundle without the test CA"
REQUESTS_CA_BUNDLE=$system_bundle CURL_CA_BUNDLE=$system_bundle \
  itot_play lookup.yml -i localhost, -c local -e tls_env=system || fail "lookup.yml (tls_env=system)"
warnings=$(grep -c "validate_certs is false" "$ITOT_LAST_PLAY" || true)
[ "$warnings" = 1 ] || fail "the lookup with validate_certs false warned $warnings times, not once"
if grep -q "InsecureRequestWarning" "$ITOT_LAST_PLAY"; then fail "urllib3's InsecureRequestWarning reached the output"; fi

echo "=== lookup, environment bundle = the test CA"
REQUESTS_CA_BUNDLE="$certs/ca.pem" CURL_CA_BUNDLE="$certs/ca.pem" \
  itot_play lookup.yml -i localhost, -c local -e tls_env=test_ca || fail "lookup.yml (tls_env=test_ca)"

echo "tls: all scenarios passed in $(($(date +%s) - started)) s"
itot_sweep
