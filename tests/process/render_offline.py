#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""`eks-node render` offline (issue 60, item 4): see what a node would get
from a user-data file and an instance type, on a laptop, without root, with
no IMDS server and never an AWS call.

Usage: render_offline.py EKS_NODE_CLI

- As an unprivileged user (nobody, when the test runs as root), with AWS
  credentials in the environment pointing at a fake EC2/EKS that counts
  requests: exit 0, the node's files written under DIR, instance.json made up
  from the flags (the type, the region, the defaults for the rest), the ENI
  table's maxPods for the type, and not one AWS request. A user data that
  names a cluster with no private DNS strategy would otherwise make
  eks-node-config call ec2:DescribeInstances: offline it must not.
- User data with only the cluster name: exit 6 naming the field, saying a
  node would ask eks:DescribeCluster and what to set instead; no request.
- The machine: its vCPUs from the size name (m5.large: 2) when DIR has no CPU
  list, never the laptop's; --vcpus and --memory (16Gi, MiB) instead, which
  change kubelet's CPU reservation as on a node of that size; a type whose
  name does not say (m5.metal) needs --vcpus, and a size that is not one is
  refused, each exit 2 naming the flag.
- A flag value IMDS could not serve (--region=moon), and the instance flags
  with --imds-endpoint: exit 2 naming the flag."""

import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))
import harness  # noqa: E402

NODECONFIG = harness.SOURCE_ROOT / "tests" / "conformance" / "03-kubeconfig" / "nodeconfig.yaml"


def as_user():
    """The argv prefix that drops root, so that the render runs as a laptop user would."""
    if os.geteuid() != 0:
        return []
    return [shutil.which("setpriv"), "--reuid=65534", "--regid=65534", "--clear-groups"]


def reachable_by_others(path):
    """Whether every directory down to `path` lets other users through (o+x)."""
    path = pathlib.Path(path).resolve()
    return all(os.stat(p).st_mode & 0o001 for p in [path, *path.parents])


def scratch():
    """A directory the unprivileged user can reach: under TMPDIR when every
    directory down to it lets others through, else under /tmp (a clean run's
    TMPDIR sits in a 0700 directory, as a CI checkout under /root does)."""
    base = tempfile.gettempdir()
    if os.geteuid() == 0 and not reachable_by_others(base):
        base = "/tmp"
    d = pathlib.Path(tempfile.mkdtemp(prefix="eksnode-offline-", dir=base))
    os.chmod(d, 0o755)
    return d


def render(cli, root, user_data, *flags, env=None):
    return subprocess.run(as_user() + harness.wrapper() + [str(cli), "render", "--root=%s" % root,
                                                           "--user-data=%s" % user_data, *flags],
                          capture_output=True, text=True, timeout=120, env=env)


def main():
    tally = harness.Tally()
    tmp = scratch()
    try:
        # the program itself where the unprivileged user can run it (the build
        # directory may sit in a 0700 checkout); it links only system libraries
        cli = tmp / "eks-node"
        shutil.copy(pathlib.Path(sys.argv[1]).resolve(), cli)
        os.chmod(cli, 0o755)
        ud = tmp / "user-data.yaml"
        shutil.copy(NODECONFIG, ud)
        name_only = tmp / "name-only.yaml"
        name_only.write_text("apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\n"
                             "spec:\n  cluster:\n    name: my-cluster\n")
        for f in (ud, name_only):
            os.chmod(f, 0o644)
        def node_root(name):
            """A directory the unprivileged user owns, as a laptop user's would be."""
            d = tmp / name
            d.mkdir()
            if os.geteuid() == 0:
                os.chown(d, 65534, 65534)
            return d

        root = node_root("node")

        with harness.FakeAws() as aws:
            env = aws.env()
            r = render(cli, root, ud, "--instance-type=m5.large", "--region=eu-west-1", env=env)
            problems = [] if r.returncode == 0 else ["exit %d: %s" % (r.returncode, r.stderr[-800:])]
            inst = json.loads((root / "run/eks-node/instance.json").read_text()) if r.returncode == 0 else {}
            want = {"instanceType": "m5.large", "region": "eu-west-1", "availabilityZone": "eu-west-1a",
                    "localIpv4": "10.0.0.10", "instanceId": "i-00000000000000000",
                    "localHostname": "ip-10-0-0-10.eu-west-1.compute.internal"}
            got = {k: inst.get(k) for k in want}
            if r.returncode == 0 and got != want:
                problems.append("instance.json %r, want %r" % (got, want))
            if r.returncode == 0 and "imdsEndpoint" in inst:
                problems.append("instance.json names an IMDS endpoint: %r" % inst["imdsEndpoint"])
            cfg = json.loads((root / "run/eks-node/config.json").read_text()) if r.returncode == 0 else {}
            if r.returncode == 0 and cfg.get("derived", {}).get("maxPods") != 29:
                problems.append("maxPods %r, want the ENI table's 29" % cfg.get("derived", {}).get("maxPods"))
            for f in ("etc/kubernetes/kubelet/config.json", "var/lib/kubelet/kubeconfig",
                      "etc/containerd/config.toml"):
                if not (root / f).is_file():
                    problems.append("%s not written" % f)
            machine = cfg.get("machine", {})
            if r.returncode == 0 and (machine.get("cpuMillicores"), machine.get("memoryMiB")) != (2000, 0):
                problems.append("machine %r, want m5.large's 2 vCPUs from its size name and no memory" % machine)
            if "no IMDS, no AWS API" not in r.stdout:
                problems.append("stdout does not say it is offline: %r" % r.stdout)
            if aws.requests():
                problems.append("AWS asked: %r" % aws.requests())
            tally.case("offline render as an unprivileged user: the node's files, no AWS request", problems)

            r = render(cli, node_root("node2"), name_only, "--instance-type=m5.large", "--region=eu-west-1", env=env)
            problems = [] if r.returncode == 6 else ["exit %d, want 6: %s" % (r.returncode, r.stderr[-800:])]
            if "spec.cluster.apiServerEndpoint" not in r.stderr or "eks:DescribeCluster" not in r.stderr or \
                    "set it in the user data" not in r.stderr:
                problems.append("the error does not say what to pass: %r" % r.stderr[-800:])
            if aws.requests():
                problems.append("AWS asked: %r" % aws.requests())
            tally.case("offline render of a cluster name alone: exit 6, naming what a node would ask EKS for",
                       problems)

            # kubelet's CPU reservation follows the vCPUs (6 % of the first, 1 % of the
            # second, 0.5 % of the next two, 0.25 % of the rest): 2 -> 70m, 48 -> 190m
            def reserved_cpu(node):
                kc = json.loads((node / "etc/kubernetes/kubelet/config.json").read_text())
                return kc.get("kubeReserved", {}).get("cpu")
            big = node_root("node-big")
            r = render(cli, big, ud, "--instance-type=m5.large", "--region=eu-west-1", "--vcpus", "48",
                       "--memory=192Gi", env=env)
            machine = json.loads((big / "run/eks-node/config.json").read_text()).get("machine", {}) \
                if r.returncode == 0 else {}
            tally.case("--vcpus=48 --memory=192Gi: the machine as given, kubelet reserves 190m CPU (70m for 2)", [p for p in (
                r.returncode != 0 and "exit %d: %s" % (r.returncode, r.stderr[-800:]),
                r.returncode == 0 and (machine.get("cpuMillicores"), machine.get("memoryMiB")) != (48000, 196608)
                and "machine %r" % machine,
                r.returncode == 0 and (reserved_cpu(big), reserved_cpu(root)) != ("190m", "70m")
                and "kubeReserved.cpu %r and %r" % (reserved_cpu(big), reserved_cpu(root))) if p])
            r = render(cli, node_root("node-mib"), ud, "--instance-type=m5.large", "--region=eu-west-1",
                       "--memory=8192", env=env)
            tally.check("--memory=8192 is MiB", r.returncode == 0 and json.loads(
                (tmp / "node-mib/run/eks-node/config.json").read_text())["machine"]["memoryMiB"] == 8192,
                        "%d %r" % (r.returncode, r.stderr[-400:]))
            if aws.requests():
                tally.check("no AWS request with the machine's flags", False, repr(aws.requests()))

        for i, (flags, want, what) in enumerate((
                (["--instance-type=m5.metal"], "--vcpus", "a size name that does not say its vCPUs (m5.metal)"),
                (["--instance-type=m5.large", "--memory=lots"], "--memory", "a memory size that is not one"),
                (["--instance-type=m5.large", "--vcpus=0"], "--vcpus", "zero vCPUs"))):
            r = render(cli, node_root("node-bad%d" % i), ud, *flags, "--region=eu-west-1")
            tally.check("%s: exit 2 naming %s" % (what, want), r.returncode == 2 and want in r.stderr,
                        "%d %r" % (r.returncode, r.stderr[-400:]))

        r = render(cli, node_root("node3"), ud, "--instance-type=m5.large", "--region=moon")
        tally.check("a region IMDS could not serve: exit 2 naming --region",
                    r.returncode == 2 and "--region" in r.stderr, "%d %r" % (r.returncode, r.stderr[-400:]))
        r = render(cli, tmp / "node3", ud, "--instance-type=m5.large", "--region=eu-west-1",
                   "--imds-endpoint=http://127.0.0.1:1")
        tally.check("the instance flags with --imds-endpoint: exit 2",
                    r.returncode == 2 and "--imds-endpoint" in r.stderr, "%d %r" % (r.returncode, r.stderr[-400:]))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
