#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Tier 3: eks-node-swap under --root (eks-node-swap(8)), with the real mkswap:

- derived.swap: the file is made, 0600, the size asked, mkswap's signature
  (SWAPSPACE2) and label eks-node; a second run writes nothing (same inode);
- a file of the wrong size or without the signature is made again;
- instance-store location without a file system mounted there: exit 1 naming it;
- a file whose .swap unit name would be over 255 bytes: exit 6, nothing made or removed;
- the setting gone: the file is removed; a run with nothing to do writes nothing.
(switching an active file off needs the host's /proc/swaps: the VM scenario 36-swap.)

Usage: swap.py HELPER_DIR"""

import json
import os
import pathlib
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))
import harness  # noqa: E402

TALLY = harness.Tally()
check = TALLY.check
FILE = "var/lib/eks-node/swapfile"


def run(helper, root, derived_swap, spec=None):
    cfg = {"schemaVersion": 1, "spec": spec or {}, "settings": {}}
    if derived_swap:
        cfg["derived"] = {"swap": derived_swap}
    (root / "run/eks-node").mkdir(parents=True, exist_ok=True)
    (root / "run/eks-node/config.json").write_text(json.dumps(cfg))
    (root / "proc").mkdir(exist_ok=True)
    (root / "proc/swaps").write_text("Filename\tType\tSize\tUsed\tPriority\n")
    return subprocess.run([str(helper), f"--root={root}"], capture_output=True, text=True, timeout=60)


def signature(path):
    with open(path, "rb") as f:
        f.seek(os.sysconf("SC_PAGE_SIZE") - 10)
        return f.read(10)


def main():
    helper = pathlib.Path(sys.argv[1]) / "eks-node-swap"
    with tempfile.TemporaryDirectory() as t:
        root = pathlib.Path(t)
        want = {"file": "/" + FILE, "sizeMiB": 2, "swapBehavior": "LimitedSwap"}
        r = run(helper, root, want)
        p = root / FILE
        st = p.stat() if p.exists() else None
        check("derived.swap: exit 0, the file made", r.returncode == 0 and st is not None, r.stderr)
        check("... 0600, 2 MiB", st and (st.st_mode & 0o7777, st.st_size) == (0o600, 2 << 20),
              st and (oct(st.st_mode), st.st_size))
        check("... mkswap's signature", st and signature(p) == b"SWAPSPACE2")
        label = subprocess.run(["blkid", "-p", "-o", "value", "-s", "LABEL", str(p)], capture_output=True, text=True)
        check("... label eks-node", label.stdout.strip() == "eks-node", label.stdout + label.stderr)
        check("... no temporary file left", [x.name for x in p.parent.iterdir()] == ["swapfile"],
              list(p.parent.iterdir()))

        r = run(helper, root, want)
        check("a second run writes nothing (same inode)", r.returncode == 0 and "nothing changed" in r.stderr
              and p.stat().st_ino == st.st_ino, r.stderr)

        r = run(helper, root, dict(want, sizeMiB=3))
        check("another size: made again", r.returncode == 0 and p.stat().st_size == 3 << 20, r.stderr)
        with open(p, "r+b") as f:
            f.seek(os.sysconf("SC_PAGE_SIZE") - 10)
            f.write(b"XXXXXXXXXX")
        r = run(helper, root, dict(want, sizeMiB=3))
        check("no signature: made again", r.returncode == 0 and signature(p) == b"SWAPSPACE2", r.stderr)

        store = {"file": "/mnt/k8s-disks/0/swapfile", "sizeMiB": 2, "swapBehavior": "NoSwap"}
        (root / "mnt/k8s-disks/0").mkdir(parents=True)
        r = run(helper, root, store, {"instance": {"localStorage": {"strategy": "RAID0"}}})
        check("instance-store, nothing mounted there: exit 1 naming the directory",
              r.returncode == 1 and "no instance-store file system is mounted" in r.stderr
              and not (root / "mnt/k8s-disks/0/swapfile").exists(), f"{r.returncode} {r.stderr}")

        # issue 58: a file whose .swap unit the generator cannot name (over 255 bytes) got no
        # unit and kubelet ran without swap: refused before anything is made or removed
        long_dir = "mnt/" + "\u30c7" * 40 + "/" + "\u30c7" * 40
        (root / long_dir / "0").mkdir(parents=True)
        r = run(helper, root, dict(store, file="/%s/0/swapfile" % long_dir))
        check("a file whose .swap unit cannot be named: exit 6 naming derived.swap.file, nothing touched",
              r.returncode == 6 and "derived.swap.file" in r.stderr and "over the 255" in r.stderr
              and not (root / long_dir / "0/swapfile").exists() and p.exists(), f"{r.returncode} {r.stderr}")

        r = run(helper, root, None)
        check("the setting gone: the file removed", r.returncode == 0 and not p.exists(), r.stderr)
        r = run(helper, root, None)
        check("... and nothing to do the next time", r.returncode == 0 and "nothing changed" in r.stderr, r.stderr)
    return TALLY.finish()


if __name__ == "__main__":
    sys.exit(main())
