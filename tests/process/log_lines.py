#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""One line per message (issue 34): a node.toml.d file name holding a
newline, quoted by the error about the file, must not forge a second log
line. `eks-node render` against the conformance instance with such a
fragment (bad TOML in it) exits 6 with exactly one stderr line naming the
file, its newline shown as \\n; no line starts with the text after it.
And an error quotes nothing from a file that is not the input: an
/etc/eks/nodeadm.d/ file that is a symlink to /etc/passwd is refused without
a line of it.

Usage: log_lines.py EKS_NODE_CLI"""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))
import harness  # noqa: E402

FORGED = "error: forged by a file name.toml"


def main():
    cli = sys.argv[1]
    tally = harness.Tally()
    root = harness.make_root(node_name_strategy="imds")
    name = "50-site\n" + FORGED
    harness.write(root / "etc/eks-node/node.toml.d" / name, "[settings\n")
    with harness.FakeImds(harness.CONFORMANCE_INSTANCE) as imds:
        r = harness.run_cli(cli, "render", "--root=%s" % root, "--imds-endpoint=%s" % imds.endpoint)
    tally.check("a bad fragment exits 6", r.returncode == 6, "exit %d: %r" % (r.returncode, r.stderr))
    lines = r.stderr.splitlines()
    naming = [line for line in lines if "50-site" in line]
    tally.check("exactly one line names the file", len(naming) == 1, r.stderr)
    tally.check("its newline shown escaped", naming and ("50-site\\n" + FORGED) in naming[0], r.stderr)
    tally.check("no line forged", not any(line.startswith(FORGED) or line.startswith("error: forged")
                                          for line in lines), r.stderr)
    tally.check("every line at most 1 KiB and a little prefix", all(len(line) <= 1024 + 64 for line in lines),
                max(map(len, lines), default=0))

    root = harness.make_root(node_name_strategy="imds")
    secret = root / "secret-file"
    harness.write(secret, "root:$6$planted-hash:19000:0:99999:7:::\n")
    link = root / "etc/eks/nodeadm.d/50-x.yaml"
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(secret)
    with harness.FakeImds(harness.CONFORMANCE_INSTANCE) as imds:
        r = harness.run_cli(cli, "render", "--root=%s" % root, "--imds-endpoint=%s" % imds.endpoint)
    tally.check("a nodeadm.d symlink to another file exits 6", r.returncode == 6, "exit %d: %r" % (r.returncode, r.stderr))
    tally.check("none of that file is quoted", "planted-hash" not in r.stderr and "root:" not in r.stderr, r.stderr)
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
