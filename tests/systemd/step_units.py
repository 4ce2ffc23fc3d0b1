# SPDX-License-Identifier: Apache-2.0
"""check_units.py's checks of the units that are not links of the join's chain: the fail-fast
and warm-pool units, the steps off the join path, the hook and network templates and the
read-ahead (each names its man page). Imported by check_units.py, which stages the root."""
import os
import pathlib
import re
import shutil

from unitlib import (
    check, effective, verify, security, why_comments, directives, CONFINEMENT, MOUNT_NAMESPACE,
    SANDBOX, SANDBOX_LINK)


# Started by eks-node-verdict alone, on a failure waiting cannot heal, when
# settings.onFailure asks (eks-node-fail-fast(8)): stopped with the failed
# target, so that starting the chain again calls the power-off off.
FAIL_FAST = "eks-node-fail-fast.service"


def fail_fast(root):
    text = effective(root, FAIL_FAST)
    check("eks-node-failed.target" in directives(text, "PartOf"), f"{FAIL_FAST} is PartOf=eks-node-failed.target")
    check(not directives(text, "OnFailure"), f"{FAIL_FAST} has no OnFailure=")
    check(re.search("^TimeoutStartSec=infinity", text, re.M) is not None,
          f"{FAIL_FAST} has TimeoutStartSec=infinity: the delay is its job")
    for target in ("eks-node.target", "eks-node-failed.target"):
        check(FAIL_FAST not in directives(effective(root, target), "Wants"), f"{target} does not want {FAIL_FAST}")


# Not a chain step: it waits, for days maybe, while an Auto Scaling warm pool
# holds kubelet back (eks-node-warm-pool(8)). A running process, not a start
# job the target would wait for; ordered after the chain it restarts.
WARM_POOL = "eks-node-warm-pool.service"
WARM_POOL_MARKER = "/run/eks-node/warm-pool"


def warm_pool(root):
    text = effective(root, WARM_POOL)
    for want in ("Type=simple", "RemainAfterExit=yes", "Documentation=man:eks-node-warm-pool(8)",
                 "StartLimitIntervalSec=0", "StandardOutput=journal+console"):
        check(re.search("^" + re.escape(want), text, re.M) is not None, f"{WARM_POOL} has {want}")
    check(directives(text, "ConditionPathExists") == [WARM_POOL_MARKER], f"{WARM_POOL} runs only with the marker")
    check("eks-node.target" in directives(text, "After"), f"{WARM_POOL} is ordered after eks-node.target")
    check(directives(text, "OnFailure") == ["eks-node-failed.target"], f"{WARM_POOL} fails closed")
    check(WARM_POOL in directives(effective(root, "eks-node.target"), "Wants"), f"eks-node.target wants {WARM_POOL}")
    check(WARM_POOL in directives(effective(root, "eks-node-failed.target"), "Conflicts"),
          f"eks-node-failed.target stops {WARM_POOL}")
    for unit in ("kubelet.service", "eks-node-joined.service"):
        check("!" + WARM_POOL_MARKER in directives(effective(root, unit), "ConditionPathExists"),
              f"{unit} is skipped while the marker holds it back")


# Steps off the join path: they run after kubelet has started and hold nothing
# back (no OnFailure=, nothing Requires= them); eks-node-generator(8) pulls
# them in only when the configuration asks, so the target does not want them.
OFF_JOIN_PATH = ("eks-node-prepull.service", "eks-node-joined.service")


def off_join_path(root, unit_dir, units):
    why_comments([unit_dir / u for u in OFF_JOIN_PATH])
    for unit in OFF_JOIN_PATH:
        text = effective(root, unit)
        for want in ("Type=oneshot", "RemainAfterExit=yes", "TimeoutStartSec=", "Documentation=man:",
                     "StartLimitIntervalSec=0", "StandardOutput=journal+console"):
            check(re.search("^" + re.escape(want), text, re.M) is not None, f"{unit} has {want}")
        check(not directives(text, "OnFailure"), f"{unit} has no OnFailure=: its failure holds nothing back")
        after = directives(text, "After")
        for other in ("kubelet.service", "eks-node.target"):
            check(other in after, f"{unit} is ordered after {other} (never delays kubelet or the boot)",
                  " ".join(after))
        check(not set(directives(text, "Before")) & {"kubelet.service", "eks-node.target"},
              f"{unit} is ordered before neither kubelet nor eks-node.target")
        check(unit not in directives(effective(root, "eks-node.target"), "Wants"),
              f"eks-node.target does not want {unit} statically (the generator does)")
        holders = [u for u in units + ["kubelet.service", "containerd.service"]
                   if unit in directives(effective(root, u), "Requires") + directives(effective(root, u), "BindsTo")]
        check(not holders, f"nothing requires {unit}", " ".join(holders))


# Not a step: the template of settings.hooks' units (eks-node-hook(8)). Its
# instances run the admin's or the user data's command, with the node's
# environment and without the steps' sandbox; the generator gives each one its
# command, order, timeout and OnFailure= in a drop-in.
HOOK_TEMPLATE = "eks-node-hook@.service"
HOOK_GOLDEN = ("25-hooks-static", "26-hooks-config-json")


def hook_template(root, unit_dir):
    text = (unit_dir / HOOK_TEMPLATE).read_text()
    for want in ("Type=oneshot", "RemainAfterExit=yes", "Documentation=man:eks-node-hook(8)",
                 "StartLimitIntervalSec=0", "StandardOutput=journal+console"):
        check(re.search("^" + re.escape(want), text, re.M) is not None, f"{HOOK_TEMPLATE} has {want}")
    # an instance nobody declared has no command: systemd refuses to start it
    check(not directives(text, "ExecStart"), f"{HOOK_TEMPLATE} has no ExecStart= (each hook's drop-in gives it)")
    check(not (unit_dir / f"{HOOK_TEMPLATE}.d" / SANDBOX_LINK).exists(),
          f"{HOOK_TEMPLATE} does not get the steps' sandbox (a hook does what its author needs)")
    lines = [line for line in effective(root, "eks-node-hook@x.service").splitlines()
             if line.startswith("EnvironmentFile=")]
    check(lines[-1:] != ["EnvironmentFile="], f"{HOOK_TEMPLATE} keeps the node's environment (proxies)",
          "\n".join(lines))
    # the generator's drop-ins (the golden trees) make instances systemd accepts
    here = pathlib.Path(__file__).resolve().parent.parent / "golden" / "generator"
    for case in HOOK_GOLDEN:
        for conf in sorted((here / case / "expected").glob("eks-node-hook@*.service.d/50-hook.conf")):
            unit = conf.parent.name[:-2]
            dest = root / "etc/systemd/system" / conf.parent.name
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copy(conf, dest / conf.name)
            # every hook runs eks-node-hook, installed in the root; its command
            # is in hook.json beside the drop-in, which systemd does not read
            program = re.search(r'^ExecStart="([^"]+)"', conf.read_text(), re.M).group(1)
            check(program.endswith("/eks-node-hook") and (root / program.lstrip("/")).is_file(),
                  f"{unit} runs the installed eks-node-hook", program)
            verify(root, [unit])


# Not a chain step: one instance per EC2 interface (eks-node-network(8)),
# pulled in by udev, required by nothing, retried by systemd while IMDS does
# not list a new ENI yet; the steps' sandbox plus CAP_NET_ADMIN (for
# systemd-networkd's Reload) from a drop-in sorted after it.
NETWORK_TEMPLATE = "eks-node-network@.service"
NETWORK_INSTANCE = "eks-node-network@ens6.service"
# The networked steps' 3.4, and 0.2 for CAP_NET_ADMIN (nothing else: no
# IPAddressAllow= either, since settings.imds.endpoint may name any address)
NETWORK_MAX_EXPOSURE = 3.6


def network_template(root, unit_dir, units):
    why_comments([unit_dir / NETWORK_TEMPLATE, unit_dir / f"{NETWORK_TEMPLATE}.d" / "20-net-admin.conf"])
    verify(root, [NETWORK_INSTANCE])
    security(root, [NETWORK_INSTANCE], NETWORK_MAX_EXPOSURE)
    # the template's file and drop-ins (systemd-analyze cat-config resolves no instance)
    text = effective(root, NETWORK_TEMPLATE)
    for want in ("Type=oneshot", "RemainAfterExit=yes", "TimeoutStartSec=", "Documentation=man:eks-node-network(8)",
                 "StartLimitIntervalSec=0", "StandardOutput=journal+console", "Restart=on-failure",
                 "RestartPreventExitStatus=2 6", "MemoryMax=", "TasksMax=",
                 "BindsTo=sys-subsystem-net-devices-%i.device"):
        check(re.search("^" + re.escape(want), text, re.M) is not None, f"{NETWORK_TEMPLATE} has {want}")
    check(not directives(text, "OnFailure"), f"{NETWORK_TEMPLATE} has no OnFailure=: a failed interface holds "
          "no join back")
    link = unit_dir / f"{NETWORK_TEMPLATE}.d" / SANDBOX_LINK
    check(link.is_symlink() and os.readlink(link) == f"../{SANDBOX}", f"{NETWORK_TEMPLATE}.d/{SANDBOX_LINK} "
          f"is a link to the one {SANDBOX}")
    missing = [w.strip() for w in CONFINEMENT[:-1] if not re.search("^" + re.escape(w), text, re.M)]
    check(not missing, f"{NETWORK_TEMPLATE} has the steps' confinement", "missing: " + ", ".join(missing))
    caps = directives(text, "CapabilityBoundingSet")
    check(caps[-1:] == ["CAP_NET_ADMIN"], f"{NETWORK_TEMPLATE}: CAP_NET_ADMIN only, after the sandbox's reset",
          " ".join(caps))
    mounts = [w for w in MOUNT_NAMESPACE if re.search("^" + re.escape(w), text, re.M)]
    check(not mounts, f"{NETWORK_TEMPLATE} needs no mount namespace", "found: " + ", ".join(mounts))
    holders = [u for u in units + ["kubelet.service", "containerd.service"]
               if u != NETWORK_TEMPLATE and any(d.startswith("eks-node-network@")
                                                for d in directives(effective(root, u), "Requires"))]
    check(not holders, f"nothing requires {NETWORK_TEMPLATE}", " ".join(holders))


# Not a chain step: it reads the join's files into the page cache from the first moment of
# the boot (eks-node-readahead(8)), pulled into sysinit.target by the generator when the image
# lists them. Nothing may wait for it: ordered only against shutdown, Type=simple (its
# start job ends at the fork, so not even the boot's end waits, nor a start timeout runs
# while the exec waits for idle CPU), no OnFailure=, required
# and waited for by no unit; no MemoryMax= (the page cache it fills is charged to its cgroup,
# and a bound would evict what it read), a numeric TasksMax=.
READAHEAD = "eks-node-readahead.service"


def readahead(root, unit_dir, units):
    why_comments([unit_dir / READAHEAD])
    text = effective(root, READAHEAD)
    for want in ("Type=simple", "DefaultDependencies=no", "Documentation=man:eks-node-readahead(8)",
                 "RuntimeMaxSec=", "StandardOutput=journal+console"):
        check(re.search("^" + re.escape(want), text, re.M) is not None, f"{READAHEAD} has {want}")
    check(not directives(text, "TimeoutStartSec"), f"{READAHEAD} has no start timeout to run out while it waits for the CPU")
    check(not directives(text, "OnFailure"), f"{READAHEAD} has no OnFailure=: a failed read-ahead holds nothing back")
    check(not directives(text, "After"), f"{READAHEAD} is ordered after nothing", " ".join(directives(text, "After")))
    check(set(directives(text, "Before")) == {"shutdown.target"}, f"{READAHEAD} is ordered before shutdown.target only",
          " ".join(directives(text, "Before")))
    check(not directives(text, "MemoryMax") and not directives(text, "MemoryHigh"),
          f"{READAHEAD} has no memory bound (the page cache it fills is charged to it)")
    tasks = directives(text, "TasksMax")
    check(tasks[-1:] and tasks[-1].isdigit(), f"{READAHEAD} has a numeric TasksMax=", " ".join(tasks))
    waiting = [u for u in units + ["kubelet.service", "containerd.service"] if u != READAHEAD and READAHEAD in (
        directives(effective(root, u), "After") + directives(effective(root, u), "Requires") +
        directives(effective(root, u), "BindsTo") + directives(effective(root, u), "Requisite"))]
    check(not waiting, f"no unit waits for or requires {READAHEAD}", " ".join(waiting))
    linked = sorted(str(p.relative_to(unit_dir)) for p in unit_dir.glob("*.wants/" + READAHEAD))
    check(not linked, f"nothing wants {READAHEAD} statically (the generator does, when the image lists files)",
          " ".join(linked))

