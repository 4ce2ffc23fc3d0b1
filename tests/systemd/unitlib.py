# SPDX-License-Identifier: Apache-2.0
"""What the unit checks share (check_units.py, step_units.py, verify_generated.py): one
reporter, the staged root (meson install --destdir, the host's units, stand-ins for the node
image's), the units as systemd reads them, systemd-analyze's verify and security, and the
names of the confinement every step carries (eks-node(7), CONFINEMENT)."""
import os
import pathlib
import re
import shutil
import subprocess
import sys


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



def directives(text, name):
    """The values of every `name=` line, words split (After=a b -> [a, b])."""
    out = []
    for line in text.splitlines():
        if line.startswith(name + "="):
            out.extend(line[len(name) + 1:].split())
    return out
