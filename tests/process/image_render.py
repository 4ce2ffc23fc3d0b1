#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Tier 3: `eks-node render --image`, containerd's files from what the image
fixes, against the boot's own render (eks-node-imds, -config, -containerd).
containerd starts on the image's files at boot, in parallel with the steps,
and eks-node-containerd restarts it only when its render differs; so:

- with user data that changes nothing containerd reads, the boot's render
  keeps both files byte for byte (no write, so no restart);
- a NodeConfig drop-in in /etc/eks/nodeadm.d is part of the image: the same;
- user data with a containerd.config (or a base runtime spec) changes
  config.toml (or the spec), which is what restarts containerd;
- no cached pause image named (settings.containerd.sandboxImage): exit 6
  naming it, nothing written;
- --image refuses the options that would read an instance or user data.

Usage: image_render.py HELPER_DIR CLI"""

import os
import pathlib
import shutil
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))
import harness  # noqa: E402

TALLY = harness.Tally()
check = TALLY.check
FILES = ["etc/containerd/config.toml", "etc/containerd/base-runtime-spec.json"]
PAUSE = '[settings.containerd]\nsandboxImage = "localhost/kubernetes/pause:3.10"\n'


def nodeconfig(extra=""):
    return harness.nodeconfig_yaml("image-render", extra)


def files(root):
    return {f: ((root / f).read_bytes(), os.stat(root / f).st_mtime_ns) for f in FILES if (root / f).exists()}


def boot(helpers, root, user_data):
    """The boot's steps after the image render: what eks-node-containerd changed."""
    ud = root.parent / (root.name + ".user-data")
    ud.write_text(user_data)
    with harness.FakeImds(harness.CONFORMANCE_INSTANCE, user_data=ud) as imds:
        for step in ["imds", "config", "containerd"]:
            r = harness.run_cli(pathlib.Path(helpers) / ("eks-node-" + step), "--root=%s" % root,
                                "--imds-endpoint=%s" % imds.endpoint)
            if r.returncode != 0:
                return None, "%s exited %d: %s" % (step, r.returncode, r.stderr)
    ud.unlink()
    return r, ""


def case(helpers, cli, name, user_data, changed, node=None):
    root = harness.make_root()
    harness.write(root / "usr/lib/eks-node/node.toml.d/10-pause-image.toml", PAUSE)
    for rel, text in (node or {}).items():
        harness.write(root / rel, text)
    r = harness.run_cli(cli, "render", "--image", "--root=%s" % root)
    check("%s: render --image exits 0" % name, r.returncode == 0, r.stderr)
    check("%s: render --image names what it wrote" % name,
          all(("wrote %s" % (root / f)) in r.stdout for f in FILES), r.stdout)
    image = files(root)
    check("%s: render --image writes config.toml and the base runtime spec" % name, len(image) == 2, str(image))
    check("%s: the image's config.toml names the cached pause image" % name,
          b"localhost/kubernetes/pause:3.10" in image.get(FILES[0], (b"",))[0])
    r, why = boot(helpers, root, user_data)
    check("%s: the boot's steps exit 0" % name, r is not None, why)
    if r is None:
        return
    after = files(root)
    for f in FILES:
        same = after.get(f) == image.get(f)
        want = f in changed
        check("%s: boot %s %s" % (name, "rewrites" if want else "keeps", f), same != want,
              "before %r\nafter %r" % (image.get(f, (b"",))[0][-400:], after.get(f, (b"",))[0][-400:]))
    check("%s: eks-node-containerd says %s" % (name, "outputs changed" if changed else "nothing changed"),
          ("outputs changed" if changed else "nothing changed") in r.stderr, r.stderr)
    shutil.rmtree(root, ignore_errors=True)


def test_refusals(cli):
    root = harness.make_root()
    r = harness.run_cli(cli, "render", "--image", "--root=%s" % root)
    check("no sandboxImage: exit 6", r.returncode == 6, "%d %s" % (r.returncode, r.stderr))
    check("no sandboxImage: the error names settings.containerd.sandboxImage",
          "settings.containerd.sandboxImage" in r.stderr, r.stderr)
    check("no sandboxImage: nothing written", not (root / "etc/containerd").exists(),
          str(list(harness.tree(root))))
    for opt in ["--user-data=/dev/null", "--imds-endpoint=http://127.0.0.1:9", "--config=/dev/null"]:
        r = harness.run_cli(cli, "render", "--image", "--root=%s" % root, opt)
        check("render --image %s: a usage error (exit 2)" % opt.split("=")[0], r.returncode == 2,
              "%d %s" % (r.returncode, r.stderr))
    shutil.rmtree(root, ignore_errors=True)


def main():
    helpers, cli = sys.argv[1], pathlib.Path(sys.argv[2])
    case(helpers, cli, "plain NodeConfig", nodeconfig(), changed=[])
    case(helpers, cli, "nodeadm.d drop-in with a containerd.config",
         nodeconfig(), changed=[],
         node={"etc/eks/nodeadm.d/10-image.yaml":
               "apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  containerd:\n"
               "    config: |\n      [plugins.\"io.containerd.grpc.v1.cri\".containerd]\n"
               "      discard_unpacked_layers = false\n"})
    case(helpers, cli, "user data with a containerd.config",
         nodeconfig("  containerd:\n    config: |\n      [plugins.\"io.containerd.grpc.v1.cri\".containerd]\n"
                    "      discard_unpacked_layers = false\n"),
         changed=[FILES[0]])
    case(helpers, cli, "user data with a base runtime spec",
         nodeconfig("  containerd:\n    baseRuntimeSpec:\n      process:\n        rlimits:\n"
                    "        - type: RLIMIT_NOFILE\n          soft: 1024\n          hard: 1024\n"),
         changed=[FILES[1]])
    test_refusals(cli)
    return TALLY.finish()


if __name__ == "__main__":
    sys.exit(main())
