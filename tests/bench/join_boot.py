#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The join benchmark's boots (join.py): the VM tier's image unpacked once into our own
directory, a scenario's layer over it (the project's files, the floor's empty oneshots with the
same ordering edges, the image render of the AMI build), and one systemd-nspawn --boot of it,
its record read back. join.py chooses the scenarios and modes and reports."""

import contextlib
import fcntl
import json
import os
import pathlib
import shutil
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]

# the unit keys that order units: the floor's empty oneshots keep them
EDGE_KEYS = ("Requires", "Wants", "After", "Before", "BindsTo", "Requisite")


# our own scratch: the unpacked image (reused per image key) and per-run work dirs
WORK = pathlib.Path(os.environ.get("TMPDIR", "/var/tmp")) / "eks-node-bench"


def log(msg):
    print("join: " + msg, file=sys.stderr, flush=True)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


# ---------------------------------------------------------------------------
# image: the VM tier's rootfs, unpacked once per image key into our own directory


def image_base():
    """The VM tier's cached image directory (rootfs.img, kernel, initrd)."""
    return pathlib.Path(run([str(REPO / "tests/vm/build-image.sh")], capture_output=True,
                            text=True).stdout.strip().splitlines()[-1])


def rootfs():
    base = image_base()
    target = WORK / ("rootfs-" + base.name)
    if (target / ".done").exists():
        return target
    WORK.mkdir(parents=True, exist_ok=True)
    for old in WORK.glob("rootfs-*"):
        shutil.rmtree(old, ignore_errors=True)
    log("unpacking %s/rootfs.img into %s" % (base, target))
    img = WORK / "rootfs.img"
    # hold the cache's lock while copying: a concurrent rebuild deletes old entries
    with open(base.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        run(["cp", "--sparse=always", str(base / "rootfs.img"), str(img)])
    target.mkdir()
    run(["debugfs", "-R", "rdump / %s" % target, str(img)], capture_output=True)
    img.unlink()
    (target / ".done").touch()
    return target


def wait_for(path, what, proc):
    for _ in range(200):
        if path.exists():
            return
        if proc.poll() is not None:
            raise SystemExit("join: %s exited (%d) before it was ready" % (what, proc.returncode))
        time.sleep(0.05)
    raise SystemExit("join: %s not ready after 10 s" % what)


def loop_device(backing):
    """A read-only loop device on `backing` with direct I/O, its read-ahead window the
    kernel's default, 128 KiB, as a node's EBS NVMe device has it: the loop driver keeps a
    device's window from one use to the next (a device once set up on a file of the host's
    disk came back with 2,560 KiB), and the window decides how many of a program's first
    reads wait in turn (kubelet's start on the lazy disk: 2.9 s with 128 KiB, 1.8 s with
    2,560)."""
    loop = run(["losetup", "-r", "-f", "--show", "--direct-io=on", str(backing)], capture_output=True,
               text=True).stdout.strip()
    pathlib.Path("/sys/block/%s/queue/read_ahead_kb" % os.path.basename(loop)).write_text("128\n")
    return loop


@contextlib.contextmanager
def lazy_root(work, spec, rootfs_img):
    """--lazy under nspawn: the VM image's rootfs.img as EBS serves a volume restored
    from a snapshot, at the host's speed (no TCG), mounted read-only for one boot:
    tests/bench/lazydisk.py serves it over NBD, nbdfuse (libnbd-bin) makes that a file,
    a loop device a block device, ext4 a tree. All of it is new for each boot, so no
    block is fetched and no page of it is cached when the boot starts. Yields the tree
    and where lazydisk.py writes what was read and fetched. A latency of 0: the volume
    once initialized, a plain disk: the loop device on rootfs.img itself, with direct I/O
    (from the host's disk, not its page cache), and no server, whose CPU a node's volume
    does not take from it."""
    ms_, kib, fetches = (spec.split(",") + ["512", "64"])[:3]
    d = work / "lazy"
    shutil.rmtree(d, ignore_errors=True)
    fuse, mnt = d / "fuse", d / "root"
    fuse.mkdir(parents=True)
    mnt.mkdir()
    sock, stats, fpid = d / "nbd.sock", d / "lazydisk.json", d / "nbdfuse.pid"
    server, nbdfuse, loop = None, None, None
    try:
        backing = rootfs_img
        if float(ms_) > 0:
            server = subprocess.Popen([sys.executable, str(HERE / "lazydisk.py"), "--image", str(rootfs_img),
                                       "--socket", str(sock), "--latency-ms", ms_, "--block-kib", kib,
                                       "--fetches", fetches, "--stats", str(stats)])
            wait_for(sock, "lazydisk.py", server)
            # 16 connections, and a loop device doing direct I/O (asynchronous, not through a
            # page cache of the file's): reads in flight reach lazydisk.py side by side, as a
            # volume's reach EBS; with buffered I/O the loop device sends one at a time
            nbdfuse = subprocess.Popen(["nbdfuse", "-C", "16", "-r", "-P", str(fpid), str(fuse / "disk"),
                                        "--unix", str(sock)])
            wait_for(fpid, "nbdfuse", nbdfuse)
            backing = fuse / "disk"
        loop = loop_device(backing)
        run(["mount", "-o", "ro,noload", loop, str(mnt)])
        yield mnt, stats if server else None
    finally:
        subprocess.run(["umount", str(mnt)], stderr=subprocess.DEVNULL)
        if loop:
            subprocess.run(["losetup", "-d", loop])
        if nbdfuse:
            subprocess.run(["umount", str(fuse)], stderr=subprocess.DEVNULL)
            nbdfuse.wait(timeout=30)
        if server:
            server.terminate()
            server.wait(timeout=30)


def usrmerge(stage, image):
    """Moves stage/lib (Debian's unit directory is /lib/systemd/system) into
    usr/lib when the image has lib -> usr/lib: as an overlay layer, a real lib/
    would hide the image's symlink (the VM tier's tar keeps it with
    --keep-directory-symlink)."""
    for top in list(stage.iterdir()):
        link = image / top.name
        if top.is_dir() and link.is_symlink():
            dest = stage / os.readlink(link).lstrip("/")
            dest.mkdir(parents=True, exist_ok=True)
            run(["cp", "-a", "%s/." % top, str(dest)])
            shutil.rmtree(top)


# ---------------------------------------------------------------------------
# the floor: our units as empty oneshots, same edges


def parse_unit(path):
    """[(section, key, value)] of a unit file or drop-in."""
    out, section = [], None
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]")
        elif "=" in line:
            k, v = line.split("=", 1)
            out.append((section, k.strip(), v.strip()))
    return out


def floor_name(unit, prefix="bfloor-"):
    if unit.startswith("eks-node-"):
        return prefix + unit[len("eks-node-"):]
    return prefix + "rt-" + unit


def floor_units(stage, image, prefix="bfloor-", sandbox=True):
    """{file name: text}: one empty oneshot per step, plus containerd and kubelet,
    with the ordering and requirement edges the installed units and drop-ins give
    them (names inside the chain mapped to their floor twins) and the steps'
    conditions (skipped where the step is, in the same boot). The steps keep
    their sandboxing, because its namespace setup is systemd's cost of running
    such a unit, not ours; ExecStart= becomes /bin/true and OnFailure= goes.
    With sandbox=False (prefix bbare-) the [Service] sandboxing goes too: the
    difference between the two floors is what the sandboxing costs."""
    unitdir = stage / "usr/lib/systemd/system"
    steps_ = sorted(p.name for p in unitdir.glob("eks-node-*.service"))
    chain = set(steps_) | {"containerd.service", "kubelet.service"}

    def mapped(value):
        return " ".join(floor_name(n, prefix) if n in chain else n for n in value.split())

    units = {}
    for name in steps_:
        unit, service = [], []
        for section, k, v in parse_unit(unitdir / name):
            if section == "Unit" and k in EDGE_KEYS:
                unit.append("%s=%s" % (k, mapped(v)))
            elif section == "Unit" and k.startswith("Condition"):
                # the step's condition too (a marker of eks-node-config's, in the same boot):
                # a step skipped for having nothing to do leaves no twin in the floor either
                unit.append("%s=%s" % (k, v))
            elif section == "Service" and sandbox and not k.startswith(("Exec", "Restart", "Timeout", "Standard",
                                                              "EnvironmentFile", "Type", "RemainAfter")):
                service.append("%s=%s" % (k, v))
        units[floor_name(name, prefix)] = (unit, service)
    for rt in ("containerd.service", "kubelet.service"):
        unit = []
        files = [image / "etc/systemd/system" / rt, image / "usr/lib/systemd/system" / rt]
        files = [f for f in files if f.exists()][:1]
        files += sorted((unitdir / (rt + ".d")).glob("*.conf"))
        for f in files:
            for section, k, v in parse_unit(f):
                if section == "Unit" and k in EDGE_KEYS:
                    unit.append("%s=%s" % (k, mapped(v)))
        units[floor_name(rt, prefix)] = (unit, [])
    text = {}
    for name, (unit, service) in units.items():
        text[name] = "\n".join(
            ["# generated by tests/bench/join.py: the floor twin of %s" % name,
             "[Unit]", "Description=join benchmark floor: %s" % name, *unit,
             "[Service]", "Type=oneshot", "RemainAfterExit=yes", "ExecStart=/bin/true", *service, ""])
    return text


# ---------------------------------------------------------------------------
# one scenario = N boots


def prepare(scenario, stage, image, work, fake_imds, nspawn=True, overrides=(), render_from=None):
    """The VM tier's share layout (in/ read by the guest's fake IMDS and runner,
    fake_imds the build's tests/fake-imds/fake-imds) plus a files/ layer with the
    floor units (and, under nspawn, the fake IMDS on lo: guest/imds-lo); returns
    (share, layer)."""
    share = work / ("share-" + scenario + ("" if nspawn else "-vm"))
    sc = share / "in/scenario"
    sc.mkdir(parents=True)
    shutil.copy(HERE / "scenarios" / scenario / "user-data", sc / "user-data")
    shutil.copy(REPO / "tests/conformance/instance/imds.json", sc / "imds.json")
    shutil.copy(HERE / "guest/collect.py", sc / "collect.py")
    (sc / "check.sh").write_text('#!/bin/bash\nexec python3 ./collect.py "$EKSVM_OUT/boot.json"\n')
    (sc / "check.sh").chmod(0o755)
    (share / "in/scenario.env").write_text("VM_INSTALL=early\n")
    (sc / "scenario.env").write_text("VM_INSTALL=early\n")
    shutil.copy(fake_imds, share / "in/fake-imds")
    layer = sc / "files"
    unitdir = layer / "etc/systemd/system"
    unitdir.mkdir(parents=True)
    floors = floor_units(stage, image)
    if overrides:
        # --override: an experiment on every step and its sandboxed floor twin
        # alike, e.g. ProtectKernelTunables=no, to see what one setting costs
        # (UNIT:KEY=VALUE: that step alone, no floor twin)
        every = [o for o in overrides if ":" not in o.split("=", 1)[0]]
        steps = {u.name for u in (stage / "usr/lib/systemd/system").glob("eks-node-*.service")}
        for o in overrides:
            if ":" in o.split("=", 1)[0] and o.split(":", 1)[0] not in steps:
                raise SystemExit("--override %s: no step %s in the stage" % (o, o.split(":", 1)[0]))
        for step in (stage / "usr/lib/systemd/system").glob("eks-node-*.service"):
            mine = every + [o.split(":", 1)[1] for o in overrides
                            if ":" in o.split("=", 1)[0] and o.split(":", 1)[0] == step.name]
            if mine:
                (unitdir / (step.name + ".d")).mkdir()
                (unitdir / (step.name + ".d") / "90-bench-override.conf").write_text(
                    "# tests/bench/join.py --override\n[Service]\n" + "".join(o + "\n" for o in mine))
        floors = {n: t + "".join(o + "\n" for o in every) if not n.startswith("bfloor-rt-") else t
                  for n, t in floors.items()}
    for name, text in {**floors, **floor_units(stage, image, prefix="bbare-", sandbox=False)}.items():
        (unitdir / name).write_text(text)
    if render_from and nspawn:
        image_render(layer, stage, image, work, render_from)
    if nspawn:
        (unitdir / "eksvm-imds.service.d").mkdir()
        (unitdir / "eksvm-imds.service.d/bench.conf").write_text(
            "# tests/bench/join.py: the fake IMDS on lo (no dummy links under nspawn)\n"
            "[Service]\nExecStart=\nExecStart=/usr/lib/eks-node-bench/imds-lo\n"
            "# its readiness wait (ExecStartPost=) holds network.target: poll every 5 ms, not 0.2 s\n"
            "Environment=EKSVM_IMDS_POLL=0.005\n")
        # the fake IMDS here has no instance profile (eks-node-config would then call EC2,
        # which nothing answers under --private-network); kubelet's credential plugin signs
        # its token with these (AWS's documentation example keys) from kubelet's
        # environment instead, so a boot has a first token to time
        (unitdir / "kubelet.service.d").mkdir()
        (unitdir / "kubelet.service.d/90-bench-credentials.conf").write_text(
            "# tests/bench/join.py: credentials for kubelet's credential plugin (no instance profile)\n"
            "[Service]\nEnvironment=AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n"
            "Environment=AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n")
        (layer / "usr/lib/eks-node-bench").mkdir(parents=True)
        shutil.copy(HERE / "guest/imds-lo", layer / "usr/lib/eks-node-bench/imds-lo")
    return share, layer


PAUSE_FRAGMENT = ("# tests/bench/join.py, as the AMI build writes it: the cached pause image\n"
                  "[settings.containerd]\nsandboxImage = \"localhost/kubernetes/pause:3.10\"\n")


def image_render(layer, stage, image, work, build, readahead_list=False):
    """What the AMI build does once eks-node is in (packer/provisioners/80-pause-image.sh,
    tests/vm/guest/install-payload): name a cached pause image, then `eks-node render
    --image`, into the layer, so containerd starts at boot on eks-node's config.toml.
    Rendered under --root on the image's files (its version files; no /sys, so no GPU,
    as in the container), writes caught in an overlay's upper directory."""
    frag = layer / "usr/lib/eks-node/node.toml.d/10-pause-image.toml"
    frag.parent.mkdir(parents=True, exist_ok=True)
    frag.write_text(PAUSE_FRAGMENT)
    upper, wd, merged = work / "render-upper", work / "render-work", work / "render-root"
    for d in (upper, wd, merged):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir()
    run(["mount", "-t", "overlay", "overlay", "-o",
         "lowerdir=%s:%s:%s,upperdir=%s,workdir=%s" % (layer, stage, image, upper, wd), str(merged)])
    try:
        run([str(build / "helpers/eks-node"), "render", "--image", "--root=%s" % merged],
            stdout=subprocess.DEVNULL)
        if readahead_list:
            run([str(build / "helpers/eks-node"), "readahead-list", "--root=%s" % merged],
                stdout=subprocess.DEVNULL)
    finally:
        run(["umount", str(merged)])
    # a second render (readahead_list) finds the first's files in the layer: nothing new
    if (upper / "etc/containerd").exists():
        shutil.copytree(upper / "etc/containerd", layer / "etc/containerd", dirs_exist_ok=True)
    if readahead_list:
        shutil.copy(upper / "usr/lib/eks-node/readahead.list", layer / "usr/lib/eks-node/readahead.list")


def boot(share, layer, stage, image, work, timeout=180, result=True):
    """One container boot; returns the parsed boot.json and the IMDS request count."""
    out = share / "out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    # The guest runner counts BOOT_TIMEOUT on /proc/uptime, which in a container
    # is the host's: give it the host's uptime now plus the real timeout.
    with open("/proc/uptime") as f:
        up = float(f.read().split()[0])
    (share / "in/scenario.env").write_text("VM_INSTALL=early\nBOOT_TIMEOUT=%d\n" % (up + 120))
    merged = work / "merged"
    merged.mkdir(exist_ok=True)
    # read-only overlay of the image, the project and the floor units; nspawn's
    # --volatile=overlay puts a tmpfs on top for the boot's writes
    run(["mount", "-t", "overlay", "overlay", "-o",
         "lowerdir=%s:%s:%s" % (layer, stage, image), str(merged)])
    try:
        # cgroup v2 only in the container, as on AL2023, whatever the host uses
        # (this one is hybrid): the mount table a step's sandbox setup walks is
        # a node's, and systemd's per-unit CPU accounting (CPUUsageNSec) works.
        env = dict(os.environ, SYSTEMD_NSPAWN_UNIFIED_HIERARCHY="1")
        with open(out / "console.log", "w") as console:
            subprocess.run(["timeout", str(timeout), "systemd-nspawn", "--quiet", "--boot",
                            "--register=no", "--keep-unit", "--private-network",
                            "--volatile=overlay", "--console=read-only", "-D", str(merged),
                            "--bind=%s:/run/eksvm" % share],
                           stdout=console, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    finally:
        run(["umount", str(merged)])
    if not result:
        return None
    try:
        rec = json.loads((out / "artifacts/boot.json").read_text())
    except FileNotFoundError:
        raise SystemExit("join: no result from the boot; see %s (check.log, journal.txt, console.log)" % out)
    return rec


def static_layer(layer, rendered, work):
    """The same image as a node that runs no bootstrapper: eks-node installed but
    disabled (settings.enable = false, as eks-node.enable=0 would), the files eks-node
    rendered in a boot of the same scenario baked in, and containerd and kubelet
    pulled in by multi-user.target. kubelet's start there is the floor of any
    bootstrapper on this image."""
    static = work / "layer-static"
    shutil.rmtree(static, ignore_errors=True)
    shutil.copytree(layer, static, symlinks=True)
    shutil.copytree(rendered, static, symlinks=True, dirs_exist_ok=True)
    frag = static / "etc/eks-node/node.toml.d/00-bench-static.toml"
    frag.parent.mkdir(parents=True, exist_ok=True)
    frag.write_text("# tests/bench/join.py --whole-boot: a node without a bootstrapper\n"
                    "[settings]\nenable = false\n")
    d = static / "etc/systemd/system/multi-user.target.d"
    d.mkdir(parents=True, exist_ok=True)
    (d / "bench-static.conf").write_text("# tests/bench/join.py --whole-boot: kubelet on a static config\n"
                                         "[Unit]\nWants=containerd.service kubelet.service\n")
    return static
