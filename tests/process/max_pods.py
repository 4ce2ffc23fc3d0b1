#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""`eks-node max-pods` against AL2's max-pods-calculator.sh rules.

Usage: max_pods.py EKS_NODE_CLI

Expected values are computed here, independently of the C++ code, from:
  - data/instance-info.jsonl (ENIs, IPv4 addresses per ENI) and
    data/xen-instance-families.txt (no prefix delegation), with the
    calculator's rules (amazon-eks-ami files/max-pods-calculator.sh):
    ENIs = min(--cni-max-eni, ENIs) - (1 with custom networking);
    ENIs * (IPs - 1) * (16 with prefix delegation on CNI >= 1.9 and a
    type that supports it, else 1) + 2; capped at 110 up to 30 vCPUs,
    else 250, unless --show-max-allowed;
  - the published eni-max-pods.txt of amazon-eks-ami (nodeadm/internal/
    kubelet/eni-max-pods.txt), copied by hand into TABLE: what the
    calculator prints with --show-max-allowed and no other option, which
    also checks the data file against the published numbers;
  - the vCPUs of each type (EC2 DefaultVCpus, from the EC2 instance type
    documentation), copied by hand into TABLE, which decide the cap.
Also: --instance-type-from-imds against a loopback fake IMDS, --json, usage
errors, and `eks-node COMMAND --help` for every subcommand.
"""

import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))
import harness  # noqa: E402

DATA = harness.SOURCE_ROOT / "data"

# type, eni-max-pods.txt value, vCPUs
TABLE = [
    ("t2.micro", 4, 1), ("t2.2xlarge", 44, 8), ("t3.micro", 4, 2), ("t3.medium", 17, 2),
    ("t3.large", 35, 2), ("t3.2xlarge", 58, 8), ("t3a.small", 8, 2), ("m4.large", 20, 2),
    ("m4.xlarge", 58, 4), ("m4.10xlarge", 234, 40), ("c4.8xlarge", 234, 36), ("m5.large", 29, 2),
    ("m5.xlarge", 58, 4), ("m5.4xlarge", 234, 16), ("m5.8xlarge", 234, 32), ("m5.16xlarge", 737, 64),
    ("m5.24xlarge", 737, 96), ("c5.large", 29, 2), ("c5.9xlarge", 234, 36), ("c5.18xlarge", 737, 72),
    ("c6g.medium", 8, 1), ("r5.4xlarge", 234, 16), ("m5zn.3xlarge", 234, 12), ("i3en.3xlarge", 58, 12),
    ("d3.8xlarge", 59, 32), ("inf1.2xlarge", 38, 8), ("hpc7g.8xlarge", 198, 32), ("g5.48xlarge", 345, 192),
    ("r8i.32xlarge", 1514, 128), ("c8gn.8xlarge", 292, 32), ("x1.16xlarge", 234, 64),
    ("m7i.metal-24xl", 737, 96), ("c5.metal", 737, 96), ("a1.metal", 234, 16),
]

OPTION_SETS = [
    [],
    ["--show-max-allowed"],
    ["--cni-version", "1.9.0", "--cni-prefix-delegation-enabled"],
    ["--cni-version=v1.18.3-eksbuild.1", "--cni-prefix-delegation-enabled", "--show-max-allowed"],
    ["--cni-version", "1.8.0", "--cni-prefix-delegation-enabled"],
    ["--cni-custom-networking-enabled"],
    ["--cni-custom-networking-enabled", "--cni-prefix-delegation-enabled", "--cni-max-eni", "2"],
    ["--cni-max-eni=1", "--show-max-allowed"],
]


def load_limits():
    limits = {}
    for line in (DATA / "instance-info.jsonl").read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            limits[row["instanceType"]] = (row["defaultMaxENIs"], row["ipv4AddressesPerInterface"])
    xen = {l.strip() for l in (DATA / "xen-instance-families.txt").read_text().splitlines()
           if l.strip() and not l.startswith("#")}
    return limits, xen


def expected(limits, xen, itype, vcpus, opts):
    enis, ips = limits[itype]
    flags = set(o.split("=")[0] for o in opts)
    if "--cni-max-eni" in flags:
        i = [o.split("=")[0] for o in opts].index("--cni-max-eni")
        n = int(opts[i].split("=")[1]) if "=" in opts[i] else int(opts[i + 1])
        enis = min(enis, n)
    if "--cni-custom-networking-enabled" in flags:
        enis = max(0, enis - 1)
    version = next((o.split("=")[1] if "=" in o else opts[k + 1] for k, o in enumerate(opts)
                    if o.startswith("--cni-version")), "1.9.0")
    major, minor = (int(x) for x in version.lstrip("v").split("-")[0].split(".")[:2])
    family = itype.split(".")[0]
    prefixes = ("--cni-prefix-delegation-enabled" in flags and (major, minor) >= (1, 9)
                and (family not in xen or ".metal" in itype))
    raw = enis * (ips - 1) * (16 if prefixes else 1) + 2
    if "--show-max-allowed" in flags:
        return raw
    return min(raw, 250 if vcpus > 30 else 110)


def main():
    cli = sys.argv[1]
    limits, xen = load_limits()
    tally = harness.Tally()

    def report(name, problem):
        tally.case(name, [problem] if problem else [])

    for itype, published, vcpus in TABLE:
        report("%s: table matches eni-max-pods.txt" % itype,
               None if expected(limits, xen, itype, vcpus, ["--show-max-allowed"]) == published
               else "data/instance-info.jsonl gives %d, eni-max-pods.txt %d"
               % (expected(limits, xen, itype, vcpus, ["--show-max-allowed"]), published))
        # bare metal says nothing about its vCPUs in its name: pass them
        extra = ["--vcpus", str(vcpus)] if ".metal" in itype and "-" not in itype.split(".")[1] else []
        for opts in OPTION_SETS:
            name = "%s %s" % (itype, " ".join(opts) or "(defaults)")
            r = harness.run_cli(cli, "max-pods", "--instance-type", itype, *opts, *extra)
            want = expected(limits, xen, itype, vcpus, opts)
            got = r.stdout.strip()
            report(name, None if r.returncode == 0 and got == str(want)
                   else "exit %d, printed %r, want %d (%s)" % (r.returncode, got, want, r.stderr.strip()))

    r = harness.run_cli(cli, "max-pods", "--instance-type=m5.8xlarge", "--cni-prefix-delegation-enabled", "--json")
    doc = json.loads(r.stdout) if r.returncode == 0 else {}
    report("--json: the inputs and the result",
           None if doc.get("maxPods") == 250 and doc.get("maxAllowed") == 3714 and doc.get("vcpus") == 32
           and doc.get("ceiling") == 250 and doc.get("enis") == 8 and doc.get("prefixDelegation") is True
           else "got %r %r" % (r.returncode, r.stdout))

    # --instance-type-from-imds: the type from a loopback fake IMDS, the cap
    # from this machine's CPUs (the root's sys/devices/system/cpu/online)
    data = json.loads(harness.CONFORMANCE_INSTANCE.read_text())
    data["meta-data/instance-type"] = "m5.8xlarge"
    for cpus, want in ((32, "234"), (16, "110")):
        root = harness.make_root(cpus=cpus)
        instance = root / "imds.json"
        instance.write_text(json.dumps(data))
        with harness.FakeImds(instance) as imds:
            r = harness.run_cli(cli, "max-pods", "--instance-type-from-imds", "--imds-endpoint=%s" % imds.endpoint,
                                "--root=%s" % root)
        report("--instance-type-from-imds on %d CPUs" % cpus,
               None if r.returncode == 0 and r.stdout.strip() == want
               else "exit %d, %r, want %s: %s" % (r.returncode, r.stdout, want, r.stderr.strip()))
        harness.shutil.rmtree(root, ignore_errors=True)

    for args, code, text in (
        (["--instance-type", "m99.huge"], 6, "not in eks-node's ENI table"),
        (["--instance-type", "m5.lrge"], 6, "(did you mean m5.large?)"),
        ([], 2, "exactly one of"),
        (["--instance-type", "m5.large", "--instance-type-from-imds"], 2, "exactly one of"),
        (["--instance-type", "c5.metal"], 2, "pass --vcpus"),
        (["--instance-type", "m5.large", "--cni-version", "latest"], 2, "is not a version"),
        (["--instance-type", "m5.large", "--cni-max-eni", "0"], 2, "not a positive number"),
        (["--instance-type", "m5.large", "--bogus"], 2, "unknown option"),
    ):
        r = harness.run_cli(cli, "max-pods", *args)
        report("max-pods %s exits %d" % (" ".join(args), code),
               None if r.returncode == code and text in r.stderr else "exit %d: %r" % (r.returncode, r.stderr))

    # every subcommand explains itself (the hidden bootstrap-sh too)
    for cmd, text in (("max-pods", "--show-max-allowed"), ("render", "--root=DIR"), ("config", "--origins"),
                      ("bootstrap-sh", "50-user-data.toml")):
        r = harness.run_cli(cli, cmd, "--help")
        report("%s --help" % cmd, None if r.returncode == 0 and r.stdout.startswith("Usage: eks-node %s" % cmd)
               and text in r.stdout else repr(r))
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
