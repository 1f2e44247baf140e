#!/usr/bin/env bash
# Creates (or reuses) a virtual environment with pinned requirements; reinstalls when a requirements or constraints
# file changed since the last install.
#
#   hacking/venv.sh                          .venv, python3, tests/requirements-tools.txt (make test, demo, bench)
#   hacking/venv.sh DIR PYTHON REQUIREMENTS  another one (make test's ansible-core version matrix)
set -eu -o pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
venv="${1:-$root/.venv}"
python="${2:-python3}"
requirements="${3:-tests/requirements-tools.txt}"
stamp="$venv/.requirements.sha256"
want=$(cat requirements.txt "$requirements" tests/constraints-tools.txt | sha256sum | cut -d' ' -f1)
if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  echo "reusing $venv"
  exit 0
fi
echo "creating $venv (pinned: $requirements)"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
echo "$want" >"$stamp"
