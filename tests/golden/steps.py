#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Golden trees for the steps that are not renderers: imds, config and
instance-store (the renderers' are tests/unit/render/golden_test.cpp).

Usage: steps.py PROGRAM...     (each eks-node-STEP, all in one directory: config's cases run
                               eks-node-imds from there first)

The programs are named, not their directory, so that meson runs the test of a cross build
with its exe_wrapper in MESON_EXE_WRAPPER (tests/lib/harness.py, wrapper()).

tests/golden/imds/NN-name/
  imds.json   optional: the instance the fake IMDS serves (default: the conformance one)
  user-data   optional: the user data it serves (none: IMDS answers 404)
  expected/   what eks-node-imds writes under its root: run/eks-node/{instance.json,user-data}
tests/golden/config/NN-name/
  imds.json, user-data   as above; eks-node-imds runs first, as at boot
  node/       optional: files of the node (node.toml.d fragments, a masked slot...)
  expected/   what eks-node-config adds under the root: run/eks-node/config.json
tests/golden/network/NN-name/
  imds.json   the instance the fake IMDS serves (its macs/MAC/ leaves)
  node/       optional: files of the node before the run: sys/class/net/NAME/address
              (each interface), run/eks-node/config.json (off the host it stands in for "kubelet started": an ENI
              seen now is the VPC CNI's, unless run/eks-node/instance.json, older than config.json, lists it),
              var/lib/eks-node/network/MAC (earlier decisions)
  mtimes      optional: "SECONDS PATH" lines, the modification time (since the epoch) of a file of node/
              after the copy (which of instance.json and config.json was written first)
  interfaces  the interfaces, one per line, each run as eks-node-network NAME in order
              (as udev starts their units); "NAME exit=N" expects that exit status, "exit=N,M"
              N from the first run and M from the second
  ec2         optional: tests/fake-aws/fake_aws.py options (--eni ..., --fault ...): a fake EC2,
              with credentials in the environment (featureGates.OSManagedNoManageENIs)
  expected-ec2.log  with ec2: its request log of the first run (the second asks nothing)
  expected/   what the runs add or change under the root
tests/golden/instance-store/NN-name/
  root/       a node: sys/ (its disks), run/eks-node/config.json
  expected.log  what eks-node-instance-store --root= logs: it plans, touches no device

Files are compared as text, with the fake IMDS's URL written IMDS_ENDPOINT and
the temporary root ROOT. EKS_NODE_REGENERATE=1 rewrites expected/ (and
expected.log); review the diff like code.
"""

import contextlib
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "lib"))
import harness  # noqa: E402

REGENERATE = os.environ.get("EKS_NODE_REGENERATE") == "1"


def run(helpers, step, root, *args, env=None):
    return subprocess.run(harness.wrapper() + [str(helpers / ("eks-node-" + step)), "--root=%s" % root, *args],
                          capture_output=True, text=True, timeout=60, env=env)


def normalised(text, root, endpoint):
    if endpoint:
        text = text.replace(endpoint, "IMDS_ENDPOINT")
    return text.replace(str(root), "ROOT")


def with_imds(case, helpers, root):
    """Runs eks-node-imds against the case's fake IMDS: (result, endpoint)."""
    data = case / "imds.json"
    user_data = case / "user-data"
    with harness.FakeImds(data if data.exists() else harness.CONFORMANCE_INSTANCE,
                          user_data=user_data if user_data.exists() else None) as imds:
        return run(helpers, "imds", root, "--imds-endpoint=%s" % imds.endpoint), imds.endpoint


def files_under(root, rels):
    return {rel: (root / rel).read_text(errors="replace") for rel in rels}


def imds_case(case, helpers):
    root = harness.make_root()
    before = set(harness.tree(root))
    r, endpoint = with_imds(case, helpers, root)
    if r.returncode != 0:
        return ["eks-node-imds exited %d: %s" % (r.returncode, r.stderr.strip())]
    written = [rel for rel in harness.tree(root) if rel not in before]
    got = {rel: normalised(t, root, endpoint) for rel, t in files_under(root, written).items()}
    problems = harness.compare_expected(case / "expected", got)
    # a re-run against the same instance writes the same bytes
    again, endpoint = with_imds(case, helpers, root)  # another fake IMDS, another port
    if again.returncode != 0 or {rel: normalised(t, root, endpoint) for rel, t in files_under(root, written).items()} != got:
        problems.append("a second run changed the outputs (exit %d)" % again.returncode)
    shutil.rmtree(root, ignore_errors=True)
    return problems


def config_case(case, helpers):
    root = harness.make_root()
    if (case / "node").is_dir():
        shutil.copytree(case / "node", root, dirs_exist_ok=True, symlinks=True)
    r, endpoint = with_imds(case, helpers, root)
    if r.returncode != 0:
        return ["eks-node-imds exited %d: %s" % (r.returncode, r.stderr.strip())]
    before = set(harness.tree(root))
    c = run(helpers, "config", root)
    if c.returncode != 0:
        return ["eks-node-config exited %d: %s" % (c.returncode, c.stderr.strip())]
    written = [rel for rel in harness.tree(root) if rel not in before]
    got = {rel: normalised(t, root, endpoint) for rel, t in files_under(root, written).items()}
    problems = harness.compare_expected(case / "expected", got)
    mode = (root / "run/eks-node/config.json").stat().st_mode & 0o777
    if mode != 0o600:
        problems.append("config.json mode %o, want 600 (it may hold proxy credentials)" % mode)
    shutil.rmtree(root, ignore_errors=True)
    return problems


def instance_store_case(case, helpers):
    root = pathlib.Path(tempfile.mkdtemp(prefix="eksnode-root-"))
    shutil.copytree(case / "root", root, dirs_exist_ok=True, symlinks=True)
    before = {rel: (root / rel).read_bytes() for rel in harness.tree(root) if (root / rel).is_file()}
    r = run(helpers, "instance-store", root)
    problems = [] if r.returncode == 0 else ["exit %d" % r.returncode]
    log = normalised(r.stderr, root, None)
    expected = case / "expected.log"
    if REGENERATE:
        expected.write_text(log)
    if log != expected.read_text():
        problems.append("log differs from expected.log:\n" + log)
    after = {rel: (root / rel).read_bytes() for rel in harness.tree(root) if (root / rel).is_file()}
    if after != before:
        problems.append("under --root it wrote files: %s" % sorted(set(after) ^ set(before)))
    shutil.rmtree(root, ignore_errors=True)
    return problems


def network_case(case, helpers):
    root = pathlib.Path(tempfile.mkdtemp(prefix="eksnode-root-"))
    if (case / "node").is_dir():
        shutil.copytree(case / "node", root, dirs_exist_ok=True, symlinks=True)
    if (case / "mtimes").exists():
        for line in (case / "mtimes").read_text().splitlines():
            if line.strip():
                seconds, rel = line.split(None, 1)
                os.utime(root / rel, (int(seconds), int(seconds)))
    before = {rel: (root / rel).read_bytes() for rel in harness.tree(root)}
    problems = []

    ec2_args = (case / "ec2").read_text().split() if (case / "ec2").exists() else None
    ec2_log = []

    def run_all(round_):
        with contextlib.ExitStack() as stack:
            imds = stack.enter_context(harness.FakeImds(case / "imds.json"))
            env = None
            if ec2_args is not None:
                aws = stack.enter_context(harness.FakeAws(ec2_args))
                env = aws.env()
            for line in (case / "interfaces").read_text().split("\n"):
                if not line.strip():
                    continue
                # "NAME exit=N" or "NAME exit=N,M": the first run's status, then the second's
                name, _, want = line.partition(" exit=")
                wants = [int(w) for w in want.split(",")] if want else [0]
                want_now = wants[min(round_, len(wants) - 1)]
                r = run(helpers, "network", root, "--imds-endpoint=%s" % imds.endpoint, name.strip(), env=env)
                if r.returncode != want_now:
                    problems.append("eks-node-network %s exited %d, want %d (run %d): %s" % (
                        name, r.returncode, want_now, round_ + 1, r.stderr.strip()))
            if ec2_args is not None:
                ec2_log.append([" ".join(x) for x in aws.requests()])

    run_all(0)
    changed = [rel for rel in harness.tree(root) if (root / rel).read_bytes() != before.get(rel)]
    got = files_under(root, changed)
    problems += harness.compare_expected(case / "expected", got)
    # every run again: the same bytes, no file touched
    stamps = {rel: (root / rel).stat().st_mtime_ns for rel in changed}
    run_all(1)
    # featureGates.OSManagedNoManageENIs: what EC2 was asked (ACTION STATUS SIGNATURE MACS),
    # in the first run; the second decides from the record and asks nothing
    if ec2_args is not None:
        want = [x for x in (case / "expected-ec2.log").read_text().split("\n") if x]
        if ec2_log[0] != want:
            problems.append("EC2 requests %s, want %s" % (ec2_log[0], want))
        if ec2_log[1]:
            problems.append("the second run asked EC2 again: %s" % ec2_log[1])
    if {rel: (root / rel).stat().st_mtime_ns for rel in harness.tree(root) if rel in stamps} != stamps:
        problems.append("a second run rewrote a file")
    if sorted(harness.tree(root)) != sorted(set(before) | set(changed)):
        problems.append("a second run wrote other files")
    shutil.rmtree(root, ignore_errors=True)
    return problems


CASES = {"imds": imds_case, "network": network_case, "config": config_case, "instance-store": instance_store_case}


def main():
    programs = [pathlib.Path(a) for a in sys.argv[1:]]
    helpers = programs[0].parent
    tally = harness.Tally()
    for step in (p.name.removeprefix("eks-node-") for p in programs):
        cases = sorted(p for p in (HERE / step).iterdir() if p.is_dir())
        tally.at_least(len(cases), 2, "%s cases" % step)
        for case in cases:
            tally.case("%s/%s" % (step, case.name), CASES[step](case, helpers))
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
