#!/usr/bin/python3
"""Per-step cost of the step executables at host speed: each step run N times
in chain order against the loopback fake IMDS and a temporary root; reports
median wall, mean CPU (user+sys from wait4) and peak RSS per step and in
total. Not a timed test: a measurement for the README and issue notes.

Usage: steps.py HELPER_DIR [N] [USER_DATA]"""

import os
import pathlib
import statistics
import subprocess
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))
import harness  # noqa: E402

STEPS = ["imds", "config", "ca", "kubelet", "containerd", "hosts"]


def run(exe, args):
    t0 = time.perf_counter()
    pid = os.posix_spawn(exe, [exe, *args], os.environ)
    _, status, ru = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("%s failed" % exe)
    return wall * 1e3, (ru.ru_utime + ru.ru_stime) * 1e3, ru.ru_maxrss


def main():
    helpers = pathlib.Path(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    user_data = sys.argv[3] if len(sys.argv) > 3 else harness.SOURCE_ROOT / "examples" / "user-data.mime"
    root = harness.make_root(kubelet_version="1.31.0")
    samples = {s: [] for s in STEPS}
    with harness.FakeImds(harness.CONFORMANCE_INSTANCE, user_data=user_data) as imds:
        for i in range(n + 1):
            for s in STEPS:
                r = run(str(helpers / ("eks-node-" + s)),
                        ["--root=%s" % root, "--imds-endpoint=%s" % imds.endpoint, "--log-level=warning"])
                if i:  # the first round warms the page cache
                    samples[s].append(r)
    print("%-11s %10s %10s %10s" % ("step", "wall ms", "cpu ms", "rss KiB"))
    tw = tc = 0
    for s in STEPS:
        w = statistics.median(x[0] for x in samples[s])
        c = statistics.mean(x[1] for x in samples[s])
        r = max(x[2] for x in samples[s])
        tw, tc = tw + w, tc + c
        print("%-11s %10.2f %10.2f %10d" % (s, w, c, r))
    print("%-11s %10.2f %10.2f" % ("total", tw, tc))
    harness.shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
