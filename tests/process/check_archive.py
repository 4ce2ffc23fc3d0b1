#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Tier 3: `eks-node check-archive` (the check eks-node-pause-image.service runs
before it imports /etc/eks/pause.tar) against archives made here, and, archive
by archive, against the image build's own checker
(packer/provisioners/files/check-oci-archive, Python's tarfile and hashlib: an
independent reading of the same format). Both must take the whole archive and
refuse every damaged one:

- the archive as the VM image's build makes it (tests/pause/oci-archive.py),
  and one with a second platform's manifest named in an index but not exported
  (what `ctr images export` leaves of a multi-platform image);
- cut short at every 4 KiB boundary and inside the last block, as the sid image's
  export was (issue 33: 200,192 bytes of 311,296);
- a blob's byte flipped (digest), a blob missing, a descriptor's size wrong,
  index.json or oci-layout missing, not a tar at all, an empty file.

Every refusal is one line on stderr that names the archive.

Usage: check_archive.py EKS_NODE_CLI"""

import importlib.util
import io
import json
import pathlib
import random
import subprocess
import sys
import tarfile
import tempfile

HERE = pathlib.Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[1] / "lib"))
import harness  # noqa: E402

ROOT = HERE.parents[2]
PACKER = ROOT / "tests" / "pause" / "oci-archive.py"
ORACLE = ROOT / "packer" / "provisioners" / "files" / "check-oci-archive"
TALLY = harness.Tally()
check = TALLY.check
_spec = importlib.util.spec_from_file_location("oci_archive", PACKER)
PACKER_MODULE = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(PACKER_MODULE)


def ours(cli, path):
    return subprocess.run([cli, "check-archive", "--arch=amd64", str(path)], capture_output=True, text=True,
                          timeout=60)


def oracle(path):
    return subprocess.run([sys.executable, str(ORACLE), str(path), "amd64"], capture_output=True, text=True,
                          timeout=60)


def members(data):
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        return {m.name: (m, t.extractfile(m).read() if m.isfile() else None) for m in t.getmembers()}


def repack(entries):
    """[(name, bytes or None)] as a ustar archive (directories for None), packed as the
    image build packs one (oci-archive.py's tar_bytes)."""
    return PACKER_MODULE.tar_bytes([(name, data, 0o755 if data is None else 0o644) for name, data in entries])


def both_refuse(cli, tmp, name, data, word):
    path = tmp / (name.replace(" ", "-") + ".tar")
    path.write_bytes(data)
    r, o = ours(cli, path), oracle(path)
    lines = r.stderr.strip().splitlines()
    check("%s: refused (exit 1), one line naming the archive and the problem" % name,
          r.returncode == 1 and len(lines) == 1 and str(path) in lines[0] and word in lines[0],
          "exit %d: %s" % (r.returncode, r.stderr))
    check("%s: the build's checker refuses it too" % name, o.returncode == 1, "exit %d: %s" % (o.returncode, o.stderr))


def main():
    cli = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix="eksnode-archive-") as d:
        tmp = pathlib.Path(d)
        binary = tmp / "pause"
        binary.write_bytes(b"\x7fELF" + random.Random(1).randbytes(60000))  # any bytes: nothing runs it
        whole = tmp / "pause.tar"
        subprocess.run([sys.executable, str(PACKER), "--binary", str(binary), "--arch", "amd64",
                        "--name", "localhost/kubernetes/pause:latest", "--out", str(whole)],
                       check=True, capture_output=True)
        data = whole.read_bytes()

        r, o = ours(cli, whole), oracle(whole)
        check("the archive the image build makes: whole, its image named",
              r.returncode == 0 and "localhost/kubernetes/pause:latest" in r.stdout and "3 blobs" in r.stdout,
              r.stdout + r.stderr)
        check("... and the build's checker agrees", o.returncode == 0 and "3 blobs" in o.stdout, o.stdout + o.stderr)

        # cut short anywhere before the end-of-archive block: every 4 KiB, at the end of the
        # last member (no end block at all), and inside the end block (Python's tarfile pads
        # what follows it with zeros to 10 KiB: a cut in that padding leaves a whole tar)
        with tarfile.open(fileobj=io.BytesIO(data)) as t:
            content = max(m.offset_data + (m.size + 511) // 512 * 512 for m in t.getmembers())
        cuts = list(range(0, content, 4096)) + [content - 1, content, content + 511]
        disagree = []
        for n in cuts:
            path = tmp / "cut.tar"
            path.write_bytes(data[:n])
            r, o = ours(cli, path), oracle(path)
            if r.returncode != 1 or o.returncode != 1 or str(path) not in r.stderr:
                disagree.append("%d bytes: ours exit %d (%s), the build's %d" %
                                (n, r.returncode, r.stderr.strip(), o.returncode))
        check("cut short at %d points (every 4 KiB, inside the last block): both refuse each" % len(cuts),
              not disagree, "\n".join(disagree))
        # the very cut of issue 33, in proportion: 200,192 of 311,296 bytes
        both_refuse(cli, tmp, "cut as the sid image's was", data[:len(data) * 200192 // 311296 // 512 * 512],
                    "cut short")

        m = members(data)
        blobs = sorted(n for n in m if n.startswith("blobs/sha256/") and m[n][1] is not None)
        order = [n for n in m]

        def with_changes(change):
            return repack([change(n, m[n][1]) for n in order if change(n, m[n][1]) is not None])

        layer = max(blobs, key=lambda n: len(m[n][1]))
        flipped = bytearray(m[layer][1])
        flipped[len(flipped) // 2] ^= 0x40
        both_refuse(cli, tmp, "a layer byte flipped",
                    with_changes(lambda n, b: (n, bytes(flipped) if n == layer else b)), "digest")
        both_refuse(cli, tmp, "a blob missing", with_changes(lambda n, b: None if n == layer else (n, b)), "missing")
        both_refuse(cli, tmp, "no index.json", with_changes(lambda n, b: None if n == "index.json" else (n, b)),
                    "index.json")
        both_refuse(cli, tmp, "no oci-layout", with_changes(lambda n, b: None if n == "oci-layout" else (n, b)),
                    "oci-layout")

        index = json.loads(m["index.json"][1])
        wrong = json.loads(json.dumps(index))
        wrong["manifests"][0]["size"] += 1
        both_refuse(cli, tmp, "a descriptor's size wrong",
                    with_changes(lambda n, b: (n, json.dumps(wrong).encode() if n == "index.json" else b)), "bytes")
        both_refuse(cli, tmp, "not a tar", b"this is not an image archive\n" * 40, "tar")
        both_refuse(cli, tmp, "an empty file", b"", "cut short")

        # a multi-platform index: arm64's manifest named, not exported; amd64's there
        multi = json.loads(json.dumps(index))
        multi["manifests"].append({"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                   "digest": "sha256:" + "ab" * 32, "size": 527,
                                   "platform": {"architecture": "arm64", "os": "linux"}})
        path = tmp / "multi.tar"
        path.write_bytes(with_changes(lambda n, b: (n, json.dumps(multi).encode() if n == "index.json" else b)))
        r, o = ours(cli, path), oracle(path)
        check("another platform's manifest named but not exported: whole (as ctr exports)",
              r.returncode == 0 and o.returncode == 0, r.stderr + o.stderr)
        r = subprocess.run([cli, "check-archive", "--arch=arm64", str(path)], capture_output=True, text=True,
                           timeout=60)
        check("... but for arm64, whose manifest is missing: refused", r.returncode == 1 and "missing" in r.stderr,
              r.stderr)

        r = subprocess.run([cli, "check-archive"], capture_output=True, text=True, timeout=60)
        check("no archive named: usage error (exit 2)", r.returncode == 2, r.stderr)
    return TALLY.finish()


if __name__ == "__main__":
    sys.exit(main())
