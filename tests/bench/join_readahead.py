#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""join.py's --readahead modes: what reads the join's files before the join does, in the
scenario's layer of a boot only, never the product's (README.md, "Read-ahead"), and the
recording boot of ours-rec."""

import os
import shutil

from join_boot import boot, lazy_root, log

# --readahead: what reads the join's files before the join does (README.md)
READAHEAD_MODES = ("none", "dd", "ours", "ours-whole", "ours-bins", "ours-join", "ours-j16", "ours-rec",
                   "ours-rec-j16", "ours-rec-gen", "ours-rec-initrd", "ours-boot-initrd")
# The reader started before PID 1, as an initramfs would start it (issue 63 item 2), modelled
# under nspawn: eks-node-readahead run on the host against the lazy root's mount just before
# systemd-nspawn starts, 16 threads, the unit masked in the container (INITRD_MODES, run by
# whole_boot_lazy). An initramfs that costs nothing: the upper bound of that start.
# ours-rec-initrd reads ours-rec's recorded list; ours-boot-initrd that list with the files
# systemd's own start read before it (the recording boot's page cache walked: every file of
# the image with a page cached, the list's first), recorded the same way.
INITRD_MODES = ("ours-rec-initrd", "ours-boot-initrd")
# ours: the image's list as a node gets it, with the ranges the image build's recording boot
# read (tests/vm/build-image.sh, record_rootfs); ours-whole: the same list without them, every
# file read whole (what a list was before recordings, and is on an image built with
# readahead_record = false).
# experiments on the list, with our reader (eks-node-readahead): ours-bins reads only the two
# files dd reads; ours-join the image's list up to kubelet's start (without what the first pods
# need: the shim, the runtimes, the pause archive, the CNI plugins). An admin's list in /etc.
# ours-rec (--whole-boot --lazy under nspawn): the image's list with the ranges a recording
# boot read (eks-node readahead-record at the end of a boot with the list masked, the
# recording boot on its own lazy root before the rounds), as an admin's list in /etc;
# ours-rec-j16 that with 16 threads. ours-rec-gen: the recorded list read from a generator
# (GEN_SCRIPT), when systemd runs its generators, instead of from the unit (issue 63 item 2).
# the binaries nodeadm's AMI reads with dd (DD_UNIT reads /usr/bin/%i), and ours-bins with our reader
DD_BINARIES = ("containerd", "kubelet")
LIST_JOIN_END = "# the first pod sandbox"
# --readahead dd: nodeadm's AL2023 AMI's answer to the same lazily loaded volume, one
# instance per binary after basic.target, written here as our own unit from that shape
DD_UNIT = """# tests/bench/join.py --readahead dd: what nodeadm's AL2023 AMI does about its lazily
# loaded root volume, ebs-initialize-bin@containerd and @kubelet: each binary read once
# to /dev/null with dd, after basic.target. Our own text of that shape, in the scenario's
# layer only: never part of eks-node.
[Unit]
Description=join benchmark: read /usr/bin/%i once, as nodeadm's AMI does
After=basic.target

[Service]
Type=oneshot
ExecStart=/usr/bin/dd if=/usr/bin/%i of=/dev/null bs=1M status=none
"""


# --readahead ours-rec-gen: the reader started by a generator, detached, at the idle
# classes the unit gives it; the unit masked so that the list is read once.
GEN_SCRIPT = """#!/bin/sh
# tests/bench/join.py --readahead ours-rec-gen: eks-node-readahead from a generator
[ -e /run/eksbench-readahead-started ] && exit 0
: >/run/eksbench-readahead-started
setsid -f chrt --idle 0 ionice -c 3 /usr/libexec/eks-node/eks-node-readahead </dev/null >/dev/null 2>&1
"""


def readahead_modes(spec):
    modes = []
    for m in spec.split(","):
        if m not in READAHEAD_MODES:
            raise SystemExit("join: --readahead %s: each mode one of %s" % (spec, ", ".join(READAHEAD_MODES)))
        if m not in modes:
            modes.append(m)
    return modes


def readahead_layer(files, mode):
    """The scenario layer's part of --readahead MODE, never the product's. ours: the image
    as the VM tier installs it (its payload install writes the list, the generator pulls in
    eks-node-readahead). none: the list masked the product's own way, an admin's
    /etc/eks-node/readahead.list linked to /dev/null. dd: that, and nodeadm's two dd units
    (DD_UNIT) wanted by multi-user.target."""
    if mode in ("ours", "ours-rec"):
        return  # ours-rec: whole_boot_lazy adds the recorded list
    if mode in INITRD_MODES:
        unitdir = files / "etc/systemd/system"
        unitdir.mkdir(parents=True, exist_ok=True)
        os.symlink("/dev/null", unitdir / "eks-node-readahead.service")
        return
    etc = files / "etc/eks-node"
    etc.mkdir(parents=True, exist_ok=True)
    if mode == "ours-bins":
        (etc / "readahead.list").write_text("".join("/usr/bin/%s\n" % b for b in DD_BINARIES))
        return
    dropin = files / "etc/systemd/system/eks-node-readahead.service.d"
    if mode == "ours-rec-gen":
        gens = files / "etc/systemd/system-generators"
        gens.mkdir(parents=True, exist_ok=True)
        (gens / "eksbench-readahead").write_text(GEN_SCRIPT)
        (gens / "eksbench-readahead").chmod(0o755)
        unitdir = files / "etc/systemd/system"
        unitdir.mkdir(parents=True, exist_ok=True)
        os.symlink("/dev/null", unitdir / "eks-node-readahead.service")
        return
    if mode in ("ours-j16", "ours-rec-j16"):
        dropin.mkdir(parents=True, exist_ok=True)
        (dropin / "50-jobs.conf").write_text(
            "[Service]\nExecStart=\nExecStart=/usr/libexec/eks-node/eks-node-readahead --jobs=16\n")
        return
    if mode == "ours-whole":
        # the recordings cut off in a drop-in, as ours-join's cut (the list is written in the
        # guest too): a file the recorded join did not read is listed again
        dropin.mkdir(parents=True, exist_ok=True)
        (dropin / "50-whole.conf").write_text(
            "[Service]\nExecStartPre=/bin/sh -c 'sed -e \"s/\\t.*//\" -e \"s/^# not read by the recorded join: //\" "
            "/usr/lib/eks-node/readahead.list >/run/readahead-whole.list'\nExecStart=\n"
            "ExecStart=/usr/libexec/eks-node/eks-node-readahead --list=/run/readahead-whole.list\n")
        return
    if mode == "ours-join":
        # the image's list is written in the guest at the payload's install (install-payload):
        # a unit's drop-in cuts it there, before the step reads it
        dropin.mkdir(parents=True, exist_ok=True)
        (dropin / "50-join-only.conf").write_text(
            "[Service]\nExecStartPre=/bin/sh -c 'sed -n \"/^%s/q;p\" /usr/lib/eks-node/readahead.list "
            ">/run/readahead-join.list'\nExecStart=\nExecStart=/usr/libexec/eks-node/eks-node-readahead "
            "--list=/run/readahead-join.list\n" % LIST_JOIN_END)
        return
    os.symlink("/dev/null", etc / "readahead.list")
    if mode == "dd":
        unitdir = files / "etc/systemd/system"
        unitdir.mkdir(parents=True, exist_ok=True)
        (unitdir / "ebs-initialize-bin@.service").write_text(DD_UNIT)
        wants = unitdir / "multi-user.target.wants"
        wants.mkdir(exist_ok=True)
        for binary in DD_BINARIES:
            os.symlink("../ebs-initialize-bin@.service", wants / ("ebs-initialize-bin@%s.service" % binary))


# ours-boot-initrd's list: every regular file of the image with a page in the page cache
# (mincore of a mapping: nothing read), the image's list's own after them, in the guest at the
# end of the recording boot; what systemd's start read comes first in the list written.
DISCOVER = r"""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long)
libc.munmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t)
libc.mincore.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p)
text = open(sys.argv[1]).read()
listed = {l.split("\t")[0] for l in text.splitlines() if l.startswith("/")}
page = os.sysconf("SC_PAGE_SIZE")
found = []
for top in ("/usr", "/etc", "/var/lib", "/opt"):
    for d, dirs, files in os.walk(top):
        dirs[:] = [x for x in dirs if os.path.join(d, x) not in ("/var/lib/containerd", "/etc/eks-node")]
        for f in files:
            p = os.path.join(d, f)
            try:
                st = os.lstat(p)
            except OSError:
                continue
            if not os.path.isfile(p) or os.path.islink(p) or st.st_size == 0 or p in listed:
                continue
            try:
                fd = os.open(p, os.O_RDONLY | os.O_NOATIME)
            except OSError:
                continue
            addr = libc.mmap(None, st.st_size, 1, 1, fd, 0)  # PROT_READ, MAP_SHARED: reads nothing
            os.close(fd)
            if addr in (None, ctypes.c_void_p(-1).value):
                continue
            vec = (ctypes.c_ubyte * ((st.st_size + page - 1) // page))()
            if libc.mincore(addr, st.st_size, vec) == 0 and any(b & 1 for b in vec):
                found.append(p)
            libc.munmap(addr, st.st_size)
sys.stdout.write("# the boot's own files (tests/bench, ours-boot-initrd)\n" + "".join(p + "\n" for p in found))
sys.stdout.write(text)
"""


def record_boot(a, share, layer, stage, work, rootfs_img, discover=False):
    """ours-rec's list: one boot on a lazy root with the list masked (mode none), at whose
    end `eks-node readahead-record --print` records what the boot read of the image's list
    (the settled boot: kubelet started), before collect.py reads anything. discover: the
    list first extended by every file of the image the boot read (DISCOVER)."""
    rshare, rlayer = work / "share-record", work / "layer-ra-record"
    for d in (rshare, rlayer):
        shutil.rmtree(d, ignore_errors=True)
    shutil.copytree(share, rshare, symlinks=True)
    shutil.copytree(layer, rlayer, symlinks=True)
    readahead_layer(rlayer, "none")
    extend = ""
    if discover:
        (rshare / "in/scenario/discover.py").write_text(DISCOVER)
        extend = ('python3 ./discover.py /usr/lib/eks-node/readahead.list >/run/discovered.list && '
                  'cp /run/discovered.list /usr/lib/eks-node/readahead.list || exit 1\n')
    (rshare / "in/scenario/check.sh").write_text(
        '#!/bin/bash\n' + extend + 'eks-node readahead-record --print >"$EKSVM_OUT/recorded.list" || exit 1\n'
        'exec python3 ./collect.py "$EKSVM_OUT/boot.json"\n')
    with lazy_root(work, a.lazy, rootfs_img) as (lazy_image, _):
        boot(rshare, rlayer, stage, lazy_image, work)
    text = (rshare / "out/artifacts/recorded.list").read_text()
    lines = [l for l in text.splitlines() if l and not l.startswith("#")]
    ranged = [l for l in lines if "\tsize=" in l]
    log("recording boot: %d of %d listed files recorded, %d of them not read at all" % (
        len(ranged), len(lines), sum(l.endswith(" ranges=") for l in ranged)))
    return text
