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

echo "==> building and installing the collection"
bash hacking/install-collection.sh "$collections"

exec python hacking/bench.py --collections "$collections" "$@"
