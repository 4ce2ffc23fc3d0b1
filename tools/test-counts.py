#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The checks inside meson's tests, from its logs (meson-logs/testlog.json).

    test-counts.py total LOG...     one line, "N passed, N failed": the closing line of
                                    tools/test.sh, summed over the logs
    test-counts.py diff LOG_A LOG_B every test whose count or result differs between two
                                    runs (docs/test-cost.md compares runs with it), then totals

A test's count is what it says of itself: Catch2's "All tests passed (N assertions in M test
cases)" (M) or its "test cases: N | P passed | F failed", our Python runners' last
"P passed, F failed" line; a test that says none counts as one check, passed when meson
says OK. A test that failed without a count of its own is one failure.
"""
import json
import re
import sys


def counts(log):
    """{test name: (passed, failed, meson's result)}"""
    out = {}
    for line in open(log):
        r = json.loads(line)
        text = r.get("stdout") or ""
        m = re.search(r"All tests passed \(\d+ assertions? in (\d+) test cases?\)", text)
        c = re.search(r"test cases: *(\d+) \| *(\d+) passed \| *(\d+) failed", text)
        p = re.findall(r"^(\d+) passed, (\d+) failed(?:, \d+ skipped)?$", text, re.M)
        if m:
            passed, failed = int(m.group(1)), 0
        elif c:
            passed, failed = int(c.group(2)), int(c.group(3))
        elif p:
            passed, failed = int(p[-1][0]), int(p[-1][1])
        else:
            passed, failed = (1, 0) if r["result"] == "OK" else (0, 0)
        if r["result"] != "OK" and not (c or p):
            failed += 1
        out[r["name"]] = (passed, failed, r["result"])
    return out


def main(argv):
    if len(argv) >= 2 and argv[0] == "total":
        passed = failed = 0
        for log in argv[1:]:
            for p, f, _ in counts(log).values():
                passed, failed = passed + p, failed + f
        print("%d passed, %d failed" % (passed, failed))
        return 0
    if len(argv) == 3 and argv[0] == "diff":
        a, b = counts(argv[1]), counts(argv[2])
        none = (0, 0, "-")
        for name in sorted(set(a) | set(b)):
            x, y = a.get(name, none), b.get(name, none)
            if x != y:
                print("%-50s %6d %6d  %s %s" % (name, x[0], y[0], x[2], y[2]))
        print("%-50s %6d %6d" % ("total passed", sum(v[0] for v in a.values()), sum(v[0] for v in b.values())))
        return 0
    print(__doc__.strip(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
