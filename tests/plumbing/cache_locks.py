#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The test command's shared download caches are taken under a lock.

Two tests of one run fetch into one cache at once (vm-cri-fields and cri-client-fields into
/var/cache/eks-node-cri-api, containerd-real and containerd-real-registries into
/var/cache/eks-node-containerd). On a new machine, with the caches empty, the second lost
apt's lock on the lists and failed at once. Each fetcher must wait for the cache's lock and
then take what the first one left, without asking the network again.

For each fetcher, on an empty cache of its own: this test holds the cache's lock, starts the
fetcher with an apt-get that only records that it was called, waits until the kernel shows the
fetcher blocked on that lock (/proc/locks), fills the cache as a first fetcher would, lets go,
and checks the fetcher found the filled cache and never called apt-get. A fetcher without the
lock sees the empty cache at once and calls apt-get (or exits before it ever blocks): a failure.

Usage: cache_locks.py SOURCE_ROOT"""
import fcntl
import os
import pathlib
import subprocess
import sys
import tempfile
import time

CRI_PACKAGE = "golang-github-kubernetes-cri-api-dev"


def blocked_on(lock_path):
    """True when some process waits for a lock on lock_path's inode (a '->' line of /proc/locks)."""
    st = os.stat(lock_path)
    inode = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    with open("/proc/locks", encoding="ascii") as f:
        return any("->" in line and inode in line.split() for line in f)


def run_case(name, argv, fill, expect_in_output, tmp):
    """One fetcher against an empty cache whose lock this test holds. Returns problems."""
    cache = pathlib.Path(tmp) / name / "cache"
    cache.mkdir(parents=True)
    bin_dir = pathlib.Path(tmp) / name / "bin"
    bin_dir.mkdir()
    called = pathlib.Path(tmp) / name / "apt-get-called"
    stub = bin_dir / "apt-get"
    stub.write_text(f"#!/bin/sh\necho \"$*\" >>{called}\nexit 1\n")
    stub.chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")
    lock_path = cache / ".lock"
    problems = []
    with open(lock_path, "w", encoding="ascii") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        child = subprocess.Popen([*argv, str(cache)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True)
        # A hang guard, not a budget: the fetcher blocks within moments when it takes the lock.
        guard = time.monotonic() + 60
        while not blocked_on(lock_path):
            if child.poll() is not None:
                problems.append(f"{name}: exited ({child.returncode}) without waiting for the cache's lock")
                break
            if time.monotonic() > guard:
                problems.append(f"{name}: never blocked on {lock_path} within 60 s")
                break
            time.sleep(0.01)
        fill(cache)
    try:
        out, err = child.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        child.kill()
        out, err = child.communicate()
        problems.append(f"{name}: still running 60 s after the lock was released")
    if child.returncode != 0:
        problems.append(f"{name}: exit {child.returncode}: {err.strip()[-400:]}")
    if called.exists():
        problems.append(f"{name}: called apt-get on a cache another fetcher had filled: {called.read_text().strip()}")
    if expect_in_output(cache) not in out:
        problems.append(f"{name}: printed {out!r}, not the filled cache's {expect_in_output(cache)}")
    return problems


def main():
    src = pathlib.Path(sys.argv[1])

    def fill_cri(cache):
        (cache / f"{CRI_PACKAGE}_1.0-1_all.deb").write_bytes(b"!<arch>\n")

    def fill_containerd(cache):
        for suite in ("sid", "trixie"):
            binary = cache / suite / "usr" / "bin" / "containerd"
            binary.parent.mkdir(parents=True)
            binary.write_text("#!/bin/sh\n")
            binary.chmod(0o755)

    cases = [
        ("cri-api", ["python3", str(src / "tests/plumbing/cri_fields.py"), "--fetch-only"], fill_cri,
         lambda cache: str(cache / f"{CRI_PACKAGE}_1.0-1_all.deb")),
        ("containerd", ["bash", str(src / "tests/containerd-real/fetch.sh")], fill_containerd,
         lambda cache: f"sid {cache}/sid/usr/bin/containerd"),
    ]
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, argv, fill, expect in cases:
            problems = run_case(name, argv, fill, expect, tmp)
            print(f"{'not ok' if problems else 'ok'} - {name}: waits for the cache's lock, then takes what the "
                  "first fetcher left, asking apt nothing")
            for p in problems:
                print("    " + p)
            passed, failed = passed + (not problems), failed + bool(problems)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
