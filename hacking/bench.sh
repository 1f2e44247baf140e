#!/usr/bin/env bash
# make bench: builds and installs the collection, then runs hacking/bench.py (the scenarios of the README's
# "Performance" section) against the bundled emulator.  Arguments are passed on: make bench BENCH_ARGS="--only 4,5".
set -eu -o pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
venv="$root/.venv"
collections="$root/.build/bench-collections"

bash hacking/venv.sh
export PATH="$venv/bin:$PATH"

echo "==> building and installing the collection into $collections"
rm -rf "$root/.build/bench-dist" "$collections"
mkdir -p "$root/.build/bench-dist"
ansible-galaxy collection build --force --output-path "$root/.build/bench-dist" >/dev/null
ANSIBLE_COLLECTIONS_PATH="$collections" ansible-galaxy collection install --force -p "$collections" "$root"/.build/bench-dist/opswat-itot-*.tar.gz >/dev/null

exec python hacking/bench.py --collections "$collections" "$@"
