# SPDX-License-Identifier: Apache-2.0
"""join.py --whole-boot's breakdown (issue 63 item 3): where the time between PID 1 and
kubelet's fork goes, unit by unit, in the boots with eks-node against the same image's
boots without a bootstrapper.

Input per boot: collect.py's `units` (each unit's start, main process fork and "up" times,
CLOCK_MONOTONIC µs, and its After= list) and PID 1's start (`userspace_us`).

kubelet's critical chain is walked as `systemd-analyze critical-chain` walks it: from a
unit's start, the unit of its After= list that was up last before that start is what it
waited for, and so on back to PID 1. The chain of one boot, not of a median boot: each
boot's own chain, then the medians of its links over the boots that share them.

A pair's difference is split where the two boots' chains part: the last unit of the eks-node
boot's chain (walking back from kubelet) that is no step of ours and was up in the other
boot too, usually containerd, basic.target or network.target. Before it both boots run the
same units (systemd's own start; a difference there is the machine or the CPU the steps
take from those units); after it, what kubelet waited for in each."""

import statistics


def critical_chain(units, unit="kubelet.service"):
    """[(unit, waited_us, ran_us, up_us)], PID 1's end first, UNIT last. waited: from the
    previous link's up to this unit's start; ran: its start to its up (kubelet: to its fork)."""
    chain = []
    seen = set()
    cur = unit
    while cur and cur not in seen:
        seen.add(cur)
        u = units[cur]
        start = u["start"] or u["up"]
        end = u["exec"] if cur == unit and u["exec"] else u["up"]
        gates = [(units[d]["up"], d) for d in u["after"]
                 if d in units and d not in seen and 0 < units[d]["up"] <= start]
        prev = max(gates)[1] if gates else None
        chain.append({"unit": cur, "waited": start - units[prev]["up"] if prev else 0,
                      "ran": end - start, "up": end})
        cur = prev
    chain.reverse()
    return chain


def ours(unit):
    return unit.startswith("eks-node") or unit.startswith("kubelet-")


def parting(chain, other):
    """The unit where the eks-node boot's chain parts from the other boot: the last link
    before kubelet that is no unit of ours and was up in the other boot."""
    for link in reversed(chain[:-1]):
        if not ours(link["unit"]) and link["unit"] in other:
            return link["unit"]
    return None


def pair(ours_boot, static_boot):
    """One pair's difference, split: {"diff", "parting", "fork", "before", "after_ours",
    "after_static", "links"} in µs; fork: kubelet's in the eks-node boot (its clock); links:
    the eks-node boot's chain after the parting point."""
    a, b = ours_boot["units"], static_boot["units"]
    chain = critical_chain(a)
    p = parting(chain, b)
    ka, kb = chain[-1]["up"], critical_chain(b)[-1]["up"]
    pa = a[p]["up"] if p else ours_boot["userspace_us"]
    pb = b[p]["up"] if p else static_boot["userspace_us"]
    # from PID 1's start: the two boots' clocks start at their own PID 1
    za, zb = ours_boot["userspace_us"], static_boot["userspace_us"]
    names = [l["unit"] for l in chain]
    after = chain[names.index(p) + 1:] if p in names else chain
    return {"diff": (ka - za) - (kb - zb), "parting": p or "PID 1", "fork": ka,
            "before": (pa - za) - (pb - zb), "after_ours": ka - pa, "after_static": kb - pb,
            "links": after}


def mmm(values, fmt="%7.1f %6.1f %6.1f", per=1):
    """median min max of the values that are there (divided by `per`), or a dash; join.py's too"""
    v = sorted(x / per for x in values if x is not None)
    return fmt % (statistics.median(v), v[0], v[-1]) if v else "%7s" % "-"


def mmm_ms(values):
    """the same, of microseconds, in milliseconds"""
    return mmm(values, per=1000)


def report(ours_recs, static_recs, out=print):
    """Prints the breakdown of join.py's whole-boot pairs (the records' "whole" parts)."""
    pairs = [(a["whole"], b["whole"]) for a, b in zip(ours_recs, static_recs)
             if a["whole"].get("units") and b["whole"].get("units")]
    if not pairs:
        out("\n(no per-unit times in these boots' records: collect.py before the breakdown)")
        return
    split = [pair(a, b) for a, b in pairs]
    out("\n== kubelet's start, eks-node against no bootstrapper, per pair, split where the chains part"
        " (ms: median min max over %d pairs)" % len(split))
    points = {}
    for s in split:
        points[s["parting"]] = points.get(s["parting"], 0) + 1
    out("  parting point (pairs): " + ", ".join("%s (%d)" % kv for kv in sorted(points.items(), key=lambda kv: -kv[1])))
    out("%-52s %22s" % ("  difference, kubelet's fork", mmm_ms(s["diff"] for s in split)))
    out("%-52s %22s" % ("  of it before the parting point (same units)", mmm_ms(s["before"] for s in split)))
    out("%-52s %22s" % ("  parting point -> kubelet, eks-node", mmm_ms(s["after_ours"] for s in split)))
    out("%-52s %22s" % ("  parting point -> kubelet, no bootstrapper", mmm_ms(s["after_static"] for s in split)))
    # the eks-node boots' links after the parting point, by unit: how often on the chain,
    # what it waited for its start (its start job's queue, the gate's up -> its start) and ran
    links = {}
    for s in split:
        for l in s["links"]:
            links.setdefault(l["unit"], []).append(l)
    out("  eks-node boots, chain after the parting point: unit, on it in pairs, waited, ran")
    for unit, ls in sorted(links.items(), key=lambda kv: statistics.median(l["up"] for l in kv[1])):
        out("%-40s %4d/%-4d waited %s ran %s" % ("    " + unit, len(ls), len(split),
                                              mmm_ms(l["waited"] for l in ls), mmm_ms(l["ran"] for l in ls)))
    # what the eks-node boot ran that the other did not, ended before kubelet's fork: the
    # CPU its cgroups took (the steps' programs and their sandboxes' setup; not PID 1's own
    # work for them, which is init.scope's) on the CPUs containerd's start shares
    extra = []
    for (a, b), s in zip(pairs, split):
        extra.append({u: v.get("cpu", 0) for u, v in a["units"].items()
                      if u not in b["units"] and v["start"] and v["up"] <= s["fork"]})
    out("%-52s %22s" % ("  units only the eks-node boot ran before kubelet", mmm_ms(len(e) * 1000 for e in extra)))
    out("%-52s %22s" % ("  their CPU (cgroups' CPUUsageNSec)", mmm_ms(sum(e.values()) for e in extra)))
    cpu = {}
    for e in extra:
        for u, c in e.items():
            cpu.setdefault(u, []).append(c)
    for u, c in sorted(cpu.items(), key=lambda kv: -statistics.median(kv[1]))[:8]:
        out("%-52s %22s" % ("    " + u, mmm_ms(c)))
    # every unit up in both boots, by its up time's difference per pair (PID 1 to up): the
    # units the eks-node boot delays (CPU its steps take) or speeds up; the largest by median
    both = {}
    for a, b in pairs:
        for u in set(a["units"]) & set(b["units"]):
            both.setdefault(u, []).append((a["units"][u]["up"] - a["userspace_us"])
                                          - (b["units"][u]["up"] - b["userspace_us"]))
    common = [(statistics.median(d), u, d) for u, d in both.items() if len(d) == len(pairs)]
    common.sort(key=lambda t: -abs(t[0]))
    out("  units of both boots, up later with eks-node by (per pair), the 10 largest:")
    for _, u, d in common[:10]:
        out("%-52s %22s" % ("    " + u, mmm_ms(d)))
