#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Tier 3: eks-node-swap under --root (eks-node-swap(8)), with the real mkswap:

- derived.swap: the file is made, 0600, the size asked, mkswap's signature
  (SWAPSPACE2) and label eks-node; a second run writes nothing (same inode);
- an instance-store file's record (what the generator reads to start the step), and the
  file it names removed with the setting, wherever the mount path was;
- a file of the wrong size or without the signature is made again;
- instance-store location without a file system mounted there: exit 1 naming it;
- a file whose .swap unit name would be over 255 bytes: exit 6, nothing made or removed;
- the setting gone: the file is removed; a run with nothing to do writes nothing;
- no room (issue 58), the file system described by statvfs_shim: a size over the whole file
  system less its margin exits 6 naming settings.swap.size and the sizes, one over what is free
  exits 1 naming the sizes; either before a block is taken, no file or temporary file left.
(switching an active file off needs the host's /proc/swaps: the VM scenario 36-swap.)

Usage: swap.py HELPER_DIR STATVFS_SHIM"""

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


# The file system every run sees unless a case describes another (statvfs_shim): 10 GiB, nearly
# all free. The step keeps a share of the file system free (eks-node-swap(8)), so with the real
# answer the first cases failed on a host whose disk was 90 % full (run M2, 2026-12-02).
ROOMY = "10240:10000"
SHIM = None  # the shim's path, from the command line


def run(helper, root, derived_swap, spec=None, statvfs=ROOMY):
    cfg = {"schemaVersion": 1, "spec": spec or {}, "settings": {},
           "origins": {"/settings/swap/size": "/etc/eks-node/node.toml.d/60-swap.toml"}}
    if derived_swap:
        cfg["derived"] = {"swap": derived_swap}
    (root / "run/eks-node").mkdir(parents=True, exist_ok=True)
    (root / "run/eks-node/config.json").write_text(json.dumps(cfg))
    (root / "proc").mkdir(exist_ok=True)
    (root / "proc/swaps").write_text("Filename\tType\tSize\tUsed\tPriority\n")
    env = dict(os.environ)
    if statvfs:
        # ASan wants to come first; the shim only wraps fstatvfs
        env.update(LD_PRELOAD=str(SHIM), EKS_NODE_TEST_STATVFS=statvfs, ASAN_OPTIONS="verify_asan_link_order=0")
    return subprocess.run([str(helper), f"--root={root}"], capture_output=True, text=True, timeout=60, env=env)


def signature(path):
    with open(path, "rb") as f:
        f.seek(os.sysconf("SC_PAGE_SIZE") - 10)
        return f.read(10)


def main():
    helper = pathlib.Path(sys.argv[1]) / "eks-node-swap"
    global SHIM
    SHIM = pathlib.Path(sys.argv[2]).resolve()
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
        record = root / "var/lib/eks-node/swapfile.instance-store"
        check("... its record written first, so that the next boot starts the step to clean up",
              record.exists() and record.read_text() == "/mnt/k8s-disks/0/swapfile\n")

        # issue 58: a file whose .swap unit the generator cannot name (over 255 bytes) got no
        # unit and kubelet ran without swap: refused before anything is made or removed
        long_dir = "mnt/" + "\u30c7" * 40 + "/" + "\u30c7" * 40
        (root / long_dir / "0").mkdir(parents=True)
        r = run(helper, root, dict(store, file="/%s/0/swapfile" % long_dir))
        check("a file whose .swap unit cannot be named: exit 6 naming derived.swap.file, nothing touched",
              r.returncode == 6 and "derived.swap.file" in r.stderr and "over the 255" in r.stderr
              and not (root / long_dir / "0/swapfile").exists() and p.exists(), f"{r.returncode} {r.stderr}")

        # a file made under an earlier mount path, which only the record still names
        old = root / "mnt/earlier/0/swapfile"
        old.parent.mkdir(parents=True)
        old.write_bytes(b"x")
        record.write_text("/mnt/earlier/0/swapfile\n")
        r = run(helper, root, None)
        check("the setting gone: the file removed", r.returncode == 0 and not p.exists(), r.stderr)
        check("... and the instance-store file the record names, then the record",
              not old.exists() and not record.exists(), r.stderr)
        r = run(helper, root, None)
        check("... and nothing to do the next time", r.returncode == 0 and "nothing changed" in r.stderr, r.stderr)
    no_room(helper)
    return TALLY.finish()


def no_room(helper):
    with tempfile.TemporaryDirectory() as t:
        root = pathlib.Path(t)
        p = root / FILE
        # 256 MiB in all: 200 MiB and the 64 MiB kept free do not fit whatever is free
        r = run(helper, root, {"file": "/" + FILE, "sizeMiB": 200, "swapBehavior": "LimitedSwap"},
                statvfs="256:250")
        check("larger than the file system less its margin: exit 6", r.returncode == 6,
              f"{r.returncode} {r.stderr}")
        check("... naming the source, settings.swap.size and the sizes",
              "/etc/eks-node/node.toml.d/60-swap.toml: settings.swap.size: a swap file of 200 MiB does not fit" in
              r.stderr and "256 MiB" in r.stderr and "at most 192 MiB" in r.stderr, r.stderr)
        check("... no file, no temporary file", not p.parent.exists() or list(p.parent.iterdir()) == [],
              p.parent.exists() and list(p.parent.iterdir()))
        # 10 GiB, 100 MiB free: 8 MiB and 512 MiB (1/20) kept free do not fit now
        r = run(helper, root, {"file": "/" + FILE, "sizeMiB": 8, "swapBehavior": "LimitedSwap"},
                statvfs="10240:100")
        check("more than is free less the margin: exit 1", r.returncode == 1, f"{r.returncode} {r.stderr}")
        check("... naming the file and the sizes",
              f"{p}: a swap file of 8 MiB needs 520 MiB free there (512 MiB kept free), 100 MiB are" in r.stderr,
              r.stderr)
        check("... no file, no temporary file", not p.parent.exists() or list(p.parent.iterdir()) == [],
              p.parent.exists() and list(p.parent.iterdir()))
        r = run(helper, root, {"file": "/" + FILE, "sizeMiB": 8, "swapBehavior": "LimitedSwap"},
                statvfs="10240:600")
        check("room for it and the margin: made", r.returncode == 0 and p.stat().st_size == 8 << 20, r.stderr)


if __name__ == "__main__":
    sys.exit(main())
