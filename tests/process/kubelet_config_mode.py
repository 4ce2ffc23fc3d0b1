#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""settings.kubelet.configMode through `eks-node render` against the fake IMDS.

Usage: kubelet_config_mode.py EKS_NODE_CLI

- replace: the user's KubeletConfiguration (a NodeConfig part) is
  /etc/kubernetes/kubelet/config.json, with no drop-in and no --config-dir;
  eks-node's values fill only the keys it owns where the user is silent, and
  nothing else of eks-node's (its TLS cipher list, its feature gates) is there.
- `config dump --origins` names who decided each key (kubeletConfig).
- Switched back to merge on the same node: the drop-in and --config-dir return,
  config.json is eks-node's again.
- A user's cgroupfs driver under replace: exit 6, one error line naming the
  part and the field, and the files of the previous render untouched."""

import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))
import harness  # noqa: E402

PART = "application/node.eks.aws"
TOML = "application/vnd.eks-node+toml"
CONFIG = "etc/kubernetes/kubelet/config.json"
DROPIN = "etc/kubernetes/kubelet/config.json.d/40-user.conf"
ENV = "etc/eks/kubelet/environment"
OWNED = ["clusterDNS", "providerID", "containerRuntimeEndpoint", "cgroupDriver", "maxPods", "kubeReserved"]


def user_data(kubelet_config, mode):
    spec = {"cluster": {"name": "my-cluster", "apiServerEndpoint": "https://example.com",
                        "certificateAuthority": harness.conformance_ca_base64(), "cidr": "10.100.0.0/16"},
            "kubelet": {"config": kubelet_config}}
    parts = [(PART, json.dumps({"apiVersion": "node.eks.aws/v1alpha1", "kind": "NodeConfig", "spec": spec}))]
    if mode:
        parts.append((TOML, '[settings.kubelet]\nconfigMode = "%s"\n' % mode))
    out = 'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="B"\n\n'
    for media_type, body in parts:
        out += "--B\nContent-Type: %s\n\n%s\n" % (media_type, body)
    return out + "--B--\n"


def render(cli, root, text):
    ud = root.parent / (root.name + ".user-data")
    ud.write_text(text)
    with harness.FakeImds(harness.CONFORMANCE_INSTANCE, user_data=ud) as imds:
        r = harness.run_cli(cli, "render", "--root=%s" % root, "--imds-endpoint=%s" % imds.endpoint)
    ud.unlink()
    return r


USER = {"authentication": {"webhook": {"enabled": True}}, "evictionHard": {"memory.available": "500Mi"},
        "registerWithTaints": [{"key": "dedicated", "value": "batch", "effect": "NoSchedule"}], "maxPods": 17}


def main():
    cli = sys.argv[1]
    problems = []
    root = harness.make_root()

    r = render(cli, root, user_data(USER, "replace"))
    if r.returncode != 0:
        print("replace: exit %d: %s" % (r.returncode, r.stderr[-800:]))
        return 1
    k = json.loads((root / CONFIG).read_text())
    for key, value in USER.items():
        if key != "authentication" and k.get(key) != value:
            problems.append("replace: %s is %r, not the user's %r" % (key, k.get(key), value))
    if k.get("authentication") != {"webhook": {"enabled": True},
                                   "x509": {"clientCAFile": "/etc/kubernetes/pki/ca.crt"}}:
        problems.append("replace: authentication %r" % k.get("authentication"))
    for key in OWNED:
        if key not in k:
            problems.append("replace: eks-node did not fill %s" % key)
    for key in ["tlsCipherSuites", "featureGates", "serverTLSBootstrap", "evictionSoft"]:
        if key in k:
            problems.append("replace: eks-node's %s is in the user's configuration" % key)
    if (root / DROPIN).exists() or "--config-dir" in (root / ENV).read_text():
        problems.append("replace: a drop-in or --config-dir")

    dump = harness.run_cli(cli, "config", "dump", "--origins", "--root=%s" % root)
    origins = json.loads(dump.stdout).get("kubeletConfig", {}) if dump.returncode == 0 else {}
    src = "user data (MIME part 1, %s)" % PART
    want = {"/maxPods": "%s: spec.kubelet.config.maxPods (settings.kubelet.configMode = replace)" % src,
            "/clusterDNS": "eks-node (settings.kubelet.configMode = replace: filled, absent from spec.kubelet.config)"}
    for key, text in want.items():
        if origins.get(key) != text:
            problems.append("dump --origins: %s is %r" % (key, origins.get(key)))
    if sorted(k for k in origins if k.count("/") == 1) != sorted("/" + key for key in k):
        problems.append("dump --origins: keys %r, file %r" % (sorted(origins), sorted(k)))
    plain = harness.run_cli(cli, "config", "dump", "--root=%s" % root)
    if plain.returncode != 0 or "kubeletConfig" in json.loads(plain.stdout):
        problems.append("a plain config dump shows kubeletConfig")

    # the same node back to merge: nodeadm's shape again
    r = render(cli, root, user_data(USER, None))
    if r.returncode != 0:
        problems.append("merge: exit %d: %s" % (r.returncode, r.stderr[-400:]))
    else:
        k = json.loads((root / CONFIG).read_text())
        if "tlsCipherSuites" not in k or "registerWithTaints" in k:
            problems.append("merge: config.json is not eks-node's: %r" % sorted(k))
        if not (root / DROPIN).exists() or json.loads((root / DROPIN).read_text()).get("maxPods") != 17:
            problems.append("merge: no drop-in with the user's maxPods")
        if "--config-dir" not in (root / ENV).read_text():
            problems.append("merge: no --config-dir")

    # refused: exit 6, one error line, the previous render untouched
    before = {rel: (root / rel).read_bytes() for rel in harness.tree(root) if (root / rel).is_file()}
    r = render(cli, root, user_data({"cgroupDriver": "cgroupfs"}, "replace"))
    errors = [line for line in r.stderr.splitlines() if "error" in line]
    if r.returncode != 6 or len(errors) != 1 or "MIME part 1" not in errors[0] \
            or "spec.kubelet.config.cgroupDriver" not in errors[0]:
        problems.append("cgroupfs under replace: exit %d, %r" % (r.returncode, r.stderr[-600:]))
    for rel in (CONFIG, DROPIN, ENV):
        if (root / rel).read_bytes() != before.get(rel):
            problems.append("cgroupfs under replace: %s changed" % rel)

    harness.shutil.rmtree(root, ignore_errors=True)
    for p in problems:
        print("FAIL:", p)
    print("kubelet-config-mode: %d problem(s)" % len(problems))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
