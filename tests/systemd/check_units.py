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
import subprocess
import sys
import tempfile

# Exposure ("Overall exposure level", 0 = locked down, 10 = unprotected) each
# step may reach. The render steps measure 2.5; eks-node-imds, -config and
# -hosts need the network and measure 3.4. `security` credits only systemd's
# own settings: the file-system protection the steps get from Landlock instead
# of a mount namespace (ProtectSystem=, ProtectKernelTunables=, ...) counts
# as missing here, and is checked by the VM tier's probe instead.
MAX_EXPOSURE = 3.5

HOST_UNIT_DIR = pathlib.Path("/lib/systemd/system")
ORDERING = re.compile(r"^(After|Before|Requires|Wants|Requisite|BindsTo|PartOf|Conflicts|OnFailure)=")

results = []


def check(ok, what, detail=""):
    results.append(ok)
    print(("ok - " if ok else "not ok - ") + what)
    if detail and not ok:
        for line in detail.rstrip().splitlines():
            print("    " + line)


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def stage(build_dir, root):
    r = run(["meson", "install", "-C", str(build_dir), "--destdir", str(root), "--no-rebuild", "--quiet"])
    if r.returncode != 0:
        sys.exit(f"meson install failed:\n{r.stdout}{r.stderr}")
    unit_dir = next(p for p in (root / "lib/systemd/system", root / "usr/lib/systemd/system") if p.is_dir())
    # systemd's own units (sysinit.target, network.target, ...) so that the
    # default dependencies resolve inside the root; ours win on a name clash.
    for src in HOST_UNIT_DIR.iterdir():
        dst = unit_dir / src.name
        if dst.exists() or src.is_dir() or src.is_symlink():
            continue
        shutil.copy(src, dst)
    stage_stubs(root)
    return unit_dir


def stage_stubs(root):
    """Stand-ins in the root's /etc/systemd/system for the node image's units."""
    stubs = root / "etc/systemd/system"
    stubs.mkdir(parents=True, exist_ok=True)
    # what an ExecStartPre= runs must exist in the root for `verify`
    systemctl = shutil.which("systemctl")
    if systemctl:
        (root / "usr/bin").mkdir(parents=True, exist_ok=True)
        if not (root / "usr/bin/systemctl").exists():
            shutil.copy(systemctl, root / "usr/bin/systemctl")
    for name in ("kubelet.service", "containerd.service", "docker.service"):
        (stubs / name).write_text(
            "[Unit]\nDescription=stand-in for the node image's unit\n"
            "[Service]\nExecStart=/usr/bin/eks-node --version\n")


def effective(root, unit):
    """The unit file and drop-ins as systemd reads them, then its .wants/ links as Wants=."""
    r = run(["systemd-analyze", "cat-config", f"--root={root}", "--no-pager", f"systemd/system/{unit}"])
    if r.returncode != 0:
        sys.exit(f"systemd-analyze cat-config {unit} failed:\n{r.stdout}{r.stderr}")
    links = sorted({f.name for d in ("usr/lib", "lib", "etc") for f in (root / d / "systemd/system" / f"{unit}.wants").glob("*")})
    return r.stdout + "".join(f"\n# {unit}.wants/\nWants={name}\n" for name in links)


def our_units(unit_dir):
    return sorted(p.name for p in unit_dir.iterdir()
                  if p.name.startswith(("eks-node", "ecs-node")) and p.suffix in (".service", ".target")
                  and p.is_file())


def verify(root, units):
    env = dict(os.environ, MANPATH=str(root / "usr/share/man"), SYSTEMD_LOG_COLOR="0")
    for unit in units:
        r = run(["systemd-analyze", "verify", f"--root={root}", "--man=yes", unit], env=env, cwd=root)
        out = (r.stdout + r.stderr).strip()
        check(r.returncode == 0 and not out, f"systemd-analyze verify {unit}", out)


def security(root, steps, limit=MAX_EXPOSURE):
    for unit in steps:
        r = run(["systemd-analyze", "security", "--offline=true", f"--root={root}", "--no-pager", unit], cwd=root)
        m = re.search(r"Overall exposure level for \S+: ([\d.]+) (\S+)", r.stdout)
        if not m:
            check(False, f"systemd-analyze security {unit}", r.stdout + r.stderr)
            continue
        level = float(m.group(1))
        print(f"# exposure {unit}: {level} {m.group(2)}")
        check(level <= limit, f"{unit} exposure {level} <= {limit}", r.stdout)


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


def why_comments(paths):
    for path in paths:
        lines = path.read_text().splitlines()
        missing = []
        for i, line in enumerate(lines):
            if not ORDERING.match(line):
                continue
            # the comment may sit above a run of related lines
            j = i - 1
            while j >= 0 and ORDERING.match(lines[j]):
                j -= 1
            if j < 0 or not lines[j].startswith("#"):
                missing.append(line)
        check(not missing, f"{path.name if path.suffix != '.conf' else path.parent.name + '/' + path.name}: "
              "every ordering line has a why-comment", "\n".join(missing))


# The steps that make file systems, mount raw devices or switch swap (swapoff(2)
# is CAP_SYS_ADMIN and @swap): a sandbox of their own, each unit says why.
OWN_SANDBOX = ("eks-node-instance-store.service", "eks-node-ebs-volumes.service", "eks-node-swap.service")

# eks-node(7), CONFINEMENT: what every step but OWN_SANDBOX's carries.
# The file system is the step's own Landlock policy (tests/unit/core/test_confine.cpp,
# and the VM tier's probe), so the Landlock calls must pass the system-call
# filter (a deny list: they are in no group of systemd 252).
CONFINEMENT = ("NoNewPrivileges=yes", "DevicePolicy=closed", "ProtectClock=yes", "ProtectHostname=yes",
               "RestrictNamespaces=yes", "RestrictRealtime=yes", "RestrictSUIDSGID=yes",
               "LockPersonality=yes", "MemoryDenyWriteExecute=yes", "SystemCallArchitectures=native",
               "SystemCallFilter=~@clock @cpu-emulation @debug @module @mount @obsolete @pkey @privileged @raw-io "
               "@reboot @resources @swap syslog\n", "CapabilityBoundingSet=\n")
# Each costs a step's start a mount namespace (~7 ms on systemd 252, on the
# join path); Landlock does their job.
MOUNT_NAMESPACE = ("ProtectSystem=", "ProtectHome=", "PrivateTmp=", "PrivateMounts=", "ReadOnlyPaths=",
                   "ReadWritePaths=", "InaccessiblePaths=", "ProtectKernelTunables=", "ProtectKernelModules=",
                   "ProtectKernelLogs=", "ProtectControlGroups=", "PrivateDevices=", "TemporaryFileSystem=",
                   "BindPaths=", "BindReadOnlyPaths=", "ProtectProc=", "ProcSubset=")


SANDBOX = "eks-node-sandbox.conf"
SANDBOX_LINK = "10-sandbox.conf"


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


def directives(text, name):
    """The values of every `name=` line, words split (After=a b -> [a, b])."""
    out = []
    for line in text.splitlines():
        if line.startswith(name + "="):
            out.extend(line[len(name) + 1:].split())
    return out


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


# Started by eks-node-verdict alone, on a failure waiting cannot heal, when
# settings.onFailure asks (eks-node-fail-fast(8)): stopped with the failed
# target, so that starting the chain again calls the power-off off.
FAIL_FAST = "eks-node-fail-fast.service"


def fail_fast(root):
    text = effective(root, FAIL_FAST)
    check("eks-node-failed.target" in directives(text, "PartOf"), f"{FAIL_FAST} is PartOf=eks-node-failed.target")
    check(not directives(text, "OnFailure"), f"{FAIL_FAST} has no OnFailure=")
    check(re.search("^TimeoutStartSec=infinity", text, re.M) is not None,
          f"{FAIL_FAST} has TimeoutStartSec=infinity: the delay is its job")
    for target in ("eks-node.target", "eks-node-failed.target"):
        check(FAIL_FAST not in directives(effective(root, target), "Wants"), f"{target} does not want {FAIL_FAST}")


# Not a chain step: it waits, for days maybe, while an Auto Scaling warm pool
# holds kubelet back (eks-node-warm-pool(8)). A running process, not a start
# job the target would wait for; ordered after the chain it restarts.
WARM_POOL = "eks-node-warm-pool.service"
WARM_POOL_MARKER = "/run/eks-node/warm-pool"


def warm_pool(root):
    text = effective(root, WARM_POOL)
    for want in ("Type=simple", "RemainAfterExit=yes", "Documentation=man:eks-node-warm-pool(8)",
                 "StartLimitIntervalSec=0", "StandardOutput=journal+console"):
        check(re.search("^" + re.escape(want), text, re.M) is not None, f"{WARM_POOL} has {want}")
    check(directives(text, "ConditionPathExists") == [WARM_POOL_MARKER], f"{WARM_POOL} runs only with the marker")
    check("eks-node.target" in directives(text, "After"), f"{WARM_POOL} is ordered after eks-node.target")
    check(directives(text, "OnFailure") == ["eks-node-failed.target"], f"{WARM_POOL} fails closed")
    check(WARM_POOL in directives(effective(root, "eks-node.target"), "Wants"), f"eks-node.target wants {WARM_POOL}")
    check(WARM_POOL in directives(effective(root, "eks-node-failed.target"), "Conflicts"),
          f"eks-node-failed.target stops {WARM_POOL}")
    for unit in ("kubelet.service", "eks-node-joined.service"):
        check("!" + WARM_POOL_MARKER in directives(effective(root, unit), "ConditionPathExists"),
              f"{unit} is skipped while the marker holds it back")


# Steps off the join path: they run after kubelet has started and hold nothing
# back (no OnFailure=, nothing Requires= them); eks-node-generator(8) pulls
# them in only when the configuration asks, so the target does not want them.
OFF_JOIN_PATH = ("eks-node-prepull.service", "eks-node-joined.service")


def off_join_path(root, unit_dir, units):
    why_comments([unit_dir / u for u in OFF_JOIN_PATH])
    for unit in OFF_JOIN_PATH:
        text = effective(root, unit)
        for want in ("Type=oneshot", "RemainAfterExit=yes", "TimeoutStartSec=", "Documentation=man:",
                     "StartLimitIntervalSec=0", "StandardOutput=journal+console"):
            check(re.search("^" + re.escape(want), text, re.M) is not None, f"{unit} has {want}")
        check(not directives(text, "OnFailure"), f"{unit} has no OnFailure=: its failure holds nothing back")
        after = directives(text, "After")
        for other in ("kubelet.service", "eks-node.target"):
            check(other in after, f"{unit} is ordered after {other} (never delays kubelet or the boot)",
                  " ".join(after))
        check(not set(directives(text, "Before")) & {"kubelet.service", "eks-node.target"},
              f"{unit} is ordered before neither kubelet nor eks-node.target")
        check(unit not in directives(effective(root, "eks-node.target"), "Wants"),
              f"eks-node.target does not want {unit} statically (the generator does)")
        holders = [u for u in units + ["kubelet.service", "containerd.service"]
                   if unit in directives(effective(root, u), "Requires") + directives(effective(root, u), "BindsTo")]
        check(not holders, f"nothing requires {unit}", " ".join(holders))


# Not a step: the template of settings.hooks' units (eks-node-hook(8)). Its
# instances run the admin's or the user data's command, with the node's
# environment and without the steps' sandbox; the generator gives each one its
# command, order, timeout and OnFailure= in a drop-in.
HOOK_TEMPLATE = "eks-node-hook@.service"
HOOK_GOLDEN = ("25-hooks-static", "26-hooks-config-json")


def hook_template(root, unit_dir):
    text = (unit_dir / HOOK_TEMPLATE).read_text()
    for want in ("Type=oneshot", "RemainAfterExit=yes", "Documentation=man:eks-node-hook(8)",
                 "StartLimitIntervalSec=0", "StandardOutput=journal+console"):
        check(re.search("^" + re.escape(want), text, re.M) is not None, f"{HOOK_TEMPLATE} has {want}")
    # an instance nobody declared has no command: systemd refuses to start it
    check(not directives(text, "ExecStart"), f"{HOOK_TEMPLATE} has no ExecStart= (each hook's drop-in gives it)")
    check(not (unit_dir / f"{HOOK_TEMPLATE}.d" / SANDBOX_LINK).exists(),
          f"{HOOK_TEMPLATE} does not get the steps' sandbox (a hook does what its author needs)")
    lines = [line for line in effective(root, "eks-node-hook@x.service").splitlines()
             if line.startswith("EnvironmentFile=")]
    check(lines[-1:] != ["EnvironmentFile="], f"{HOOK_TEMPLATE} keeps the node's environment (proxies)",
          "\n".join(lines))
    # the generator's drop-ins (the golden trees) make instances systemd accepts
    here = pathlib.Path(__file__).resolve().parent.parent / "golden" / "generator"
    for case in HOOK_GOLDEN:
        for conf in sorted((here / case / "expected").glob("eks-node-hook@*.service.d/50-hook.conf")):
            unit = conf.parent.name[:-2]
            dest = root / "etc/systemd/system" / conf.parent.name
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copy(conf, dest / conf.name)
            # every hook runs eks-node-hook, installed in the root; its command
            # is in hook.json beside the drop-in, which systemd does not read
            program = re.search(r'^ExecStart="([^"]+)"', conf.read_text(), re.M).group(1)
            check(program.endswith("/eks-node-hook") and (root / program.lstrip("/")).is_file(),
                  f"{unit} runs the installed eks-node-hook", program)
            verify(root, [unit])


# Not a chain step: one instance per EC2 interface (eks-node-network(8)),
# pulled in by udev, required by nothing, retried by systemd while IMDS does
# not list a new ENI yet; the steps' sandbox plus CAP_NET_ADMIN (for
# systemd-networkd's Reload) from a drop-in sorted after it.
NETWORK_TEMPLATE = "eks-node-network@.service"
NETWORK_INSTANCE = "eks-node-network@ens6.service"
# The networked steps' 3.4, and 0.2 for CAP_NET_ADMIN (nothing else: no
# IPAddressAllow= either, since settings.imds.endpoint may name any address)
NETWORK_MAX_EXPOSURE = 3.6


def network_template(root, unit_dir, units):
    why_comments([unit_dir / NETWORK_TEMPLATE, unit_dir / f"{NETWORK_TEMPLATE}.d" / "20-net-admin.conf"])
    verify(root, [NETWORK_INSTANCE])
    security(root, [NETWORK_INSTANCE], NETWORK_MAX_EXPOSURE)
    # the template's file and drop-ins (systemd-analyze cat-config resolves no instance)
    text = effective(root, NETWORK_TEMPLATE)
    for want in ("Type=oneshot", "RemainAfterExit=yes", "TimeoutStartSec=", "Documentation=man:eks-node-network(8)",
                 "StartLimitIntervalSec=0", "StandardOutput=journal+console", "Restart=on-failure",
                 "RestartPreventExitStatus=2 6", "MemoryMax=", "TasksMax=",
                 "BindsTo=sys-subsystem-net-devices-%i.device"):
        check(re.search("^" + re.escape(want), text, re.M) is not None, f"{NETWORK_TEMPLATE} has {want}")
    check(not directives(text, "OnFailure"), f"{NETWORK_TEMPLATE} has no OnFailure=: a failed interface holds "
          "no join back")
    link = unit_dir / f"{NETWORK_TEMPLATE}.d" / SANDBOX_LINK
    check(link.is_symlink() and os.readlink(link) == f"../{SANDBOX}", f"{NETWORK_TEMPLATE}.d/{SANDBOX_LINK} "
          f"is a link to the one {SANDBOX}")
    missing = [w.strip() for w in CONFINEMENT[:-1] if not re.search("^" + re.escape(w), text, re.M)]
    check(not missing, f"{NETWORK_TEMPLATE} has the steps' confinement", "missing: " + ", ".join(missing))
    caps = directives(text, "CapabilityBoundingSet")
    check(caps[-1:] == ["CAP_NET_ADMIN"], f"{NETWORK_TEMPLATE}: CAP_NET_ADMIN only, after the sandbox's reset",
          " ".join(caps))
    mounts = [w for w in MOUNT_NAMESPACE if re.search("^" + re.escape(w), text, re.M)]
    check(not mounts, f"{NETWORK_TEMPLATE} needs no mount namespace", "found: " + ", ".join(mounts))
    holders = [u for u in units + ["kubelet.service", "containerd.service"]
               if u != NETWORK_TEMPLATE and any(d.startswith("eks-node-network@")
                                                for d in directives(effective(root, u), "Requires"))]
    check(not holders, f"nothing requires {NETWORK_TEMPLATE}", " ".join(holders))


# Not a chain step: it reads the join's files into the page cache from the first moment of
# the boot (eks-node-readahead(8)), pulled into sysinit.target by the generator when the image
# lists them. Nothing may wait for it: ordered only against shutdown, Type=simple (its
# start job ends at the fork, so not even the boot's end waits, nor a start timeout runs
# while the exec waits for idle CPU), no OnFailure=, required
# and waited for by no unit; no MemoryMax= (the page cache it fills is charged to its cgroup,
# and a bound would evict what it read), a numeric TasksMax=.
READAHEAD = "eks-node-readahead.service"


def readahead(root, unit_dir, units):
    why_comments([unit_dir / READAHEAD])
    text = effective(root, READAHEAD)
    for want in ("Type=simple", "DefaultDependencies=no", "Documentation=man:eks-node-readahead(8)",
                 "RuntimeMaxSec=", "StandardOutput=journal+console"):
        check(re.search("^" + re.escape(want), text, re.M) is not None, f"{READAHEAD} has {want}")
    check(not directives(text, "TimeoutStartSec"), f"{READAHEAD} has no start timeout to run out while it waits for the CPU")
    check(not directives(text, "OnFailure"), f"{READAHEAD} has no OnFailure=: a failed read-ahead holds nothing back")
    check(not directives(text, "After"), f"{READAHEAD} is ordered after nothing", " ".join(directives(text, "After")))
    check(set(directives(text, "Before")) == {"shutdown.target"}, f"{READAHEAD} is ordered before shutdown.target only",
          " ".join(directives(text, "Before")))
    check(not directives(text, "MemoryMax") and not directives(text, "MemoryHigh"),
          f"{READAHEAD} has no memory bound (the page cache it fills is charged to it)")
    tasks = directives(text, "TasksMax")
    check(tasks[-1:] and tasks[-1].isdigit(), f"{READAHEAD} has a numeric TasksMax=", " ".join(tasks))
    waiting = [u for u in units + ["kubelet.service", "containerd.service"] if u != READAHEAD and READAHEAD in (
        directives(effective(root, u), "After") + directives(effective(root, u), "Requires") +
        directives(effective(root, u), "BindsTo") + directives(effective(root, u), "Requisite"))]
    check(not waiting, f"no unit waits for or requires {READAHEAD}", " ".join(waiting))
    linked = sorted(str(p.relative_to(unit_dir)) for p in unit_dir.glob("*.wants/" + READAHEAD))
    check(not linked, f"nothing wants {READAHEAD} statically (the generator does, when the image lists files)",
          " ".join(linked))


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
        memory_bounds(root, [u for u in steps if u != READAHEAD])
    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
