#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Join-time benchmark: boots the VM tier's guest image N times per scenario in
systemd-nspawn --boot (real systemd 252 as PID 1, at host CPU speed) and reports,
per step and for the whole chain (eks-node-imds starts -> kubelet's process
started), wall median/min/max, CPU, peak RSS, IMDS requests, processes and
daemon-reloads, next to the floor: the same units as empty oneshots with the same
ordering edges, started in the same boots. See tests/bench/README.md.

Usage: tests/bench/join.py [--build-dir DIR] [-n 10] [--scenario NAME]... [--vm]
                           [--steps-n 10] [--override KEY=VALUE]...
                           [--image-render yes|no] [--json FILE] [--keep]
       tests/bench/join.py --whole-boot [-n 10] [--vm [--vm-n 1] [--throttle [MIB_S,IOPS] | --lazy [MS[,KIB[,N]]]]
                           [--readahead MODE[,MODE...]] [--static yes|no]]

Needs root (overlay mount, nspawn) and systemd-nspawn (package systemd-container).
The image comes from tests/vm/build-image.sh (EKS_NODE_VM_CACHE is honoured); it is
only read: its ext4 image is unpacked once into $TMPDIR/eks-node-bench/ with
debugfs (no loop device, no mount of the shared file)."""

import argparse
import atexit
import json
import os
import pathlib
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
import steps  # noqa: E402

SCENARIOS = ["plain", "merges", "mime", "toml", "instance-store"]
# What each scenario cannot show under nspawn (no block devices, no md, no nvme).
SKIPPED = {"instance-store": "no instance-store disks under nspawn: the generator adds no "
                             "eks-node-instance-store (the VM tier's scenarios 10-13 cover it)"}
# --throttle: the root disk of a qemu boot read as an EBS volume restored from a snapshot,
# whose blocks come from S3 at their first read (README.md, "A lazily loaded disk"): read
# MiB/s and read IOPS, an I/O of up to 256 KiB counted as one, as EBS counts an SSD
# volume's
THROTTLE_DEFAULT = "64,400"
# --lazy: the same volume modelled by what it does rather than by a rate: each 512 KiB
# block (the snapshot's block, EBS direct APIs) waits LATENCY_MS at its first read, up to
# FETCHES blocks at a time (tests/bench/lazydisk.py; README.md, "A lazily loaded disk")
LAZY_DEFAULT = "20,512,64"
THROTTLE_IO_SIZE = 256 * 1024
from join_boot import (WORK, boot, image_base, image_render, lazy_root, log, prepare, rootfs, run,  # noqa: E402
                       static_layer, usrmerge)
import join_breakdown  # noqa: E402
from join_breakdown import mmm  # noqa: E402
from join_readahead import INITRD_MODES, readahead_layer, readahead_modes, record_boot  # noqa: E402


def throttle_setting(spec):
    """--throttle MIB_S,IOPS as VM_DISK_THROTTLE (vm-disk-model.sh)."""
    try:
        mib, iops = (int(x) for x in spec.split(","))
        if mib <= 0 or iops <= 0:
            raise ValueError
    except ValueError:
        raise SystemExit("join: --throttle %s: want MIB_S,IOPS, both positive numbers" % spec)
    return "bps-read=%d,iops-read=%d,iops-size=%d" % (mib << 20, iops, THROTTLE_IO_SIZE)


def lazy_setting(spec):
    """--lazy LATENCY_MS[,BLOCK_KIB[,FETCHES]] as VM_DISK_LAZY (vm-disk-model.sh)."""
    parts = spec.split(",")
    if not 1 <= len(parts) <= 3 or not all(x.isdigit() for x in parts) or 0 in map(int, parts[1:]):
        raise SystemExit("join: --lazy %s: want LATENCY_MS[,BLOCK_KIB[,FETCHES]], whole numbers (a latency of 0: "
                         "the same path, no wait)" % spec)
    return spec


def vm_share(base, work, name, mode, disk, extra_env="", whole=False):
    """A copy of the VM share `base` for one kind of boot: its read-ahead mode's layer and
    the disk's model (VM_DISK_THROTTLE or VM_DISK_LAZY) in its scenario.env (run-scenario.sh reads it there); `whole`: the
    guest records the whole boot's figures only (collect.py --whole)."""
    share = work / ("share-vm-" + name)
    shutil.rmtree(share, ignore_errors=True)
    shutil.copytree(base, share, symlinks=True)
    readahead_layer(share / "in/scenario/files", mode)
    if whole:
        (share / "in/scenario/check.sh").write_text(
            '#!/bin/bash\nexec python3 ./collect.py "$EKSVM_OUT/boot.json" --whole\n')
    # no_timer_check: the kernel's check of the IO-APIC timer panics a TCG guest starved of
    # CPU by the machine's other work ("IO-APIC + timer doesn't work!" 0.06 s into a boot
    # here, 2026-11-27); VMs commonly skip it
    env = ("VM_INSTALL=early\nKERNEL_CMDLINE=no_timer_check\n" + extra_env +
           (disk + "\n" if disk else ""))
    (share / "in/scenario/scenario.env").write_text(env)
    return share


def whole_figures(rec, vm):
    """ms from the boot's start (the kernel's in a VM, PID 1's in a container) to
    kubelet's process start, to containerd ready, and to kubelet's first token."""
    w = rec["whole"]
    zero = 0 if vm else w["userspace_us"]
    return {k: (ms(w[k] - zero) if w.get(k) and w[k] >= zero else None)
            for k in ("kubelet_exec_us", "containerd_active_us", "userspace_us", "token_us")}


def report_whole(label, ours, static, vm):
    print("\n== whole boot: %s, %d boot(s) each, interleaved" % (label, len(ours)))
    print("%-44s %22s" % ("ms from %s start (median min max)" % ("the kernel's" if vm else "PID 1's"), ""))
    for name, recs in (("eks-node (plain user data)", ours), ("no bootstrapper (static config)", static)):
        f = [whole_figures(r, vm) for r in recs]
        print("%-44s %22s" % (name + ": kubelet started", mmm(x["kubelet_exec_us"] for x in f)))
        print("%-44s %22s" % ("  containerd ready", mmm(x["containerd_active_us"] for x in f)))
        print("%-44s %22s" % ("  first token minted", mmm(x["token_us"] for x in f)))
        if vm:
            print("%-44s %22s" % ("  systemd started (kernel + initrd)", mmm(x["userspace_us"] for x in f)))
    a = [whole_figures(r, vm)["kubelet_exec_us"] for r in ours]
    b = [whole_figures(r, vm)["kubelet_exec_us"] for r in static]
    diffs = [x - y for x, y in zip(a, b) if x is not None and y is not None]
    print("%-44s %22s   (per pair of boots)" % ("eks-node's cost: difference", mmm(diffs)))
    ratios = [x / y for x, y in zip(a, b) if x and y]
    print("%-44s %22s" % ("ratio eks-node/no bootstrapper", mmm(ratios, "%7.2f %6.2f %6.2f")))
    # every pair's ratio, smallest first: the distribution, not only its middle and ends
    if ratios:
        print("  per pair, sorted: " + " ".join("%.2f" % r for r in sorted(ratios)))
    join_breakdown.report(ours, static)
    for name, recs in (("eks-node", ours), ("no bootstrapper", static)):
        print("\n-- systemd-analyze critical-chain kubelet.service, first %s boot:" % name)
        print(recs[0]["whole"]["critical_chain"].split("\n\n", 1)[-1].rstrip())
        print("-- systemd-analyze blame, first %s boot, top 12:" % name)
        print("\n".join(recs[0]["whole"]["blame"].splitlines()[:12]))


def readahead_figures(rec, vm=True):
    """ms from the kernel's start (PID 1's under nspawn): the read-ahead's start and end
    (eks-node-readahead's process, or the first dd's start and the last dd's end), and
    what it said it read."""
    units = rec["whole"].get("readahead") or {}
    zero = 0 if vm else rec["whole"]["userspace_us"]
    starts = [u["ExecMainStartTimestampMonotonic"] for u in units.values() if u.get("ExecMainStartTimestampMonotonic")]
    ends = [u["ExecMainExitTimestampMonotonic"] for u in units.values() if u.get("ExecMainExitTimestampMonotonic")]
    return (ms(min(starts) - zero) if starts else None,
            ms(max(ends) - zero) if ends and len(ends) == len(starts) else None,
            rec["whole"].get("readahead_line", ""))


def report_readahead(modes, boots, disk, vm=True):
    """--readahead with --whole-boot --vm: kernel start -> kubelet's process start per mode,
    medians and ranges over the rounds, and each mode's difference from the first, per round."""
    print("\n== whole boot by read-ahead: %s, %d round(s), modes interleaved; root disk %s" % (
        "qemu VM (TCG unless KVM): EMULATED" if vm else "systemd-nspawn --boot, host speed",
        len(boots[modes[0]]), disk or "plain"))
    print("%-44s %22s" % ("ms from %s start (median min max)" % ("the kernel's" if vm else "PID 1's"), ""))
    first = [whole_figures(r, vm) for r in boots[modes[0]]]
    for mode in modes:
        f = [whole_figures(r, vm) for r in boots[mode]]
        ra = [readahead_figures(r, vm) for r in boots[mode]]
        print("%-44s %22s" % ("readahead %s: kubelet started" % mode, mmm(x["kubelet_exec_us"] for x in f)))
        # the VM tier's payload install runs between the kernel and systemd (guest/preinit):
        # the harness's, not a node's
        if vm:
            print("%-44s %22s" % ("  kubelet, less the harness's install", mmm(
                x["kubelet_exec_us"] - 1000 * r["install_s"] for x, r in zip(f, boots[mode]) if x["kubelet_exec_us"])))
        print("%-44s %22s" % ("  containerd ready", mmm(x["containerd_active_us"] for x in f)))
        print("%-44s %22s" % ("  first token minted", mmm(x["token_us"] for x in f)))
        if mode != "none" and mode not in INITRD_MODES:
            print("%-44s %22s" % ("  read-ahead started", mmm(x[0] for x in ra)))
            print("%-44s %22s" % ("  read-ahead ended", mmm(x[1] for x in ra)))
        lazy = [r.get("lazydisk") for r in boots[mode] if r.get("lazydisk")]
        if lazy:
            print("%-44s %22s" % ("  lazy disk: blocks fetched (of %d KiB)" % lazy[0]["block_kib"],
                                  mmm((x["fetched_blocks"] for x in lazy), "%7d %6d %6d")))
        none = [r.get("lazydisk") for r in boots.get("none", [])]
        if lazy and mode != "none" and none and all(none):
            # what the read-ahead fetched that a boot without it did not: the blocks of the
            # list the join does not touch (per round, against the same round's none boot)
            extra = [max(0, x["fetched_blocks"] - y["fetched_blocks"]) / x["fetched_blocks"]
                     for x, y in zip(lazy, none) if x["fetched_blocks"]]
            print("%-44s %22s   (per round)" % ("  blocks none's boot did not fetch, share", mmm(
                extra, "%7.3f %6.3f %6.3f")))
        for line in sorted({x[2] for x in ra if x[2]})[:1]:
            print("  eks-node-readahead: " + line)
        for line in sorted({l for r in boots[mode] for l in r.get("host_reader", [])})[:1]:
            print("  eks-node-readahead, on the host from before PID 1: " + line)
        if mode != modes[0]:
            diffs = [x["kubelet_exec_us"] - y["kubelet_exec_us"] for x, y in zip(f, first)
                     if x["kubelet_exec_us"] is not None and y["kubelet_exec_us"] is not None]
            print("%-44s %22s   (per round)" % ("  kubelet: difference from %s" % modes[0], mmm(diffs)))
            for key, what in (("kubelet_exec_us", "kubelet"), ("token_us", "first token")):
                ratios = [x[key] / y[key] for x, y in zip(f, first) if x[key] and y[key]]
                print("%-44s %22s   (per round)" % ("  %s: ratio to %s" % (what, modes[0]),
                                                    mmm(ratios, "%7.2f %6.2f %6.2f")))


def whole_boot(a, build, stage, image, work, fake_imds):
    """--whole-boot: boot start -> kubelet, eks-node against no bootstrapper."""
    share, layer = prepare("plain", stage, image, work, fake_imds, overrides=a.override or (),
                           render_from=build if a.image_render == "yes" else None)
    if a.lazy and a.n > 0:
        return {"nspawn-lazy": whole_boot_lazy(a, build, share, layer, stage, image, work)}
    rendered = work / "rendered"
    # the files eks-node renders, for the floor's image: from one boot under nspawn, which
    # only a floor needs
    if a.n > 0 or (a.vm and a.static == "yes"):
        boot(share, layer, stage, image, work)
        shutil.copytree(share / "out/artifacts/rendered", rendered)
        static = static_layer(layer, rendered, work)
    ours, floor = [], []
    for i in range(a.n):
        ours.append(boot(share, layer, stage, image, work))
        floor.append(boot(share, static, stage, image, work))
        log("whole boot: pair %d/%d" % (i + 1, a.n))
    if ours:
        report_whole("systemd-nspawn --boot, host speed", ours, floor, vm=False)
    if a.vm:
        vshare, vlayer = prepare("plain", stage, image, work, fake_imds, nspawn=False)
        shares = {m: vm_share(vshare, work, m, m, a.disk, whole=True) for m in a.modes}
        sshare = None
        if a.static == "yes":
            vstatic = static_layer(vlayer, rendered, work)
            sshare = vm_share(vshare, work, "static", "ours", a.disk,
                              # the image's own containerd config, as the static node's: no eks-node render at boot
                              extra_env="VM_IMAGE_RENDER=0\n", whole=True)
            shutil.rmtree(sshare / "in/scenario/files")
            shutil.copytree(vstatic, sshare / "in/scenario/files", symlinks=True)
        vm_ours, vm_static = {m: [] for m in a.modes}, []
        for i in range(a.vm_n):
            # one boot of each mode, then the floor, round after round: the machine's drift
            # spreads over all of them alike
            for m in a.modes:
                vm_ours[m].append(vm_boot(shares[m], work, build))
            if sshare:
                vm_static.append(vm_boot(sshare, work, build))
            log("whole boot, VM: round %d/%d" % (i + 1, a.vm_n))
        label = "qemu VM (TCG unless KVM): EMULATED" + (", root disk %s" % a.disk if a.disk else "")
        if vm_static:
            for m in a.modes:
                report_whole("%s, readahead %s" % (label, m), vm_ours[m], vm_static, vm=True)
        if len(a.modes) > 1 or a.disk:
            report_readahead(a.modes, vm_ours, a.disk)
        return {"nspawn": {"eks-node": ours, "static": floor},
                "vm": {"disk": a.disk, "readahead": vm_ours, "static": vm_static}}
    return {"nspawn": {"eks-node": ours, "static": floor}}


def whole_boot_lazy(a, build, share, layer, stage, image, work):
    """--whole-boot --lazy under nspawn: the read-ahead modes on a lazily loaded root at the
    host's speed, each boot on a new lazy_root(), rounds interleaved. The image's part of
    the root is lazy; the project's (stage) and the bench's layer are not."""
    image_render(layer, stage, image, work, build, readahead_list=True)
    layers = {}
    for m in a.modes:
        layers[m] = work / ("layer-ra-" + m)
        shutil.rmtree(layers[m], ignore_errors=True)
        shutil.copytree(layer, layers[m], symlinks=True)
        readahead_layer(layers[m], m)
    boots = {m: [] for m in a.modes}
    # the image once: a rebuild between two boots (a changed guest file) would give the
    # rounds different images, each with its own placement of the files' blocks
    rootfs_img = image_base() / "rootfs.img"
    # a recording when any mode reads by it; the admin's list only where the unit reads it (the
    # initramfs model's unit is masked: its list is the host reader's)
    recorded = None
    if any(m.startswith("ours-rec") for m in a.modes):
        recorded = record_boot(a, share, layer, stage, work, rootfs_img)
        for m in [m for m in a.modes if m.startswith("ours-rec") and m not in INITRD_MODES]:
            etc = layers[m] / "etc/eks-node"
            etc.mkdir(parents=True, exist_ok=True)
            (etc / "readahead.list").write_text(recorded)
    # the initramfs model's lists, read from the host (INITRD_MODES)
    host_lists = {}
    if "ours-rec-initrd" in a.modes:
        host_lists["ours-rec-initrd"] = work / "initrd-rec.list"
        host_lists["ours-rec-initrd"].write_text(recorded)
    if "ours-boot-initrd" in a.modes:
        host_lists["ours-boot-initrd"] = work / "initrd-boot.list"
        host_lists["ours-boot-initrd"].write_text(record_boot(a, share, layer, stage, work, rootfs_img,
                                                              discover=True))
    for i in range(a.n):
        for m in a.modes:
            with lazy_root(work, a.lazy, rootfs_img) as (lazy_image, stats):
                reader = None
                if m in host_lists:
                    # --list= is a path under --root=: the list from outside it, by ..
                    reader = subprocess.Popen([str(build / "helpers/eks-node-readahead"), "--root=%s" % lazy_image,
                                               "--list=/%s" % os.path.relpath(host_lists[m], lazy_image),
                                               "--jobs=16"],
                                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                rec = boot(share, layers[m], stage, lazy_image, work)
                if reader:
                    rec["host_reader"] = reader.communicate(timeout=300)[1].strip().splitlines()[-1:]
            if stats:
                rec["lazydisk"] = json.loads(stats.read_text())
            boots[m].append(rec)
        log("whole boot, lazy root: round %d/%d" % (i + 1, a.n))
    report_readahead(a.modes, boots, "VM_DISK_LAZY=" + a.lazy, vm=False)
    return boots


def vm_boot(share, work, build_dir):
    """One TCG (or KVM) boot of the same scenario through tests/vm/run-scenario.sh."""
    out = work / "vm-out"
    r = subprocess.run([str(REPO / "tests/vm/run-scenario.sh"), str(share / "in/scenario"),
                        "--build-dir", str(build_dir), "--out", str(out)])
    if r.returncode:
        raise SystemExit("join: the VM run failed; see %s" % out)
    rec = json.loads((out / "artifacts/boot.json").read_text())
    m = re.search(r"install_seconds=([0-9.]+)", (out / "preinit.txt").read_text()) \
        if (out / "preinit.txt").exists() else None
    rec["install_s"] = float(m.group(1)) if m else 0.0
    if (out / "lazydisk.json").exists():
        rec["lazydisk"] = json.loads((out / "lazydisk.json").read_text())
    return rec


# ---------------------------------------------------------------------------
# report


def ms(us):
    return us / 1000.0


def span(rec, start, end):
    a, b = rec.get(start), rec.get(end)
    return ms(b - a) if a and b and b >= a else None


def report(name, boots, host, label):
    order = boots[0]["chain_order"]
    print("\n== %s: %d boot(s), %s" % (name, len(boots), label))
    if name in SKIPPED:
        print("   skipped under nspawn: " + SKIPPED[name])
    print("%-32s %22s %22s %8s %6s %8s %8s %6s" % (
        "unit (ms: median min max)", "job (inactive->active)", "process (exec->exit)",
        "cgrp cpu", "execs", "host cpu", "rss KiB", "procs"))
    for u in order:
        recs = [b["chain"]["units"][u] for b in boots]
        job = mmm(span(r, "InactiveExitTimestampMonotonic", "ActiveEnterTimestampMonotonic") for r in recs)
        proc = mmm(span(r, "ExecMainStartTimestampMonotonic", "ExecMainExitTimestampMonotonic") for r in recs)
        cpu = [r["CPUUsageNSec"] / 1e6 for r in recs if isinstance(r["CPUUsageNSec"], int)]
        step = u[len("eks-node-"):-len(".service")] if u.startswith("eks-node-") else None
        h = host.get(step) if host and step else None
        print("%-32s %22s %22s %8s %6d %8s %8s %6s" % (
            u, job, proc, "%.1f" % statistics.median(cpu) if cpu else "-", recs[0]["execs"],
            "%.2f" % h["cpu"] if h else "-", h["rss"] if h else "-",
            (h["procs"] if h["procs"] is not None else "-") if h else "-"))
    chain = [ms(b["chain"]["chain_us"]) for b in boots if b["chain"]["chain_us"]]
    floor = [ms(b["floor"]["chain_us"]) for b in boots if b["floor"]["chain_us"]]
    steps_end = []
    for b in boots:
        us = b["chain"]["units"]
        last = max(us[u]["ActiveEnterTimestampMonotonic"] for u in order if u.startswith("eks-node-"))
        steps_end.append(ms(last - us[order[0]]["InactiveExitTimestampMonotonic"]))
    # the same span in the floor: its step twins (bfloor-imds, ...), without
    # containerd's and kubelet's
    floor_steps = []
    for b in boots:
        fu = b["floor"]["units"]
        twins = [u for u in fu if not u.startswith("bfloor-rt-")]
        first = fu.get("bfloor-imds.service", {}).get("InactiveExitTimestampMonotonic")
        last = max((fu[u].get("ActiveEnterTimestampMonotonic") or 0) for u in twins) if twins else 0
        floor_steps.append(ms(last - first) if first and last >= first else None)
    bare = [ms(b["bare"]["chain_us"]) for b in boots if b.get("bare") and b["bare"]["chain_us"]]
    ratios = [ms(b["chain"]["chain_us"]) / ms(b["floor"]["chain_us"]) for b in boots
              if b["chain"]["chain_us"] and b["floor"]["chain_us"]]
    # containerd's own start (job: inactive -> active, its last start) where it lies
    # inside the chain's window; started at boot before eks-node-imds, none of it does
    in_chain, share = [], []
    for b in boots:
        us = b["chain"]["units"]
        if not b["chain"]["chain_us"]:
            continue
        c0, c1 = (us["containerd.service"].get(k) or 0 for k in
                  ("InactiveExitTimestampMonotonic", "ActiveEnterTimestampMonotonic"))
        w0 = us[order[0]]["InactiveExitTimestampMonotonic"]
        w1 = w0 + b["chain"]["chain_us"]
        overlap = max(0, min(c1, w1) - max(c0, w0)) if c0 and c1 else 0
        in_chain.append(ms(overlap))
        share.append(ms(b["chain"]["chain_us"] - overlap))
    print("%-32s %22s" % ("chain: imds start -> kubelet", mmm(chain)))
    print("%-32s %22s" % ("  containerd's start in it", mmm(in_chain)))
    print("%-32s %22s   (chain - containerd's start in it)" % ("  our share", mmm(share)))
    print("%-32s %22s" % ("containerd starts per boot", " ".join(str(b.get("containerd_starts", "?"))
                                                                   for b in boots)))
    print("%-32s %22s" % ("  our steps: imds -> last step", mmm(steps_end)))
    print("%-32s %22s" % ("floor (%d empty oneshots)" % len(order), mmm(floor)))
    print("%-32s %22s" % ("  floor's steps: imds -> last", mmm(floor_steps)))
    print("%-32s %22s" % ("  floor without sandboxing", mmm(bare)))
    rerun = [ms(b["rerun"]["chain_us"]) for b in boots if b.get("rerun") and b["rerun"]["chain_us"]]
    print("%-32s %22s   (after the floors, as one transaction)" % ("chain re-run", mmm(rerun)))
    rr = [ms(b["rerun"]["chain_us"]) / ms(b["floor"]["chain_us"]) for b in boots
          if b.get("rerun") and b["rerun"]["chain_us"] and b["floor"]["chain_us"]]
    print("%-32s %22s" % ("ratio re-run/floor", mmm(rr)))
    print("%-32s %22s   (per boot; median of medians %.2f)" % (
        "ratio chain/floor", mmm(ratios),
        statistics.median(chain) / statistics.median(floor) if chain and floor else float("nan")))
    sr = [a / f for a, f in zip(steps_end, floor_steps) if a and f]
    print("%-32s %22s   (ours only: no containerd start)" % ("ratio steps/floor's steps", mmm(sr)))
    # floor_steps and share both skip boots without figures; pair them per boot
    fs = [f for b, f in zip(boots, floor_steps) if b["chain"]["chain_us"]]
    print("%-32s %22s   (our share in floors: goal <= 0.25)" % (
        "ratio our share/floor's steps", mmm(a / f for a, f in zip(share, fs) if a is not None and f)))
    if host:
        print("%-32s %22s" % ("host cpu all steps (steps.py)", "%.2f ms" % sum(
            host[s]["cpu"] for s in steps.STEPS)))
    print("%-32s %22s" % ("IMDS requests per boot", " ".join(str(b["imds_requests"]) for b in boots)))
    print("%-32s %22s" % ("daemon-reloads per boot", " ".join(str(b["reloads"]) for b in boots)))
    print("%-32s %22s" % ("  ... in the re-run", " ".join(
        str(b["reloads_after_rerun"] - b["reloads_after_floor"]) for b in boots if "rerun" in b)))
    print("%-32s %22s" % ("processes (unit exec lines)", sum(
        boots[0]["chain"]["units"][u]["execs"] for u in order)))


def cgroup2_options():
    """The host's cgroup2 super options (nsdelegate, favordynmods, ...), or None."""
    for line in open("/proc/self/mountinfo"):
        left, _, right = line.partition(" - ")
        fields = right.split()
        if fields and fields[0] == "cgroup2":
            return set(o for o in fields[2].split(",") if o not in ("rw", "ro"))
    return None


def set_cgroup2(options, check=True):
    """Every cgroup2 mount applies its options to the one hierarchy: a mount of our own,
    at once unmounted, sets them for the host's and every container's."""
    with tempfile.TemporaryDirectory(prefix="eks-node-bench-cg2.") as d:
        r = subprocess.run(["mount", "-t", "cgroup2", "-o", ",".join(sorted(options)) or "defaults", "cgroup2", d],
                           capture_output=True, text=True)
        if r.returncode != 0:
            if check:
                raise SystemExit("join: mount -t cgroup2 -o %s: %s" % (",".join(sorted(options)), r.stderr.strip()))
            return False
        run(["umount", d])
    return True


def favor_dynmods(before):
    """A node's image sets cgroup2's favordynmods at boot (cgroup-favordynmods.service): a
    process's move into a new cgroup, at every unit start, then no longer waits for an RCU
    grace period (6-30 ms). The unit skips containers (it would change the host's
    hierarchy), so under nspawn the bench sets it on the host for its boots, and
    restore_cgroup2 puts the host's options back. Without it every unit start in the
    boots costs PID 1 those milliseconds, the boots with eks-node (more units before
    kubelet) more than the others: measured 2026-12-01, docs/performance.md."""
    if before is None or "favordynmods" in before:
        return
    if set_cgroup2(before | {"favordynmods"}, check=False):
        log("cgroup2: favordynmods set for the boots, as the image's cgroup-favordynmods.service sets it on a node")
    else:
        log("cgroup2: this kernel has no favordynmods (Linux < 6.0): unit starts wait for RCU grace periods")


def restore_cgroup2(before):
    """favor_dynmods changed the host's one cgroup2 hierarchy (no user namespaces: the
    containers share it), so the flag would outlive the boots: put the host's options back."""
    if before is None or cgroup2_options() == before:
        return
    set_cgroup2(before)
    log("restored the host's cgroup2 options: %s" % (",".join(sorted(before)) or "(none)"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build-dir", default=os.environ.get("EKS_NODE_VM_BUILD_DIR", str(REPO / "build")))
    ap.add_argument("-n", type=int, default=10, help="boots per scenario (default 10; 0: only --vm)")
    ap.add_argument("--scenario", action="append", choices=SCENARIOS, help="default: all")
    ap.add_argument("--vm", action="store_true", help="also one qemu boot of the plain scenario")
    ap.add_argument("--steps-n", type=int, default=10, help="host runs per step for CPU/RSS (0: skip)")
    ap.add_argument("--override", action="append", metavar="KEY=VALUE",
                    help="experiment: add this [Service] setting to every step and its floor twin "
                         "(UNIT:KEY=VALUE: to that step alone)")
    ap.add_argument("--no-favordynmods", action="store_true",
                    help="leave the host's cgroup2 as it is (a node's image sets favordynmods at boot; "
                         "without it every unit start waits for RCU grace periods)")
    ap.add_argument("--sandbox-cost", action="store_true",
                    help="instead: one boot running guest/sandbox-cost.sh (what each sandboxing setting costs)")
    ap.add_argument("--image-render", choices=["yes", "no"], default="yes",
                    help="name a cached pause image and run `eks-node render --image` into the image, as the "
                         "AMI build does (default; containerd starts at boot), or not (containerd starts after "
                         "eks-node-containerd)")
    ap.add_argument("--whole-boot", action="store_true",
                    help="instead: boot start -> kubelet's process start, eks-node (plain) against the same image "
                         "with eks-node disabled and kubelet on the files eks-node rendered, -n pairs "
                         "interleaved (with --vm: also --vm-n qemu pairs)")
    ap.add_argument("--vm-n", type=int, default=1, help="qemu boot rounds for --whole-boot --vm (default 1)")
    ap.add_argument("--throttle", nargs="?", const=THROTTLE_DEFAULT, metavar="MIB_S,IOPS",
                    help="--vm: read the guest's root disk as an EBS volume restored from a snapshot "
                         "(qemu block throttling, default %s MiB/s and read IOPS; README.md, \"A lazily loaded "
                         "disk\"), the guest's page cache emptied after the payload's install" % THROTTLE_DEFAULT)
    ap.add_argument("--lazy", nargs="?", const=LAZY_DEFAULT, metavar="LATENCY_MS[,BLOCK_KIB[,FETCHES]]",
                    help="--whole-boot: the root disk as EBS loads a volume restored from a snapshot, each "
                         "block's first read waiting LATENCY_MS, FETCHES blocks at a time (tests/bench/lazydisk.py; "
                         "default %s): with -n, under nspawn at the host's speed (0: the same image on a plain "
                         "loop device), with --vm instead of --throttle" % LAZY_DEFAULT)
    ap.add_argument("--readahead", default="ours", metavar="MODE[,MODE...]",
                    help="--vm: what reads the join's files ahead: none (the list masked), dd (nodeadm's AMI: "
                         "containerd and kubelet read with dd after basic.target), ours (eks-node-readahead; "
                         "the default: the image's list, by the ranges its build recorded), ours-whole (the same "
                         "list read whole), ours-bins (ours reading dd's two files), ours-join (ours without what the "
                         "first pods need), ours-rec (ours by the ranges a recording boot read; --lazy under "
                         "nspawn), ours-rec-initrd and ours-boot-initrd (the reader started on the host before "
                         "PID 1, as an initramfs would; the second with what systemd's own start reads); several, comma-separated: each booted in turn every round "
                         "(--whole-boot), and compared")
    ap.add_argument("--static", choices=["yes", "no"], default="yes",
                    help="--whole-boot --vm: also boot the image with no bootstrapper every round (default yes)")
    ap.add_argument("--json", help="write every boot's raw record here")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    a = ap.parse_args()
    a.modes = readahead_modes(a.readahead)
    if a.throttle and a.lazy:
        raise SystemExit("join: --throttle or --lazy, not both")
    a.disk = ("VM_DISK_THROTTLE=" + throttle_setting(a.throttle) if a.throttle else
              "VM_DISK_LAZY=" + lazy_setting(a.lazy) if a.lazy else None)
    if os.geteuid():
        raise SystemExit("join: needs root (overlay mount, systemd-nspawn)")
    if not shutil.which("systemd-nspawn"):
        raise SystemExit("join: needs systemd-nspawn (apt-get install systemd-container)")
    if a.lazy and a.n > 0 and float(a.lazy.split(",")[0]) > 0 and not shutil.which("nbdfuse"):
        raise SystemExit("join: --lazy under nspawn needs nbdfuse (apt-get install libnbd-bin)")
    build = pathlib.Path(a.build_dir).resolve()
    # the guest's IMDS, answering in microseconds as EC2's does; EKS_NODE_FAKE_IMDS as for
    # tests/vm: another build's (an older commit's build, measured against this one, may have none)
    fake_imds = pathlib.Path(os.environ.get("EKS_NODE_FAKE_IMDS") or build / "tests/fake-imds/fake-imds")
    if not fake_imds.exists():
        raise SystemExit("join: no %s: build it (ninja -C %s tests/fake-imds/fake-imds)" % (fake_imds, build))
    image = rootfs()
    work = pathlib.Path(tempfile.mkdtemp(prefix="eks-node-bench.", dir=WORK))
    stage = work / "stage"
    run(["meson", "install", "-C", str(build), "--destdir", str(stage), "--quiet"], stdout=subprocess.DEVNULL)
    usrmerge(stage, image)
    raw = {}
    cgroup2_before = cgroup2_options()
    atexit.register(restore_cgroup2, cgroup2_before)
    if not a.no_favordynmods:
        favor_dynmods(cgroup2_before)
    if a.sandbox_cost:
        share, layer = prepare("plain", stage, image, work, fake_imds)
        shutil.copy(HERE / "guest/sandbox-cost.sh", share / "in/scenario/check.sh")
        boot(share, layer, stage, image, work, result=False)
        print("setting                                  ExecMainStart -> exit of an empty oneshot, ms (7 runs, sorted)")
        print((share / "out/check.log").read_text(), end="")
        shutil.rmtree(work, ignore_errors=True)
        return
    if a.whole_boot:
        try:
            raw["whole"] = whole_boot(a, build, stage, image, work, fake_imds)
        finally:
            if a.json:
                pathlib.Path(a.json).write_text(json.dumps(raw, indent=1))
            if not a.keep:
                shutil.rmtree(work, ignore_errors=True)
        return
    try:
        for name in (a.scenario or SCENARIOS) if a.n > 0 else []:
            share, layer = prepare(name, stage, image, work, fake_imds, overrides=a.override or (),
                                   render_from=build if a.image_render == "yes" else None)
            boots = []
            for i in range(a.n):
                t0 = time.monotonic()
                boots.append(boot(share, layer, stage, image, work))
                log("%s: boot %d/%d in %.1f s" % (name, i + 1, a.n, time.monotonic() - t0))
            host = None
            if a.steps_n:
                host = steps.measure(build / "helpers", a.steps_n, HERE / "scenarios" / name / "user-data")
            raw[name] = {"boots": boots, "host": host}
            report(name, boots, host, "systemd-nspawn --boot, host speed")
        if a.vm:
            base, _ = prepare("plain", stage, image, work, fake_imds, nspawn=False)
            share = vm_share(base, work, "plain", a.modes[0], a.disk)
            rec = vm_boot(share, work, build)
            raw["vm-plain"] = {"boots": [rec]}
            report("plain", [rec], None, "qemu VM (TCG unless KVM): EMULATED, ~16x slower than host")
    finally:
        if a.json:
            pathlib.Path(a.json).write_text(json.dumps(raw, indent=1))
        if a.keep:
            log("kept " + str(work))
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
