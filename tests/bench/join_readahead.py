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
                   "ours-rec-j16", "ours-rec-gen")
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


def record_boot(a, share, layer, stage, work, rootfs_img):
    """ours-rec's list: one boot on a lazy root with the list masked (mode none), at whose
    end `eks-node readahead-record --print` records what the boot read of the image's list
    (the settled boot: kubelet started), before collect.py reads anything."""
    rshare, rlayer = work / "share-record", work / "layer-ra-record"
    for d in (rshare, rlayer):
        shutil.rmtree(d, ignore_errors=True)
    shutil.copytree(share, rshare, symlinks=True)
    shutil.copytree(layer, rlayer, symlinks=True)
    readahead_layer(rlayer, "none")
    (rshare / "in/scenario/check.sh").write_text(
        '#!/bin/bash\neks-node readahead-record --print >"$EKSVM_OUT/recorded.list" || exit 1\n'
        'exec python3 ./collect.py "$EKSVM_OUT/boot.json"\n')
    with lazy_root(work, a.lazy, rootfs_img) as (lazy_image, _):
        boot(rshare, rlayer, stage, lazy_image, work)
    text = (rshare / "out/artifacts/recorded.list").read_text()
    lines = [l for l in text.splitlines() if l and not l.startswith("#")]
    ranged = [l for l in lines if "\tsize=" in l]
    log("recording boot: %d of %d listed files recorded, %d of them not read at all" % (
        len(ranged), len(lines), sum(l.endswith(" ranges=") for l in ranged)))
    return text
