#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Conformance samples: each case's NodeConfig, on the instance in
instance/imds.json, through `eks-node render`, must give files equal (as
parsed data) to the case's expected/ tree. Every case runs twice: the
NodeConfig as a file source (--user-data=FILE) and as IMDS user data.

Usage: run.py EKS_NODE_CLI"""

import pathlib
import sys
import tomllib

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))
import harness  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent


def run_case(cli, case, via):
    meta = tomllib.loads((case / "case.toml").read_text())
    root = harness.make_root(kubelet_version=meta["kubelet_version"], cpus=2)
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
        if want != have:
            problems.append("%s: differs\n  want %r\n  have %r" % (rel, want, have))
    harness.shutil.rmtree(root, ignore_errors=True)
    return problems


def main():
    cli = sys.argv[1]
    tally = harness.Tally()
    for case in sorted(p for p in HERE.iterdir() if (p / "case.toml").exists()):
        for via in ("file", "imds"):
            tally.case("%s (user data via %s)" % (case.name, via), run_case(cli, case, via))
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
