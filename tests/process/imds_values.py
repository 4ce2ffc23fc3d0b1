#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Tier 3: instance data that is not what its IMDS path holds. Each value
below is served by the loopback fake IMDS; eks-node-imds must refuse it with
exit 6 and one error line naming "IMDS <path>" and the value (quoted,
escaped, cut), at once rather than at the deadline, and write neither
instance.json nor user data, so eks-node-config writes no config.json. Then
the second and third lines of defence: an instance.json edited after
eks-node-imds, and a kubelet flag that would split in kubelet's unquoted
$NODEADM_KUBELET_ARGS.

Usage: imds_values.py HELPER_DIR"""

import json
import pathlib
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))
import harness  # noqa: E402

CASE = harness.SOURCE_ROOT / "tests" / "conformance" / "01-kubelet-config-json"
MAC_DIR = "meta-data/network/interfaces/macs/0e:49:61:0f:c3:11/"
TALLY = harness.Tally()
check = TALLY.check


def run(helpers, step, root, *extra):
    """The step as systemd runs it; output kept as bytes, to see exactly what
    would reach the journal."""
    t0 = time.monotonic()
    r = subprocess.run([str(pathlib.Path(helpers) / ("eks-node-" + step)), "--root=%s" % root, *extra],
                       capture_output=True, timeout=60)
    r.took = time.monotonic() - t0
    return r


def error_lines(r):
    return [line for line in r.stderr.splitlines() if b"error:" in line]


def printable(data):
    return all(0x20 <= b < 0x7f for b in data)


def value_file(directory, name, data):
    p = pathlib.Path(directory) / name
    p.write_bytes(data)
    return p


def test_injections(helpers):
    tmp = tempfile.mkdtemp(prefix="eksnode-values-")
    cases = [
        # (name, fake IMDS options, path named, text the error line shows)
        ("local-hostname with a second kubelet flag",
         ["--set", "meta-data/local-hostname=ip-10-0-0-1.ec2.internal --register-node=false"],
         "meta-data/local-hostname", b'"ip-10-0-0-1.ec2.internal --register-node=false" is not a DNS name'),
        ("instance-id that walks up directories", ["--set", "meta-data/instance-id=../../x"],
         "meta-data/instance-id", b'"../../x" is not an EC2 instance id'),
        ("an ipv6s entry that is a kubelet flag", ["--set", MAC_DIR + "ipv6s=2600:1f14::1\n--node-ip=1.2.3.4\n"],
         MAC_DIR + "ipv6s", b'line 2: "--node-ip=1.2.3.4" is not an IPv6 address'),
        ("local-ipv4 with a NUL and a tail",
         ["--set-file", "meta-data/local-ipv4=%s" % value_file(tmp, "nul", b"172.16.34.43\0--register-node=false")],
         "meta-data/local-ipv4", b'"172.16.34.43\\u0000--register-node=false" is not an IPv4 address'),
        ("local-hostname that is not UTF-8",
         ["--set-file", "meta-data/local-hostname=%s" % value_file(tmp, "latin1", b"ip-10-0-0-1.caf\xe9.internal")],
         "meta-data/local-hostname", b'"ip-10-0-0-1.caf\\ufffd.internal" is not a DNS name'),
        ("hostname with a line break", ["--set", "meta-data/hostname=a.internal\nExtra=1"],
         "meta-data/hostname", b'"a.internal\\nExtra=1" is not a DNS name'),
        ("a VPC CIDR that is not one", ["--set", MAC_DIR + "vpc-ipv4-cidr-blocks=172.16.0.0/16 --x"],
         MAC_DIR + "vpc-ipv4-cidr-blocks", b'"172.16.0.0/16 --x" is not an IPv4 CIDR'),
        ("an interface listed that is not a MAC", ["--set", "meta-data/network/interfaces/macs/--x/device-number=1"],
         "meta-data/network/interfaces/macs/", b'line 1: "--x/" is not an interface\'s directory'),
        ("instance type with a space", ["--set", "meta-data/instance-type=m4.xlarge x"],
         "meta-data/instance-type", b'"m4.xlarge x" is not an EC2 instance type'),
        ("region that is a host name", ["--set", "meta-data/placement/region=us-west-2.evil.example"],
         "meta-data/placement/region", b'is not an AWS region name'),
        ("Outpost ARN that is not one", ["--set", "meta-data/outpost-arn=arn:aws:outposts:us-west-2:1:x"],
         "meta-data/outpost-arn", b'is not an Outpost ARN'),
        ("MAC address that is a path", ["--set", "meta-data/mac=../../../etc/pas"],
         "meta-data/mac", b'"../../../etc/pas" is not a MAC address'),
        ("identity document with a number JSON cannot hold",
         ["--set", 'dynamic/instance-identity/document={"region": "us-west-2", "version": 1e400}'],
         "dynamic/instance-identity/document", b"not a JSON object"),
        ("a value far too long", ["--set", "meta-data/local-hostname=" + "a" * 5000],
         "meta-data/local-hostname", b'"' + b"a" * 64 + b'..." is not a DNS name'),
    ]
    for name, extra, path, shown in cases:
        root = harness.make_root()
        with harness.FakeImds(harness.CONFORMANCE_INSTANCE, user_data=CASE / "nodeconfig.yaml", extra=extra) as imds:
            r = run(helpers, "imds", root, "--imds-endpoint=%s" % imds.endpoint)
            requests = len(imds.requests())
        errors = error_lines(r)
        line = errors[0] if errors else b""
        check("%s: exit 6" % name, r.returncode == 6, "%d %r" % (r.returncode, r.stderr))
        check("%s: one error line" % name, len(errors) == 1, r.stderr)
        check("%s: names IMDS %s and shows the value" % (name, path),
              (b"IMDS " + path.encode() + b":") in line and shown in line, line)
        check("%s: the line is printable ASCII, at most 400 bytes" % name, printable(line) and len(line) <= 400,
              line[:500])
        # bad data is not a network fault: no retry, no wait for the deadline (120 s)
        check("%s: refused at once (one fetch, no retries)" % name, requests <= 20,
              "%.1fs, %d requests" % (r.took, requests))
        check("%s: no instance.json, no user data" % name,
              not (root / "run/eks-node/instance.json").exists() and not (root / "run/eks-node/user-data").exists(),
              harness.tree(root))
        c = run(helpers, "config", root)
        check("%s: eks-node-config then fails and writes no config.json" % name,
              c.returncode != 0 and not (root / "run/eks-node/config.json").exists(), c.stderr)
        harness.shutil.rmtree(root, ignore_errors=True)
    harness.shutil.rmtree(tmp, ignore_errors=True)


def good_node(helpers):
    root = harness.make_root(node_name_strategy="imds")
    with harness.FakeImds(harness.CONFORMANCE_INSTANCE, user_data=CASE / "nodeconfig.yaml") as imds:
        r = run(helpers, "imds", root, "--imds-endpoint=%s" % imds.endpoint)
    if r.returncode != 0:
        raise RuntimeError("eks-node-imds failed: %r" % r.stderr)
    return root


def test_edited_instance_json(helpers):
    """eks-node-config checks instance.json again: a hand-edited or stale file
    cannot put a second flag into kubelet's command line either."""
    for key, value, shown in [("localHostname", "ip-10-0-0-1.ec2.internal --register-node=false", b"not a DNS name"),
                              ("instanceId", "../../x", b'"../../x" is not an EC2 instance id'),
                              ("ipv6s", ["--node-ip=1.2.3.4"], b"ipv6s[0]"),
                              ("localIpv4", "1.2.3.4 --x", b"not an IPv4 address")]:
        root = good_node(helpers)
        path = root / "run/eks-node/instance.json"
        instance = json.loads(path.read_text())
        instance[key] = value
        path.write_text(json.dumps(instance))
        r = run(helpers, "config", root)
        errors = error_lines(r)
        check("edited instance.json %s: exit 6" % key, r.returncode == 6, "%d %r" % (r.returncode, r.stderr))
        check("edited instance.json %s: one line naming the file and the key" % key,
              len(errors) == 1 and b"instance.json: " + key.encode() in errors[0] and shown in errors[0], r.stderr)
        check("edited instance.json %s: no config.json" % key, not (root / "run/eks-node/config.json").exists())
        harness.shutil.rmtree(root, ignore_errors=True)
    root = good_node(helpers)
    (root / "run/eks-node/instance.json").write_text('{"instanceId": "i-1234567890abcdef0", "x": 1e400}')
    r = run(helpers, "config", root)
    check("instance.json with 1e400: our error (exit 1), not the JSON library's exception",
          r.returncode == 1 and len(error_lines(r)) == 1 and b"instance.json: not valid JSON" in r.stderr
          and b"eks-node-config failed:" not in r.stderr, "%d %r" % (r.returncode, r.stderr))
    harness.shutil.rmtree(root, ignore_errors=True)


def test_kubelet_flag_split(helpers):
    """The last line of defence, where kubelet's flags are rendered: a value
    that would split in the unquoted $NODEADM_KUBELET_ARGS stops the step."""
    root = good_node(helpers)
    r = run(helpers, "config", root)
    check("good node: config exit 0", r.returncode == 0, r.stderr)
    cfg_path = root / "run/eks-node/config.json"
    for name, value in [("a space", "ip-10-0-0-1.ec2.internal --register-node=false"),
                        ("a tab", "ip-10-0-0-1.ec2.internal\t--register-node=false"),
                        ("a line break", "ip-10-0-0-1.ec2.internal\nKUBELET_EXTRA=1")]:
        cfg = json.loads(cfg_path.read_text())
        cfg["derived"]["nodeName"] = value
        cfg_path.write_text(json.dumps(cfg))
        r = run(helpers, "kubelet", root)
        errors = error_lines(r)
        check("nodeName with %s: eks-node-kubelet exit 6" % name, r.returncode == 6, "%d %r" % (r.returncode, r.stderr))
        check("nodeName with %s: one line naming the flag" % name,
              len(errors) == 1 and b"--hostname-override=" in errors[0] and b"is not one word" in errors[0]
              and printable(errors[0]), r.stderr)
        check("nodeName with %s: no kubelet environment file" % name,
              not (root / "etc/eks/kubelet/environment").exists(), harness.tree(root))
    harness.shutil.rmtree(root, ignore_errors=True)


def test_text_that_json_cannot_carry(helpers):
    """A string JSON cannot carry (an overlong UTF-8 form) in user data: one
    error naming where it came from, not the JSON library's exception when
    config.json is written."""
    root = good_node(helpers)
    user_data = root / "user-data.yaml"
    user_data.write_bytes((CASE / "nodeconfig.yaml").read_bytes() +
                          b'---\napiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  kubelet:\n'
                          b'    flags:\n      - "--node-labels=team=\xc0\xaf"\n')
    r = run(helpers, "config", root, "--user-data=%s" % user_data)
    errors = error_lines(r)
    check("user data string that is not UTF-8: exit 6", r.returncode == 6, "%d %r" % (r.returncode, r.stderr))
    # refused where the user data is decoded (strict UTF-8), before any YAML is read
    check("user data string that is not UTF-8: one printable line naming the file, no library exception",
          len(errors) == 1 and b"user-data.yaml" in errors[0] and b"UTF-8" in errors[0] and printable(errors[0])
          and b"json.exception" not in r.stderr, r.stderr)
    check("user data string that is not UTF-8: no config.json", not (root / "run/eks-node/config.json").exists())
    harness.shutil.rmtree(root, ignore_errors=True)


def main():
    helpers = sys.argv[1]
    test_injections(helpers)
    test_edited_instance_json(helpers)
    test_kubelet_flag_split(helpers)
    test_text_that_json_cannot_carry(helpers)
    return TALLY.finish()


if __name__ == "__main__":
    sys.exit(main())
