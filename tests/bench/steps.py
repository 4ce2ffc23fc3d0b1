#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Per-step cost of the step executables at host speed: each step run N times
in chain order against the loopback fake IMDS and a temporary root; reports
median wall, mean CPU (user+sys) and peak RSS per step, and wall and CPU in
total. Not a timed test: a measurement for docs/performance.md and issue notes.

How each number is taken, and why:

- wall and CPU: the step is spawned directly and reaped with wait4(); CPU is
  that child's ru_utime + ru_stime. Only the few microseconds between fork and
  exec are not the step's own.
- peak RSS: NOT ru_maxrss of a child spawned from here. Linux folds the
  high-water mark of the address space a process leaves at execve() into its
  ru_maxrss (exec_mmap -> setmax_mm_hiwater_rss), and a child forked or
  vforked from Python leaves Python's ~15 MB, so every step would report this
  interpreter's size. Instead a second run of the step goes through GNU time
  (/usr/bin/time -f %M): its child leaves GNU time's ~1 MB address space
  at exec, below any C++ program, so the maximum is the step's own VmHWM.
  The floor is printed as "launcher" (GNU time running /bin/true); an RSS
  at that floor would mean the launcher, not the step, was measured.
  The CPU of that second run is not used, because it includes GNU time's own.
- processes: a third run under `strace -f` (when strace is installed) counts
  the step itself plus every fork/vfork/clone that is not a thread (no
  CLONE_THREAD): 1 means no shell-outs. libcurl's resolver threads are threads,
  not processes.

Re-running a step is idempotent, so the second run sees the same inputs.
tests/bench/join.py imports measure() for its per-step CPU/RSS columns.

Usage: steps.py HELPER_DIR [N] [USER_DATA]"""

import os
import pathlib
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))
import harness  # noqa: E402

STEPS = ["imds", "config", "system", "ca", "kubelet", "containerd", "hosts"]
GNU_TIME = "/usr/bin/time"
STRACE = shutil.which("strace")


def spawn(argv):
    """Runs argv to completion; returns (wall ms, CPU ms) and fails on a
    non-zero exit."""
    t0 = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, os.environ)
    _, status, ru = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("%s failed" % " ".join(argv))
    return wall * 1e3, (ru.ru_utime + ru.ru_stime) * 1e3


def peak_rss_kib(argv, scratch):
    """The peak RSS of argv in KiB, measured by GNU time (see the docstring)."""
    out = os.path.join(scratch, "rss")
    spawn([GNU_TIME, "-f", "%M", "-o", out, *argv])
    with open(out) as f:
        return int(f.read().split()[-1])


def processes(argv, scratch):
    """How many processes argv is, itself included (see the docstring); None
    without strace."""
    if not STRACE:
        return None
    out = os.path.join(scratch, "strace")
    spawn([STRACE, "-f", "-qq", "-o", out, "-e", "trace=fork,vfork,clone,clone3", *argv])
    n = 1
    with open(out) as f:
        for line in f:
            # the call's opening half names the flags; "resumed" halves do not
            call = line.split(None, 1)[-1]
            if call.startswith(("fork(", "vfork(", "clone(", "clone3(")) and "CLONE_THREAD" not in call:
                n += 1
    return n


def measure(helpers, n, user_data):
    """{step: {"wall": median ms, "cpu": mean ms, "rss": max KiB, "procs": n}}
    plus "launcher" (GNU time's own floor, KiB)."""
    root = harness.make_root(kubelet_version="1.31.0")
    scratch = tempfile.mkdtemp(prefix="eksnode-bench-")
    times = {s: [] for s in STEPS}
    rss = {s: [] for s in STEPS}
    procs = {}
    with harness.FakeImds(harness.CONFORMANCE_INSTANCE, user_data=user_data) as imds:
        for i in range(n + 1):
            for s in STEPS:
                argv = [str(pathlib.Path(helpers) / ("eks-node-" + s)), "--root=%s" % root,
                        "--imds-endpoint=%s" % imds.endpoint, "--log-level=warning"]
                t = spawn(argv)
                r = peak_rss_kib(argv, scratch)
                if i:  # the first round warms the page cache
                    times[s].append(t)
                    rss[s].append(r)
                else:
                    procs[s] = processes(argv, scratch)
    result = {s: {"wall": statistics.median(x[0] for x in times[s]),
                  "cpu": statistics.mean(x[1] for x in times[s]),
                  "rss": max(rss[s]), "procs": procs[s]} for s in STEPS}
    result["launcher"] = peak_rss_kib(["/bin/true"], scratch)
    harness.shutil.rmtree(root, ignore_errors=True)
    harness.shutil.rmtree(scratch, ignore_errors=True)
    return result


def main():
    if not os.access(GNU_TIME, os.X_OK):
        raise SystemExit("steps.py: needs GNU time at %s (Debian package: time)" % GNU_TIME)
    helpers = pathlib.Path(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    user_data = sys.argv[3] if len(sys.argv) > 3 else harness.SOURCE_ROOT / "examples" / "user-data.mime"
    m = measure(helpers, n, user_data)
    print("%-11s %10s %10s %10s %6s" % ("step", "wall ms", "cpu ms", "rss KiB", "procs"))
    tw = tc = 0
    for s in STEPS:
        tw, tc = tw + m[s]["wall"], tc + m[s]["cpu"]
        print("%-11s %10.2f %10.2f %10d %6s" % (s, m[s]["wall"], m[s]["cpu"], m[s]["rss"],
                                                "-" if m[s]["procs"] is None else m[s]["procs"]))
    print("%-11s %10.2f %10.2f" % ("total", tw, tc))
    print("%-11s %10s %10s %10d" % ("launcher", "", "", m["launcher"]))


if __name__ == "__main__":
    main()
