#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Golden trees for AL2 user data: scripts calling /etc/eks/bootstrap.sh.

Usage: run.py EKS_NODE_CLI

Each case NN-name/ beside this file holds:
  user-data            realistic AL2 user data (a script, or MIME with a
                       text/x-shellscript part), served by the fake IMDS
  bootstrap-args.json  the arguments the shell passes to /etc/eks/bootstrap.sh
                       when cloud-init runs that script, written by hand (so
                       they also check the static reading of the script)
  imds.json            optional: the instance (default: the conformance one)
  node/                optional: files the script itself writes before its
                       call (what --containerd-config-file names)
  expected/            what `eks-node render` writes, as text; the fake IMDS's
                       URL reads IMDS_ENDPOINT, the temporary root ROOT

Checks per case:
  static   the user data, rendered: exit 0, no AWS API request (AL2 asked
           EKS only without an endpoint or CA, which every case gives), the
           tree equals expected/ (same files, same bytes); then the shim, run
           with the same arguments on that node, finds them applied and
           writes nothing.
  shim     the same user data with "$(true)" after /etc/eks/bootstrap.sh, a
           word only running the script resolves: the render exits 6 naming
           the argument; `eks-node bootstrap-sh -- ARGS` writes the user-data
           slot; the render then gives the same files as "static" (config.json
           compared without its origins, which name the new source); a second
           shim run changes nothing.

EKS_NODE_REGENERATE=1 rewrites expected/ from the static render; review the
diff like code.
"""

import json
import pathlib
import shutil
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "lib"))
import harness  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
SLOT = "run/eks-node/node.toml.d/50-user-data.toml"
# inputs make_root() writes, and the raw user data the imds step saves
NOT_OUTPUTS = {"etc/eks/kubelet-version.txt", "etc/eks/containerd-version.txt",
               "sys/devices/system/cpu/online", "proc/meminfo", "run/eks-node/user-data",
               "etc/eks-node/node.toml.d/00-test-node-name.toml"}


def outputs(root, imds_endpoint, skip=()):
    """Files render wrote, as text with the fake IMDS's port and the temporary
    root's path normalised."""
    out = {}
    for rel in harness.tree(root):
        if rel in NOT_OUTPUTS or rel in skip or rel.startswith("etc/containerd/custom"):
            continue
        out[rel] = (root / rel).read_text().replace(imds_endpoint, "IMDS_ENDPOINT").replace(str(root), "ROOT")
    return out


def render(cli, root, instance, user_data):
    with harness.FakeImds(instance, user_data=user_data) as imds:
        r = harness.run_cli(cli, "render", "--root=%s" % root, "--imds-endpoint=%s" % imds.endpoint)
        return r, imds.endpoint


def copy_node_files(case, root):
    if (case / "node").is_dir():
        shutil.copytree(case / "node", root, dirs_exist_ok=True)


def without_origins(text):
    doc = json.loads(text)
    doc.pop("origins", None)
    return doc


def static_path(cli, case, instance, args):
    problems = []
    root = harness.make_root()
    r, endpoint = render(cli, root, instance, case / "user-data")
    if r.returncode != 0:
        return ["render exited %d: %s" % (r.returncode, r.stderr.strip())], None
    if "request(s) made" in r.stderr:
        problems.append("render made AWS API requests: %s" % r.stderr.strip())
    got = outputs(root, endpoint)
    problems += harness.compare_expected(case / "expected", got)

    copy_node_files(case, root)
    s = harness.run_cli(cli, "bootstrap-sh", "--root=%s" % root, "--", *args)
    if s.returncode != 0 or "applied at boot" not in s.stdout or (root / SLOT).exists():
        problems.append("shim on the statically configured node: exit %d, %r %r, slot written: %s"
                        % (s.returncode, s.stdout.strip(), s.stderr.strip(), (root / SLOT).exists()))
    shutil.rmtree(root, ignore_errors=True)
    return problems, got


def shim_path(cli, case, instance, args, static_outputs):
    problems = []
    root = harness.make_root()
    dynamic = case / "user-data"
    text = dynamic.read_text()
    assert "/etc/eks/bootstrap.sh " in text, "the case must call /etc/eks/bootstrap.sh"
    tmp = root.parent / (root.name + ".user-data")
    tmp.write_text(text.replace("/etc/eks/bootstrap.sh ", "/etc/eks/bootstrap.sh $(true) ", 1))
    r, _ = render(cli, root, instance, tmp)
    if r.returncode != 6 or "bootstrap.sh argument 1: $(true)" not in r.stderr:
        problems.append("render of the run-time script: exit %d, want 6 naming argument 1: %r"
                        % (r.returncode, r.stderr.strip()))
    copy_node_files(case, root)
    s = harness.run_cli(cli, "bootstrap-sh", "--root=%s" % root, "--", *args)
    if s.returncode != 0 or "wrote /%s" % SLOT not in s.stdout:
        problems.append("shim: exit %d: %r %r" % (s.returncode, s.stdout.strip(), s.stderr.strip()))
    r, endpoint = render(cli, root, instance, tmp)
    if r.returncode != 0:
        problems.append("render after the shim exited %d: %s" % (r.returncode, r.stderr.strip()))
    else:
        got = outputs(root, endpoint, skip={SLOT})
        for rel in sorted(set(static_outputs) | set(got)):
            a, b = static_outputs.get(rel), got.get(rel)
            if rel == "run/eks-node/config.json" and a and b:
                a, b = without_origins(a), without_origins(b)
            if a != b:
                problems.append("%s: the shim's node differs from the static one" % rel)
    again = harness.run_cli(cli, "bootstrap-sh", "--root=%s" % root, "--", *args)
    if again.returncode != 0 or "nothing to do" not in again.stdout:
        problems.append("second shim run: exit %d: %r" % (again.returncode, again.stdout.strip()))
    tmp.unlink(missing_ok=True)
    shutil.rmtree(root, ignore_errors=True)
    return problems


def main():
    cli = sys.argv[1]
    tally = harness.Tally()
    cases = sorted(p for p in HERE.iterdir() if (p / "user-data").exists())
    for case in cases:
        instance = case / "imds.json" if (case / "imds.json").exists() else harness.CONFORMANCE_INSTANCE
        args = json.loads((case / "bootstrap-args.json").read_text())
        static_problems, static_outputs = static_path(cli, case, instance, args)
        tally.case("%s (static)" % case.name, static_problems)
        if static_outputs is not None:
            tally.case("%s (shim)" % case.name, shim_path(cli, case, instance, args, static_outputs))
    tally.at_least(len(cases), 6, "AL2 golden cases")
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
