#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The VM test tier by hand, without meson: every scenario under tests/vm/scenarios/ (or the
# ones named), one after another, each through tests/vm/run-case.sh as its meson test runs it
# (boot groups included: a group boots once for all its scenarios in this run). CI runs the
# meson tests instead (suite vm, two boots at a time: tools/test.sh).
#
# Usage: tests/vm/run-all.sh [--build-dir DIR] [SCENARIO_NAME...]
#
# Prints one line per scenario with its wall time and checks, and a closing "N passed, M
# failed" over the checks. Results under DIR/vm/. Exit 0 only if every scenario passed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)

build_dir=$here/../../build
names=()
while (($#)); do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    --build-dir=*) build_dir=${1#*=}; shift ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) names+=("$(basename "$1")"); shift ;;
  esac
done
# Default: every scenario except 00-*, the harness's own smoke test (tests/vm/selftest.sh)
if ((${#names[@]} == 0)); then
  for d in "$here"/scenarios/*/; do
    [[ $(basename "$d") == 00-* ]] || names+=("$(basename "$d")")
  done
fi
build_dir=$(cd "$build_dir" && pwd)
export EKS_NODE_VM_RUN=${EKS_NODE_VM_RUN:-all-$(date +%s%N)-$$}

tier_start=$SECONDS
passed=0 failed=0 scenario_failures=0
for name in "${names[@]}"; do
  t=$SECONDS
  mkdir -p "$build_dir/vm"
  "$here/run-case.sh" --build-dir "$build_dir" "$name" >"$build_dir/vm/$name.log" 2>&1
  rc=$?
  tally=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$build_dir/vm/$name.log" | tail -n1)
  [[ $tally =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]] || tally="0 passed, 1 failed"
  [[ $tally =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]
  passed=$((passed + BASH_REMATCH[1])) failed=$((failed + BASH_REMATCH[2]))
  if ((rc == 0)); then
    echo "ok - $name in $((SECONDS - t)) s ($tally)"
  else
    scenario_failures=$((scenario_failures + 1))
    echo "not ok - $name in $((SECONDS - t)) s (exit $rc; $tally)"
    grep -E '^(not ok|vm:)' "$build_dir/vm/$name.log" | sed 's/^/    /' | head -40
  fi
done
echo "# VM tier: ${#names[@]} scenarios, $scenario_failures failed, $((SECONDS - tier_start)) s in all"
echo "$passed passed, $failed failed"
((scenario_failures == 0))
