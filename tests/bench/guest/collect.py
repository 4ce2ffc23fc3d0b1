#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Runs inside a booted node (systemd-nspawn container or test VM), after the boot
settled: records what systemd measured for the join chain of this boot, then starts
the floor chain (the same shape, empty oneshots; see floor_units in join.py) and records it the
same way. Writes one JSON document (see `record`) for tests/bench/join.py.

Usage: collect.py OUT.json [--whole]

Then the chain once more, stopped and started as one transaction like the
floors ("rerun": warm caches, a settled system), so the ratio can also be taken
between two chains started the same way.

Timestamps are CLOCK_MONOTONIC microseconds from `systemctl show`, so the chain's
figures are systemd's own, not this script's. The chain starts when eks-node-imds
leaves "inactive" (its job started: namespace setup included) and ends when kubelet's
main process was forked (ExecMainStartTimestamp, after its ExecStartPre)."""

import json
import os
import shutil
import subprocess
import sys
import time

PROPS = ["InactiveExitTimestampMonotonic", "ExecMainStartTimestampMonotonic",
         "ExecMainExitTimestampMonotonic", "ActiveEnterTimestampMonotonic",
         "CPUUsageNSec", "ExecMainStatus", "ActiveState", "Result"]
# how many processes a unit's own command lines start (one each)
EXEC_PROPS = ["ExecStartPre", "ExecStart", "ExecStartPost"]


def show(unit):
    r = subprocess.run(["systemctl", "show", unit, "-p", ",".join(PROPS + EXEC_PROPS)],
                       capture_output=True, text=True, check=True)
    raw = dict(line.split("=", 1) for line in r.stdout.splitlines() if "=" in line)
    rec = {}
    for p in PROPS:
        v = raw.get(p, "")
        rec[p] = int(v) if v.isdigit() else v
    # `ExecStart={ path=... }` lines, one per command; empty when none
    rec["execs"] = sum(raw.get(p, "").count("path=") for p in EXEC_PROPS)
    return rec


def chain_units():
    """Our steps that ran in this boot (the generator adds optional ones), then the
    runtime and kubelet, in chain order."""
    r = subprocess.run(["systemctl", "list-units", "--all", "--plain", "--no-legend",
                        "--type=service", "eks-node-*.service"],
                       capture_output=True, text=True, check=True)
    # --all lists units that are only referenced (After=eks-node-hosts.service);
    # those that ran have left "inactive" at some point
    ran = [line.split()[0] for line in r.stdout.splitlines() if line.strip()]
    ran = [u for u in ran if show(u)["InactiveExitTimestampMonotonic"]]
    order = ["imds", "config", "system", "instance-store", "hosts", "ca", "kubelet", "containerd"]
    steps = ["eks-node-%s.service" % s for s in order if "eks-node-%s.service" % s in ran]
    return steps + ["containerd.service", "kubelet.service"]


def floor_name(unit, prefix):
    """bfloor-*: the floor with our sandboxing; bbare-*: without (join.py)."""
    if unit.startswith("eks-node-"):
        return prefix + unit[len("eks-node-"):]
    return prefix + "rt-" + unit


def reloads():
    """PID 1's "Reloading." lines in this boot: one per daemon-reload."""
    r = subprocess.run(["journalctl", "-b", "_PID=1", "-o", "cat", "--no-pager"],
                       capture_output=True, text=True)
    return sum(1 for line in r.stdout.splitlines() if line.startswith("Reloading"))


def imds_requests():
    """Requests the fake IMDS logged so far (tests/vm/guest/imds's log path)."""
    try:
        with open("/run/eksvm/out/imds-requests.log") as f:
            return sum(1 for _ in f)
    except FileNotFoundError:
        return None


def starts(unit):
    """How many times UNIT started this boot (systemd's "Started" message)."""
    r = subprocess.run(["journalctl", "-b", "-u", unit, "MESSAGE_ID=39f53479d3a045ac8e11786248231fbf",
                        "-o", "cat", "--no-pager"], capture_output=True, text=True)
    return sum(1 for line in r.stdout.splitlines() if line.strip())


def figures(units, start_unit, end_unit):
    recs = {u: show(u) for u in units}
    start = recs[start_unit]["InactiveExitTimestampMonotonic"]
    end = recs[end_unit]["ExecMainStartTimestampMonotonic"]
    return {"units": recs, "chain_us": end - start if start and end else None}


READAHEAD_UNITS = ["eks-node-readahead.service", "ebs-initialize-bin@containerd.service",
                   "ebs-initialize-bin@kubelet.service"]

# What eks-node rendered for kubelet and containerd: join.py --whole-boot bakes these
# into the image as the static configuration of a node that runs no bootstrapper.
RENDERED = ["/etc/kubernetes/kubelet/config.json", "/etc/kubernetes/pki/ca.crt",
            "/var/lib/kubelet/kubeconfig", "/etc/eks/kubelet/environment",
            "/etc/containerd/config.toml", "/etc/containerd/base-runtime-spec.json"]


def first_token_us(wait_s=120):
    """When kubelet had its first token from its credential plugin (eks-node get-token, or
    the AWS CLI), CLOCK_MONOTONIC in µs as systemd's timestamps: the stub kubelet writes it
    (token.json) once the plugin has answered, which may come after the checks start."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            with open("/run/stub-kubelet/token.json") as f:
                return int(json.load(f)["mintedMonotonicUs"])
        except (OSError, ValueError, KeyError):
            pass
        if time.monotonic() > deadline:
            return None
        time.sleep(0.1)


def whole_boot():
    """Boot start -> kubelet's process start. CLOCK_MONOTONIC counts from the kernel's
    start in a VM and from the host's in a container, so both the kernel-relative time
    and the time since systemd (PID 1) started are kept; plus systemd-analyze's view."""
    def prop(unit, name):
        r = subprocess.run(["systemctl", "show", "-P", name] + ([unit] if unit else []),
                           capture_output=True, text=True)
        v = r.stdout.strip()
        return int(v) if v.isdigit() else None
    rec = {"userspace_us": prop(None, "UserspaceTimestampMonotonic"),
           "kubelet_exec_us": prop("kubelet.service", "ExecMainStartTimestampMonotonic"),
           "containerd_active_us": prop("containerd.service", "ActiveEnterTimestampMonotonic"),
           "token_us": first_token_us()}
    for key, cmd in (("critical_chain", ["critical-chain", "kubelet.service"]), ("blame", ["blame"])):
        r = subprocess.run(["systemd-analyze", *cmd, "--no-pager"], capture_output=True, text=True)
        rec[key] = r.stdout + r.stderr
    # what read the join's files ahead in this boot (join.py --readahead): eks-node-readahead,
    # or the dd units of nodeadm's AMI; each unit that ran, and eks-node-readahead's last line
    rec["readahead"] = {}
    for unit in READAHEAD_UNITS:
        s = show(unit)
        if s["InactiveExitTimestampMonotonic"]:
            rec["readahead"][unit] = {k: s[k] for k in ("InactiveExitTimestampMonotonic", "ExecMainStartTimestampMonotonic",
                                                        "ExecMainExitTimestampMonotonic", "Result")}
    r = subprocess.run(["journalctl", "-b", "-u", READAHEAD_UNITS[0], "-o", "cat", "--no-pager"],
                       capture_output=True, text=True)
    rec["readahead_line"] = next((line for line in reversed(r.stdout.splitlines()) if line.startswith("read ")), "")
    rec["units"] = unit_times()
    return rec


# what join.py's whole-boot breakdown walks: when each unit left "inactive", when its main
# process was forked, when it was up, and what it is ordered after (its critical chain)
UNIT_PROPS = ["Id", "InactiveExitTimestampMonotonic", "ExecMainStartTimestampMonotonic",
              "ActiveEnterTimestampMonotonic", "InactiveEnterTimestampMonotonic", "CPUUsageNSec", "After"]


def unit_times():
    """Every loaded service, target, socket, mount and device unit that started this boot:
    {unit: {"start": us, "exec": us, "up": us, "cpu": us, "after": [...]}}, CLOCK_MONOTONIC;
    cpu: the unit's cgroup's CPU time so far (0 without accounting). One
    `systemctl show` of them all (its records are separated by blank lines)."""
    r = subprocess.run(["systemctl", "show", "-p", ",".join(UNIT_PROPS), "*.service", "*.target",
                        "*.socket", "*.mount", "*.device", "*.slice", "*.path"],
                       capture_output=True, text=True)
    units = {}
    for block in r.stdout.split("\n\n"):
        raw = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        num = {p: int(raw[p]) if raw.get(p, "").isdigit() else 0 for p in UNIT_PROPS[1:6]}
        # up: active; a oneshot without RemainAfterExit= is never active, its end is when it
        # went inactive again after its start
        up = num["ActiveEnterTimestampMonotonic"]
        if not up and num["InactiveEnterTimestampMonotonic"] > num["InactiveExitTimestampMonotonic"] > 0:
            up = num["InactiveEnterTimestampMonotonic"]
        # never started this boot: left out
        if not raw.get("Id") or not up:
            continue
        units[raw["Id"]] = {"start": num["InactiveExitTimestampMonotonic"],
                            "exec": num["ExecMainStartTimestampMonotonic"],
                            "up": up, "cpu": num["CPUUsageNSec"] // 1000, "after": raw.get("After", "").split()}
    return units


def save_rendered(out):
    base = os.path.join(os.path.dirname(out), "rendered")
    for path in RENDERED:
        if os.path.exists(path):
            os.makedirs(os.path.dirname(base + path), exist_ok=True)
            shutil.copy2(path, base + path)


def main():
    out = sys.argv[1]
    whole = whole_boot()
    # --whole (join.py --whole-boot's VM boots): the boot's own figures only, no floors and
    # no re-run, which under TCG take minutes of a starved guest's CPU and report nothing
    # the whole-boot report reads
    whole_only = sys.argv[2:] == ["--whole"]
    if whole_only or not subprocess.run(["systemctl", "show", "-P", "InactiveExitTimestampMonotonic",
                                         "eks-node-imds.service"], capture_output=True, text=True).stdout.strip().strip("0"):
        # no eks-node in this boot (join.py --whole-boot's static node): nothing else to time
        with open(out, "w") as f:
            json.dump({"whole": whole}, f, indent=1)
        return
    save_rendered(out)
    units = chain_units()
    record = {"chain_order": units, "reloads": reloads(), "imds_requests": imds_requests(), "whole": whole}
    record["chain"] = figures(units, units[0], "kubelet.service")
    # once when containerd started early on the right file, twice when a step restarted it
    record["containerd_starts"] = starts("containerd.service")
    r = subprocess.run(["systemd-analyze", "critical-chain", "kubelet.service", "--no-pager"],
                       capture_output=True, text=True)
    record["critical_chain"] = r.stdout + r.stderr
    # The floor, started once the boot settled: one transaction with the same units,
    # as eks-node.target's Wants= pull them in at boot.
    for key, prefix in (("floor", "bfloor-"), ("bare", "bbare-")):
        floor = [floor_name(u, prefix) for u in units]
        t0 = time.monotonic()
        subprocess.run(["systemctl", "start", *floor], check=True)
        record[key + "_start_command_us"] = int((time.monotonic() - t0) * 1e6)
        record[key] = figures(floor, floor[0], floor[-1])
    record["reloads_after_floor"] = reloads()
    subprocess.run(["systemctl", "stop", *units], check=True)
    subprocess.run(["systemctl", "start", *units], check=True)
    record["rerun"] = figures(units, units[0], "kubelet.service")
    record["reloads_after_rerun"] = reloads()
    with open(out, "w") as f:
        json.dump(record, f, indent=1)


if __name__ == "__main__":
    main()
