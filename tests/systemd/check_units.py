#!/usr/bin/python3
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
- the confinement every step but eks-node-instance-store shares (eks-node(7),
  CONFINEMENT): its cheaper spelling scores worse in `security`, so the settings
  that stand in for ProtectKernelTunables= & co. are checked by name here (and
  what they refuse, by a probe in the VM tier).

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
# step may reach. The steps measure 1.x-2.x; eks-node-imds and eks-node-config
# need the network, so they sit higher than the render steps.
MAX_EXPOSURE = 3.0

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
    stubs = root / "etc/systemd/system"
    stubs.mkdir(parents=True, exist_ok=True)
    for name in ("kubelet.service", "containerd.service"):
        (stubs / name).write_text(
            "[Unit]\nDescription=stand-in for the node image's unit\n"
            "[Service]\nExecStart=/usr/bin/eks-node --version\n")
    return unit_dir


def our_units(unit_dir):
    return sorted(p.name for p in unit_dir.iterdir()
                  if p.name.startswith("eks-node") and p.suffix in (".service", ".target") and p.is_file())


def verify(root, units):
    env = dict(os.environ, MANPATH=str(root / "usr/share/man"), SYSTEMD_LOG_COLOR="0")
    for unit in units:
        r = run(["systemd-analyze", "verify", f"--root={root}", "--man=yes", unit], env=env, cwd=root)
        out = (r.stdout + r.stderr).strip()
        check(r.returncode == 0 and not out, f"systemd-analyze verify {unit}", out)


def security(root, steps):
    for unit in steps:
        r = run(["systemd-analyze", "security", "--offline=true", f"--root={root}", "--no-pager", unit], cwd=root)
        m = re.search(r"Overall exposure level for \S+: ([\d.]+) (\S+)", r.stdout)
        if not m:
            check(False, f"systemd-analyze security {unit}", r.stdout + r.stderr)
            continue
        level = float(m.group(1))
        print(f"# exposure {unit}: {level} {m.group(2)}")
        check(level <= MAX_EXPOSURE, f"{unit} exposure {level} <= {MAX_EXPOSURE}", r.stdout)


def contracts(unit_dir, steps, dropin_files):
    for unit in steps:
        text = (unit_dir / unit).read_text()
        for want in ("Type=oneshot", "RemainAfterExit=yes", "TimeoutStartSec=", "Documentation=man:",
                     "OnFailure=eks-node-failed.target", "StandardOutput=journal+console"):
            check(re.search("^" + re.escape(want), text, re.M) is not None, f"{unit} has {want}")
    for path in [unit_dir / u for u in steps] + dropin_files:
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


# eks-node(7), CONFINEMENT: what every step but eks-node-instance-store carries.
CONFINEMENT = ("NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=tmpfs", "PrivateTmp=yes",
               "ReadOnlyPaths=/proc /sys", "DevicePolicy=closed", "ProtectKernelModules=yes",
               "CapabilityBoundingSet=\n", "SystemCallArchitectures=native",
               "SystemCallFilter=@system-service\n", "SystemCallFilter=~@privileged @resources\n",
               "RestrictNamespaces=yes", "MemoryDenyWriteExecute=yes")


def confinement(unit_dir, steps):
    for unit in steps:
        if unit == "eks-node-instance-store.service":
            continue
        text = (unit_dir / unit).read_text()
        missing = [w.strip() for w in CONFINEMENT if not re.search("^" + re.escape(w), text, re.M)]
        check(not missing, f"{unit} has the steps' confinement", "missing: " + ", ".join(missing))
        if "PrivateNetwork=yes" in text:
            check("IPAddressDeny=any" in text, f"{unit}: no network, and no IP either")


def main():
    build_dir = pathlib.Path(sys.argv[1]).resolve()
    if not shutil.which("systemd-analyze") or not HOST_UNIT_DIR.is_dir():
        print("systemd-analyze or the host's units missing; skipped")
        return 77
    with tempfile.TemporaryDirectory(prefix="eks-node-units.") as tmp:
        root = pathlib.Path(tmp)
        unit_dir = stage(build_dir, root)
        units = our_units(unit_dir)
        steps = [u for u in units if u.endswith(".service")]
        check(len(steps) >= 6, f"{len(steps)} step units installed: {' '.join(steps)}")
        dropins = sorted(unit_dir.glob("*.service.d/*.conf"))
        check(len(dropins) >= 2, f"{len(dropins)} drop-ins installed")
        verify(root, units + ["kubelet.service", "containerd.service"])
        security(root, steps)
        contracts(unit_dir, steps, dropins)
        confinement(unit_dir, steps)
    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
