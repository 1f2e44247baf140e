#!/usr/bin/env bash
# Builds the collection's tarball from this repository and installs it, as users get it, for make demo, make bench
# and make docsite:  hacking/install-collection.sh COLLECTIONS_DIR
# COLLECTIONS_DIR (emptied first) is what ANSIBLE_COLLECTIONS_PATH should point at; the tarball is left in
# COLLECTIONS_DIR.dist/.  Needs ansible-galaxy on PATH (the .venv's).
set -eu -o pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
collections=$1
dist="$collections.dist"
rm -rf "$collections" "$dist"
mkdir -p "$collections" "$dist"
(cd "$root" && ansible-galaxy collection build --force --output-path "$dist" >/dev/null)
ANSIBLE_COLLECTIONS_PATH="$collections" ansible-galaxy collection install --force -p "$collections" \
  "$dist"/opswat-itot-*.tar.gz >/dev/null
echo "installed $(basename "$dist"/opswat-itot-*.tar.gz) into $collections"
