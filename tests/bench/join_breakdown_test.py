#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""tests/bench/join_breakdown.py on boots written out by hand: the critical chain it walks,
where a pair's chains part and how the difference is split. Times in ms, as µs below."""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import join_breakdown as jb  # noqa: E402

failures = passed = 0


def check(ok, what):
    global failures, passed
    passed += bool(ok)
    if not ok:
        failures += 1
        print("FAIL: " + what)


def unit(start, up, after=(), exec_=0):
    return {"start": start * 1000, "exec": exec_ * 1000, "up": up * 1000, "after": list(after)}


def boot(userspace, **units):
    return {"userspace_us": userspace * 1000, "units": {k.replace("_", "-").replace("-service", ".service")
                                                       .replace("-target", ".target"): v for k, v in units.items()}}


base = dict(basic_target=unit(150, 200), network_target=unit(205, 210, ["basic.target"]))
# eks-node: containerd up at 350, the CA step at 400, kubelet forked at 402
ours = boot(10, **base,
            containerd_service=unit(210, 350, ["network.target", "basic.target"]),
            eks_node_imds_service=unit(212, 260, ["network.target"]),
            eks_node_config_service=unit(261, 300, ["eks-node-imds.service"]),
            eks_node_ca_service=unit(301, 400, ["eks-node-config.service", "basic.target"]),
            # up after kubelet's start: not what kubelet waited for
            eks_node_telemetry_service=unit(500, 510, ["kubelet.service"]),
            kubelet_service=unit(401, 402, ["containerd.service", "eks-node-ca.service",
                                            "eks-node-config.service", "eks-node-telemetry.service"], 402))
static = boot(20, **base,
              containerd_service=unit(210, 340, ["network.target"]),
              kubelet_service=unit(341, 342, ["containerd.service"], 342))

# CPU of the units only this boot ran: 3 + 4 + 5 ms (telemetry's, after kubelet's fork, not counted)
for name, ms in (("eks-node-imds.service", 3), ("eks-node-config.service", 4), ("eks-node-ca.service", 5),
                 ("eks-node-telemetry.service", 7)):
    ours["units"][name]["cpu"] = ms * 1000
chain = jb.critical_chain(ours["units"])
names = [l["unit"] for l in chain]
check(names == ["basic.target", "network.target", "eks-node-imds.service", "eks-node-config.service",
                "eks-node-ca.service", "kubelet.service"], "chain: %s" % names)
check(chain[3]["waited"] == 1000 and chain[3]["ran"] == 39000, "config's link: %s" % chain[3])
check(chain[-1]["up"] == 402000 and chain[-1]["ran"] == 1000, "kubelet's link ends at its fork: %s" % chain[-1])

p = jb.pair(ours, static)
check(p["parting"] == "network.target", "parting point: %s" % p["parting"])
# both from their own PID 1: ours 402 - 10, static 342 - 20
check(p["diff"] == (392 - 322) * 1000, "difference: %s" % p["diff"])
check(p["before"] == (200 - 190) * 1000, "before the parting point: %s" % p["before"])
check(p["after_ours"] == 192000 and p["after_static"] == 132000, "after: %s %s" % (p["after_ours"], p["after_static"]))
check(p["diff"] == p["before"] + p["after_ours"] - p["after_static"], "the parts add up")
check([l["unit"] for l in p["links"]] == names[2:], "links after the parting point: %s" % p["links"])

# containerd last: the chains part at containerd, the difference is all before it
late = {"userspace_us": 10000, "units": {**ours["units"], "containerd.service": unit(210, 450, ["network.target"])}}
late["units"]["kubelet.service"] = unit(451, 452, ["containerd.service", "eks-node-ca.service"], 452)
p = jb.pair(late, static)
check(p["parting"] == "containerd.service", "parting at containerd: %s" % p["parting"])
check(p["after_ours"] == 2000 and p["after_static"] == 2000, "one hop after containerd each")
check(p["before"] == p["diff"], "all of it before: %s %s" % (p["before"], p["diff"]))

lines = []
jb.report([{"whole": ours}, {"whole": late}], [{"whole": static}, {"whole": static}], out=lines.append)
text = "\n".join(lines)
check("network.target (1), containerd.service (1)" in text, "parting points counted:\n" + text)
check("eks-node-ca.service" in text and "1/2" in text, "links counted per pair:\n" + text)
only = [l for l in lines if "units only the eks-node boot ran" in l or "their CPU" in l]
check(len(only) == 2 and only[0].split()[-3:] == ["3.0", "3.0", "3.0"] and only[1].split()[-3:] == ["12.0", "12.0", "12.0"],
      "units only ours ran and their CPU: %s" % only)
# old records without per-unit times: said, not a traceback
lines = []
jb.report([{"whole": {}}], [{"whole": {}}], out=lines.append)
check(len(lines) == 1 and "no per-unit times" in lines[0], "old records: %s" % lines)

print("%d passed, %d failed" % (passed, failures))
sys.exit(1 if failures else 0)
