#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Tier 3: the join's files read ahead (eks-node-readahead(8)) on a fake image: eks-node
installed (meson install --destdir) with the libraries ldd finds for its binaries and
those their .note.dlopen names, copied from this host under their real paths with the
host's ld.so.conf; a containerd, kubelet and CNI plugins that are copies of /usr/bin/true
(ELF programs that need libc); the image's kubelet units (packer/provisioners/files).

- `eks-node readahead-list --root`: writes the list, then keeps it (same bytes); --print
  prints the same text;
- the list: in the join's order (the chain's steps in chain order, containerd, kubelet,
  kubelet's credential plugin, the first pod's files); every library `ldd` names for
  eks-node-imds; the libraries of the dlopen notes; each file once, by its real path;
- eks-node-readahead: reads every file of the list (the count in its last line), then
  again (harmless: nothing on the image changes, it opens nothing for writing when strace
  is there to see); an admin's list in /etc hides the image's: a bad line is a warning
  naming it, a missing file a debug line only; a link to /dev/null masks it; no list at
  all is nothing to read; bad options are usage errors (exit 2);
- `eks-node readahead-record --root`: sparse files stand in for what a join read: the
  pages written are the recorded ranges, a file with none a comment; eks-node-readahead
  then reads by the ranges, a file changed since whole (a notice naming it), a recording
  that is none whole (a warning naming the line); readahead-list again keeps the
  recordings of unchanged files and drops a changed file's; no list is exit 6;
- `eks-node validate --image`: the list's check ok; a listed file missing is a FAIL naming
  it; a file the join reads left out of the list is a warning naming it.

Usage: readahead.py BUILD_DIR EKS_NODE_CLI"""

import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[1] / "lib"))
import harness  # noqa: E402

ROOT = HERE.parents[2]
FILES = ROOT / "packer" / "provisioners" / "files"
LIST = "usr/lib/eks-node/readahead.list"
TALLY = harness.Tally()
check = TALLY.check
# what the steps dlopen() (core/dl.hpp), which their notes name
DLOPENED = ["libcurl.so.4", "libcrypto.so.3", "libsystemd.so.0"]


def host_real(path):
    return os.path.realpath(path)


def copy_host_file(root, path):
    """The host's file at `path` into the image at its real path, and `path` itself a
    link to it when it is one on the host (a soname's link)."""
    real = host_real(path)
    dest = root / real.lstrip("/")
    if not dest.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(real, dest)
    if os.path.islink(path):
        link = root / os.path.normpath(path).lstrip("/")
        if not os.path.lexists(link):
            link.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(os.readlink(path), link)
    return real


def ldd(binary):
    """The files the loader maps for `binary` (host paths), the interpreter included."""
    out = subprocess.run(["ldd", str(binary)], capture_output=True, text=True).stdout
    libs = []
    for line in out.splitlines():
        m = re.search(r"=>\s+(/\S+)", line) or re.match(r"\s*(/\S+)", line)
        if m:
            libs.append(m.group(1))
    return libs


def ldconfig_path(soname):
    out = subprocess.run(["/sbin/ldconfig", "-p"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        parts = line.strip().split(" => ")
        if len(parts) == 2 and parts[0].split(" ")[0] == soname:
            return parts[1]
    return None


def merge_usr(root):
    """Debian's merged /usr, as on the host: meson installed units under lib/ (the unit
    directory is /lib/systemd/system here), which becomes usr/lib behind a link."""
    for top in ("bin", "sbin", "lib", "lib64"):
        host = pathlib.Path("/" + top)
        if not host.is_symlink():
            continue
        mine = root / top
        target = root / os.readlink(host).lstrip("/")
        target.mkdir(parents=True, exist_ok=True)
        if mine.is_dir() and not mine.is_symlink():
            subprocess.run(["cp", "-a", "%s/." % mine, str(target)], check=True)
            shutil.rmtree(mine)
        if not os.path.lexists(mine):
            os.symlink(os.readlink(host), mine)


def make_image(build_dir, tmp):
    root = tmp / "image"
    harness.meson_install(build_dir, root)
    merge_usr(root)
    shutil.copy2("/etc/ld.so.conf", root / "etc/ld.so.conf")
    if os.path.isdir("/etc/ld.so.conf.d"):
        shutil.copytree("/etc/ld.so.conf.d", root / "etc/ld.so.conf.d", dirs_exist_ok=True)
    programs = sorted(p for p in (root / "usr/libexec/eks-node").iterdir()) + [root / "usr/bin/eks-node"]
    for p in programs:
        for lib in ldd(p):
            copy_host_file(root, lib)
    for soname in DLOPENED:
        found = ldconfig_path(soname)
        if found:
            copy_host_file(root, found)
            for lib in ldd(found):
                copy_host_file(root, lib)
    true = host_real("/usr/bin/true")
    for dest in ["usr/bin/containerd", "usr/bin/kubelet", "usr/bin/containerd-shim-runc-v2", "usr/sbin/runc"] + [
            "opt/cni/bin/%s" % p for p in ("loopback", "portmap", "bandwidth", "host-local")]:
        harness.write(root / dest, "")
        shutil.copy2(true, root / dest)
    for lib in ldd(true):
        copy_host_file(root, lib)
    harness.write(root / "usr/lib/systemd/system/containerd.service",
                  "[Unit]\nDescription=containerd\n[Service]\nExecStart=/usr/bin/containerd\n")
    for f in ["kubelet.service", "kubelet-forward-policy.service"]:
        harness.write(root / "etc/systemd/system" / f, (FILES / f).read_text())
    harness.write(root / "etc/eks/kubelet-version.txt", "v1.31.0\n")
    harness.write(root / "etc/eks/containerd-version.txt", "1.7.27\n")
    harness.write(root / "usr/lib/eks-node/node.toml.d/10-pause-image.toml",
                  '[settings.containerd]\nsandboxImage = "localhost/kubernetes/pause:latest"\n')
    harness.write(root / "etc/eks/pause.tar", "an archive\n")
    harness.write(root / "etc/eks/image-credential-provider/ecr-credential-provider", "#!/bin/sh\nexit 1\n")
    harness.write(root / "sys/devices/system/cpu/online", "0-3\n")
    harness.write(root / "proc/meminfo", "MemTotal:       16384000 kB\n")
    return root


def listed(root):
    return [l for l in (root / LIST).read_text().splitlines() if l and not l.startswith("#")]


def snapshot(root):
    """Every entry of the image with its size and modification time."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            out[p] = (st.st_size, st.st_mtime_ns)
    return out


def readahead(helpers, root, *args):
    return subprocess.run([str(helpers / "eks-node-readahead"), "--root=%s" % root, *args],
                          capture_output=True, text=True, timeout=120, env=dict(os.environ, EKS_NODE_LANDLOCK="0"))


def test_list(cli, root):
    r = harness.run_cli(cli, "readahead-list", "--root=%s" % root)
    check("readahead-list: exit 0, says what it wrote", r.returncode == 0 and r.stdout.startswith("wrote ") and
          LIST in r.stdout, r.stdout + r.stderr)
    text = (root / LIST).read_text()
    r = harness.run_cli(cli, "readahead-list", "--root=%s" % root)
    check("readahead-list again: the same list kept", r.returncode == 0 and r.stdout.startswith("kept ") and
          (root / LIST).read_text() == text, r.stdout + r.stderr)
    r = harness.run_cli(cli, "readahead-list", "--root=%s" % root, "--print")
    check("readahead-list --print: the same text", r.returncode == 0 and r.stdout == text, r.stderr)
    r = harness.run_cli(cli, "readahead-list", "--root=%s" % root, "--bogus")
    check("readahead-list --bogus: a usage error", r.returncode == 2, r.stderr)

    files = listed(root)
    check("each file once", len(files) == len(set(files)), files)
    check("every file a real path on the image", all(
        (root / f.lstrip("/")).is_file() and not (root / f.lstrip("/")).is_symlink() for f in files), files)

    def at(path):
        return files.index(path) if path in files else -1
    order = ["/usr/libexec/eks-node/eks-node-imds", "/usr/libexec/eks-node/eks-node-config",
             "/usr/libexec/eks-node/eks-node-system", "/usr/libexec/eks-node/eks-node-ca",
             "/usr/libexec/eks-node/eks-node-kubelet", "/usr/libexec/eks-node/eks-node-containerd",
             "/usr/bin/containerd", "/usr/bin/kubelet", "/usr/bin/eks-node",
             "/etc/eks/image-credential-provider/ecr-credential-provider", "/usr/bin/containerd-shim-runc-v2",
             "/etc/eks/pause.tar", "/opt/cni/bin/loopback"]
    where = [at(p) for p in order]
    check("the join's order: the chain's steps, containerd, kubelet, its plugins, the first pod's files",
          all(i >= 0 for i in where) and where == sorted(where), list(zip(order, where)))
    check("the version files eks-node-config reads, after it", 0 <= at("/etc/eks/kubelet-version.txt") and
          at("/usr/libexec/eks-node/eks-node-config") < at("/etc/eks/kubelet-version.txt") <
          at("/usr/bin/containerd"), files)
    for f in ["/etc/containerd/config.toml", "/etc/containerd/base-runtime-spec.json"]:
        check("%s: not on this image, not listed" % f, f not in files)
    imds_libs = [host_real(l) for l in ldd(root / "usr/libexec/eks-node/eks-node-imds")]
    missing = [l for l in imds_libs if l not in files]
    check("every library ldd names for eks-node-imds (%d) is listed" % len(imds_libs), imds_libs and not missing,
          missing)
    check("... right after it: the loader and libc come before eks-node-config",
          all(0 <= at(l) < at("/usr/libexec/eks-node/eks-node-config") for l in imds_libs),
          [(l, at(l)) for l in imds_libs])
    for soname in DLOPENED:
        found = ldconfig_path(soname)
        if found:
            check("the dlopen note's %s is listed" % soname, host_real(found) in files, files)


def test_reader(helpers, root):
    n = len(listed(root))
    before = snapshot(root)
    r = readahead(helpers, root)
    m = re.search(r"read (\d+) files? of /usr/lib/eks-node/readahead.list \(([\d.]+) MiB\)", r.stderr)
    check("eks-node-readahead: exit 0, every file of the list read (%d)" % n,
          r.returncode == 0 and m and int(m.group(1)) == n, r.stderr)
    r2 = readahead(helpers, root, "--jobs=1")
    m2 = re.search(r"read (\d+) files? .*\(([\d.]+) MiB\)", r2.stderr)
    check("again with one thread: the same files and bytes", r2.returncode == 0 and m and m2 and
          m2.groups() == m.groups(), r2.stderr)
    check("the image unchanged by it (sizes, modification times)", snapshot(root) == before)
    if shutil.which("strace"):
        trace = root.parent / "trace"
        r = subprocess.run(["strace", "-f", "-qq", "-e", "trace=open,openat,execve", "-o", str(trace),
                            str(helpers / "eks-node-readahead"), "--root=%s" % root],
                           capture_output=True, text=True, env=dict(os.environ, EKS_NODE_LANDLOCK="0"))
        lines = trace.read_text().splitlines()
        writes = [l for l in lines if re.search(r"O_(WRONLY|RDWR|CREAT)", l)]
        execs = [l for l in lines if "execve(" in l]
        check("strace: opens nothing for writing, executes nothing but itself", r.returncode == 0 and not writes and
              len(execs) == 1, "\n".join(writes + execs))

    admin = root / "etc/eks-node/readahead.list"
    harness.write(admin, "# an admin's list\n/usr/bin/kubelet\nrelative/path\n/nope\n/usr/bin\n")
    r = readahead(helpers, root, "--log-level=debug")
    check("an admin's list in /etc hides the image's: exit 0, 1 file read", r.returncode == 0 and
          "read 1 file of /etc/eks-node/readahead.list" in r.stderr and "2 not on this node" in r.stderr, r.stderr)
    check("... a bad line: a warning naming it, ignored", re.search(
        r"warning: /etc/eks-node/readahead.list:3: relative/path: not an absolute path, ignoring", r.stderr),
        r.stderr)
    check("... a missing file: a debug line only", "/nope: not on this node, skipped" in r.stderr and
          "warning: /nope" not in r.stderr, r.stderr)
    r = readahead(helpers, root)
    check("... at the default level: no line about the missing file", "/nope" not in r.stderr, r.stderr)
    admin.unlink()
    admin.symlink_to("/dev/null")
    r = readahead(helpers, root)
    check("/etc's list a link to /dev/null: exit 0, nothing to read", r.returncode == 0 and
          "nothing to read" in r.stderr and "read " not in r.stderr, r.stderr)
    admin.unlink()
    image = (root / LIST).read_text()
    (root / LIST).unlink()
    r = readahead(helpers, root)
    check("no list at all: exit 0, nothing to read", r.returncode == 0 and "nothing to read" in r.stderr, r.stderr)
    (root / LIST).write_text(image)
    for bad in ["--jobs=0", "--jobs=65", "--jobs=x", "--bogus", "extra"]:
        r = readahead(helpers, root, bad)
        check("%s: a usage error (exit 2)" % bad, r.returncode == 2, "%d %s" % (r.returncode, r.stderr))
    r = readahead(helpers, root, "--list=/etc/eks/kubelet-version.txt")
    check("--list=PATH: that file as the list (warnings for its lines)", r.returncode == 0 and
          "kubelet-version.txt:1: v1.31.0: not an absolute path, ignoring" in r.stderr, r.stderr)


def test_record(cli, helpers, root):
    """readahead-record on this image: sparse files stand in for what a join read (only
    their written pages are in the page cache, on any file system)."""
    page = os.sysconf("SC_PAGESIZE")
    probe, unread = "/usr/lib/eks-node/record-probe", "/usr/lib/eks-node/record-unread"
    size = (1 << 21) + 100
    with open(root / probe.lstrip("/"), "wb") as f:
        f.truncate(size)
        f.write(b"x" * page)
        f.seek(1 << 20)
        f.write(b"y" * page)
    with open(root / unread.lstrip("/"), "wb") as f:
        f.truncate(1 << 20)
    text = (root / LIST).read_text()
    (root / LIST).write_text(text + "\n# probes\n%s\n%s\n" % (probe, unread))
    r = harness.run_cli(cli, "readahead-record", "--root=%s" % root)
    m = re.search(r"^wrote .*readahead.list: (\d+) files recorded, [\d.]+ of their [\d.]+ MiB read by the join, "
                  r"(\d+) not read at all$", r.stdout, re.M)
    check("readahead-record: exit 0, says what it recorded", r.returncode == 0 and m and int(m.group(2)) >= 1,
          r.stdout + r.stderr)
    recorded = (root / LIST).read_text()
    ns = os.stat(root / probe.lstrip("/")).st_mtime_ns
    want = "%s\tsize=%d mtime=%d.%09d ranges=0+%d,%d+%d\n" % (probe, size, ns // 10**9, ns % 10**9, page, 1 << 20,
                                                             page)
    check("... the probe's line: its size, mtime and the two parts in the page cache", want in recorded,
          [l for l in recorded.splitlines() if "probe" in l])
    uns = os.stat(root / unread.lstrip("/")).st_mtime_ns
    check("... a file the join did not read: its size and time, no range",
          "\n%s\tsize=%d mtime=%d.%09d ranges=\n" % (unread, (root / unread.lstrip("/")).stat().st_size,
                                                      uns // 10**9, uns % 10**9) in recorded, recorded[-300:])
    check("... the comments kept", "\n# probes\n" in recorded and all(
        l in recorded for l in text.splitlines() if l.startswith("#")))
    r = readahead(helpers, root)
    check("eks-node-readahead: the recorded files by their ranges", r.returncode == 0 and re.search(
        r"read \d+ files of \S+ \([\d.]+ MiB, \d+ by their recorded ranges\)", r.stderr) and
        "changed since" not in r.stderr, r.stderr)
    os.utime(root / probe.lstrip("/"), ns=(ns, ns + 1000))
    r = readahead(helpers, root)
    check("... a file changed since its recording: read whole, said once", r.returncode == 0 and
          "1 file changed since /usr/lib/eks-node/readahead.list was recorded, read whole: %s\n" % probe
          in r.stderr, r.stderr)
    (root / LIST).write_text(recorded.replace("\tsize=%d " % size, "\tsize=x "))
    r = readahead(helpers, root)
    check("... a recording that is none: a warning naming the line, the file read whole", r.returncode == 0 and
          re.search(r"warning: /usr/lib/eks-node/readahead.list:\d+: %s: not a recording \(size: \"x\" is no number "
                    r"of bytes\), reading the whole file" % probe, r.stderr), r.stderr)
    # readahead-list again over the recorded list, as when a package is added after the recording
    (root / LIST).write_text(recorded)
    ranged = {l.split("\t")[0]: l for l in recorded.splitlines()
              if "\tsize=" in l and not l.startswith((probe + "\t", unread + "\t"))}
    changed = sorted(ranged)[0]
    st = os.stat(root / changed.lstrip("/"))
    os.utime(root / changed.lstrip("/"), ns=(st.st_atime_ns, st.st_mtime_ns + 1000))
    r = harness.run_cli(cli, "readahead-list", "--root=%s" % root)
    relisted = (root / LIST).read_text().splitlines()
    check("readahead-list over a recorded list: the unchanged files' recordings kept, the changed file's dropped",
          r.returncode == 0 and len(ranged) >= 2 and "; %d recordings kept, 1 dropped" % (len(ranged) - 1) in r.stdout
          and all(l in relisted for f, l in ranged.items() if f != changed) and changed in relisted,
          r.stdout + r.stderr)
    check("... and the probes, which the image's join does not read, are no longer listed",
          not any(probe in l or unread in l for l in relisted), relisted[-5:])
    os.utime(root / changed.lstrip("/"), ns=(st.st_atime_ns, st.st_mtime_ns))
    (root / LIST).unlink()
    r = harness.run_cli(cli, "readahead-record", "--root=%s" % root)
    check("readahead-record without a list: exit 6, naming it and what writes it", r.returncode == 6 and
          "/usr/lib/eks-node/readahead.list" in r.stderr and "readahead-list" in r.stderr, r.stderr)
    (root / LIST).write_text(text)
    for f in (probe, unread):
        os.unlink(root / f.lstrip("/"))


def test_validate(cli, root):
    def readahead_checks():
        r = subprocess.run([str(cli), "validate", "--image", "--root=%s" % root, "--json"], capture_output=True,
                           text=True, timeout=120)
        return [c for c in json.loads(r.stdout) if c["check"].startswith("readahead list")]
    got = readahead_checks()
    summary = [c for c in got if c["check"] == "readahead list (eks-node-readahead)"]
    check("validate --image: the list's check ok, nothing else about it", len(summary) == 1 and
          summary[0]["result"] == "ok" and len(got) == 1, got)
    plugin = root / "opt/cni/bin/portmap"
    away = root.parent / "portmap"
    plugin.rename(away)
    got = readahead_checks()
    check("a listed file missing: a FAIL naming it", any(
        c["result"] == "failed" and "/opt/cni/bin/portmap" in c["check"] for c in got), got)
    away.rename(plugin)
    text = (root / LIST).read_text()
    (root / LIST).write_text(text.replace("/usr/bin/kubelet\n", ""))
    got = readahead_checks()
    check("a file the join reads left out: a warning naming it and what reads it", any(
        c["result"] == "warning" and "/usr/bin/kubelet" in c["check"] and "kubelet.service" in c.get("detail", "")
        for c in got) and not any(c["result"] == "failed" for c in got), got)
    (root / LIST).unlink()
    got = readahead_checks()
    check("no list: one warning saying what writes it", len(got) == 1 and got[0]["result"] == "warning" and
          "eks-node readahead-list" in got[0].get("detail", ""), got)
    (root / LIST).write_text(text)


def main():
    build_dir, cli = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    if not shutil.which("ldd"):
        print("ldd missing; skipped")
        return 77
    with tempfile.TemporaryDirectory(prefix="eksnode-readahead-") as d:
        tmp = pathlib.Path(d)
        root = make_image(build_dir, tmp)
        test_list(cli, root)
        test_reader(build_dir / "helpers", root)
        test_record(cli, build_dir / "helpers", root)
        test_validate(cli, root)
    return TALLY.finish()


if __name__ == "__main__":
    sys.exit(main())
