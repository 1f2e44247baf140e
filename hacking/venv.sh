#!/usr/bin/env bash
# Creates (or reuses) .venv with the pinned tools of tests/requirements-tools.txt; used by make test and make demo.
# Reinstalls when a requirements or constraints file changed since the last install.
set -eu -o pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
venv="$root/.venv"
stamp="$venv/.requirements.sha256"
want=$(cat requirements.txt tests/requirements-tools.txt tests/constraints-tools.txt | sha256sum | cut -d' ' -f1)
if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  echo "reusing $venv"
  exit 0
fi
echo "creating $venv (pinned tools: tests/requirements-tools.txt)"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r tests/requirements-tools.txt
echo "$want" >"$stamp"
