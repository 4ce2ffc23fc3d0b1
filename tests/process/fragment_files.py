#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""node.toml.d fragments are read from regular files only (issue 58, item 5).
A fragment that is a symlink to /dev/zero was read without end (7.9 GB of
RSS in 20 s), a FIFO blocked `eks-node render` and the generator forever,
and a fragment had no size bound. Each is now refused before a byte of it is
read: `eks-node render` exits 6 with one error line naming the file and what
it is; the generator, which ignores static settings it cannot use, says so
and writes its units. A fragment of exactly the bound (1 MiB) is still read.

The CLI and the generator run under a 1 GiB address-space limit (not under ASan, whose shadow
memory needs more): without the fix, /dev/zero ends in an allocation failure
instead of 7.9 GB. A FIFO without the fix never returns; the 60 s of
harness.run_cli is a hang guard, not a budget.

Usage: fragment_files.py EKS_NODE_CLI EKS_NODE_GENERATOR"""

import os
import pathlib
import resource
import subprocess
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))
import harness  # noqa: E402

BOUND = 1 << 20  # limits::user_data_bytes


def limited(cli):
    if b"__asan_init" in pathlib.Path(cli).read_bytes():
        return None

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
    return limit


def render(cli, root):
    user_data = harness.CONFORMANCE_CASE / "nodeconfig.yaml"
    with harness.FakeImds(harness.CONFORMANCE_INSTANCE, user_data=user_data) as imds:
        try:
            return subprocess.run([cli, "render", "--root=%s" % root, "--imds-endpoint=%s" % imds.endpoint],
                                  capture_output=True, text=True, timeout=60, preexec_fn=limited(cli))
        except subprocess.TimeoutExpired:
            return None


def generate(generator, root):
    out = root / "gen"
    out.mkdir()
    env = dict(os.environ, EKS_NODE_ROOT=str(root), EKS_NODE_LOG_TARGET="console")
    try:
        return subprocess.run([generator, str(out), str(out), str(out)], capture_output=True, text=True, env=env,
                              timeout=60, preexec_fn=limited(generator))
    except subprocess.TimeoutExpired:
        return None


def main():
    cli, generator = sys.argv[1], sys.argv[2]
    tally = harness.Tally()
    elsewhere = harness.make_root()
    (elsewhere / "a-directory.toml").mkdir()
    cases = {
        "symlink to /dev/zero": (lambda p: p.symlink_to("/dev/zero"), "a character device behind a symlink"),
        "FIFO": (lambda p: os.mkfifo(p), "a FIFO"),
        "symlink to a directory": (lambda p: p.symlink_to(elsewhere / "a-directory.toml"),
                                   "a directory behind a symlink"),
        "one byte over the bound": (lambda p: harness.write(p, "#" * BOUND + "\n"), "larger than 1 MiB"),
    }
    for what, (make, says) in cases.items():
        root = harness.make_root(node_name_strategy="imds")
        fragment = root / "etc/eks-node/node.toml.d/60-bad.toml"
        fragment.parent.mkdir(parents=True, exist_ok=True)
        make(fragment)
        r = render(cli, root)
        tally.check("%s: render returns" % what, r is not None, "still running after 60 s")
        if r is None:
            continue
        errors = [line for line in r.stderr.splitlines() if "error:" in line]
        tally.check("%s: render exits 6" % what, r.returncode == 6, "exit %d: %r" % (r.returncode, r.stderr[-2000:]))
        tally.check("%s: one error line naming the file and what it is" % what,
                    len(errors) == 1 and str(fragment) in errors[0] and says in errors[0], r.stderr[-2000:])
        tally.check("%s: nothing rendered" % what, not (root / "run/eks-node/config.json").exists())
        g = generate(generator, root)
        tally.check("%s: the generator returns" % what, g is not None, "still running after 60 s")
        if g is not None:
            tally.check("%s: the generator ignores the static settings, naming the file" % what,
                        g.returncode == 0 and "ignoring the static settings" in g.stderr and str(fragment) in g.stderr,
                        "exit %d: %r" % (g.returncode, g.stderr[-2000:]))
        harness.shutil.rmtree(root, ignore_errors=True)

    # exactly the bound: read, and its setting taken
    root = harness.make_root(node_name_strategy="imds")
    text = '[settings]\nlogLevel = "debug"\n'
    harness.write(root / "etc/eks-node/node.toml.d/60-big.toml", text + "#" * (BOUND - len(text) - 1) + "\n")
    r = render(cli, root)
    tally.check("a fragment of exactly 1 MiB is read", r is not None and r.returncode == 0,
                r and "exit %d: %r" % (r.returncode, r.stderr[-2000:]))
    harness.shutil.rmtree(root, ignore_errors=True)
    harness.shutil.rmtree(elsewhere, ignore_errors=True)
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
