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

# One closing line CI can read: the cases inside every meson test (Catch2 test
# cases, the Python runners' checks), summed from meson's own log.
/usr/bin/python3 - <<'PY'
import json, re
passed = failed = 0
for line in open("build/meson-logs/testlog.json"):
    r = json.loads(line)
    out = r.get("stdout") or ""
    m = re.search(r"All tests passed \(\d+ assertions? in (\d+) test cases?\)", out)
    c = re.search(r"test cases: *(\d+) \| *(\d+) passed \| *(\d+) failed", out)
    p = re.findall(r"^(\d+) passed, (\d+) failed$", out, re.M)
    if m:
        passed += int(m.group(1))
    elif c:
        passed, failed = passed + int(c.group(2)), failed + int(c.group(3))
    elif p:
        passed, failed = passed + int(p[-1][0]), failed + int(p[-1][1])
    elif r["result"] == "OK":
        passed += 1
    if r["result"] != "OK" and not (c or p):
        failed += 1
print("%d passed, %d failed" % (passed, failed))
PY
exit "$status"
