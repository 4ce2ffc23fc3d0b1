#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Builds eks-node's .rpm, .deb and tarball for one architecture from a meson build directory
(packaging/README.md).

  packaging/build.py [--formats deb,rpm,tar] BUILD_DIR ARCH OUTDIR     ARCH: x86_64 or aarch64

BUILD_DIR is built already (ninja) and configured for the packages' layout
(-Dsystemdunitdir=/usr/lib/systemd/system -Dsystemdgeneratordir=/usr/lib/systemd/system-generators);
its binaries are ARCH's (a cross build's for aarch64). Writes to OUTDIR:
  eks-node_VERSION_DEBARCH.deb        (DEBARCH: amd64, arm64)
  eks-node-VERSION-1.ARCH.rpm
  eks-node-VERSION-linux-ARCH.tar.gz
  eks-node-VERSION-ARCH.manifest      every path the packages install, with its type and mode
VERSION is the build's (BUILD_DIR/eks-node-version, what `eks-node --version` prints). Each
package is read back with its own tools and compared with the manifest: any difference fails.
--formats builds only the named ones (and the manifest): the VM tier boots the .deb of every
test run (tests/vm/README.md) and needs neither rpmbuild's nor the tarball's seconds.
--compression xz|gzip|none: the .deb's and .rpm's payload (default xz).

Everything comes from `meson install --destdir` (the staging tree): nothing is listed or moved
by hand, so a file meson installs is in all three packages or the build fails.

Test hooks (tests/packaging/packages.py): EKS_NODE_PACKAGE_PLANT=FORMAT[,FORMAT...] (deb, rpm,
tar) adds a file to each named format's staging only, which the comparison must catch in each;
EKS_NODE_PACKAGE_FAST=1 compresses the .deb and .rpm with gzip -1 instead of xz (xz is most of
the build's time, and a build the test throws away needs no small files);
EKS_NODE_PACKAGE_ANY_UNITDIR=1 packages a build with systemd.pc's unit directory (Debian's
/lib/systemd/system), as the test does in a default build: those packages are not for use.
"""
import argparse
import hashlib
import os
import pathlib
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import tomllib

HERE = pathlib.Path(__file__).resolve().parent
SOURCE_ROOT = HERE.parent
DEB_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}
UNIT_DIR = "/usr/lib/systemd/system"
GENERATOR_DIR = "/usr/lib/systemd/system-generators"
# A version both rpm (Version: no '-') and dpkg (an upstream version starting with a digit,
# no '-' without a revision) take as it is: tools/version.py writes no other.
VERSION = re.compile(r"[0-9][0-9A-Za-z.+~]*")
HOOKS = ("post", "preun", "postun")
# The .deb's and .rpm's payload compression (--compression): xz for what is shipped; gzip -1
# (EKS_NODE_PACKAGE_FAST=1, or --compression gzip) for packages a test throws away; none for
# the VM tier's, which its emulated guest would otherwise spend seconds of every boot
# decompressing (tests/vm/README.md).
COMPRESSION = {
    "xz": (["-Zxz"], "w6.xzdio"),
    "gzip": (["-Zgzip", "-z1"], "w1.gzdio"),
    "none": (["-Znone"], "w.ufdio"),
}
compression = "gzip" if os.environ.get("EKS_NODE_PACKAGE_FAST") == "1" else "xz"
UNIT_SUFFIXES = (".service", ".target", ".socket", ".timer", ".path", ".mount")


def fail(msg):
    sys.exit("build.py: " + msg)


def run(cmd, **kw):
    r = subprocess.run(cmd, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kw)
    if r.returncode != 0:
        fail("%s failed (exit %d):\n%s" % (" ".join(map(str, cmd)), r.returncode, r.stdout))
    return r.stdout


def build_option(build_dir, name):
    import json
    for opt in json.loads(run(["meson", "introspect", "--buildoptions", str(build_dir)])):
        if opt["name"] == name:
            return opt["value"]
    return None


def walk(root):
    """{"/path": (type, mode, link target or None)} for every entry under root."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = pathlib.Path(dirpath) / name
            st = p.lstat()
            path = "/" + str(p.relative_to(root))
            if stat.S_ISLNK(st.st_mode):
                out[path] = ("l", 0o777, os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                out[path] = ("d", stat.S_IMODE(st.st_mode), None)
            elif stat.S_ISREG(st.st_mode):
                out[path] = ("f", stat.S_IMODE(st.st_mode), None)
            else:
                fail("%s: neither file, directory nor link" % path)
    return out


def manifest_lines(entries, shared):
    """The manifest: one line per path, sorted, the system's shared directories left out."""
    lines = []
    for path in sorted(entries):
        kind, mode, target = entries[path]
        if kind == "d" and path in shared:
            continue
        lines.append("%s\t%s\t%04o\t%s" % (path, kind, mode, target if target else "-"))
    return lines


def unit_facts(stage):
    """What the scriptlets act on, from what the install put into the staging tree."""
    # /lib/systemd/system too: a build the test packages with systemd.pc's directory
    unitfiles = {p.name: p for d in (UNIT_DIR, "/lib/systemd/system") if (stage / d.lstrip("/")).is_dir()
                 for p in (stage / d.lstrip("/")).iterdir()
                 if p.is_file() and not p.is_symlink() and p.name.endswith(UNIT_SUFFIXES)}
    units = sorted(unitfiles)
    install = [u for u in units if "@." not in u and
               re.search(r"^\[Install\]", unitfiles[u].read_text(), re.M)]
    # services only (preun.sh says why); a template's instances by a pattern systemctl expands
    stop = [u.replace("@.", "@*.") for u in units if u.endswith(".service")]
    preset = []
    for f in sorted((stage / "usr/lib/systemd/system-preset").glob("*.preset")):
        for line in f.read_text().splitlines():
            words = line.split()
            if len(words) >= 2 and words[0] in ("enable", "disable") and \
                    not re.search(r"[*?\[]", words[1]):
                preset.append(words[1])
    tmpfiles = sorted(p.name for p in (stage / "usr/lib/tmpfiles.d").glob("*.conf"))
    sysctl = sorted(p.name for p in (stage / "usr/lib/sysctl.d").glob("*.conf"))
    udev = any((stage / "usr/lib/udev/rules.d").glob("*.rules"))
    return {
        "preset_units": " ".join(sorted(set(preset + install))),
        "install_units": " ".join(install),
        "stop_units": " ".join(stop),
        "tmpfiles": " ".join(tmpfiles),
        "sysctl": " ".join(sysctl),
        "udev_rules": "yes" if udev else "no",
    }


def scriptlet(hook, facts):
    """The body of one hook: the facts as shell variables, scripts/common.sh, scripts/HOOK.sh."""
    for k, v in facts.items():
        # single-quoted below: unit and file names, nothing a shell would read otherwise
        if not re.fullmatch(r"[A-Za-z0-9@*.:_ -]*", v):
            fail("%s=%r: not a list of plain names" % (k, v))
    body = (HERE / "scripts" / (hook + ".sh")).read_text()
    # only those the hook reads: an unused one is a mistake to shellcheck
    head = "".join("%s='%s'\n" % (k, v) for k, v in facts.items() if "$" + k in body)
    return head + (HERE / "scripts/common.sh").read_text() + "\n" + body


# Each format's own calling convention, turned into $action (install, upgrade, remove) for the
# shared bodies; a call a body has nothing to do for exits 0.
# rpm: $1 is the number of this package's versions installed after the transaction: %post 1
# on a first install, >1 on an upgrade; %preun and %postun 0 on removal, >=1 on an upgrade.
RPM_HEADS = {
    "post": 'if [ "$1" -eq 1 ]; then action=install; else action=upgrade; fi\n',
    "preun": 'if [ "$1" -eq 0 ]; then action=remove; else action=upgrade; fi\n',
    "postun": 'if [ "$1" -eq 0 ]; then action=remove; else action=upgrade; fi\n',
}
# dpkg (Debian Policy, "Summary of ways maintainer scripts are called"): postinst configure
# with the last configured version as $2, empty the first time; the abort-* calls put back
# what a failed remove or upgrade undid: the units are in place again, a reload is all.
DEB_HEADS = {
    "postinst": ('#!/bin/sh\nset -e\ncase "$1" in\n'
                 '    configure) if [ -z "$2" ]; then action=install; else action=upgrade; fi ;;\n'
                 '    abort-upgrade|abort-remove|abort-deconfigure) action=upgrade ;;\n'
                 '    *) exit 0 ;;\nesac\n'),
    # remove only: on upgrade (and its failed-upgrade) the units keep running
    "prerm": ('#!/bin/sh\nset -e\ncase "$1" in\n'
              '    remove) action=remove ;;\n'
              '    *) exit 0 ;;\nesac\n'),
    # purge comes after remove, whose call did the work; the package leaves no state to purge
    "postrm": ('#!/bin/sh\nset -e\ncase "$1" in\n'
               '    remove) action=remove ;;\n'
               '    upgrade) action=upgrade ;;\n'
               '    *) exit 0 ;;\nesac\n'),
}
DEB_HOOK = {"postinst": "post", "prerm": "preun", "postrm": "postun"}


def copy_tree(src, dst):
    shutil.copytree(src, dst, symlinks=True)


def plant(tree, fmt):
    """The test's planted mismatch: one file in one format's staging only."""
    if fmt in os.environ.get("EKS_NODE_PACKAGE_PLANT", "").split(","):
        p = tree / "usr/share/eks-node-planted"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("planted in the %s staging only\n" % fmt)
        p.chmod(0o644)


def build_deb(meta, stage, work, out, version, arch, facts, config_files):
    root = work / "deb"
    copy_tree(stage, root)
    plant(root, "deb")
    debian = root / "DEBIAN"
    debian.mkdir()
    size_kib = sum((p.lstat().st_size + 1023) // 1024 for p in root.rglob("*") if not p.is_dir())
    desc = meta["description"].strip().splitlines()
    control = [
        "Package: %s" % meta["name"],
        "Version: %s" % version,
        "Architecture: %s" % DEB_ARCH[arch],
        "Maintainer: %s" % meta["maintainer"],
        "Installed-Size: %d" % size_kib,
        "Depends: %s" % ", ".join(meta["depends"]["deb"]),
        "Section: %s" % meta["section"],
        "Priority: %s" % meta["priority"],
    ]
    if meta["url"]:
        control.append("Homepage: %s" % meta["url"])
    control.append("Description: %s" % meta["summary"])
    control += [" " + (line if line.strip() else ".") for line in desc]
    (debian / "control").write_text("\n".join(control) + "\n")
    # Debian Policy 10.7.2: a package's files in /etc are conffiles, which dpkg keeps when the
    # admin changed them.
    if config_files:
        (debian / "conffiles").write_text("".join(p + "\n" for p in config_files))
    md5 = []
    for p in sorted(root.rglob("*")):
        if p.is_file() and not p.is_symlink() and debian not in p.parents:
            md5.append("%s  %s\n" % (hashlib.md5(p.read_bytes()).hexdigest(), p.relative_to(root)))
    (debian / "md5sums").write_text("".join(md5))
    for script, hook in DEB_HOOK.items():
        f = debian / script
        f.write_text(DEB_HEADS[script] + "\n" + scriptlet(hook, facts))
        f.chmod(0o755)
    for f in ("control", "md5sums", "conffiles"):
        if (debian / f).exists():
            (debian / f).chmod(0o644)
    deb = out / ("%s_%s_%s.deb" % (meta["name"], version, DEB_ARCH[arch]))
    run(["dpkg-deb", "--root-owner-group"] + COMPRESSION[compression][0] +
        ["--build", str(root), str(deb)])
    return deb


def build_rpm(meta, stage, work, out, version, arch, facts, entries, shared, config_files):
    top = work / "rpm"
    buildroot = top / "BUILDROOT"
    copy_tree(stage, buildroot)
    plant(buildroot, "rpm")
    # what the rpm owns: everything in the staging tree but the system's directories
    files = []
    for path, (kind, _, _) in sorted(walk(buildroot).items()):
        if kind == "d":
            if path not in shared:
                files.append("%%dir %s" % path)
        elif path in config_files:
            # replaced on upgrade, an admin's changed copy kept as .rpmsave: bootstrap.sh is
            # the shim AL2 user data calls, which must be this version's
            files.append("%%config %s" % path)
        else:
            files.append(path)
    spec = [
        "Name: %s" % meta["name"],
        "Version: %s" % version,
        "Release: 1",
        "Summary: %s" % meta["summary"],
        "License: %s" % meta["license"],
        "Group: %s" % meta["group"],
        # no BuildArch: rpmbuild refuses one this host cannot build for ("No compatible
        # architectures found for build": aarch64 on x86_64), where --target (below) names the
        # package's architecture for any, and nothing is compiled here
    ]
    if meta["url"]:
        spec.append("URL: %s" % meta["url"])
    spec += ["Requires: %s" % d for d in meta["depends"]["rpm"]]
    # the scriptlets call systemctl, systemd-tmpfiles and journalctl
    spec += ["Requires(%s): systemd" % h for h in HOOKS]
    spec += [
        # the list above is the whole truth (eks-node.toml says why)
        "AutoReqProv: no",
        "",
        "%description",
        meta["description"].strip(),
        "",
        # the files are meson's install, as they are: no build, no stripping or debuginfo
        # split (the build's own buildtype decides), no byte-compiling
        "%install",
        "",
    ]
    for hook in HOOKS:
        spec += ["%%%s" % hook, RPM_HEADS[hook] + scriptlet(hook, facts).replace("%", "%%")]
    spec += ["%files", "%defattr(-,root,root,-)"] + files + [""]
    specfile = top / "eks-node.spec"
    specfile.write_text("\n".join(spec) + "\n")
    run(["rpmbuild", "-bb", "--target", arch + "-linux",
         "--define", "_topdir %s" % top,
         "--define", "_buildrootdir %s" % top,
         "--define", "buildroot %s" % buildroot,
         "--define", "_rpmdir %s" % (top / "RPMS"),
         "--define", "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm",
         "--define", "debug_package %{nil}",
         "--define", "__os_install_post %{nil}",
         "--define", "_binary_payload %s" % COMPRESSION[compression][1],
         # no /usr/lib/.build-id links: the other formats have none, and Debian's and
         # AL2023's debuginfo packages are not built from this package anyway
         "--define", "_build_id_links none",
         # rpmbuild's own %install cleans the build root first: ours is the staged tree
         "--define", "__spec_install_pre %{___build_pre}",
         "--define", "_dbpath %s" % (top / "db"),
         str(specfile)])
    built = top / "RPMS" / ("%s-%s-1.%s.rpm" % (meta["name"], version, arch))
    rpm = out / built.name
    shutil.move(built, rpm)
    return rpm


def build_tar(meta, stage, work, out, version, arch, epoch):
    root = work / "tar"
    copy_tree(stage, root)
    plant(root, "tar")
    tar = out / ("%s-%s-linux-%s.tar.gz" % (meta["name"], version, arch))
    names = sorted(str(p.relative_to(root)) for p in root.iterdir())
    # root-owned, in name order, one time for all: the same tree gives the same archive
    run(["tar", "-C", str(root), "--owner=0", "--group=0", "--numeric-owner", "--sort=name",
         "--mtime=@%d" % epoch, "-czf", str(tar)] + names)
    return tar


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build_dir", type=pathlib.Path)
    ap.add_argument("arch", choices=sorted(DEB_ARCH))
    ap.add_argument("outdir", type=pathlib.Path)
    ap.add_argument("--formats", default="deb,rpm,tar",
                    help="comma-separated: deb, rpm, tar (default: all three)")
    ap.add_argument("--compression", choices=sorted(COMPRESSION),
                    help="the .deb's and .rpm's payload (default: xz; gzip with EKS_NODE_PACKAGE_FAST=1)")
    args = ap.parse_args()
    global compression
    compression = args.compression or compression
    formats = args.formats.split(",")
    if not formats or any(f not in ("deb", "rpm", "tar") for f in formats):
        fail("--formats %r: a comma-separated list of deb, rpm and tar" % args.formats)
    build = args.build_dir.resolve()
    arch = args.arch
    meta = tomllib.loads((HERE / "eks-node.toml").read_text())
    shared = set(meta["directories"]["shared"])

    vfile = build / "eks-node-version"
    if not vfile.is_file():
        fail("%s: missing: build the build directory first (ninja -C %s)" % (vfile, build))
    version = vfile.read_text().strip()
    if not VERSION.fullmatch(version):
        fail("version %r is not one rpm and dpkg both take" % version)

    layout = {"prefix": "/usr", "systemdunitdir": UNIT_DIR, "systemdgeneratordir": GENERATOR_DIR}
    wrong = ["%s is %r, not %r" % (k, build_option(build, k), v) for k, v in layout.items()
             if build_option(build, k) != v]
    if wrong and os.environ.get("EKS_NODE_PACKAGE_ANY_UNITDIR") != "1":
        fail("%s is not configured for the packages' layout: %s (meson configure %s %s)" % (
            build, "; ".join(wrong), build,
            " ".join("-D%s=%s" % kv for kv in layout.items())))

    args.outdir.mkdir(parents=True, exist_ok=True)
    out = args.outdir.resolve()
    # the files' times in the archives: the commit's, so that one commit gives the same
    # tarball (SOURCE_DATE_EPOCH, as reproducible builds set it, wins)
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if not epoch:
        try:
            epoch = subprocess.run(["git", "-C", str(SOURCE_ROOT), "log", "-1", "--format=%ct"],
                                   text=True, capture_output=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            epoch = "0"
    epoch = int(epoch or 0)

    with tempfile.TemporaryDirectory(prefix="eks-node-package.") as tmp:
        work = pathlib.Path(tmp)
        stage = work / "stage"
        # --no-rebuild: the caller built it (as a meson test does, whose build is done);
        # umask 022: the modes are meson's install modes, not the caller's umask's
        old = os.umask(0o022)
        try:
            run(["meson", "install", "-C", str(build), "--no-rebuild", "--quiet",
                 "--destdir", str(stage)])
        finally:
            os.umask(old)
        # The binaries must be ARCH's and run on AL2023 (tools/elf-check.py): a package of
        # the wrong architecture, or needing a library version AL2023 lacks, is not built.
        run([sys.executable, str(SOURCE_ROOT / "tools/elf-check.py"), "--arch", arch, str(stage)])
        entries = walk(stage)
        # what an optional build tool leaves out (meson skips the man pages without scdoc)
        # would be missing from every format alike, which the comparison cannot see
        for what, prefix in (("man pages (is scdoc installed?)", "/usr/share/man/"),
                             ("the bash completion", "/usr/share/bash-completion/"),
                             ("the units", UNIT_DIR + "/") if not wrong else ("units", "/")):
            if not any(p.startswith(prefix) and k == "f" for p, (k, _, _) in entries.items()):
                fail("the install has no %s" % what)
        for path, (kind, mode, _) in entries.items():
            if kind != "l" and mode & 0o022:
                fail("%s: mode %04o is writable by others than root" % (path, mode))
        config_files = sorted(p for p, (k, _, _) in entries.items() if k == "f" and p.startswith("/etc/"))
        facts = unit_facts(stage)
        manifest = manifest_lines(entries, shared)
        mfile = out / ("%s-%s-%s.manifest" % (meta["name"], version, arch))
        mfile.write_text("\n".join(manifest) + "\n")

        built = []
        if "deb" in formats:
            built.append(build_deb(meta, stage, work, out, version, arch, facts, config_files))
        if "rpm" in formats:
            built.append(build_rpm(meta, stage, work, out, version, arch, facts, entries, shared,
                                   config_files))
        if "tar" in formats:
            built.append(build_tar(meta, stage, work, out, version, arch, epoch))

    # each package as its own tools read it, against the manifest
    sys.path.insert(0, str(HERE))
    import contents
    problems = []
    for pkg in built:
        got = contents.manifest(pkg, shared)
        problems += contents.compare(manifest, got, pkg.name)
        problems += ["%s: %s is owned by %s, not root:root" % (pkg.name, p, o)
                     for p, o in contents.owners(pkg).items() if o != "root:root"]
    if problems:
        for p in problems:
            print(p, file=sys.stderr)
        fail("the packages differ from the manifest %s: %d difference%s" % (mfile.name, len(problems), "" if len(problems) == 1 else "s"))
    for f in built + [mfile]:
        print(f)


if __name__ == "__main__":
    main()
