#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# One scenario of the VM tier as one meson test (suite vm, tests/meson.build), so that a
# failure names its scenario and `meson test -C BUILD --suite vm NAME` re-runs it.
#
# Usage: tests/vm/run-case.sh --build-dir DIR SCENARIO_NAME
#
# Every boot installs the build's .deb (tests/vm/package.sh, tests/vm/README.md): the first
# test of a run packages DIR under a lock, the others take its package; without a run, each
# packages it anew (about 3 s). Not a meson target: meson builds every test's prerequisites by
# default, and a package that cannot be built (no scdoc for its man pages, binaries
# tools/elf-check.py refuses) would then fail the build, not the VM tests alone.
#
# A scenario of a boot group (tests/vm/groups) shares its group's boot: the first of the
# group's tests to run boots it (tests/vm/run-scenario.sh FIRST --case CASE...) under the
# group's lock; the others wait for that lock and report their own case from its results.
# A result is shared only within one run of the test command (EKS_NODE_VM_RUN, which
# tools/test.sh sets) and reported once: without it, or a second time, the group boots again.
# Results: DIR/vm/GROUP/ (the first scenario's), DIR/vm/GROUP/cases/NAME/ (each case's).
#
# Prints the case's checks, its verdict line ("vm: NAME: PASS|FAIL ...") and a closing
# "P passed, F failed" over its checks (a case that reported none and failed counts as one).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)

build_dir='' name=''
while (($#)); do
  case $1 in
    --build-dir) build_dir=${2?}; shift ;;
    -*) echo "run-case: unknown option $1" >&2; exit 2 ;;
    *) name=$1 ;;
  esac
  shift
done
[[ -n $build_dir && -n $name && -f $here/scenarios/$name/check.sh ]] ||
  { echo "usage: run-case.sh --build-dir DIR SCENARIO_NAME (a directory of $here/scenarios)" >&2; exit 2; }

# The group of NAME: its line in tests/vm/groups, else NAME alone
group=$name members=("$name")
while read -r g rest; do
  [[ $g == \#* || -z $g ]] && continue
  read -ra list <<<"$rest"
  for m in "${list[@]}"; do
    if [[ $m == "$name" ]]; then
      group=${g%:} members=("${list[@]}")
    fi
  done
done <"$here/groups"

results=$build_dir/vm
mkdir -p "$results"
out=$results/$group
if [[ $name == "${members[0]}" ]]; then dir=$out; else dir=$out/cases/$name; fi
run=${EKS_NODE_VM_RUN:-}

# The run's package, made once per run (above)
package=$results/package/eks-node.deb
exec 8>"$results/package.lock"
flock 8
if [[ -z $run || ! -f $package || ! -f $results/package/run || $(cat "$results/package/run") != "$run" ]]; then
  mkdir -p "$results/package"
  rm -f "$results/package/run"
  if ! "$here/package.sh" "$build_dir" "$package"; then
    echo "vm: $name: FAIL: the build's .deb could not be made (tests/vm/package.sh $build_dir)"
    echo "0 passed, 1 failed"
    exit 1
  fi
  [[ -n $run ]] && echo "$run" >"$results/package/run"
fi
exec 8>&-

exec 9>"$results/$group.lock"
flock 9
if [[ -n $run && ${#members[@]} -gt 1 && -f $out/run && $(cat "$out/run") == "$run" && -f $dir/verdict &&
  ! -e $dir/reported ]]; then
  echo "vm: $name: in the boot of group $group, run by its first test ($(cut -c1-60 "$out/verdict"))"
else
  case_args=()
  for m in "${members[@]:1}"; do case_args+=(--case "$here/scenarios/$m"); done
  rm -f "$out/run"
  "$here/run-scenario.sh" "$here/scenarios/${members[0]}" "${case_args[@]}" --build-dir "$build_dir" \
    --package "$package" --out "$out"
  [[ -n $run ]] && echo "$run" >"$out/run"
fi
touch "$dir/reported" 2>/dev/null

# the case's checks, then its verdict and tally
if [[ -f $dir/check.log ]]; then
  grep -E '^(ok|not ok|#)' "$dir/check.log" | grep -v '^# *$' || true
fi
verdict=$(cat "$dir/verdict" 2>/dev/null || echo "fail: no verdict (the boot did not get to it)")
p=0 f=0
while read -r summary; do
  if [[ $summary =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
    p=$((p + BASH_REMATCH[1])) f=$((f + BASH_REMATCH[2]))
  fi
done < <(grep -Eo 'checks: [0-9]+ passed, [0-9]+ failed' "$dir/check.log" 2>/dev/null)
if [[ $verdict == pass ]]; then
  echo "vm: $name: PASS ($p checks; results in $dir)"
  echo "$p passed, $f failed"
  exit 0
fi
((f == 0)) && f=1
echo "vm: $name: FAIL: ${verdict#fail: } (results in $dir)"
echo "$p passed, $f failed"
exit 1
