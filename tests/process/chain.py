#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Tier 3: the step executables, run one by one in unit order against a
loopback fake IMDS and a temporary root, the way systemd runs them.

Usage: chain.py HELPER_DIR   (the directory holding eks-node-<step>)"""

import os
import pathlib
import stat
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))
import harness  # noqa: E402

STEPS = ["imds", "config", "system", "ca", "kubelet", "containerd", "hosts"]
CASE = harness.SOURCE_ROOT / "tests" / "conformance" / "01-kubelet-config-json"
TALLY = harness.Tally()
check = TALLY.check


def step(helpers, name, root, *extra):
    return harness.run_cli(pathlib.Path(helpers) / ("eks-node-" + name), "--root=%s" % root, *extra)


def snapshot(root):
    out = {}
    for rel in harness.tree(root):
        st = os.lstat(root / rel)
        out[rel] = (st.st_mtime_ns, stat.S_IMODE(st.st_mode), (root / rel).read_bytes())
    return out


def test_chain(helpers):
    root = harness.make_root(kubelet_version="1.29.0")
    with harness.FakeImds(harness.CONFORMANCE_INSTANCE, user_data=CASE / "nodeconfig.yaml") as imds:
        for s in STEPS:
            r = step(helpers, s, root, "--imds-endpoint=%s" % imds.endpoint)
            check("step %s exits 0" % s, r.returncode == 0, r.stderr)
        first = snapshot(root)
        modes = {rel: m for rel, (_, m, _) in first.items()}
        # every output has the mode of the registry (helpers/lib/core/outputs.hpp);
        # this case writes the user data, the kubeconfig and each step's
        # required files (/etc/hosts is the system's: not in a fresh root)
        for o in harness.outputs():
            if o["block_only"]:
                continue
            if not o["optional"] or o["path"] in ("run/eks-node/user-data", "var/lib/kubelet/kubeconfig"):
                check("%s written" % o["path"], o["path"] in modes, str(modes))
            if o["path"] in modes:
                check("%s %04o" % (o["path"], o["mode"]), modes[o["path"]] == o["mode"], str(modes))
        check("no temporary files left", not any("/." in "/" + rel for rel in first), str(list(first)))
        n = len(imds.requests())
        time.sleep(0.01)  # a rewrite would now show a different mtime
        for s in STEPS:
            r = step(helpers, s, root, "--imds-endpoint=%s" % imds.endpoint)
            check("re-run %s exits 0" % s, r.returncode == 0, r.stderr)
        again = snapshot(root)
        # but eks-node-config's answer for eks-node-containerd's unit: due on a fresh root (no
        # config.toml yet), nothing to do once that step has run (eks-node-containerd(8), WHEN
        # IT RUNS)
        due = "run/eks-node/containerd-due"
        check("first run: eks-node-containerd was due, config.toml to write",
              first.get(due, (0, 0, b""))[2] == b"/etc/containerd/config.toml changes\n", str(first.get(due)))
        check("re-run: eks-node-containerd has nothing to do, the marker is gone", due not in again)
        first.pop(due, None)
        check("re-running every step rewrites nothing", again == first,
              str(set(again.items()) ^ set(first.items()))[:500])
        check("one imds run makes at most 20 requests (token + 19 paths, 3 round trips); config none", len(imds.requests()) - n <= 20,
              "%d requests" % (len(imds.requests()) - n))
    harness.shutil.rmtree(root, ignore_errors=True)


def test_imds_down(helpers):
    root = harness.make_root()
    harness.write(root / "etc/eks-node/node.toml.d/10-test.toml", "[settings.imds]\ndeadline = \"1s\"\n")
    # No wall-clock bound (it fails under load): the step's own exit 75 is the proof that
    # its deadline ended it; run_cli's subprocess timeout only guards against a hang.
    r = step(helpers, "imds", root, "--imds-endpoint=http://127.0.0.1:9")
    check("IMDS down: exit 75 (its deadline ended it)", r.returncode == 75, "%d %s" % (r.returncode, r.stderr))
    check("IMDS down: one error line", len([x for x in r.stderr.splitlines() if "error:" in x]) == 1, r.stderr)
    check("IMDS down: nothing written", not (root / "run/eks-node/instance.json").exists())
    harness.shutil.rmtree(root, ignore_errors=True)


def test_bad_config_stops_chain(helpers):
    root = harness.make_root()
    bad = (CASE / "nodeconfig.yaml").read_text().replace("10.100.0.0/16", "10.100.0.0/33")
    bad_file = root / "bad.yaml"
    bad_file.write_text(bad)
    with harness.FakeImds(harness.CONFORMANCE_INSTANCE) as imds:
        check("imds ok", step(helpers, "imds", root, "--imds-endpoint=%s" % imds.endpoint).returncode == 0)
    r = step(helpers, "config", root, "--user-data=%s" % bad_file)
    check("bad config: exit 6", r.returncode == 6, "%d %s" % (r.returncode, r.stderr))
    check("bad config: names field and value", "spec.cluster.cidr" in r.stderr and "10.100.0.0/33" in r.stderr,
          r.stderr)
    check("bad config: no config.json", not (root / "run/eks-node/config.json").exists())
    files = lambda: sorted(str(f.relative_to(root)) for f in root.rglob("*") if not f.is_dir())
    before = files()
    r = step(helpers, "kubelet", root)
    check("kubelet step without config.json fails", r.returncode != 0, r.stderr)
    # its output directories may exist now (made before its Landlock rules,
    # which need them), but it wrote no file
    check("kubelet step wrote no file", files() == before, files())
    harness.shutil.rmtree(root, ignore_errors=True)


def test_usage(helpers):
    r = harness.run_cli(pathlib.Path(helpers) / "eks-node-kubelet", "--no-such-option=1")
    check("unknown option: exit 2", r.returncode == 2, "%d %s" % (r.returncode, r.stderr))
    r = harness.run_cli(pathlib.Path(helpers) / "eks-node-kubelet", "--help")
    check("--help: exit 0 and names the man page", r.returncode == 0 and "eks-node-kubelet(8)" in r.stdout, r.stdout)


def test_render_ecs(helpers):
    """`eks-node render` of an ECS container instance runs ecs-node.target's
    steps (the shared ones, then eks-node-ecs) and no EKS step."""
    root = harness.make_root()
    harness.write(root / "usr/lib/eks-node/node.toml.d/10-ecs.toml",
                  '[settings]\nnode = "ecs"\n\n[settings.runtimes.crun]\nbinary = "/usr/bin/crun"\ndefault = true\n')
    harness.write(root / "usr/bin/crun", "#!/bin/sh\n")
    os.chmod(root / "usr/bin/crun", 0o755)
    user_data = pathlib.Path(root / "user-data.toml")
    user_data.write_text('[settings.ecs]\ncluster = "render-ecs"\n')
    with harness.FakeImds(harness.CONFORMANCE_INSTANCE, user_data=user_data) as imds:
        r = harness.run_cli(pathlib.Path(helpers) / "eks-node", "render", "--root=%s" % root,
                            "--imds-endpoint=%s" % imds.endpoint)
    check("render of an ECS node exits 0", r.returncode == 0, r.stderr)
    ran = [line.split()[0] for line in r.stdout.splitlines() if " ms wall " in line]
    check("render ran imds, config, system, ecs, in that order, and no EKS step",
          ran == ["imds", "config", "system", "ecs"], r.stdout)
    ecs_config = root / "etc/ecs/ecs.config"
    check("ecs.config names the cluster", ecs_config.exists() and
          "ECS_CLUSTER=render-ecs\n" in ecs_config.read_text(), r.stdout)
    check("daemon.json names crun", (root / "etc/docker/daemon.json").exists() and
          '"default-runtime": "crun"' in (root / "etc/docker/daemon.json").read_text())
    check("nothing of kubelet's or containerd's was written",
          not (root / "etc/kubernetes").exists() and not (root / "etc/containerd").exists(),
          str(harness.tree(root)))


STATIC_POD = """apiVersion: v1
kind: Pod
metadata:
  name: node-agent
spec:
  containers:
  - name: agent
    image: public.ecr.aws/docker/library/busybox:1.36
"""


def test_static_pods(helpers):
    """settings.staticPods in TOML user data (its manifest's "apiVersion:"
    and "kind:" lines inside a multi-line string, which the format sniffer
    must not take for a NodeConfig's) reaches kubelet's staticPodPath through
    imds, config and kubelet; a re-run without it removes the file and the
    setting."""
    root = harness.make_root(kubelet_version="1.29.0")
    cluster = (harness.SOURCE_ROOT / "tests/bad-input/101-toml-prepull-upper-case/user-data").read_text()
    cluster = cluster[:cluster.index("[settings")]
    with_pod = root / "with-pod.toml"
    with_pod.write_text(cluster + '[settings.staticPods]\nnode-agent = """\n%s"""\n' % STATIC_POD)
    without = root / "without.toml"
    without.write_text(cluster)
    manifest = root / "etc/kubernetes/static-pods/node-agent.yaml"
    kubelet_config = root / "etc/kubernetes/kubelet/config.json"
    for user_data, present in ((with_pod, True), (without, False)):
        with harness.FakeImds(harness.CONFORMANCE_INSTANCE, user_data=user_data) as imds:
            for s in ("imds", "config", "kubelet"):
                r = step(helpers, s, root, "--imds-endpoint=%s" % imds.endpoint)
                check("static pods (%s): step %s exits 0" % (user_data.name, s), r.returncode == 0, r.stderr)
        config = harness.json.loads(kubelet_config.read_text()) if kubelet_config.exists() else {}
        if present:
            check("the manifest is written as given, 0600",
                  manifest.exists() and manifest.read_text() == STATIC_POD and
                  stat.S_IMODE(os.stat(manifest).st_mode) == 0o600)
            check("staticPodPath names the directory",
                  config.get("staticPodPath") == "/etc/kubernetes/static-pods", str(config.get("staticPodPath")))
        else:
            check("the manifest is removed when the setting goes away", not manifest.exists())
            check("staticPodPath is unset without a pod", "staticPodPath" not in config, str(config)[:300])
    harness.shutil.rmtree(root, ignore_errors=True)


def test_preflight_gate(helpers):
    """settings.preflight.policy decides which preflight unit runs (eks-node-preflight(8),
    UNITS): eks-node-config writes /run/eks-node/preflight-gate under "fail" (the gate's
    ConditionPathExists=, kubelet waits) and removes it under "warn" and without the
    setting (the report beside kubelet's start); a re-run that keeps the policy touches
    nothing; a --config= run leaves the node's marker alone."""
    root = harness.make_root(kubelet_version="1.29.0")
    cluster = (harness.SOURCE_ROOT / "tests/bad-input/101-toml-prepull-upper-case/user-data").read_text()
    cluster = cluster[:cluster.index("[settings")]
    marker = root / "run/eks-node/preflight-gate"
    cases = (("fail", '[settings.preflight]\npolicy = "fail"\n', True),
             ("fail again", '[settings.preflight]\npolicy = "fail"\n', True),
             ("warn", '[settings.preflight]\npolicy = "warn"\n', False),
             ("fail, back", '[settings.preflight]\npolicy = "fail"\n', True),
             ("no setting", "", False))
    before = None
    for name, settings, gated in cases:
        user_data = root / "user-data.toml"
        user_data.write_text(cluster + settings)
        with harness.FakeImds(harness.CONFORMANCE_INSTANCE, user_data=user_data) as imds:
            for s in ("imds", "config"):
                r = step(helpers, s, root, "--imds-endpoint=%s" % imds.endpoint)
                check("preflight gate (%s): step %s exits 0" % (name, s), r.returncode == 0, r.stderr)
        if gated:
            check("preflight gate (%s): the marker holds fail, 0644" % name,
                  marker.exists() and marker.read_text() == "fail\n" and stat.S_IMODE(os.stat(marker).st_mode) == 0o644)
        else:
            check("preflight gate (%s): no marker" % name, not marker.exists())
        if name == "fail again":
            check("preflight gate: a re-run under the same policy leaves the marker as it was",
                  os.stat(marker).st_mtime_ns == before)
        before = os.stat(marker).st_mtime_ns if marker.exists() else None
    # --config=PATH: a resolved configuration elsewhere, not the node's state (in the step's
    # one writable directory: its Landlock policy)
    user_data = root / "user-data.toml"
    user_data.write_text(cluster + '[settings.preflight]\npolicy = "fail"\n')
    elsewhere = root / "run/eks-node/elsewhere.json"
    r = step(helpers, "config", root, "--user-data=%s" % user_data, "--config=%s" % elsewhere)
    check("preflight gate: a --config= run exits 0", r.returncode == 0, r.stderr)
    check("preflight gate: a --config= run writes its file and no marker",
          elsewhere.exists() and not marker.exists())
    harness.shutil.rmtree(root, ignore_errors=True)


def main():
    helpers = sys.argv[1]
    test_chain(helpers)
    test_imds_down(helpers)
    test_bad_config_stops_chain(helpers)
    test_usage(helpers)
    test_render_ecs(helpers)
    test_static_pods(helpers)
    test_preflight_gate(helpers)
    return TALLY.finish()


if __name__ == "__main__":
    sys.exit(main())
