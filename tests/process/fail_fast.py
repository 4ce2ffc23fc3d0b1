#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Tier 3: eks-node-verdict fail-fast (what eks-node-fail-fast.service runs) for each
settings.onFailure, from an admin's fragment under --root: after settings.onFailureDelay it
prints the line the console shows and exits 0; off the host (--root, not under systemd) it
starts no job, which VM scenario 38b-fail-fast covers for poweroff. "none" does nothing.

Usage: fail_fast.py HELPER_DIR"""

import pathlib
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))
import harness  # noqa: E402

TALLY = harness.Tally()
check = TALLY.check
LINES = {
    "reboot": "eks-node: settings.onFailure = reboot: the join cannot succeed, rebooting now\n",
    "poweroff": "eks-node: settings.onFailure = poweroff: the join cannot succeed, powering off now\n",
    "none": "",
}


def main():
    verdict = pathlib.Path(sys.argv[1]) / "eks-node-verdict"
    for action, line in LINES.items():
        with tempfile.TemporaryDirectory(prefix="eks-node-fail-fast.") as root:
            harness.write(pathlib.Path(root) / "etc/eks-node/node.toml.d/90-admin.toml",
                          f'[settings]\nonFailure = "{action}"\nonFailureDelay = "1s"\n')
            r = subprocess.run([str(verdict), f"--root={root}", "fail-fast"], capture_output=True, text=True,
                               timeout=60, env={"PATH": "/usr/bin:/bin", "EKS_NODE_LOG_TARGET": "console"})
            check(f"{action}: exit 0", r.returncode == 0, r.stderr)
            check(f"{action}: stdout is {'the console line' if line else 'empty'}", r.stdout == line, r.stdout)
    return TALLY.finish()


if __name__ == "__main__":
    sys.exit(main())
