#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""What a step refuses, `eks-node config check` refuses (issue 58).

Usage: step_refusals.py EKS_NODE_CLI

Each row of tests/data/step-refusals.tsv is a setting's input that a step
(or the generator) refuses with exit 6 at boot. Given to `config check`
after a complete NodeConfig, as a TOML source, it must be refused there
too: exit 6, exactly one error line, naming the row's field, the TOML file
and the row's words. A row with a node runs the check with --root=DIR of
such a node, as `config check` on it would."""

import pathlib
import shutil
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))
import harness  # noqa: E402

TABLE = harness.SOURCE_ROOT / "tests" / "data" / "step-refusals.tsv"
BASE = harness.SOURCE_ROOT / "tests" / "conformance" / "03-kubeconfig" / "nodeconfig.yaml"
PEM = (harness.SOURCE_ROOT / "tests" / "data" / "certificates" / "bundle.pem").read_text()
TRUST_DIRS = ("etc/pki/ca-trust/source/anchors", "usr/local/share/ca-certificates")


def rows():
    out = []
    for line in TABLE.read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        setting, node, toml, error = line.split("\t")
        out.append((setting, node, toml.replace("\\n", "\n").replace("{PEM}", PEM), error))
    return out


def node_root(node):
    """A node's root for --root, or None for a check of the files alone."""
    if node == "-":
        return None
    root = harness.make_root(containerd_version="1.7.27" if node == "containerd-1.7" else "2.1.4")
    for d in TRUST_DIRS:
        shutil.rmtree(root / d, ignore_errors=True)
    if node == "debian":
        (root / TRUST_DIRS[1]).mkdir(parents=True)
    return root


def check(cli, setting, node, toml, error):
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        src = pathlib.Path(tmp) / "setting.toml"
        src.write_text(toml)
        root = node_root(node)
        args = ["config", "check", str(BASE), str(src)] + (["--root=%s" % root] if root else [])
        r = harness.run_cli(cli, *args)
        if root:
            shutil.rmtree(root, ignore_errors=True)
    if r.returncode != 6:
        problems.append("exit %d, want 6: %r" % (r.returncode, r.stdout + r.stderr))
    lines = [line for line in r.stderr.splitlines() if "error:" in line]
    if len(lines) != 1:
        return problems + ["want one error line, got %r" % r.stderr]
    for want in (setting, str(src), error):
        if want not in lines[0]:
            problems.append("the error does not name %r: %r" % (want, lines[0]))
    return problems


def main():
    cli = sys.argv[1]
    tally = harness.Tally()
    table = rows()
    for i, (setting, node, toml, error) in enumerate(table):
        tally.case("%d %s (%s)" % (i + 1, setting, node), check(cli, setting, node, toml, error))
    tally.at_least(len(table), 16, "step refusals")
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
