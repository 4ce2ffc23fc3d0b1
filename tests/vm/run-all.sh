#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The VM test tier: every scenario under tests/vm/scenarios/, one VM at a time
# (TCG guests are CPU-bound; two at once only slow each other down).
#
# Usage: tests/vm/run-all.sh [--build-dir DIR] [SCENARIO_DIR...]
#
# Builds (or reuses) the cached guest image first and reports its time, then one
# line per scenario with its wall time, the checks inside each one, and a
# closing "N passed, M failed" line counting the guests' checks (a scenario that
# fails without reporting checks, e.g. a boot that timed out, counts as one
# failure). Exit 0 only if every scenario passed. Registered as the meson test
# `vm` (suite vm); `meson test --no-suite vm` leaves it out of a quick local run.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)

build_dir=""
scenarios=()
while (($#)); do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    --build-dir=*) build_dir=${1#*=}; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) scenarios+=("$1"); shift ;;
  esac
done
# Default: every scenario except 00-*, the harness's own smoke test (run by
# tests/vm/selftest.sh; every product scenario exercises the harness anyway).
if ((${#scenarios[@]} == 0)); then
  for d in "$here"/scenarios/*/; do
    [[ $(basename "$d") == 00-* ]] || scenarios+=("${d%/}")
  done
fi
build_args=()
[[ -n $build_dir ]] && build_args=(--build-dir "$build_dir")

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }'; }

tier_start=$(now)
# Each image flavour the scenarios ask for (VM_FLAVOUR in scenario.env), built once up front.
flavours=$(for dir in "${scenarios[@]}"; do
  (VM_FLAVOUR=bookworm
    # shellcheck source=/dev/null
    [[ -f $dir/scenario.env ]] && source "$dir/scenario.env"
    echo "$VM_FLAVOUR")
done | sort -u)
for flavour in $flavours; do
  t=$(now)
  if ! EKS_NODE_VM_FLAVOUR=$flavour "$here/build-image.sh" >/dev/null; then
    echo "not ok - guest image build ($flavour)"
    echo "0 passed, 1 failed"
    exit 1
  fi
  echo "# guest image $flavour ready in $(since "$t") s (cached: ${EKS_NODE_VM_CACHE:-/var/cache/eks-node-vm})"
done

out_root=${EKS_NODE_VM_OUT:-$("$here/out-root.sh")}
# made here: a fresh machine has none of it (issue 33: every scenario failed on its log's path)
mkdir -p "$out_root"
passed=0
failed=0
scenario_failures=0
for dir in "${scenarios[@]}"; do
  name=$(basename "$dir")
  t=$(now)
  "$here/run-scenario.sh" "$dir" "${build_args[@]}" --out "$out_root/$name" >"$out_root/$name.log" 2>&1
  rc=$?
  secs=$(since "$t")
  log="$out_root/$name/check.log"
  # the summary lines "checks: P passed, F failed": the guest's, and the host's if the
  # scenario has a host-check.py
  p=0 f=0
  while read -r summary; do
    if [[ $summary =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
      p=$((p + BASH_REMATCH[1])) f=$((f + BASH_REMATCH[2]))
    fi
  done < <(grep -Eo 'checks: [0-9]+ passed, [0-9]+ failed' "$log" 2>/dev/null)
  if ((rc == 0)); then
    echo "ok - $name in ${secs} s ($p checks)"
  else
    scenario_failures=$((scenario_failures + 1))
    ((f == 0)) && f=1
    echo "not ok - $name in ${secs} s (exit $rc; $p passed, $f failed)"
    grep -E '^(not ok|vm:)' "$log" "$out_root/$name.log" 2>/dev/null | sed 's/^/    /' | head -40
  fi
  passed=$((passed + p))
  failed=$((failed + f))
done
echo "# VM tier: ${#scenarios[@]} scenarios, $scenario_failures failed, $(since "$tier_start") s in all"
echo "$passed passed, $failed failed"
((scenario_failures == 0))
