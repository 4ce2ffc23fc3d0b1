#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Host side of 38a-warm-pool: the serial console (what `aws ec2 get-console-output` shows) holds
the warm pool's verdict line, then the join's, in that order."""

import pathlib
import sys

console = (pathlib.Path(sys.argv[1]) / "console.log").read_text(errors="replace")
warm = console.find("eks-node: node prepared in an Auto Scaling warm pool (Warmed:Running): kubelet held back")
joined = console.find("eks-node: node configured: kubelet started", max(warm, 0))
ok = [warm >= 0, joined > warm >= 0]
print("%s - console: the warm pool's verdict line" % ("ok" if ok[0] else "not ok"))
print("%s - console: then the joined verdict line" % ("ok" if ok[1] else "not ok"))
print("checks: %d passed, %d failed" % (sum(ok), len(ok) - sum(ok)))
sys.exit(0 if all(ok) else 1)
