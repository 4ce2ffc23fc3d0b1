#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Host side of 04a-imds-late: while IMDS did not answer, the console (what `aws ec2
get-console-output` shows of a node) said what eks-node-imds waited for, how long so far and
until when, before the chain went on (log::progress, StandardOutput=journal+console)."""

import pathlib
import re
import sys

console = (pathlib.Path(sys.argv[1]) / "console.log").read_text(errors="replace")
waits = re.findall(r"eks-node-imds(?:\[\d+\])?: still waiting for IMDS at \S+.*: [0-9.]+ s so far, giving up at [0-9.]+ s",
                   console)
ok = bool(waits)
print("%s - the console shows eks-node-imds still waiting for IMDS (%d lines)" % ("ok" if ok else "not ok", len(waits)))
if not ok:
    print("    " + "\n    ".join(l for l in console.splitlines() if "eks-node" in l)[-800:])
sys.exit(0 if ok else 1)
