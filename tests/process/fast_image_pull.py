#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""FastImagePull through the whole chain (`eks-node render`), on node roots
that differ only in what the image installed:

- no SOCI snapshotter: exit 6, one error naming spec.featureGates.FastImagePull
  and its source, nothing rendered (the gate would point containerd and
  kubelet at a socket nothing serves);
- soci-snapshotter 0.4.1 on 4 CPUs: containerd's CRI snapshotter is "soci"
  (proxy plugin at its socket), and the snapshotter's config has its own
  content store, no parallel pull mode and no keychain (0.4.1 has no parallel
  pull, and its image service is CRI v1alpha2: kubelet keeps containerd's);
- 0.11.1: nodeadm's config (parallel pull over containerd's content store,
  the keychain) and kubelet's imageServiceEndpoint is the snapshotter;
- 2 CPUs: the gate is ignored, as nodeadm ignores it, and said so.

Usage: fast_image_pull.py EKS_NODE_CLI"""

import json
import os
import pathlib
import sys
import tomllib

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))
import harness  # noqa: E402

SOCKET = "/run/soci-snapshotter-grpc/soci-snapshotter-grpc.sock"
USER_DATA = harness.nodeconfig_yaml(extra="  featureGates:\n    FastImagePull: true\n")


def render(root, user_data):
    with harness.FakeImds(harness.CONFORMANCE_INSTANCE, user_data=user_data) as imds:
        return harness.run_cli(sys.argv[1], "render", "--root=%s" % root, "--imds-endpoint=%s" % imds.endpoint)


def with_soci(root, version):
    binary = root / "usr/bin/soci-snapshotter-grpc"
    harness.write(binary, "#!/bin/sh\n")
    os.chmod(binary, 0o755)
    harness.write(root / "etc/eks/soci-snapshotter-version.txt", version + "\n")


def main():
    tally = harness.Tally()
    work = pathlib.Path(harness.tempfile.mkdtemp(prefix="eksnode-fip-"))
    user_data = work / "user-data"
    user_data.write_text(USER_DATA)

    root = harness.make_root(containerd_version="2.1.4", cpus=4)
    r = render(root, user_data)
    errors = [line for line in r.stderr.splitlines() if "error:" in line]
    tally.check("no snapshotter: exit 6", r.returncode == 6, r.stderr)
    tally.check("no snapshotter: one error naming the gate, its source and the missing binary",
                len(errors) == 1 and "spec.featureGates.FastImagePull" in errors[0] and "user data" in errors[0]
                and "/usr/bin/soci-snapshotter-grpc is not installed" in errors[0], r.stderr)
    tally.check("no snapshotter: nothing rendered",
                not (root / "run/eks-node/config.json").exists() and not (root / "etc/containerd").exists(),
                sorted(harness.tree(root)))

    for version, parallel in (("0.4.1", False), ("0.11.1", True)):
        root = harness.make_root(containerd_version="2.1.4", cpus=4)
        with_soci(root, version)
        r = render(root, user_data)
        tally.check("soci %s: rendered" % version, r.returncode == 0, r.stderr)
        if r.returncode:
            continue
        ctd = tomllib.loads((root / "etc/containerd/config.toml").read_text())
        images = ctd["plugins"]["io.containerd.cri.v1.images"]
        tally.check("soci %s: the CRI's snapshotter is soci, with the annotations it needs" % version,
                    images.get("snapshotter") == "soci" and images.get("disable_snapshot_annotations") is False,
                    images)
        tally.check("soci %s: the proxy plugin is its socket" % version,
                    ctd.get("proxy_plugins", {}).get("soci", {}).get("address") == SOCKET, ctd.get("proxy_plugins"))
        kubelet = json.loads((root / "etc/kubernetes/kubelet/config.json").read_text())
        # before 0.10 its CRI image service is v1alpha2 only, which kubelet 1.26+ does not speak
        want = "unix://" + SOCKET if parallel else None
        tally.check("soci %s: kubelet's image service is %s" % (version, want or "containerd (no endpoint)"),
                    kubelet.get("imageServiceEndpoint") == want, kubelet.get("imageServiceEndpoint"))
        soci = tomllib.loads((root / "etc/soci-snapshotter-grpc/config.toml").read_text())
        want_store = "containerd" if parallel else "soci"
        tally.check("soci %s: content store %s, parallel pull mode %s" % (version, want_store, parallel),
                    soci["content_store"]["type"] == want_store and ("pull_modes" in soci) == parallel, soci)

    root = harness.make_root(containerd_version="2.1.4", cpus=2)
    with_soci(root, "0.4.1")
    r = render(root, user_data)
    cfg = json.loads((root / "run/eks-node/config.json").read_text()) if r.returncode == 0 else {}
    tally.check("2 CPUs: rendered, the gate ignored and why",
                r.returncode == 0 and cfg["derived"]["sociSnapshotter"] is False
                and "ignored on 2 CPUs" in cfg["origins"]["/derived/sociSnapshotter"], r.stderr)
    tally.check("2 CPUs: containerd and kubelet as without the gate",
                r.returncode == 0 and "soci" not in (root / "etc/containerd/config.toml").read_text()
                and "imageServiceEndpoint" not in (root / "etc/kubernetes/kubelet/config.json").read_text()
                and not (root / "etc/soci-snapshotter-grpc/config.toml").exists())
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
