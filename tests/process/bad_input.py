#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Bad-input corpus (tests/bad-input/*): each case's user data, through
`eks-node render` against the conformance instance, must exit 6 with exactly
one error line naming the source and the field, and leave the root as the
imds step left it (no config.json, no rendered file).

Usage: bad_input.py EKS_NODE_CLI"""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))
import harness  # noqa: E402

CORPUS = harness.SOURCE_ROOT / "tests" / "bad-input"


def expectations(case):
    exp = {}
    for line in (case / "expect").read_text().splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            exp[k.strip()] = v.strip()
    return exp


def check(cli, case):
    exp = expectations(case)
    root = harness.make_root()
    before = set(harness.tree(root))
    # served by IMDS, as on a node, so the error's source reads "user data ..."
    with harness.FakeImds(harness.CONFORMANCE_INSTANCE, user_data=case / "user-data") as imds:
        r = harness.run_cli(cli, "render", "--root=%s" % root, "--imds-endpoint=%s" % imds.endpoint)
    problems = []
    if r.returncode != 6:
        problems.append("exit %d, want 6" % r.returncode)
    errors = [line for line in r.stderr.splitlines() if "error:" in line]
    if len(errors) != 1:
        problems.append("want exactly one error line, got %d: %r" % (len(errors), r.stderr))
    msg = errors[0] if errors else ""
    for key in ("source", "field", "message"):
        if exp.get(key) and exp[key] not in msg:
            problems.append("error does not name %s %r: %r" % (key, exp[key], msg))
    after = set(harness.tree(root)) - before
    allowed = {"run/eks-node/instance.json", "run/eks-node/user-data"}
    if after - allowed:
        problems.append("files written despite the error: %s" % sorted(after - allowed))
    harness.shutil.rmtree(root, ignore_errors=True)
    return problems


def main():
    cli = sys.argv[1]
    cases = sorted(p for p in CORPUS.iterdir() if (p / "user-data").exists())
    tally = harness.Tally()
    for case in cases:
        tally.case(case.name, check(cli, case))
    tally.at_least(len(cases), 30, "bad-input corpus")
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
