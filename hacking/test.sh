#!/usr/bin/env bash
# make test: every check CI runs, on a fresh machine or a warm one.
#
#   hacking/test.sh [STEP ...]      steps: ruff emulator sanity units mutate integration matrix eda molecule lint
#                                          docs docsite changelog build installed
#                                   (none given: all of them, in that order)
#   ITOT_MATRIX_TARGETS="a b"       matrix: only these targets (default: itot_logs_info log_archive log_archive_tenants)
#
#   ITOT_TARGETS="a b"              integration: only these targets (default: all)
#   ITOT_BUILD=DIR                  where the collection layout, logs and ansible-test's output go (default: .build)
#   CI=true                         nothing may be skipped: a missing Python, tool, root or mount fails the step
#
# Each step's output goes to .build/logs/STEP.log; a failing step's tail is printed.  One summary line
# per step, then "steps: N passed, N failed".  Exit status is non-zero when any step failed.  What a step could
# not do (lines "SKIPPED ..." in its log, from skip below, a target or pytest -rs, and ansible-test's warnings
# about a Python or program it could not find) is named on its summary line; under CI=true such a step fails.
set -u -o pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
build="${ITOT_BUILD:-$root/.build}"
coll="$build/ansible_collections/opswat/itot"
logs="$build/logs"
venv="$root/.venv"
mkdir -p "$logs" "$build/bin"
ci=false
[ "${CI:-}" = true ] && ci=true

all_steps=(ruff emulator sanity units mutate integration matrix eda molecule lint docs docsite changelog build installed)
steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=("${all_steps[@]}")

summary=()
passed=0
failed=0

note() { printf '%s\n' "$*"; }

# skip REASON: inside a step, says what the step cannot do on this machine.  Outside CI the step goes on and its
# summary line names the skip; under CI=true the step fails (return status 1: use "skip ... || return 1").
skip() {
  if [ "$ci" = true ]; then
    echo "FAILED: $* (CI=true: nothing is skipped)"
    return 1
  fi
  echo "SKIPPED: $*"
}

# run_step NAME DESCRIPTION COMMAND...: runs COMMAND with its output in the step's log.
run_step() {
  local name=$1 what=$2
  shift 2
  local start rc
  start=$(date +%s)
  note "==> $name: $what"
  "$@" >"$logs/$name.log" 2>&1
  rc=$?
  record_step "$name" "$what" "$rc" "$start"
}

# start_step NAME DESCRIPTION COMMAND...: runs COMMAND in the background, its output in the step's log;
# finish_step NAME waits for it and records it like run_step.
declare -A step_pid step_start step_what
start_step() {
  local name=$1 what=$2
  shift 2
  note "==> $name: $what (in the background)"
  step_start[$name]=$(date +%s)
  step_what[$name]=$what
  "$@" >"$logs/$name.log" 2>&1 &
  step_pid[$name]=$!
}
finish_step() {
  local name=$1 rc=0
  wait "${step_pid[$name]}" || rc=$?
  unset "step_pid[$name]"
  record_step "$name" "${step_what[$name]}" "$rc" "${step_start[$name]}"
}

# record_step NAME DESCRIPTION RC START: the summary line of a finished step (and its log's tail when it failed).
record_step() {
  local name=$1 what=$2 rc=$3 start=$4 end
  end=$(date +%s)
  local skipped
  # ansible-test's own skips for want of a Python or a program count too (not those of versions it does not support).
  skipped=$(grep -E '^(SKIPPED|WARNING: Skipping .*(could not be found|due to missing)|WARNING: Required program .* not found)' \
    "$logs/$name.log" | sed -E 's/^SKIPPED:? //' | sort -u | paste -sd ';' - | sed 's/;/; /g')
  if [ -n "$skipped" ] && [ "$ci" = true ] && [ "$rc" -eq 0 ]; then
    echo "FAILED: CI=true, and this step skipped: $skipped" >>"$logs/$name.log"
    rc=1
  fi
  [ -z "$skipped" ] || what="$what (skipped: $skipped)"
  if [ "$rc" -eq 0 ]; then
    summary+=("$(printf 'PASS  %-11s %4ss  %s' "$name" $((end - start)) "$what")")
    passed=$((passed + 1))
  else
    summary+=("$(printf 'FAIL  %-11s %4ss  %s (exit %s, log: %s)' "$name" $((end - start)) "$what" "$rc" "${logs#"$root"/}/$name.log")")
    failed=$((failed + 1))
    note "---- last lines of $name.log ----"
    tail -n 60 "$logs/$name.log"
    note "----"
  fi
  return "$rc"
}

# --- set-up: the virtual environment with the pinned tools ------------------------------------------------
setup_venv() {
  bash hacking/venv.sh || return 1
  # ansible-test's shellcheck sanity test is skipped without shellcheck; Debian has it.
  if ! command -v shellcheck >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    { apt-get install -y -qq shellcheck || { apt-get update -qq && apt-get install -y -qq shellcheck; }; } >/dev/null 2>&1 ||
      echo "note: could not install shellcheck; the sanity step says so (and fails under CI=true)"
  fi
  # ansible-test downloads pip's bootstrap script from a host these machines cannot reach: seed its cache.
  "$venv/bin/python" hacking/seed_ansible_test_pip.py
}

# --- set-up: target Pythons 3.9-3.13 that this machine has, as pythonX.Y on PATH ----------------------------
setup_pythons() {
  local v exe found=()
  rm -f "$build/bin"/python3.*
  for v in 3.9 3.10 3.11 3.12 3.13; do
    exe=""
    if command -v pyenv >/dev/null 2>&1; then
      exe=$(find "$(pyenv root)/versions" -maxdepth 3 -path "*/versions/$v.*/bin/python$v" 2>/dev/null | sort -V | tail -n 1)
    fi
    if [ -z "$exe" ] && command -v "python$v" >/dev/null 2>&1 && "python$v" -c pass 2>/dev/null; then
      exe=$(command -v "python$v")
    fi
    if [ -n "$exe" ]; then
      ln -s "$exe" "$build/bin/python$v"
      found+=("$v")
    else
      echo "note: Python $v not found on this machine; the sanity step says so (and fails under CI=true)"
    fi
  done
  echo "${found[*]}" >"$build/pythons"
  echo "target Pythons: ${found[*]}"
}

# --- set-up: the ansible_collections/opswat/itot layout ansible-test needs -----------------------------------
# A copy of the files git tracks (plus new, not ignored ones), with a git index of its own so that
# ansible-test sees exactly these files.  tests/output is kept: ansible-test's virtual environments live there.
setup_layout() {
  local dest=${1:-$coll}
  mkdir -p "$dest/tests"
  find "$dest" -mindepth 1 -maxdepth 1 ! -name .git ! -name tests -exec rm -rf {} + &&
    find "$dest/tests" -mindepth 1 -maxdepth 1 ! -name output -exec rm -rf {} + &&
    git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
      [ -e "$f" ] && printf '%s\0' "$f"
    done | tar --null -T - -cf - | tar -xf - -C "$dest" || return 1
  (
    cd "$dest" &&
      { [ -d .git ] || git init -q; } &&
      git add -A . &&
      git -c user.name=test -c user.email=test@localhost commit -q --allow-empty -m "make test snapshot" >/dev/null
  ) || return 1
  # Integration targets find the emulator and the Python to run it with here (ansible-test scrubs the environment).
  cat >"$dest/tests/integration/integration_config.yml" <<EOF
---
itot_emulator_script: $dest/tests/emulator/itot_emulator.py
itot_ci: $ci
EOF
  echo "collection layout: $dest"
}

# --- the steps ---------------------------------------------------------------------------------------------
at() { (cd "$coll" && PATH="$build/bin:$venv/bin:$PATH" "$@"); }

# ruff (pinned, ruff.toml): style, pyupgrade, bugbear and complexity (max 10) over every Python file of the repo.
# pycodestyle's continuation-line rules (E1), which ruff does not have and ansible-test's pep8 test applies, run beside it.
step_ruff() {
  PATH="$venv/bin:$PATH" ruff check --no-cache --output-format concise "$root" &&
    git ls-files -z -- '*.py' | xargs -0 "$venv/bin/python" -m pycodestyle --max-line-length 160 --select E1
}
step_emulator() { at python -m pytest -q -rs -p no:cacheprovider tests/emulator; }
# Target Pythons this machine lacks (setup_pythons) and a missing shellcheck would make ansible-test skip checks.
step_sanity() {
  local v
  for v in 3.9 3.10 3.11 3.12 3.13; do
    [ -x "$build/bin/python$v" ] || skip "Python $v not found: its sanity checks do not run" || return 1
  done
  command -v shellcheck >/dev/null 2>&1 || skip "shellcheck not installed: ansible-test's shellcheck test does not run" ||
    return 1
  at ansible-test sanity --venv --color no
}
step_mutate() { PATH="$venv/bin:$PATH" python hacking/mutate.py; }
step_units() { at ansible-test units --venv --requirements --color no; }
# In a full run the targets go in two lists side by side, each in a collection layout of its own (ansible-test keeps
# its state below the layout): the module's and the role's targets (those the version matrix runs on 2.16 and 2.21,
# so the three lists take about as long), and the side list - the fault matrix (which mostly waits: backoffs, slow
# answers, rate windows) and every other target. The side list's output follows the other's in the step's log.
side_targets=(archive_attacks archive_disk archive_heads archive_kill bad_inputs client_bounds fault_matrix itot_secret_leak
  lookup_itot_logs tls)
step_integration() {
  local rc=0 side_pid="" side="$build/faults/ansible_collections/opswat/itot" targets=() t
  read -r -a targets <<<"${ITOT_TARGETS:-}"
  if [ ${#targets[@]} -eq 0 ]; then
    { setup_layout "$side" &&
      (cd "$side" && PATH="$build/bin:$venv/bin:$PATH" ansible-test integration --venv --requirements --color no \
        --python 3.11 "${side_targets[@]}"); } >"$logs/integration-side.log" 2>&1 &
    side_pid=$!
    for t in "${side_targets[@]}"; do targets+=(--exclude "$t"); done
  fi
  at ansible-test integration --venv --requirements --color no --python 3.11 "${targets[@]}" || rc=1
  if [ -n "$side_pid" ]; then
    wait "$side_pid" || rc=1
    echo "=== ${side_targets[*]}, run side by side (also in ${logs#"$root"/}/integration-side.log)"
    cat "$logs/integration-side.log"
  fi
  return "$rc"
}

# The version matrix: the module's and the role's targets on the oldest supported ansible-core (2.16, with the
# machine's Python 3.11) and on the newest (2.21, which needs Python 3.12 or 3.13), each in a virtual environment
# and a collection layout of its own (pins: tests/requirements-core-X.Y.txt).
matrix_targets="${ITOT_MATRIX_TARGETS:-itot_logs_info log_archive log_archive_tenants}"
matrix_leg() {
  local core=$1 py=$2
  local leg="$build/core-$core"
  local legvenv="$leg/venv" legcoll="$leg/ansible_collections/opswat/itot"
  bash hacking/venv.sh "$legvenv" "$build/bin/$py" "tests/requirements-core-$core.txt" &&
    "$legvenv/bin/python" hacking/seed_ansible_test_pip.py && setup_layout "$legcoll" || return 1
  echo "=== $("$legvenv/bin/ansible" --version | head -n 1) on $("$build/bin/$py" --version)"
  # shellcheck disable=SC2086  # matrix_targets is a list of target names
  (cd "$legcoll" &&
    PATH="$legvenv/bin:$build/bin:$PATH" ansible-test integration --venv --requirements --color no \
      --python "${py#python}" $matrix_targets)
}
# The two legs run side by side (each in its own venv and layout); their outputs follow each other in the log.
step_matrix() {
  local rc=0 newest="" v old_pid
  matrix_leg 2.16 python3.11 >"$logs/matrix-2.16.log" 2>&1 &
  old_pid=$!
  for v in 3.13 3.12; do
    if [ -x "$build/bin/python$v" ]; then newest=python$v; break; fi
  done
  if [ -n "$newest" ]; then
    matrix_leg 2.21 "$newest" >"$logs/matrix-2.21.log" 2>&1 || rc=1
  else
    skip "neither Python 3.13 nor 3.12 on this machine: no ansible-core 2.21 leg" || rc=1
  fi
  wait "$old_pid" || rc=1
  cat "$logs/matrix-2.16.log"
  [ -z "$newest" ] || cat "$logs/matrix-2.21.log"
  return "$rc"
}
# Event-Driven Ansible: ansible-rulebook (pinned in tests/requirements-eda.txt, in a virtual environment of its own)
# needs Java 17; Debian's openjdk-17-jre-headless is installed when no java is found.  tests/eda runs the bundled
# rulebooks and the source against the emulator (tests/eda/test_eda.py says what it proves).
setup_eda() {
  if ! command -v java >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      { apt-get install -y -qq openjdk-17-jre-headless || { apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless; }; } ||
        return 1
    else
      echo "FAILED: no java on PATH, and this user cannot apt-get install openjdk-17-jre-headless"
      return 1
    fi
  fi
  bash hacking/venv.sh "$build/eda-venv" python3 tests/requirements-eda.txt && "$build/eda-venv/bin/ansible-rulebook" --version
}
step_eda() {
  setup_eda || return 1
  (cd "$coll" && PATH="$build/eda-venv/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$build" \
    python -m pytest -q -rs -p no:cacheprovider --durations 5 tests/eda)
}
# The role's rate ledgers in this run's own folder, not the user's ~/.cache/opswat.itot.
step_molecule() { XDG_CACHE_HOME="$build/xdg-cache" at molecule test; }
step_lint() { ANSIBLE_COLLECTIONS_PATH="$build" at ansible-lint --profile production --offline; }
step_docs() { at antsibull-docs lint-collection-docs --plugin-docs .; }
step_docsite() { bash hacking/docsite.sh; }
step_changelog() { at antsibull-changelog lint; }
step_build() {
  local dist="$build/dist"
  rm -rf "$dist" && mkdir -p "$dist" &&
    at ansible-galaxy collection build --force --output-path "$dist" &&
    (cd "$dist" && GALAXY_IMPORTER_CONFIG="$root/hacking/galaxy-importer.cfg" PATH="$venv/bin:$PATH" \
      python -m galaxy_importer.main "$(ls "$dist"/opswat-itot-*.tar.gz)")
}

# The built tarball as users install it (builds it when the build step did not run).
step_installed() {
  local tarballs=("$build"/dist/opswat-itot-*.tar.gz)
  if [ ! -e "${tarballs[0]}" ]; then
    mkdir -p "$build/dist" && at ansible-galaxy collection build --force --output-path "$build/dist" || return 1
    tarballs=("$build"/dist/opswat-itot-*.tar.gz)
  fi
  PATH="$venv/bin:$PATH" bash tests/installed/run.sh "${tarballs[0]}"
}

# --- run ---------------------------------------------------------------------------------------------------
run_step setup "virtual environment with pinned tools" setup_venv || { printf '%s\n' "${summary[@]}"; echo "steps: $passed passed, $failed failed"; exit 1; }
setup_pythons >"$logs/pythons.log" 2>&1
cat "$logs/pythons.log"
run_step layout "ansible_collections/opswat/itot layout" setup_layout || { printf '%s\n' "${summary[@]}"; echo "steps: $passed passed, $failed failed"; exit 1; }

# The version matrix needs no result of the other steps and runs in layouts of its own: when both are asked for,
# it starts beside the integration step (its two legs and the fault matrix mostly wait on answers and timers).
matrix_beside=false
seen_integration=false
for s in "${steps[@]}"; do
  [ "$s" != integration ] || seen_integration=true
  [ "$s" != matrix ] || [ "$seen_integration" = false ] || matrix_beside=true
done
matrix_what="integration of the module and the role on ansible-core 2.16 and 2.21"

for s in "${steps[@]}"; do
  case $s in
    ruff) run_step ruff "ruff check (ruff.toml: pycodestyle, pyflakes, isort, pyupgrade, bugbear, complexity <= 10) and pycodestyle E1" step_ruff ;;
    emulator) run_step emulator "emulator's own tests (pytest)" step_emulator ;;
    sanity) run_step sanity "ansible-test sanity (Python $(cat "$build/pythons"))" step_sanity ;;
    units) run_step units "ansible-test units" step_units ;;
    mutate) run_step mutate "hand mutations of the walk, merge, overlap edges and chain are caught" step_mutate ;;
    integration)
      [ "$matrix_beside" = false ] || start_step matrix "$matrix_what" step_matrix
      run_step integration "ansible-test integration (against the emulator)" step_integration
      ;;
    matrix)
      if [ -n "${step_pid[matrix]:-}" ]; then finish_step matrix; else run_step matrix "$matrix_what" step_matrix; fi
      ;;
    eda) run_step eda "ansible-rulebook with the bundled rulebooks, and the event source in every emulator mode" step_eda ;;
    molecule) run_step molecule "molecule test (extensions/molecule/default: the log_archive role)" step_molecule ;;
    lint) run_step lint "ansible-lint --profile production" step_lint ;;
    docs) run_step docs "antsibull-docs lint-collection-docs --plugin-docs" step_docs ;;
    docsite) run_step docsite "the documentation site (antsibull-docs + Sphinx, warnings are errors)" step_docsite ;;
    changelog) run_step changelog "antsibull-changelog lint" step_changelog ;;
    build) run_step build "ansible-galaxy collection build + galaxy-importer" step_build ;;
    installed) run_step installed "the built tarball installed: opswat.itot.audit, module_defaults" step_installed ;;
    *) note "unknown step: $s"; failed=$((failed + 1)) ;;
  esac
done

echo
echo "make test summary:"
printf '%s\n' "${summary[@]}"
echo "steps: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
