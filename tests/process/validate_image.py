#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Tier 3: `eks-node validate --image --root=DIR` on a fake image: eks-node installed
(meson install --destdir), the image's units as the provisioners install them
(packer/provisioners/files), a containerd unit, and every program the checks run, as stubs
that answer --version (the CNI plugins the CNI spec's VERSION command), the cached pause
image's archive as the image build makes it (tests/pause/oci-archive.py), the version
files, the SOCI snapshotter at 0.11.1.

- the whole image: exit 0, every line ok (or skipped, saying why);
- then each piece the checks found, planted missing once (the file of each ok line: a
  program, a unit file, the pause archive, a version file): exit 1, and a FAIL line
  naming it. Every check can fail;
- a program that is there but does not run (kubelet --version exits 1): FAIL naming it;
- a damaged pause archive: FAIL;
- SOCI 0.4.1 (before 0.10): unpigz is not needed, skipped, and its absence passes;
- a runtime handler of the image's configuration whose binary is missing: FAIL naming it;
- the pause image not cached (pauseSource regional-ecr, as cache_pause_image = false
  leaves the image): the regional ECR image, pullable with ecr-credential-provider's
  credentials, no archive needed; a sandboxImage naming no registry: FAIL;
- the cached images' list (/etc/eks/cached-images.tsv): each image ok when its manifest is in
  containerd's content store (and FAIL when not: planted missing above); the list missing, an
  entry without a digest, a list naming none: FAIL;
- --json: each check with its path.

Usage: validate_image.py BUILD_DIR EKS_NODE_CLI"""

import hashlib
import json
import pathlib
import random
import shutil
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[1] / "lib"))
import harness  # noqa: E402

ROOT = HERE.parents[2]
FILES = ROOT / "packer" / "provisioners" / "files"
TALLY = harness.Tally()
CACHED = ["localhost/kubernetes/pause:latest",
          "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/kube-proxy:v1.31.13-minimal-eksbuild.2",
          "602401143452.dkr.ecr-fips.us-west-2.amazonaws.com/amazon-k8s-cni:v1.20.4-eksbuild.1"]
check = TALLY.check

# program -> what it prints for its version (the stubs; exit 0)
STUBS = {
    "usr/bin/kubelet": "Kubernetes v1.31.0",
    "usr/bin/containerd": "containerd github.com/containerd/containerd v1.7.27",
    "usr/bin/ctr": "ctr github.com/containerd/containerd v1.7.27",
    "usr/sbin/runc": "runc version 1.1.14",
    "usr/bin/aws": "aws-cli/2.15.0 Python/3.11",
    "usr/bin/systemctl": "systemd 252",
    "usr/sbin/iptables": "iptables v1.8.9 (nf_tables)",
    "usr/bin/soci-snapshotter-grpc": "soci-snapshotter-grpc version v0.11.1 abcdef",
    "usr/bin/unpigz": "pigz 2.8",
    "usr/sbin/mdadm": "mdadm - v4.2 - 2021-12-30",
    "usr/sbin/mkfs.xfs": "mkfs.xfs version 6.1.0",
    "usr/sbin/xfs_admin": "xfs_admin version 6.1.0",
    "usr/sbin/mkfs.ext4": "mke2fs 1.47.0 (5-Feb-2023)",
    "usr/sbin/blkid": "blkid from util-linux 2.38.1",
    "usr/bin/cp": "cp (GNU coreutils) 9.1",
    "etc/eks/image-credential-provider/ecr-credential-provider": "",
}
CNI = ["loopback", "portmap", "bandwidth", "host-local"]


def stub(path, version, code=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\necho '%s'\nexit %d\n" % (version, code))
    path.chmod(0o755)


def unit(root, name, text, where="usr/lib/systemd/system"):
    harness.write(root / where / name, text)


def make_image(build_dir, tmp):
    root = tmp / "image"
    harness.meson_install(build_dir, root)
    for rel, version in STUBS.items():
        stub(root / rel, version)
    for p in CNI:
        # a CNI plugin answers CNI_COMMAND=VERSION with its versions, anything else is not ours
        path = root / "opt/cni/bin" / p
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text('#!/bin/sh\n[ "$CNI_COMMAND" = VERSION ] || exit 1\n'
                        'echo \'{"cniVersion":"1.0.0","supportedVersions":["1.0.0"]}\'\n')
        path.chmod(0o755)
    # the image's own units, as 24-units installs them
    for f in ["kubelet.service", "kubelet-forward-policy.service", "runtime.slice"]:
        harness.write(root / "etc/systemd/system" / f, (FILES / f).read_text())
    unit(root, "containerd.service", "[Unit]\nDescription=containerd\n[Service]\nExecStart=/usr/bin/containerd\n")
    unit(root, "soci-snapshotter.service", "[Service]\nExecStart=/usr/bin/soci-snapshotter-grpc\n")
    unit(root, "modprobe@.service", "[Service]\nExecStart=-/usr/sbin/modprobe -abq %i\n")
    stub(root / "usr/sbin/modprobe", "")
    harness.write(root / "etc/eks/kubelet-version.txt", "v1.31.0\n")
    harness.write(root / "etc/eks/containerd-version.txt", "1.7.27\n")
    harness.write(root / "etc/eks/soci-snapshotter-version.txt", "0.11.1\n")
    harness.write(root / "usr/lib/eks-node/node.toml.d/10-pause-image.toml",
                  '[settings.containerd]\nsandboxImage = "localhost/kubernetes/pause:latest"\n')
    binary = tmp / "pause"
    binary.write_bytes(b"\x7fELF" + random.Random(1).randbytes(20000))
    subprocess.run([sys.executable, str(ROOT / "tests/pause/oci-archive.py"), "--binary", str(binary),
                    "--arch", "amd64", "--name", "localhost/kubernetes/pause:latest",
                    "--out", str(root / "etc/eks/pause.tar")], check=True, capture_output=True)
    # the images the build cached (80-pause-image): their list, and the manifests in
    # containerd's content store
    lines = ["# REF<TAB>DIGEST"]
    for ref in CACHED:
        manifest = json.dumps({"schemaVersion": 2, "ref": ref}).encode()
        digest = hashlib.sha256(manifest).hexdigest()
        blob = root / "var/lib/containerd/io.containerd.content.v1.content/blobs/sha256" / digest
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(manifest)
        lines.append("%s\tsha256:%s" % (ref, digest))
    harness.write(root / "etc/eks/cached-images.tsv", "\n".join(lines) + "\n")
    # the machine facts eks-node reads under a root
    harness.write(root / "sys/devices/system/cpu/online", "0-3\n")
    harness.write(root / "proc/meminfo", "MemTotal:       16384000 kB\n")
    return root


def validate(cli, root):
    r = subprocess.run([cli, "validate", "--image", "--root=%s" % root, "--json"], capture_output=True, text=True,
                       timeout=120)
    try:
        checks = json.loads(r.stdout)
    except ValueError:
        checks = []
    return r, checks


def failed(checks):
    return [c for c in checks if c["result"] == "failed"]


def shown(checks):
    return "\n".join("%s %s: %s" % (c["result"], c["check"], c.get("detail", "")) for c in checks)[:3000]


def main():
    build_dir, cli = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory(prefix="eksnode-image-") as d:
        tmp = pathlib.Path(d)
        root = make_image(build_dir, tmp)

        r, checks = validate(cli, root)
        check("the whole image: exit 0, no check failed", r.returncode == 0 and checks and not failed(checks),
              "exit %d\n%s\n%s" % (r.returncode, shown(failed(checks) or checks), r.stderr[-500:]))
        names = " | ".join(c["check"] for c in checks)
        for want in ["kubelet", "containerd", "runc", "credential plugin", "ecr-credential-provider", "mdadm",
                     "mkfs.xfs", "mkfs.ext4", "unpigz", "pause.tar", "/opt/cni/bin/loopback", "unit kubelet.service",
                     "unit eks-node.target", "eks-node-sandbox-image.service"]:
            check("the whole image: a check names %s" % want, want in names, names[:2000])
        check("--json: every program and unit check carries its path",
              all(c.get("path") for c in checks if c["result"] == "ok"), shown(checks))

        # every piece the checks found, missing once: each must be able to fail
        planted = sorted({c["path"] for c in checks if c["result"] == "ok" and c.get("path", "").startswith("/")})
        check("at least 40 pieces to plant missing", len(planted) >= 40, "%d: %s" % (len(planted), planted))
        for p in planted:
            f = root / p.lstrip("/")
            away = tmp / "away"
            f.rename(away)
            try:
                r, got = validate(cli, root)
                base = p.rsplit("/", 1)[-1]
                # a template's instances are what is named: modprobe@.service -> modprobe@md_mod.service
                stem = base.split("@")[0] + "@" if "@." in base else base
                hit = [c for c in failed(got) if stem in c["check"] or c.get("path", "").endswith(base)]
                check("%s missing: exit 1, a FAIL line naming it" % p, r.returncode == 1 and hit,
                      "exit %d\n%s" % (r.returncode, shown(failed(got)) or r.stderr[-500:]))
            finally:
                away.rename(f)

        # there, but it does not run
        kubelet = root / "usr/bin/kubelet"
        stub(kubelet, "error while loading shared libraries: libfoo.so", code=127)
        r, got = validate(cli, root)
        hit = [c for c in failed(got) if "/usr/bin/kubelet" in c["check"] and "exited 127" in c.get("detail", "")]
        check("kubelet --version exits 127: FAIL naming kubelet and what it said", r.returncode == 1 and hit,
              shown(failed(got)))
        stub(kubelet, STUBS["usr/bin/kubelet"])

        archive = root / "etc/eks/pause.tar"
        whole = archive.read_bytes()
        archive.write_bytes(whole[:len(whole) // 2])
        r, got = validate(cli, root)
        check("a pause archive cut short: FAIL naming it", r.returncode == 1 and any(
            "pause.tar" in c["check"] for c in failed(got)), shown(failed(got)))
        archive.write_bytes(whole)

        # SOCI before 0.10: no parallel pull, no unpigz in its configuration
        soci_version = root / "etc/eks/soci-snapshotter-version.txt"
        soci_version.write_text("0.4.1\n")
        unpigz = root / "usr/bin/unpigz"
        unpigz.rename(tmp / "unpigz")
        r, got = validate(cli, root)
        skipped = [c for c in got if c["result"] == "skipped" and "decompressor" in c["check"]]
        check("SOCI 0.4.1 without unpigz: exit 0, the decompressor skipped saying why",
              r.returncode == 0 and skipped and "0.10" in skipped[0].get("detail", ""), shown(failed(got) or got))
        (tmp / "unpigz").rename(unpigz)
        soci_version.write_text("0.11.1\n")

        # a runtime handler of the image's configuration, its binary missing
        handlers = root / "usr/lib/eks-node/node.toml.d/20-runtime-handlers.toml"
        harness.write(handlers, '[settings.runtimes.crun]\nbinary = "/usr/bin/crun"\n')
        r, got = validate(cli, root)
        check("a runtime handler whose binary is missing: FAIL naming the handler and the binary",
              r.returncode == 1 and any("crun" in c["check"] and "/usr/bin/crun" in c["check"] for c in failed(got)),
              shown(failed(got)))
        stub(root / "usr/bin/crun", "crun version 1.14")
        r, got = validate(cli, root)
        check("... installed: exit 0, crun --version ran", r.returncode == 0 and any(
            "/usr/bin/crun" in c["check"] and "crun version" in c.get("detail", "") for c in got), shown(got))
        handlers.unlink()

        # the image built with cache_pause_image = false (80-pause-image's fragment)
        pause = root / "usr/lib/eks-node/node.toml.d/10-pause-image.toml"
        pause.write_text('[settings.containerd]\npauseSource = "regional-ecr"\n')
        archive.rename(tmp / "pause.tar")
        r, got = validate(cli, root)
        hit = [c for c in got if c["check"].startswith(
            "pause image 602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.10")]
        check("pauseSource regional-ecr, no archive: exit 0, the regional ECR image pullable with "
              "ecr-credential-provider's credentials",
              r.returncode == 0 and hit and hit[0]["result"] == "ok" and "ecr-credential-provider" in hit[0].get(
                  "detail", ""), shown(failed(got) or got))
        pause.write_text('[settings.containerd]\nsandboxImage = "pause:3.10"\n')
        r, got = validate(cli, root)
        check("a sandboxImage naming no registry: FAIL", r.returncode == 1 and any(
            "pause:3.10" in c["check"] and "no registry" in c.get("detail", "") for c in failed(got)),
            shown(failed(got)))
        pause.write_text('[settings.containerd]\nsandboxImage = "localhost/kubernetes/pause:latest"\n')
        (tmp / "pause.tar").rename(archive)

        # the cached images' list: each image ok (its manifest found), missing, or malformed
        for ref in CACHED:
            check("cached image %s: ok" % ref, any(c["check"] == "cached image " + ref and c["result"] == "ok"
                                                   for c in checks), shown(checks))
        listing = root / "etc/eks/cached-images.tsv"
        text = listing.read_text()
        listing.unlink()
        r, got = validate(cli, root)
        check("the cached images' list missing, the pause image cached: FAIL naming it", r.returncode == 1 and any(
            "cached images" in c["check"] and c.get("path") == "/etc/eks/cached-images.tsv" for c in failed(got)),
            shown(failed(got)))
        listing.write_text(text.replace("\tsha256:", "\tsha256:zz", 1))
        r, got = validate(cli, root)
        check("a cached image without a sha256 digest: FAIL naming the image", r.returncode == 1 and any(
            c["check"] == "cached image " + CACHED[0] for c in failed(got)), shown(failed(got)))
        listing.write_text("# none\n")
        r, got = validate(cli, root)
        check("a list naming no image: FAIL", r.returncode == 1 and any(
            c["check"] == "cached images" for c in failed(got)), shown(failed(got)))
        listing.write_text(text)

        # the plain output: one line per check, the failure named
        (root / "usr/sbin/mdadm").unlink()
        r = subprocess.run([cli, "validate", "--image", "--root=%s" % root], capture_output=True, text=True)
        lines = [l for l in r.stdout.splitlines() if l.startswith("FAIL")]
        check("text output: mdadm missing is one FAIL line naming it, exit 1",
              r.returncode == 1 and len(lines) == 1 and "mdadm" in lines[0] and "missing" in lines[0], r.stdout[-1500:])
        shutil.rmtree(root)
    sys.exit(TALLY.finish())


if __name__ == "__main__":
    main()
