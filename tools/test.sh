#!/usr/bin/env bash
# Runs every test tier that fits here: unit and golden (Catch2), process-level
# (fake IMDS, conformance samples, bad-input corpus, the chain of step binaries).
# Installs its own dependencies on a fresh Debian 12 machine.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/deps.sh --test
tools/build.sh >/dev/null
status=0
meson test -C build --print-errorlogs --num-processes 2 || status=$?

# One closing line CI can read, from meson's own log.
/usr/bin/python3 - <<'PY'
import json
passed = failed = 0
for line in open("build/meson-logs/testlog.json"):
    r = json.loads(line)
    if r["result"] == "OK":
        passed += 1
    else:
        failed += 1
print("%d passed, %d failed" % (passed, failed))
PY
exit "$status"
