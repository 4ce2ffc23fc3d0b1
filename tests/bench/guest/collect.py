#!/usr/bin/python3
"""Runs inside a booted node (systemd-nspawn container or test VM), after the boot
settled: records what systemd measured for the join chain of this boot, then starts
the floor chain (the same shape, empty oneshots; floor_units.py) and records it the
same way. Writes one JSON document (see `record`) for tests/bench/join.py.

Usage: collect.py OUT.json

Timestamps are CLOCK_MONOTONIC microseconds from `systemctl show`, so the chain's
figures are systemd's own, not this script's. The chain starts when eks-node-imds
leaves "inactive" (its job started: namespace setup included) and ends when kubelet's
main process was forked (ExecMainStartTimestamp, after its ExecStartPre)."""

import json
import subprocess
import sys
import time

PROPS = ["InactiveExitTimestampMonotonic", "ExecMainStartTimestampMonotonic",
         "ExecMainExitTimestampMonotonic", "ActiveEnterTimestampMonotonic",
         "CPUUsageNSec", "ExecMainStatus", "ActiveState", "Result"]
# how many processes a unit's own command lines start (one each)
EXEC_PROPS = ["ExecStartPre", "ExecStart", "ExecStartPost"]
FLOOR = "bfloor-"


def show(unit):
    r = subprocess.run(["systemctl", "show", unit, "-p", ",".join(PROPS + EXEC_PROPS)],
                       capture_output=True, text=True, check=True)
    raw = dict(line.split("=", 1) for line in r.stdout.splitlines() if "=" in line)
    rec = {}
    for p in PROPS:
        v = raw.get(p, "")
        rec[p] = int(v) if v.isdigit() and not p.startswith("Active") else v
    # `ExecStart={ path=... }` lines, one per command; empty when none
    rec["execs"] = sum(raw.get(p, "").count("path=") for p in EXEC_PROPS)
    return rec


def chain_units():
    """Our steps that ran in this boot (the generator adds optional ones), then the
    runtime and kubelet, in chain order."""
    r = subprocess.run(["systemctl", "list-units", "--all", "--plain", "--no-legend",
                        "--type=service", "eks-node-*.service"],
                       capture_output=True, text=True, check=True)
    ran = [line.split()[0] for line in r.stdout.splitlines() if line.strip()]
    order = ["imds", "config", "instance-store", "hosts", "ca", "kubelet", "containerd"]
    steps = ["eks-node-%s.service" % s for s in order if "eks-node-%s.service" % s in ran]
    return steps + ["containerd.service", "kubelet.service"]


def floor_name(unit):
    if unit.startswith("eks-node-"):
        return FLOOR + unit[len("eks-node-"):]
    return FLOOR + "rt-" + unit


def reloads():
    """PID 1's "Reloading." lines in this boot: one per daemon-reload."""
    r = subprocess.run(["journalctl", "-b", "_PID=1", "-o", "cat", "--no-pager"],
                       capture_output=True, text=True)
    return sum(1 for line in r.stdout.splitlines() if line.startswith("Reloading"))


def figures(units, start_unit, end_unit):
    recs = {u: show(u) for u in units}
    start = recs[start_unit]["InactiveExitTimestampMonotonic"]
    end = recs[end_unit]["ExecMainStartTimestampMonotonic"]
    return {"units": recs, "chain_us": end - start if start and end else None}


def main():
    out = sys.argv[1]
    units = chain_units()
    record = {"chain_order": units, "reloads": reloads()}
    record["chain"] = figures(units, units[0], "kubelet.service")
    r = subprocess.run(["systemd-analyze", "critical-chain", "kubelet.service", "--no-pager"],
                       capture_output=True, text=True)
    record["critical_chain"] = r.stdout + r.stderr
    # The floor, started once the boot settled: one transaction with the same units,
    # as eks-node.target's Wants= pull them in at boot.
    floor = [floor_name(u) for u in units]
    t0 = time.monotonic()
    subprocess.run(["systemctl", "start", *floor], check=True)
    record["floor_start_command_us"] = int((time.monotonic() - t0) * 1e6)
    record["floor"] = figures(floor, floor[0], floor[-1])
    record["reloads_after_floor"] = reloads()
    with open(out, "w") as f:
        json.dump(record, f, indent=1)


if __name__ == "__main__":
    main()
