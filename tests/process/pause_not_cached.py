#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""An image built with cache_pause_image = false gives its nodes a pause image they can
pull, and has it pulled before kubelet starts, with kubelet's image credentials:

- packer/provisioners/80-pause-image.sh with EKS_CACHE_PAUSE_IMAGE=false, run for real (as
  root, in a mount namespace of its own with overlays over /usr and /etc, so nothing reaches this
  machine), writes the image default /usr/lib/eks-node/node.toml.d/10-pause-image.toml
  naming no cached image (pauseSource regional-ecr), and caches nothing; a second run
  writes nothing;
- a node of that image (`eks-node render` against the fake IMDS, us-west-2): config.json's
  derived.sandboxImage, containerd's sandbox image and kubelet's credential provider config
  agree on 602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.10, an image
  ecr-credential-provider serves;
- eks-node-generator on that node wants eks-node-sandbox-image.service and makes kubelet
  wait for it; on a node of an image that cached it (localhost/kubernetes/pause:latest) it
  does neither.

Without the change, the image default kept the cached name (or none, and the cached name
by default): every pod sandbox would ask for localhost/kubernetes/pause:latest, which no
registry serves.

Usage: pause_not_cached.py EKS_NODE_CLI EKS_NODE_GENERATOR"""

import json
import os
import pathlib
import subprocess
import sys
import tempfile
import tomllib

HERE = pathlib.Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[1] / "lib"))
import harness  # noqa: E402

ROOT = HERE.parents[2]
STEP = ROOT / "packer/provisioners/80-pause-image.sh"
FRAGMENT = "usr/lib/eks-node/node.toml.d/10-pause-image.toml"
REGIONAL = "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.10"
USER_DATA = harness.nodeconfig_yaml()


def run_step(tmp):
    """80-pause-image.sh twice with EKS_CACHE_PAUSE_IMAGE=false over overlays of /usr and /etc:
    (exit, output of both runs, the fragment's text or None, files the step left in /etc/eks)."""
    for d in ["usr-upper", "usr-work", "etc-upper", "etc-work"]:
        (tmp / d).mkdir()
    script = r'''
set -e
exec 2>&1
mount -t overlay overlay -o "lowerdir=/usr,upperdir=$1/usr-upper,workdir=$1/usr-work" /usr
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$1/etc-upper,workdir=$1/etc-work" /etc
env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin EKS_CACHE_PAUSE_IMAGE=false bash "$4"
echo "--- second run"
env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin EKS_CACHE_PAUSE_IMAGE=false bash "$4"
echo "--- fragment"
cat /usr/lib/eks-node/node.toml.d/10-pause-image.toml
echo "--- /etc/eks"
ls -A /etc/eks 2>/dev/null || true
'''
    r = subprocess.run(["unshare", "--mount", "--propagation", "private", "--", "bash", "-c", script, "bash",
                        str(tmp), "", "", str(STEP)], capture_output=True, text=True, timeout=60)
    out = r.stdout + r.stderr
    fragment = r.stdout.split("--- fragment\n", 1)[1].split("--- /etc/eks\n", 1)[0] if "--- fragment\n" in r.stdout \
        else None
    etc = r.stdout.split("--- /etc/eks\n", 1)[1].split() if "--- /etc/eks\n" in r.stdout else []
    return r.returncode, out, fragment, etc


def render(cli, root, work):
    user_data = work / "user-data"
    user_data.write_text(USER_DATA)
    with harness.FakeImds(harness.CONFORMANCE_INSTANCE, user_data=user_data) as imds:
        return harness.run_cli(cli, "render", "--root=%s" % root, "--imds-endpoint=%s" % imds.endpoint)


def generate(generator, root, out):
    out.mkdir()
    env = dict(os.environ, EKS_NODE_ROOT=str(root), EKS_NODE_LOG_TARGET="console")
    r = subprocess.run([generator, str(out), str(out), str(out)], capture_output=True, text=True, env=env,
                       timeout=60)
    return r, {str(p.relative_to(out)) for p in out.rglob("*")}


def main():
    cli, generator = sys.argv[1], sys.argv[2]
    tally = harness.Tally()
    check = tally.check
    if os.geteuid() != 0:
        check("runs as root (a mount namespace and an overlay for the provisioner)", False, "not root")
        return tally.finish()
    with tempfile.TemporaryDirectory(prefix="eksnode-pause-") as d:
        work = pathlib.Path(d)
        code, out, fragment, etc = run_step(work)
        check("80-pause-image, EKS_CACHE_PAUSE_IMAGE=false: exit 0, says why it caches nothing",
              code == 0 and "EKS_CACHE_PAUSE_IMAGE is not true: nodes pull the regional pause image" in out, out)
        try:
            data = tomllib.loads(fragment or "")
        except tomllib.TOMLDecodeError:
            data = {}
        check("... writes the image default: pauseSource = regional-ecr, no sandboxImage",
              data.get("settings", {}).get("containerd") == {"pauseSource": "regional-ecr"}, fragment or out)
        second = out.split("--- second run", 1)[1].split("--- fragment", 1)[0] if "--- second run" in out else ""
        check("... a second run writes nothing (idempotent)", "wrote" not in second and "skipped" in second, second)
        check("... caches nothing: no /etc/eks/pause.tar", "pause.tar" not in etc, etc)

        # a node of that image
        root = harness.make_root(kubelet_version="1.31.0", containerd_version="1.7.27")
        harness.write(root / FRAGMENT, fragment or "")
        r = render(cli, root, work)
        check("a node of the image: rendered", r.returncode == 0, r.stderr)
        if r.returncode == 0:
            cfg = json.loads((root / "run/eks-node/config.json").read_text())
            check("derived.sandboxImage is the regional EKS pause image, from the image default",
                  cfg["derived"]["sandboxImage"] == REGIONAL
                  and "pauseSource regional-ecr" in cfg["origins"].get("/derived/sandboxImage", ""),
                  (cfg["derived"].get("sandboxImage"), cfg["origins"].get("/derived/sandboxImage")))
            ctd = tomllib.loads((root / "etc/containerd/config.toml").read_text())
            check("containerd's sandbox image is the same",
                  ctd["plugins"]["io.containerd.grpc.v1.cri"]["sandbox_image"] == REGIONAL, ctd["plugins"])
            providers = json.loads((root / "etc/eks/image-credential-provider/config.json").read_text())["providers"]
            check("kubelet's credential provider config has ecr-credential-provider serve ECR's hosts",
                  any(p["name"] == "ecr-credential-provider" and "*.dkr.ecr.*.amazonaws.com" in p["matchImages"]
                      for p in providers), providers)
            g, files = generate(generator, root, work / "gen")
            check("the generator: eks-node.target wants eks-node-sandbox-image.service, kubelet waits for it",
                  g.returncode == 0 and "eks-node.target.wants/eks-node-sandbox-image.service" in files
                  and "kubelet.service.d/50-eks-node-sandbox-image.conf" in files, (g.stderr, sorted(files)))
            if "kubelet.service.d/50-eks-node-sandbox-image.conf" in files:
                dropin = (work / "gen/kubelet.service.d/50-eks-node-sandbox-image.conf").read_text()
                check("... its drop-in: Wants= and After= the unit, the image named in the comment",
                      "Wants=eks-node-sandbox-image.service" in dropin
                      and "After=eks-node-sandbox-image.service" in dropin and REGIONAL in dropin, dropin)

        # a node of an image that cached it: no pull, no unit
        cached = harness.make_root(kubelet_version="1.31.0", containerd_version="1.7.27")
        harness.write(cached / FRAGMENT, '[settings.containerd]\nsandboxImage = "localhost/kubernetes/pause:latest"\n')
        r = render(cli, cached, work)
        check("a node of an image with the cached pause image: rendered", r.returncode == 0, r.stderr)
        g, files = generate(generator, cached, work / "gen-cached")
        check("... the generator wants no eks-node-sandbox-image.service",
              g.returncode == 0 and not any("sandbox-image" in f for f in files), sorted(files))
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
