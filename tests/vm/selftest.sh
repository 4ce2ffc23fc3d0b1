#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Self-test of the VM harness, three boots of scenarios/00-smoke:
#   early  the project installed before systemd starts; must pass
#   late   installed by the runner + daemon-reload; must pass
#   fail   a deliberately failing check (eksvm.selftest=fail); must be reported as failed,
#          for that reason and no other
# Usage: tests/vm/selftest.sh [run-scenario.sh options, e.g. --package FILE | --no-project]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
smoke=$here/scenarios/00-smoke
results=${EKS_NODE_VM_OUT:-$("$here/out-root.sh")}
passed=0 failed=0

verdict() {
  if [[ $1 == ok ]]; then
    passed=$((passed + 1))
    echo "selftest: ok - $2"
  else
    failed=$((failed + 1))
    echo "selftest: not ok - $2"
  fi
}

run() { "$here/run-scenario.sh" "$smoke" "$@"; }

if run --install early --out "$results/00-smoke" "$@"; then r=ok; else r=bad; fi
verdict "$r" "smoke passes, project installed before first boot"

if run --install late --out "$results/00-smoke-late" "$@"; then r=ok; else r=bad; fi
verdict "$r" "smoke passes, project installed into the running system"

rc=0
run --kernel-cmdline-extra eksvm.selftest=fail --out "$results/00-smoke-fail" "$@" || rc=$?
# Failed, and because of the deliberate check only (one "not ok"), not a broken boot.
if ((rc == 1)) &&
  [[ $(grep -c '^not ok' "$results/00-smoke-fail/check.log" 2>/dev/null) == 1 ]] &&
  grep -q '^not ok - deliberate failure' "$results/00-smoke-fail/check.log"; then
  r=ok
else
  r=bad
fi
verdict "$r" "a failing check is reported as a failed scenario (exit $rc)"

echo "vm-selftest: $passed passed, $failed failed"
((failed == 0))
