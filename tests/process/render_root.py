#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""`eks-node render --root=DIR` writes only inside DIR (issue 58, item 10a).
DIR/etc/eks is an absolute symlink to a directory outside DIR, holding the
files render reads there (kubelet-version.txt, containerd-version.txt):
render reads them, and refuses to write the first file it would write there
through the link (exit 6, one error naming the file and the root), and the
directory outside gains nothing.

Usage: render_root.py EKS_NODE_CLI"""

import pathlib
import shutil
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))
import harness  # noqa: E402


def main():
    cli = sys.argv[1]
    tally = harness.Tally()
    root = harness.make_root(node_name_strategy="imds")
    elsewhere = pathlib.Path(tempfile.mkdtemp(prefix="eksnode-elsewhere-absolute-"))
    for f in (root / "etc/eks").iterdir():
        shutil.move(str(f), str(elsewhere / f.name))
    (root / "etc/eks").rmdir()
    (root / "etc/eks").symlink_to(elsewhere)
    before = sorted(str(p.relative_to(elsewhere)) for p in elsewhere.rglob("*"))
    user_data = harness.CONFORMANCE_CASE / "nodeconfig.yaml"
    with harness.FakeImds(harness.CONFORMANCE_INSTANCE, user_data=user_data) as imds:
        r = harness.run_cli(cli, "render", "--root=%s" % root, "--imds-endpoint=%s" % imds.endpoint)
    after = sorted(str(p.relative_to(elsewhere)) for p in elsewhere.rglob("*"))
    errors = [line for line in r.stderr.splitlines() if "error:" in line]
    tally.check("a symlink out of the root: exit 6", r.returncode == 6, "exit %d: %r" % (r.returncode, r.stderr))
    tally.check("... one error naming the file and the root",
                len(errors) == 1 and "%s/etc/eks/" % root in errors[0] and "outside the root %s" % root in errors[0],
                r.stderr)
    tally.check("... nothing written outside the root", after == before, "%s -> %s" % (before, after))
    shutil.rmtree(root, ignore_errors=True)
    shutil.rmtree(elsewhere, ignore_errors=True)
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
