#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""eks-node's .deb, .rpm and tarball (issue 59, packaging/README.md), built by
packaging/build.py from this build directory, for this machine's architecture:

- the three hold the same paths, types, modes and link targets, the manifest's, all root:root,
  and every file `meson install` installs (meson introspect --installed);
- their version is `eks-node --version`'s; the rpm's Release is 1;
- the rpm's Requires and the deb's Depends are packaging/eks-node.toml's lists, the rpm's
  names all AL2023 packages (tests/data/al2023/packages.txt), the deb's all known to apt;
- the scriptlets are there (deb postinst, prerm, postrm; rpm %post, %preun, %postun) and
  parse (sh -n, and shellcheck where installed);
- tools/elf-check.py passes on the rpm's unpacked files;
- a file planted in one format's staging fails the build, naming it (each format);
- the .deb installed, reinstalled and removed with `dpkg --root` in a throwaway root, and the
  .rpm with `rpm --root` (each with a copy of sh, systemctl, systemd-tmpfiles and journalctl,
  and a kubelet.service standing for kubelet's): the first install presets exactly the
  preset's units (kubelet.service disabled, nothing enabled), an upgrade keeps the admin's
  choice, the catalog is built and emptied of eks-node's entries on removal, the tmpfiles
  directories made. No systemd runs in those roots, so the reloads, stops, sysctl and udev
  parts are skipped there, as on any image build;
- so the same three steps again in a root that looks booted (/run/systemd/system), its
  systemctl, systemd-tmpfiles, journalctl, udevadm and systemd-sysctl stubs that write down
  their arguments: the install's, the upgrade's and the removal's calls, in order, are
  exactly what a running system should see (a reload, the preset on the first install only,
  our services stopped on removal, not the targets). What the real tools then do on a booted
  host (a real daemon-reload, stop, sysctl write) is not run here: the host is not a node.

A cross build's packages (aarch64, build-aarch64/ of tools/test.sh) get the same checks: its
eks-node runs under meson's exe_wrapper (MESON_EXE_WRAPPER: qemu-user), dpkg and rpm install
it into the throwaway roots despite its architecture (--force-architecture, --ignorearch; the
scriptlets are shell, run by the host's sh copied into the root). With
EKS_NODE_PACKAGE_PEER=BUILD_DIR, another architecture's build (tools/test.sh: build/), the
manifest's paths must also be the ones that build installs (meson introspect --installed),
/lib/systemd read as /usr/lib/systemd where that build has systemd.pc's unit directory: the
same files for both architectures. Its .deb and .rpm are compressed with gzip -1, not xz:
the compression is packaging/build.py's one table for every architecture, which this
machine's own build checks with xz, and xz took the aarch64 run 60 s of its CPU
(2026-11-28) for nothing more.

Usage: packages.py BUILD_DIR EKS_NODE_CLI ARCH"""

import json
import os
import pathlib
import platform
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import tomllib

SOURCE_ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(SOURCE_ROOT / "tests" / "lib"))
sys.path.insert(0, str(SOURCE_ROOT / "packaging"))
import contents  # noqa: E402
import harness  # noqa: E402

BUILD_PY = SOURCE_ROOT / "packaging" / "build.py"
META = tomllib.loads((SOURCE_ROOT / "packaging" / "eks-node.toml").read_text())
SHARED = set(META["directories"]["shared"])
DEB_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}
# What a throwaway root needs to run the scriptlets (their shell and the systemd tools they
# call without a running systemd); dpkg and rpm run them chrooted into it.
ROOT_PROGRAMS = ["/bin/sh", "/bin/systemctl", "/bin/systemd-tmpfiles", "/bin/journalctl"]
KUBELET_UNIT = "[Unit]\nDescription=stands for kubelet's own unit\n[Service]\nExecStart=/bin/true\n" \
               "[Install]\nWantedBy=multi-user.target\n"
SYSTEM_CATALOG_ID = "0a1b2c3d4e5f40718293a4b5c6d7e8f9"
KUBELET_LINK = "etc/systemd/system/multi-user.target.wants/kubelet.service"
# dpkg's and rpm's options for a package of another architecture than the host's (main sets
# them for a cross build's packages): the roots are throwaway, nothing of it runs but the shell
FOREIGN = {"deb": [], "rpm": []}


def sh(cmd, **kw):
    return subprocess.run(cmd, text=True, capture_output=True, **kw)


def build(build_dir, arch, out, plant=None):
    env = dict(os.environ)
    env.pop("EKS_NODE_PACKAGE_PLANT", None)
    env.pop("EKS_NODE_PACKAGE_FAST", None)
    if plant:
        env["EKS_NODE_PACKAGE_PLANT"] = plant
    if plant or arch != platform.machine():
        # the planted build's packages are thrown away, and a cross build's compression is
        # this machine's (the module's docstring): no xz, most of a build's time
        env["EKS_NODE_PACKAGE_FAST"] = "1"
    if not package_layout(build_dir):
        env["EKS_NODE_PACKAGE_ANY_UNITDIR"] = "1"
    return sh([sys.executable, str(BUILD_PY), str(build_dir), arch, str(out)], env=env)


def package_layout(build_dir):
    opts = {o["name"]: o["value"] for o in json.loads(sh(["meson", "introspect", "--buildoptions", str(build_dir)]).stdout)}
    return opts.get("systemdunitdir") == "/usr/lib/systemd/system"


def copy_program(root, program):
    """program and the libraries ldd names for it, at their own paths under root."""
    files = [os.path.realpath(program)]
    for line in sh(["ldd", program]).stdout.splitlines():
        m = re.search(r"(/\S+) \(0x", line)
        if m:
            files.append(m.group(1))
    for f in files + [program]:
        dst = root / f.lstrip("/")
        if dst.exists() or dst.is_symlink():
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(os.path.realpath(f), dst)


def make_root(path):
    """A root the scriptlets can run in: merged /usr as Debian 12 and AL2023 have it, root in
    passwd and group, and a kubelet.service enabled as kubelet's package would leave it."""
    for d in ("usr/bin", "usr/sbin", "usr/lib", "usr/lib64", "etc/systemd/system/multi-user.target.wants",
              "var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers", "run", "tmp", "proc"):
        (path / d).mkdir(parents=True, exist_ok=True)
    for link in ("bin", "sbin", "lib", "lib64"):
        (path / link).symlink_to("usr/" + link)
    (path / "var/lib/dpkg/status").write_text("")
    # the scriptlets write to /dev/null as any shell script does
    (path / "dev").mkdir()
    os.mknod(path / "dev/null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    (path / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (path / "etc/group").write_text("root:x:0:\n")
    for p in ROOT_PROGRAMS:
        copy_program(path, p)
    (path / "usr/lib/systemd/system").mkdir(parents=True, exist_ok=True)
    (path / "usr/lib/systemd/system/kubelet.service").write_text(KUBELET_UNIT)
    (path / "usr/lib/systemd/system/multi-user.target").write_text("[Unit]\nDescription=Multi-User\n")
    (path / KUBELET_LINK).symlink_to("/usr/lib/systemd/system/kubelet.service")
    # a system has catalogs of its own (systemd's): journalctl rewrites the database from
    # what is left when ours goes, where an empty catalog would leave the old database
    (path / "usr/lib/systemd/catalog").mkdir(parents=True)
    (path / "usr/lib/systemd/catalog/system.catalog").write_text(
        "-- %s\nSubject: stands for the system's own entries\n\nA text.\n" % SYSTEM_CATALOG_ID)


def enablement(root):
    """Every enablement link under root's /etc/systemd/system, as 'link -> target'."""
    etc = root / "etc/systemd/system"
    return sorted("%s -> %s" % (p.relative_to(etc), os.readlink(p)) for p in etc.rglob("*") if p.is_symlink())


def catalog_has_ours(root, catalog_ids):
    db = root / "var/lib/systemd/catalog/database"
    if not db.exists():
        return None
    data = db.read_bytes()
    return any(bytes.fromhex(i) in data for i in catalog_ids)


def install_cycle(tally, kind, pkg, tmp, catalog_ids, tmpfiles_dirs):
    """Install, reinstall as an upgrade after the admin re-enabled kubelet, remove."""
    root = tmp / ("root-" + kind)
    make_root(root)
    before = enablement(root)
    env = dict(os.environ, SYSTEMD_OFFLINE="1")
    if kind == "deb":
        # --force-depends: the root has none of the Depends; --force-script-chrootless is not
        # used: the scriptlets run chrooted, as in a real install
        install = ["dpkg", "--root=%s" % root, "--force-depends", "--force-not-root", *FOREIGN["deb"], "-i", str(pkg)]
        remove = ["dpkg", "--root=%s" % root, "--force-depends", "-r", META["name"]]
        purge = ["dpkg", "--root=%s" % root, "--force-depends", "--purge", META["name"]]
    else:
        sh(["rpm", "--root", str(root), "--initdb"])
        install = ["rpm", "--root", str(root), "--nodeps", "--nosignature", *FOREIGN["rpm"], "-i", str(pkg)]
        reinstall = ["rpm", "--root", str(root), "--nodeps", "--nosignature", *FOREIGN["rpm"], "-U", "--replacepkgs",
                     str(pkg)]
        remove = ["rpm", "--root", str(root), "--nodeps", "-e", META["name"]]
        purge = None
    # /proc in the root, as a real install has it (systemd-tmpfiles refuses to run without),
    # mounted in a mount namespace of the command's own: it goes when the command ends
    in_ns = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
             'mount -t proc proc "$1/proc" && shift && exec "$@"', "sh", str(root)]
    install, remove = in_ns + install, in_ns + remove
    purge = purge and in_ns + purge
    if kind == "rpm":
        reinstall = in_ns + reinstall
    r = sh(install, env=env)
    tally.check("%s: installs into a throwaway root" % kind, r.returncode == 0, r.stdout + r.stderr)
    if r.returncode != 0:
        return
    after = enablement(root)
    tally.check("%s: the first install presets: kubelet.service disabled, nothing enabled" % kind,
                after == [x for x in before if not x.startswith("multi-user.target.wants/kubelet.service")],
                "before %s, after %s\n%s" % (before, after, r.stdout + r.stderr))
    tally.check("%s: the journal catalog holds eks-node's entries" % kind,
                catalog_has_ours(root, catalog_ids) is True, r.stdout + r.stderr)
    missing = [d for d in tmpfiles_dirs if not (root / d.lstrip("/")).is_dir()]
    tally.check("%s: the tmpfiles.d directories exist" % kind, not missing, "missing %s\n%s" % (missing, r.stdout + r.stderr))
    # the admin enables kubelet on its own; an upgrade must leave it so
    if not (root / KUBELET_LINK).is_symlink():
        (root / KUBELET_LINK).parent.mkdir(parents=True, exist_ok=True)  # preset removed it empty
        (root / KUBELET_LINK).symlink_to("/usr/lib/systemd/system/kubelet.service")
    if kind == "deb":
        r = sh(install, env=env)  # the same version again: postinst configure OLD-VERSION
    else:
        r = sh(reinstall, env=env)
    tally.check("%s: an upgrade keeps the admin's enabled kubelet.service" % kind,
                r.returncode == 0 and (root / KUBELET_LINK).is_symlink(), r.stdout + r.stderr)
    r = sh(remove, env=env)
    # dpkg -r keeps the conffiles (the admin's), --purge takes them; rpm -e takes all
    conffiles = {p for p, (k, _, _, _) in contents.listing(pkg).items() if k == "f" and p.startswith("/etc/")} \
        if kind == "deb" else set()
    left = left_behind(root, pkg)
    tally.check("%s: removal removes the files%s" % (kind, ", the conffiles kept" if conffiles else ""),
                r.returncode == 0 and set(left) == conffiles, "left %s\n%s" % (left[:5], r.stdout + r.stderr))
    tally.check("%s: removal empties the catalog of eks-node's entries, the system's kept" % kind,
                catalog_has_ours(root, catalog_ids) is False and catalog_has_ours(root, [SYSTEM_CATALOG_ID]),
                r.stdout + r.stderr)
    if purge:
        r = sh(purge, env=env)
        left = left_behind(root, pkg)
        tally.check("%s: purge removes the conffiles too" % kind, r.returncode == 0 and not left,
                    "left %s\n%s" % (left[:5], r.stdout + r.stderr))


def left_behind(root, pkg):
    """The package's files and links still in root."""
    return sorted(p for p, (k, _, _, _) in contents.listing(pkg).items()
                  if k != "d" and ((root / p.lstrip("/")).exists() or (root / p.lstrip("/")).is_symlink()))

# The tools the scriptlets call on a running system, as stubs that write their arguments to
# /calls: a root with /run/systemd/system looks like a booted system to the scriptlets, and
# what they would do there (reload, stop, sysctl, udev) is seen without doing it to the host.
STUBS = ["/usr/bin/systemctl", "/usr/bin/systemd-tmpfiles", "/usr/bin/journalctl", "/usr/bin/udevadm",
         "/usr/lib/systemd/systemd-sysctl"]


def make_recording_root(path):
    for d in ("usr/bin", "usr/lib/systemd", "var/lib/dpkg/info", "var/lib/dpkg/updates",
              "var/lib/dpkg/triggers", "run/systemd/system", "tmp", "dev", "etc"):
        (path / d).mkdir(parents=True, exist_ok=True)
    for link in ("bin", "sbin", "lib", "lib64"):
        (path / link).symlink_to("usr/" + link)
    (path / "usr/sbin").mkdir()
    (path / "usr/lib64").mkdir()
    (path / "var/lib/dpkg/status").write_text("")
    os.mknod(path / "dev/null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    copy_program(path, "/bin/sh")
    for stub in STUBS:
        f = path / stub.lstrip("/")
        f.write_text('#!/bin/sh\necho "%s $*" >> /calls\n' % os.path.basename(stub))
        f.chmod(0o755)


def calls(root):
    f = root / "calls"
    lines = f.read_text().splitlines() if f.exists() else []
    f.write_text("")
    return lines


def record_cycle(tally, kind, pkg, tmp, manifest):
    """Install, upgrade and remove in a root that looks booted, the tools stubs: the calls."""
    root = tmp / ("recording-" + kind)
    make_recording_root(root)
    paths = [line.split("\t") for line in manifest]
    services = sorted(p.rsplit("/", 1)[1].replace("@.", "@*.") for p, k, _, _ in paths
                      if k == "f" and p.endswith(".service") and p.rsplit("/", 1)[0] in
                      ("/usr/lib/systemd/system", "/lib/systemd/system"))
    assert services, "no services in the manifest"
    sysctl = sorted(p.rsplit("/", 1)[1] for p, k, _, _ in paths if p.startswith("/usr/lib/sysctl.d/"))
    tmpfiles = sorted(p.rsplit("/", 1)[1] for p, k, _, _ in paths if p.startswith("/usr/lib/tmpfiles.d/"))
    if kind == "deb":
        base = ["dpkg", "--root=%s" % root, "--force-depends", *FOREIGN["deb"]]
        install, upgrade, remove = base + ["-i", str(pkg)], base + ["-i", str(pkg)], base + ["-r", META["name"]]
    else:
        sh(["rpm", "--root", str(root), "--initdb"])
        base = ["rpm", "--root", str(root), "--nodeps", "--nosignature"]
        # rpm takes --ignorearch on an install only
        install, upgrade, remove = base + FOREIGN["rpm"] + ["-i", str(pkg)], \
            base + FOREIGN["rpm"] + ["-U", "--replacepkgs", str(pkg)], base + ["-e", META["name"]]
    on_install = ["systemctl daemon-reload", "systemctl --no-reload preset kubelet.service",
                  "systemd-tmpfiles --create " + " ".join(tmpfiles)] + \
                 ["systemd-sysctl " + s for s in sysctl] + ["udevadm control --reload", "journalctl --update-catalog"]
    # an upgrade: the old version's post-removal script (a reload, the catalog), then the new
    # one's post-install script without the preset (dpkg: postrm upgrade, postinst configure;
    # rpm: %post 2, %preun 1, %postun 1)
    after_removal = ["systemctl daemon-reload", "journalctl --update-catalog"]
    on_upgrade = [c for c in on_install if "preset" not in c]
    on_upgrade = after_removal + on_upgrade if kind == "deb" else on_upgrade + after_removal
    on_remove = ["systemctl stop " + " ".join(services), "systemctl daemon-reload",
                 "udevadm control --reload", "journalctl --update-catalog"]
    for what, cmd, want in (("install", install, on_install), ("upgrade", upgrade, on_upgrade),
                            ("removal", remove, on_remove)):
        r = sh(cmd)
        got = calls(root)
        tally.check("%s on a running system: the %s's calls are %s" % (kind, what, "; ".join(
            w if len(w) < 60 else w[:57] + "..." for w in want)), r.returncode == 0 and got == want,
            "got %s\n%s" % (got, r.stdout + r.stderr))



def parses(f):
    """sh -n's and shellcheck's problems with script f (shellcheck where installed: the lint's)."""
    r = sh(["sh", "-n", str(f)])
    problems = [r.stderr] if r.returncode else []
    if shutil.which("shellcheck"):
        r = sh(["shellcheck", "-s", "sh", str(f)])
        problems += [r.stdout] if r.returncode else []
    return problems


def scriptlets(tally, deb, rpm, tmp):
    ctl = tmp / "deb-control"
    sh(["dpkg-deb", "-e", str(deb), str(ctl)])
    for name in ("postinst", "prerm", "postrm"):
        f = ctl / name
        problems = parses(f) if f.exists() else ["missing"]
        tally.check("deb: %s is there, executable, and parses (sh -n, shellcheck)" % name,
                    not problems and os.access(f, os.X_OK), "\n".join(problems))
    for tag, name in (("POSTIN", "%post"), ("PREUN", "%preun"), ("POSTUN", "%postun")):
        body = sh(["rpm", "-qp", "--nosignature", "--qf", "%%{%s}" % tag, str(rpm)]).stdout
        prog = sh(["rpm", "-qp", "--nosignature", "--qf", "%%{%sPROG}" % tag, str(rpm)]).stdout
        f = tmp / ("rpm-" + tag)
        f.write_text(body)
        problems = parses(f)
        tally.check("rpm: %s is there, run by /bin/sh, and parses (sh -n, shellcheck)" % name,
                    body.strip() not in ("", "(none)") and prog == "/bin/sh" and not problems,
                    "prog %r: %s" % (prog, "\n".join(problems)))
    return ctl


def main():
    build_dir, cli, arch = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    tally = harness.Tally()
    if arch != platform.machine():
        FOREIGN.update(deb=["--force-architecture"], rpm=["--ignorearch"])
    layout = package_layout(build_dir)
    if not layout:
        print("note: this build's unit directory is systemd.pc's, not /usr/lib/systemd/system: the"
              " packages are built for the test only (EKS_NODE_PACKAGE_ANY_UNITDIR=1)")
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="eks-node-packages."))
    try:
        out = tmp / "out"
        r = build(build_dir, arch, out)
        tally.check("build.py builds the three packages", r.returncode == 0, r.stdout + r.stderr)
        if r.returncode != 0:
            sys.exit(tally.finish())
        version = sh(harness.wrapper() + [cli, "--version"]).stdout.split()[-1]
        name = META["name"]
        deb = out / ("%s_%s_%s.deb" % (name, version, DEB_ARCH[arch]))
        rpm = out / ("%s-%s-1.%s.rpm" % (name, version, arch))
        tar = out / ("%s-%s-linux-%s.tar.gz" % (name, version, arch))
        mfile = out / ("%s-%s-%s.manifest" % (name, version, arch))
        tally.check("the files are named with eks-node --version's %s" % version,
                    all(p.exists() for p in (deb, rpm, tar, mfile)), sorted(p.name for p in out.iterdir()))
        if not all(p.exists() for p in (deb, rpm, tar, mfile)):
            sys.exit(tally.finish())
        tally.check("the deb's Version is eks-node --version's",
                    sh(["dpkg-deb", "-f", str(deb), "Version"]).stdout.strip() == version)
        rq = sh(["rpm", "-qp", "--nosignature", "--qf", "%{VERSION} %{RELEASE} %{ARCH}", str(rpm)]).stdout
        tally.check("the rpm's Version, Release and Arch: %s 1 %s" % (version, arch), rq == "%s 1 %s" % (version, arch), rq)

        # the payload's compression: what is shipped is xz (a cross build's gzip, the docstring)
        want = "xz" if arch == platform.machine() else "gzip"
        members = sh(["ar", "t", str(deb)]).stdout.split()
        compressor = sh(["rpm", "-qp", "--nosignature", "--qf", "%{PAYLOADCOMPRESSOR}", str(rpm)]).stdout.strip()
        tally.check("the deb's data and the rpm's payload are %s" % want,
                    ("data.tar.%s" % ("gz" if want == "gzip" else want)) in members and compressor == want,
                    (members, compressor))

        # the same contents, read with each format's tool
        manifest = mfile.read_text().splitlines()
        listings = {p.name: contents.listing(p) for p in (deb, rpm, tar)}
        for p in (deb, rpm, tar):
            problems = contents.compare(manifest, contents.manifest(p, SHARED), p.name)
            tally.case("%s holds the manifest's %d paths, types, modes and targets" % (p.name, len(manifest)), problems)
            wrong = ["%s owned by %s" % (f, o) for f, (_, _, _, o) in listings[p.name].items() if o != "root:root"]
            tally.case("%s: every path root:root" % p.name, wrong)
        installed = json.loads(sh(["meson", "introspect", "--installed", str(build_dir)]).stdout)
        paths = {line.split("\t")[0] for line in manifest}
        missing = sorted(set(installed.values()) - paths)
        tally.check("every file meson installs (%d) is in the manifest" % len(installed), not missing, missing)
        if layout:
            stray = sorted(p for p in paths if p.startswith("/lib/") or p.startswith("/lib64/"))
            tally.check("nothing under /lib: the units in /usr/lib/systemd/system", not stray and any(
                p.startswith("/usr/lib/systemd/system/eks-node") for p in paths), stray)
        peer = os.environ.get("EKS_NODE_PACKAGE_PEER")
        if peer:
            def usr(path):
                return "/usr" + path if path.startswith("/lib/systemd/") else path
            theirs = {usr(p) for p in json.loads(sh(["meson", "introspect", "--installed", peer]).stdout).values()}
            ours = {usr(p) for p in installed.values()}
            tally.check("the same files as the build in %s installs (%d)" % (peer, len(theirs)), ours == theirs,
                        "only here: %s; only there: %s" % (sorted(ours - theirs), sorted(theirs - ours)))
        modes = {line.split("\t")[0]: line.split("\t")[2] for line in manifest}
        bad = [p for p, m in modes.items() if p.startswith("/usr/libexec/eks-node/") and m != "0755"]
        tally.check("the step binaries are 0755", not bad and any(p.startswith("/usr/libexec/eks-node/") for p in modes), bad)

        # dependencies
        depends = [d.strip() for d in sh(["dpkg-deb", "-f", str(deb), "Depends"]).stdout.split(",")]
        tally.check("the deb Depends on %s" % ", ".join(META["depends"]["deb"]), depends == META["depends"]["deb"], depends)
        # one apt-cache for all (1.9 s a call here): the names it knows are its records' Package: lines
        known = set(re.findall(r"^Package: (\S+)$", sh(["apt-cache", "show", "--no-all-versions"] + depends).stdout, re.M))
        unknown = [d for d in depends if d not in known]
        tally.check("apt knows every Depends", not unknown, unknown)
        requires = [line.split()[0] for line in sh(["rpm", "-qp", "--nosignature", "--requires", str(rpm)]).stdout.splitlines()
                    if not line.startswith("rpmlib(")]
        want = sorted(set(META["depends"]["rpm"]) | {"/bin/sh"})
        tally.check("the rpm Requires %s, and no automatic requirement" % ", ".join(META["depends"]["rpm"]),
                    sorted(set(requires)) == want, sorted(set(requires)))
        al2023 = set((SOURCE_ROOT / "tests/data/al2023/packages.txt").read_text().split())
        tally.check("every rpm Requires is an AL2023 package", set(META["depends"]["rpm"]) <= al2023,
                    sorted(set(META["depends"]["rpm"]) - al2023))

        ctl = scriptlets(tally, deb, rpm, tmp)
        conffiles = (ctl / "conffiles").read_text().split() if (ctl / "conffiles").exists() else []
        etc = sorted(line.split("\t")[0] for line in manifest if line.startswith("/etc/") and line.split("\t")[1] == "f")
        tally.check("the deb's conffiles are its files in /etc", conffiles == etc, (conffiles, etc))

        # the rpm's files as AL2023 would run them
        unpacked = tmp / "rpm-files"
        unpacked.mkdir()
        # rpm2archive: rpm's own, where cpio would be one more package
        r = sh(["sh", "-c", "rpm2archive - < '%s' | tar -xzf -" % rpm], cwd=unpacked)
        e = sh([sys.executable, str(SOURCE_ROOT / "tools/elf-check.py"), "--arch", arch, str(unpacked)])
        programs = [line for line in manifest if line.split("\t")[2] == "0755" and line.split("\t")[1] == "f"
                    and not line.startswith("/etc/")]
        m = re.search(r"(\d+) ELF files", e.stdout + e.stderr)
        tally.check("tools/elf-check.py --arch %s passes on the unpacked rpm's %d programs" % (arch, len(programs)),
                    r.returncode == 0 and e.returncode == 0 and m and int(m.group(1)) == len(programs),
                    r.stderr + e.stdout + e.stderr)

        # a file planted in each format's staging, not in the tree the manifest is made from:
        # the build fails, naming the file in each package (one build for the three: each
        # package is compared with the manifest on its own)
        r = build(build_dir, arch, tmp / "planted", plant="deb,rpm,tar")
        for label, p in (("deb", deb), ("rpm", rpm), ("tarball", tar)):
            named = [line for line in r.stderr.splitlines()
                     if line.startswith(p.name + ":") and "/usr/share/eks-node-planted" in line]
            tally.check("planted: a file in the %s's staging only fails the build, named" % label,
                        r.returncode != 0 and len(named) == 1, r.stdout + r.stderr)

        # installs into throwaway roots
        catalog_text = (SOURCE_ROOT / "catalog/eks-node.catalog").read_text()
        catalog_ids = re.findall(r"^-- ([0-9a-f]{32})", catalog_text, re.M)
        tmpfiles_dirs = re.findall(r"^d (/(?!run/)\S+)", (SOURCE_ROOT / "units/eks-node.tmpfiles").read_text(), re.M)
        for kind, pkg in (("deb", deb), ("rpm", rpm)):
            install_cycle(tally, kind, pkg, tmp, catalog_ids, tmpfiles_dirs)
            record_cycle(tally, kind, pkg, tmp, manifest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(tally.finish())


if __name__ == "__main__":
    main()
