#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Host side of 38b-fail-fast: the guest never reports (GUEST_POWERS_OFF=1); the serial console
(what `aws ec2 get-console-output` shows) is the evidence, in this order: the verdict line
naming eks-node-config, exit 6, and the power-off to come; check.sh's checks, all passed, if it
ran; the power-off by eks-node-fail-fast; the kernel powering down. qemu exited by itself (its exit
status 0; the host's timeout would have killed it with 124 or 137)."""

import pathlib
import re
import sys

res = pathlib.Path(sys.argv[1])
console = (res / "console.log").read_text(errors="replace")
passed = failed = 0


def check(what, ok, detail=""):
    global passed, failed
    passed, failed = passed + bool(ok), failed + (not ok)
    print("%s - %s" % ("ok" if ok else "not ok", what))
    if not ok and detail:
        print("    " + str(detail)[:600])


verdict = re.search(r"eks-node: node NOT joined: eks-node-config\.service failed \(exit status 6\): .*"
                    r"spec\.cluster\.cidr.*; see journalctl -b -u eks-node-config and eks-node status; "
                    r"settings\.onFailure: power off in 20s", console)
checks = re.search(r"fail-fast: checks before the power-off: (\d+) passed, (\d+) failed", console)
action = console.find("eks-node: settings.onFailure = poweroff: the join cannot succeed, powering off now")
# a VM: the kernel's last line; a container boot (VM_BOOT=nspawn, no kernel of its own):
# systemd-shutdown's, before it asks the kernel to power off the container
container = (res / "nspawn-command.txt").exists()
down = re.search(r"^()Powering off\.$" if container else r"\[\s*([0-9.]+)\] reboot: Power down", console, re.M)
check("the verdict line: eks-node-config, exit 6, its error, where to look, power off in 20s", verdict,
      "\n".join(l for l in console.splitlines() if "eks-node: " in l)[-600:])
# check.sh runs only if the boot settled before the power-off (the wait is a start job of
# eks-node-fail-fast, which holds `systemctl is-system-running --wait`): reported, and when it
# ran, all its checks must have passed
if checks:
    check("check.sh in the guest, before the power-off: 3 passed, 0 failed",
          checks.group(1) == "3" and checks.group(2) == "0", checks.group(0))
else:
    print("note: check.sh did not run before the power-off")
check("eks-node-fail-fast powered off, after the verdict", verdict and action > verdict.start(),
      "no power-off line" if action < 0 else "")
check("then the %s powered down" % ("container" if container else "kernel"),
      down and action >= 0 and down.start() > action)
check("no runner result: the guest did not power itself off through the runner", not (res / "result").exists())
if down and not container:
    print("figure: kernel power-down at %s s after the kernel's start" % down.group(1))
print("checks: %d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
