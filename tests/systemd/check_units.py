#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Checks the installed units and drop-ins with systemd's own tools.

Usage: check_units.py BUILD_DIR

Installs the build into a temporary root (meson install --destdir), adds the
host's system units (targets, sockets) and stand-ins for kubelet.service and
containerd.service (the node image's, which we do not ship), then:

- `systemd-analyze verify --root=` on every unit of ours and on kubelet and
  containerd with our drop-ins: no output, exit 0. Documentation= man pages are
  looked up in the installed tree (MANPATH), so a missing page fails too.
- `systemd-analyze security --offline=true` prints each step's exposure; a
  step above MAX_EXPOSURE fails (a loosened sandbox shows up here).
- the unit contracts of DESIGN.md that no systemd tool checks: every step has
  Type=oneshot, RemainAfterExit=yes, TimeoutStartSec=, Documentation=man:,
  OnFailure=eks-node-failed.target, and a comment right above every ordering
  or requirement line (the "why").
- the confinement every step but the three on raw devices and swap
  (eks-node-instance-store, eks-node-ebs-volumes, eks-node-swap: OWN_SANDBOX) shares (eks-node(7),
  CONFINEMENT): written once, in eks-node-sandbox.conf, linked into each of
  those steps as the drop-in 10-sandbox.conf and repeated in no unit file;
  checked by name in what systemd applies, and that no step needs a mount
  namespace (its file system is its own Landlock policy; what the three refuse
  together is probed in the VM tier).
- the service environment (eks-node-system(8)): one top-level drop-in
  service.d/10-eks-node-environment.conf reads default.env, then %N.env, for
  every service; it sorts before the steps' 10-sandbox.conf, which resets
  EnvironmentFile= for them; kubelet's and containerd's own drop-ins name no
  environment file of eks-node-system's, want it, and are ordered after
  systemd-resolved (whose restart it may have queued).
- containerd early (eks-node-generator(8), EARLY CONTAINERD): containerd is
  ordered after none of the steps; kubelet after eks-node-system,
  eks-node-containerd and containerd (so after a restart either step queued);
  eks-node-kubelet and eks-node-ca run beside eks-node-containerd.
- a RestartPreventExitStatus= only where a Restart= gives it something to
  prevent (eks-node(7), EXIT STATUS: the steps retry inside, not by restart).
- every step that reads config.json is ordered after eks-node-config and
  cannot start when eks-node-config failed: Requires= (or BindsTo=), or, where
  a restart must not propagate (eks-node-instance-store), Wants= and an
  ExecStartPre= `systemctl is-active eks-node-config.service`.
- every step bounds its memory and tasks (MemoryMax=, TasksMax=) with a comment
  that gives the measurement the bound came from; MemoryMax= also turns on its
  memory accounting (systemd 252: whatever DefaultMemoryAccounting= says).

Every check of a unit's settings reads what systemd applies: the unit file and
its drop-ins as `systemd-analyze cat-config` prints them (what `systemctl cat`
shows), and its .wants/ links; never the unit file alone.

Prints "ok - ..." / "not ok - ..." per check and "N passed, M failed" last.
"""
import os
import pathlib
import re
import shutil
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from unitlib import (  # noqa: E402
    results, check, stage, effective, our_units, verify, security, why_comments, directives,
    HOST_UNIT_DIR, OWN_SANDBOX, CONFINEMENT, MOUNT_NAMESPACE, SANDBOX, SANDBOX_LINK)
from step_units import (  # noqa: E402
    FAIL_FAST, WARM_POOL, OFF_JOIN_PATH, HOOK_TEMPLATE, NETWORK_TEMPLATE, READAHEAD, fail_fast,
    warm_pool, off_join_path, hook_template, network_template, readahead)


def contracts(root, unit_dir, steps, dropin_files):
    for unit in steps:
        text = effective(root, unit)
        for want in ("Type=oneshot", "RemainAfterExit=yes", "TimeoutStartSec=", "Documentation=man:",
                     "OnFailure=eks-node-failed.target", "StartLimitIntervalSec=0",
                     "StandardOutput=journal+console"):
            check(re.search("^" + re.escape(want), text, re.M) is not None, f"{unit} has {want}")
    # started by every failure, however often: a refused start would let kubelet start
    check(re.search("^StartLimitIntervalSec=0$", effective(root, "eks-node-failed.target"), re.M) is not None,
          "eks-node-failed.target has StartLimitIntervalSec=0")
    why_comments([unit_dir / u for u in steps] + dropin_files)




def confinement(root, unit_dir, steps):
    shared = unit_dir / SANDBOX
    check(shared.is_file(), f"{SANDBOX} installed once, next to the units")
    shared_keys = {line.split("=", 1)[0] + "=" for line in shared.read_text().splitlines()
                   if "=" in line and not line.startswith("#")} if shared.is_file() else set()
    for unit in steps:
        if unit in OWN_SANDBOX:
            # mdadm and mkfs on raw disks (instance store, EBS volumes); swapoff(2) (CAP_SYS_ADMIN, @swap): a sandbox of
            # its own, not the shared one
            check(not (unit_dir / f"{unit}.d" / SANDBOX_LINK).exists(), f"{unit} does not get {SANDBOX}")
            continue
        link = unit_dir / f"{unit}.d" / SANDBOX_LINK
        check(link.is_symlink() and os.readlink(link) == f"../{SANDBOX}",
              f"{unit}.d/{SANDBOX_LINK} is a link to the one {SANDBOX}",
              f"{link}: " + (os.readlink(link) if link.is_symlink() else "not a link"))
        own = (unit_dir / unit).read_text()
        repeated = [k for k in sorted(shared_keys) if re.search("^" + re.escape(k), own, re.M)]
        check(not repeated, f"{unit} does not repeat the shared sandbox", "in the unit file: " + ", ".join(repeated))
        text = effective(root, unit)
        missing = [w.strip() for w in CONFINEMENT if not re.search("^" + re.escape(w), text, re.M)]
        check(not missing, f"{unit} has the steps' confinement", "missing: " + ", ".join(missing))
        mounts = [w for w in MOUNT_NAMESPACE if re.search("^" + re.escape(w), text, re.M)]
        check(not mounts, f"{unit} needs no mount namespace", "found: " + ", ".join(mounts))
        if re.search("^PrivateNetwork=yes$", text, re.M):
            check(re.search("^IPAddressDeny=any$", text, re.M) is not None, f"{unit}: no network, and no IP either")


ENV_DROPIN = "10-eks-node-environment.conf"


def service_environment(root, unit_dir, steps):
    dropin = unit_dir / "service.d" / ENV_DROPIN
    check(dropin.is_file(), f"service.d/{ENV_DROPIN} installed (a drop-in for every service)")
    if not dropin.is_file():
        return
    files = directives(dropin.read_text(), "EnvironmentFile")
    check(files == ["-/run/eks-node/env/default.env", "-/run/eks-node/env/%N.env"],
          f"service.d/{ENV_DROPIN}: default.env, then the unit's own %N.env, both optional", " ".join(files))
    # systemd reads drop-ins in the order of their file names, across directories
    check(sorted([ENV_DROPIN, SANDBOX_LINK]) == [ENV_DROPIN, SANDBOX_LINK],
          f"{ENV_DROPIN} sorts before {SANDBOX_LINK}, so that the steps' reset comes after it")
    for unit in steps:
        if unit in OWN_SANDBOX:
            continue
        lines = [line for line in effective(root, unit).splitlines() if line.startswith("EnvironmentFile=")]
        check(lines[-1:] == ["EnvironmentFile="], f"{unit} resets EnvironmentFile= (reads no service environment)",
              "\n".join(lines) or "no EnvironmentFile= line")
    for rt in ("kubelet.service", "containerd.service"):
        text = effective(root, rt)
        stale = [f for f in directives(text, "EnvironmentFile") if "/run/eks-node/env/" in f]
        check(not stale, f"{rt}: its drop-in leaves the environment files to service.d/{ENV_DROPIN}", " ".join(stale))
        after, wants = directives(text, "After"), directives(text, "Wants")
        check("eks-node-system.service" in wants, f"{rt} wants eks-node-system.service")
        check("systemd-resolved.service" in after, f"{rt} is ordered after systemd-resolved.service")
    # containerd starts at boot, in parallel with the steps (eks-node-generator(8),
    # EARLY CONTAINERD); the steps restart it when its files changed, and
    # kubelet waits for both steps and for containerd (and so for that restart)
    after = directives(effective(root, "containerd.service"), "After")
    for step in ("eks-node-system.service", "eks-node-containerd.service", "eks-node-config.service"):
        check(step not in after, f"containerd.service is not ordered after {step} (it starts early)", " ".join(after))
    after = directives(effective(root, "kubelet.service"), "After")
    for unit in ("eks-node-system.service", "eks-node-containerd.service", "containerd.service"):
        check(unit in after, f"kubelet.service is ordered after {unit}", " ".join(after))
    for step in ("eks-node-kubelet.service", "eks-node-ca.service"):
        check("eks-node-containerd.service" not in directives(effective(root, step), "After"),
              f"{step} runs beside eks-node-containerd, not after it")


def restart_policy(root, steps):
    # systemd acts on RestartPreventExitStatus= only when Restart= would
    # restart; without it the line only suggests a policy that is not there
    for unit in steps:
        text = effective(root, unit)
        restart = directives(text, "Restart")
        prevent = directives(text, "RestartPreventExitStatus")
        active = bool(restart) and restart[-1] != "no"
        check(active or not prevent, f"{unit}: no RestartPreventExitStatus= without a Restart=",
              f"RestartPreventExitStatus={' '.join(prevent)}, Restart={' '.join(restart) or '(none: no)'}")


# The steps that produce config.json's inputs; every other step reads it.
PRODUCERS = ("eks-node-imds.service", "eks-node-config.service")
CONFIG = "eks-node-config.service"




def config_consumers(root, steps):
    consumers = [u for u in steps if u not in PRODUCERS]
    check(all(u in consumers for u in OWN_SANDBOX) and len(consumers) >= 5,
          f"{len(consumers)} steps read config.json: {' '.join(consumers)}")
    for unit in consumers:
        text = effective(root, unit)
        check(CONFIG in directives(text, "After"), f"{unit} is ordered after {CONFIG}")
        bound = CONFIG in directives(text, "Requires") + directives(text, "BindsTo")
        # Wants= + this check: Requires='s "fail when config failed" without
        # its restart propagation (eks-node-instance-store.service says why)
        checked = (CONFIG in directives(text, "Wants") and any(
            re.fullmatch(r"/usr/bin/systemctl --quiet is-active " + re.escape(CONFIG), line.split("=", 1)[1])
            for line in text.splitlines() if line.startswith("ExecStartPre=")))
        check(bound or checked, f"{unit} cannot start on a config.json that {CONFIG} failed to renew",
              "no Requires=/BindsTo= " + CONFIG + ", nor Wants= with ExecStartPre=systemctl is-active")


# What pulls through containerd's CRI before kubelet starts waits for the steps whose
# outputs its pull reads and that restart containerd for them: the proxy (system), the trust
# store a registry is verified against (ca: eks-node-sandbox-image lacked it until
# 2026-11-30), containerd's configuration. The pull then runs once, on the files it needs.
CRI_PULLERS = ("eks-node-sandbox-image.service",)
PULL_INPUTS = ("eks-node-config.service", "eks-node-system.service", "eks-node-ca.service",
               "eks-node-containerd.service", "containerd.service")


def cri_pullers(root):
    for unit in CRI_PULLERS:
        after = directives(effective(root, unit), "After")
        missing = [u for u in PULL_INPUTS if u not in after]
        check(not missing, f"{unit} is ordered after what its pull reads", "missing: " + " ".join(missing))


SIZE = re.compile(r"^(\d+)([KMG])$")


def memory_bounds(root, steps):
    for unit in steps:
        lines = effective(root, unit).splitlines()
        found = {}
        for i, line in enumerate(lines):
            for key in ("MemoryMax", "TasksMax", "MemoryHigh"):
                if line.startswith(key + "="):
                    found[key] = (i, line.split("=", 1)[1])
        problems = []
        if "MemoryMax" not in found:
            problems.append("no MemoryMax=")
        else:
            i, value = found["MemoryMax"]
            m = SIZE.match(value)
            size = int(m.group(1)) * {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}[m.group(2)] if m else 0
            # above any step's measured peak (<= 40 MiB with the largest user
            # data), below what an input bomb may take from the node
            if not 64 << 20 <= size <= 1 << 30:
                problems.append(f"MemoryMax={value}: want 64M..1G")
            j = i - 1
            while j >= 0 and lines[j].startswith(("MemoryHigh=", "TasksMax=")):
                j -= 1
            comment = []
            while j >= 0 and lines[j].startswith("#"):
                comment.append(lines[j])
                j -= 1
            if not re.search(r"peak RSS|measured", " ".join(comment)):
                problems.append("no comment above MemoryMax= giving the measurement")
        if "TasksMax" not in found or not found["TasksMax"][1].isdigit():
            problems.append("no numeric TasksMax=")
        if "MemoryHigh" in found and "MemoryMax" in found and found["MemoryHigh"][1] == found["MemoryMax"][1]:
            problems.append("MemoryHigh= equal to MemoryMax= does nothing")
        check(not problems, f"{unit} bounds its memory and tasks", "\n".join(problems))


# Not steps of the chain: they run once it has ended, whichever way, and hold
# nothing back (no OnFailure=, nothing waits for them).
AFTER_CHAIN = ("eks-node-telemetry.service", "eks-node-verdict.service")


def after_chain(root, step_units):
    # every step of the join: each of our step units ordered before eks-node.target
    steps = sorted(u for u in step_units if "eks-node.target" in directives(effective(root, u), "Before"))
    for unit in AFTER_CHAIN:
        text = effective(root, unit)
        for want in ("Type=oneshot", "TimeoutStartSec=", "Documentation=man:", "StandardOutput=journal+console"):
            check(re.search("^" + re.escape(want), text, re.M) is not None, f"{unit} has {want}")
        # each start of a target runs it again: a re-run of the chain refreshes its output
        check(re.search("^RemainAfterExit=yes", text, re.M) is None, f"{unit} has no RemainAfterExit=yes")
        check(not directives(text, "OnFailure"), f"{unit} has no OnFailure=: its failure holds nothing back")
        after = directives(text, "After")
        check("eks-node.target" in after and "eks-node-failed.target" in after,
              f"{unit} is ordered after eks-node.target and eks-node-failed.target", " ".join(after))
        for target in ("eks-node.target", "eks-node-failed.target"):
            check(unit in directives(effective(root, target), "Wants"), f"{target} wants {unit}")
        # ...and after every step of the join, so that after a failure it reads them ended, not
        # still running: a new step's unit is held to it here (ebs-volumes, swap and
        # sandbox-image were missing until 2026-11-29)
        missing = [s for s in steps if s not in after]
        check(len(steps) >= 10 and not missing, f"{unit} is ordered after the join's {len(steps)} steps",
              "missing: " + " ".join(missing))



def main():
    build_dir = pathlib.Path(sys.argv[1]).resolve()
    if not shutil.which("systemd-analyze") or not HOST_UNIT_DIR.is_dir():
        print("systemd-analyze or the host's units missing; skipped")
        return 77
    with tempfile.TemporaryDirectory(prefix="eks-node-units.") as tmp:
        root = pathlib.Path(tmp)
        unit_dir = stage(build_dir, root)
        units = our_units(unit_dir)
        steps = [u for u in units if u.endswith(".service") and u not in (HOOK_TEMPLATE, NETWORK_TEMPLATE)]
        check(len(steps) >= 6, f"{len(steps)} step units installed: {' '.join(steps)}")
        dropins = sorted(unit_dir.glob("*.service.d/*.conf")) + sorted(unit_dir.glob("service.d/*.conf"))
        check(len(dropins) >= 2, f"{len(dropins)} drop-ins installed")
        verify(root, [u for u in units if u not in (HOOK_TEMPLATE, NETWORK_TEMPLATE)]
               + ["kubelet.service", "containerd.service"])
        hook_template(root, unit_dir)
        network_template(root, unit_dir, units)
        chain = [u for u in steps
                 if u not in AFTER_CHAIN and u not in OFF_JOIN_PATH and u not in (FAIL_FAST, WARM_POOL, READAHEAD)]
        security(root, steps)
        contracts(root, unit_dir, chain, dropins)
        after_chain(root, steps)
        fail_fast(root)
        warm_pool(root)
        off_join_path(root, unit_dir, units)
        readahead(root, unit_dir, units)
        confinement(root, unit_dir, steps)
        service_environment(root, unit_dir, steps)
        restart_policy(root, chain)
        config_consumers(root, chain)
        cri_pullers(root)
        memory_bounds(root, [u for u in steps if u != READAHEAD])
    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
