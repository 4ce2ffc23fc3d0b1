#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Instruction counts per step under valgrind's callgrind: stable where wall
time is not (a shared 2-core machine), so a regression shows in review as a
changed number. Two views of the same steps, both against the loopback fake
IMDS and a temporary root:

- "in render": `eks-node render` runs the whole chain in one process; the
  inclusive instructions of each step's function (eksnode::steps::imds,
  ::config, ::ca, ...; helpers/lib/steps/) from callgrind_annotate.
- "own binary": each step executable run alone, its total instructions,
  dynamic loading and static initialisation included -- what a step costs as
  the process systemd starts.

Usage: tests/bench/callgrind.py BUILD_DIR [USER_DATA]
(default user data: tests/bench/scenarios/plain/user-data). Needs valgrind."""

import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "lib"))
import harness  # noqa: E402

STEPS = ["imds", "config", "system", "ca", "kubelet", "containerd", "hosts"]
# the step's function inside `eks-node render` (helpers/lib/cli/chain.cpp)
FUNCTION = {_s: r"eksnode::steps::%s\(" % _s for _s in STEPS}


def callgrind(argv, out):
    """Runs argv under callgrind; returns its total instruction count."""
    r = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=%s" % out, *argv],
                       capture_output=True, text=True)
    if r.returncode:
        raise SystemExit("callgrind: %s failed:\n%s" % (" ".join(argv), r.stderr[-2000:]))
    m = re.search(r"Collected : (\d+)", r.stderr)
    return int(m.group(1))


def inclusive(out):
    """{step: inclusive Ir} from callgrind_annotate --inclusive=yes."""
    r = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", out],
                       capture_output=True, text=True, check=True)
    found = {}
    for line in r.stdout.splitlines():
        # "   383,279 ( 1.78%)  ???:eksnode::steps::imds(...) [object]"
        m = re.match(r"\s*([\d,]+)\s", line)
        if not m:
            continue
        for step, pattern in FUNCTION.items():
            if step not in found and re.search(pattern, line):
                found[step] = int(m.group(1).replace(",", ""))
    return found


def main():
    if not shutil.which("valgrind"):
        raise SystemExit("callgrind.py: needs valgrind (apt-get install valgrind)")
    build = pathlib.Path(sys.argv[1])
    user_data = sys.argv[2] if len(sys.argv) > 2 else HERE / "scenarios" / "plain" / "user-data"
    scratch = pathlib.Path(tempfile.mkdtemp(prefix="eksnode-callgrind-"))
    try:
        with harness.FakeImds(harness.CONFORMANCE_INSTANCE, user_data=user_data) as imds:
            ep = "--imds-endpoint=%s" % imds.endpoint
            root = harness.make_root(kubelet_version="1.31.0")
            total = callgrind([str(build / "helpers/eks-node"), "render", "--root=%s" % root, ep,
                               "--log-level=warning"], scratch / "render.out")
            inc = inclusive(str(scratch / "render.out"))
            own = {}
            root2 = harness.make_root(kubelet_version="1.31.0")
            for s in STEPS:
                own[s] = callgrind([str(build / "helpers" / ("eks-node-" + s)), "--root=%s" % root2, ep,
                                    "--log-level=warning"], scratch / ("%s.out" % s))
            shutil.rmtree(root, ignore_errors=True)
            shutil.rmtree(root2, ignore_errors=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print("%-11s %16s %16s" % ("step", "in render (Ir)", "own binary (Ir)"))
    for s in STEPS:
        print("%-11s %16s %16s" % (s, "{:,}".format(inc[s]) if s in inc else "-", "{:,}".format(own[s])))
    print("%-11s %16s %16s" % ("total", "{:,}".format(total), "{:,}".format(sum(own.values()))))
    missing = [s for s in STEPS if s not in inc]
    if missing:
        print("callgrind.py: no function found for %s in eks-node render" % ", ".join(missing),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
