#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Conformance samples: each case's NodeConfig, on the instance in
instance/imds.json, through `eks-node render`, must give files equal (as
parsed data) to the case's expected/ tree. Every case runs twice: the
NodeConfig as a file source (--user-data=FILE) and as IMDS user data.

Intended differences from nodeadm (docs/differences-from-nodeadm.md) that
change a file of the samples are listed in DIFFERENCES, each with the
setting that gives nodeadm's file back: a case runs with eks-node's defaults
against expected/ with the difference applied, and with the image fragment
that sets those settings against expected/ as it is.

Usage: run.py EKS_NODE_CLI"""

import pathlib
import sys
import tomllib

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))
import harness  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent


def eks_node_get_token(kubeconfig):
    """nodeadm's kubeconfig runs `aws eks get-token`, which the AMI does not ship; eks-node's
    runs its own get-token (settings.credentialPlugin, eks-node-get-token(1)), same arguments."""
    exec_ = kubeconfig["users"][0]["user"]["exec"]
    assert exec_["command"] == "aws" and exec_["args"][:2] == ["eks", "get-token"], exec_
    exec_["command"] = "/usr/bin/eks-node"
    exec_["args"] = exec_["args"][1:]
    return kubeconfig


# file -> how eks-node's default differs from nodeadm's
DIFFERENCES = {"var/lib/kubelet/kubeconfig": eks_node_get_token}
# the image fragment that gives nodeadm's files back
NODEADM_SETTINGS = '[settings]\ncredentialPlugin = "aws-cli"\n'


def run_case(cli, case, via, nodeadm_settings):
    meta = tomllib.loads((case / "case.toml").read_text())
    root = harness.make_root(kubelet_version=meta["kubelet_version"], cpus=2)
    if nodeadm_settings:
        harness.write(root / "usr/lib/eks-node/node.toml.d/10-nodeadm-settings.toml", NODEADM_SETTINGS)
    user_data = case / "nodeconfig.yaml"
    with harness.FakeImds(HERE / "instance" / "imds.json",
                          user_data=user_data if via == "imds" else None) as imds:
        args = ["render", "--root=%s" % root, "--imds-endpoint=%s" % imds.endpoint]
        if via == "file":
            args.append("--user-data=%s" % user_data)
        r = harness.run_cli(cli, *args)
    if r.returncode != 0:
        return ["eks-node render exited %d: %s" % (r.returncode, r.stderr.strip())]
    problems = []
    expected_root = case / "expected"
    for rel in harness.tree(expected_root):
        got = root / rel
        if not got.exists():
            problems.append("%s: missing" % rel)
            continue
        want, have = harness.parse_as_data(expected_root / rel), harness.parse_as_data(got)
        if not nodeadm_settings and rel in DIFFERENCES:
            want = DIFFERENCES[rel](want)
        if want != have:
            problems.append("%s: differs\n  want %r\n  have %r" % (rel, want, have))
    harness.shutil.rmtree(root, ignore_errors=True)
    return problems


def main():
    cli = sys.argv[1]
    tally = harness.Tally()
    for case in sorted(p for p in HERE.iterdir() if (p / "case.toml").exists()):
        for via in ("file", "imds"):
            tally.case("%s (user data via %s)" % (case.name, via), run_case(cli, case, via, False))
            tally.case("%s (user data via %s, %s)" % (case.name, via, NODEADM_SETTINGS.replace("\n", " ").strip()),
                       run_case(cli, case, via, True))
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
