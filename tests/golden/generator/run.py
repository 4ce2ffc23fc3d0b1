#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Golden trees for eks-node-generator, run through the real binary.

Usage: run.py GENERATOR [UNITDIR]

Each case NN-name/ beside this file holds:
  root/         the node the generator sees (EKS_NODE_ROOT): proc/cmdline,
                etc/eks-node/node.toml.d/*.toml, run/eks-node/config.json
  args          optional: the output directories passed, by name: "normal"
                (the default), "normal early late", or nothing at all
  expected/     the normal output directory afterwards. Symlinks are stored as
                symlinks (git keeps them), so `ls -l` and `diff -ru
                --no-dereference` work on the tree by hand; the .wants/ links
                point into /usr/lib/systemd/system and dangle here. The unit
                directory the build was configured with (UNITDIR, from
                systemd's pkg-config; /lib/systemd/system on Debian 12) is
                read as /usr/lib/systemd/system, so one tree fits every distro.
  expected.log  what the generator logged (EKS_NODE_LOG_TARGET=console sends
                it to stderr), with the case's root path cut out
  status        optional: the expected exit status (default 0)
  names.json    optional: files of root/ to rename before the run, {"path in
                root/": "new file name"}, for names git and meson would
                rather not hold (a line break in a fragment's name)

Checks, as `diff -ru --no-dereference` would: the same entries, the same
bytes, the same symlink targets, nothing extra. Also: generated files are
0644 but a hook's command file (hook.json), which is 0600 (only root may read
the words systemd would show every user), the early and late directories stay
empty, nothing is printed on stdout. Then the cost of each case, in terms that do not depend on the
machine's load: under strace, the generator makes at most SYSCALL_BUDGET
system calls and starts no process (systemd runs every generator at each boot
and daemon-reload, before anything else can start). Times are the benchmark's
(tests/bench/generator.py: `run.py GENERATOR [UNITDIR] --bench`), never an
assertion here: CPU milliseconds measured 14 ms instead of 3 when other work
shared the two cores. A cross build's generator runs under its exe_wrapper (qemu-user, from
MESON_EXE_WRAPPER: tests/lib/harness.py): the trees are checked as natively, the cost is not,
as strace would count qemu's system calls and threads, not the generator's.

--bench: only the timing, RUNS runs per case (median wall and CPU, next to
the same spawn of /bin/true as the baseline measured in the same run).

EKS_NODE_REGENERATE=1 rewrites expected/ and expected.log from the output;
review the diff like code. args and status are hand-written specifications.
"""

import contextlib
import difflib
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "lib"))
import harness  # noqa: E402

RUNS = 100
# System calls of one generator run (strace -f -c), the dynamic loader's
# included: 198-628 per case on Debian 12 (2026-11), the most for instance
# store, which walks /sys/block. A loop over files or a retry would show here.
SYSCALL_BUDGET = 1000
# At boot the output directories are on a tmpfs (/run/systemd/generator); time
# there, not on a journaling disk where each mkdir costs more than the work.
TIMING_DIR = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
CANONICAL_UNITDIR = "/usr/lib/systemd/system"
UNITDIR = CANONICAL_UNITDIR


def canonical_target(target):
    if target.startswith(UNITDIR + "/"):
        return CANONICAL_UNITDIR + target[len(UNITDIR):]
    return target


def read_tree(top):
    """{relative path: ("file", bytes, mode) | ("symlink", target, None)}; directories are implied."""
    out = {}
    if not top.is_dir():
        return out
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames + filenames:
            p = pathlib.Path(dirpath) / name
            rel = p.relative_to(top).as_posix()
            if p.is_symlink():
                out[rel] = ("symlink", canonical_target(os.readlink(p)), None)
            elif p.is_file():
                out[rel] = ("file", p.read_bytes(), p.stat().st_mode & 0o7777)
    return out


def describe_difference(rel, want, got):
    if want is None:
        return ["only in the output: %s (%s)" % (rel, got[0])]
    if got is None:
        return ["only in expected/: %s (%s)" % (rel, want[0])]
    if want[0] != got[0]:
        return ["%s: expected a %s, got a %s" % (rel, want[0], got[0])]
    if want[0] == "symlink":
        return ["%s: symlink to %s, expected %s" % (rel, got[1], want[1])]
    return list(difflib.unified_diff(want[1].decode().splitlines(True), got[1].decode().splitlines(True),
                                     "expected/" + rel, "output/" + rel))


def write_tree(top, tree):
    shutil.rmtree(top, ignore_errors=True)
    for rel, (kind, data, _) in sorted(tree.items()):
        p = top / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if kind == "symlink":
            os.symlink(data, p)
        else:
            p.write_bytes(data)


@contextlib.contextmanager
def case_root(case):
    """The root the generator sees: root/ itself, or a copy with names.json's renames."""
    renames = case / "names.json"
    if not renames.exists():
        yield case / "root"
        return
    with tempfile.TemporaryDirectory(prefix="eksnode-generator-root-") as tmp:
        root = pathlib.Path(tmp) / "root"
        shutil.copytree(case / "root", root, symlinks=True)
        for rel, name in json.loads(renames.read_text()).items():
            (root / rel).rename((root / rel).with_name(name))
        yield root


def case_inputs(case, outdir, root):
    names = (case / "args").read_text().split() if (case / "args").exists() else ["normal"]
    status = int((case / "status").read_text()) if (case / "status").exists() else 0
    env = dict(os.environ, EKS_NODE_ROOT=str(root), EKS_NODE_LOG_TARGET="console")
    return [str(outdir / n) for n in names], status, env


def expected_mode(rel):
    """0600 for a hook's command and environment, 0644 for everything systemd reads."""
    return 0o600 if rel.startswith("eks-node-hook@") and rel.endswith(".service.d/hook.json") else 0o644


def check_case(generator, case, regenerate):
    problems = []
    with tempfile.TemporaryDirectory(prefix="eksnode-generator-") as tmp, case_root(case) as root:
        outdir = pathlib.Path(tmp)
        dirs, status, env = case_inputs(case, outdir, root)
        for d in dirs:
            os.mkdir(d)  # systemd hands the generator existing, empty directories
        r = subprocess.run(harness.wrapper() + [generator, *dirs], env=env, capture_output=True, timeout=10)
        log = r.stderr.decode().replace(str(root), "")
        actual = read_tree(outdir / "normal")

        if regenerate:
            write_tree(case / "expected", actual)
            (case / "expected.log").write_text(log)

        if r.returncode != status:
            problems.append("exit status %d, expected %d" % (r.returncode, status))
        if r.stdout:
            problems.append("printed on stdout: %r" % r.stdout.decode())
        want_log = (case / "expected.log").read_text() if (case / "expected.log").exists() else ""
        if log != want_log:
            problems += difflib.unified_diff(want_log.splitlines(True), log.splitlines(True),
                                             "expected.log", "stderr")
        expected = read_tree(case / "expected")
        for rel in sorted(set(expected) | set(actual)):
            want, got = expected.get(rel), actual.get(rel)
            if want is None or got is None or want[:2] != got[:2]:
                problems += describe_difference(rel, want, got)
            elif got[0] == "file" and got[2] != expected_mode(rel):
                problems.append("%s: mode %04o, expected %04o" % (rel, got[2], expected_mode(rel)))
        for extra in ("early", "late"):
            if (outdir / extra).is_dir() and any((outdir / extra).iterdir()):
                problems.append("wrote into the %s directory: %s" % (extra, sorted(os.listdir(outdir / extra))))
    return problems


def count_syscalls(generator, case):
    """(system calls, processes started) of one run under strace -f: the load-independent
    cost the test holds the generator to."""
    with tempfile.TemporaryDirectory(prefix="eksnode-generator-strace-") as tmp, case_root(case) as root:
        outdir = pathlib.Path(tmp) / "out"
        outdir.mkdir()
        dirs, _, env = case_inputs(case, outdir, root)
        for d in dirs:
            os.mkdir(d)
        summary = pathlib.Path(tmp) / "strace.txt"
        subprocess.run(["strace", "-f", "-qq", "-c", "-U", "name,calls", "-o", str(summary), generator, *dirs],
                       env=env, capture_output=True, timeout=60, check=False)
        calls = {}
        for line in summary.read_text().splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1].isdigit():
                calls[parts[0]] = int(parts[1])
        spawned = sum(calls.get(n, 0) for n in ("fork", "vfork", "clone", "clone3"))
        return sum(calls.values()), spawned, calls.get("execve", 0)


def time_case(generator, case):
    """Median wall and CPU milliseconds of RUNS runs, each into a fresh directory."""
    walls, cpus = [], []
    with tempfile.TemporaryDirectory(prefix="eksnode-generator-time-", dir=TIMING_DIR) as tmp, \
            case_root(case) as root:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            for i in range(RUNS):
                outdir = pathlib.Path(tmp) / str(i)
                outdir.mkdir()
                dirs, _, env = case_inputs(case, outdir, root)
                for d in dirs:
                    os.mkdir(d)
                start = time.perf_counter()
                pid = os.posix_spawn(generator, [generator, *dirs], env,
                                     file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1),
                                                   (os.POSIX_SPAWN_DUP2, devnull, 2)])
                _, _, usage = os.wait4(pid, 0)
                walls.append((time.perf_counter() - start) * 1000)
                cpus.append((usage.ru_utime + usage.ru_stime) * 1000)
        finally:
            os.close(devnull)
    return statistics.median(walls), statistics.median(cpus)


def main():
    global UNITDIR
    generator = os.path.abspath(sys.argv[1])
    if len(sys.argv) > 2:
        UNITDIR = sys.argv[2].rstrip("/")
    regenerate = bool(os.environ.get("EKS_NODE_REGENERATE"))
    cases = sorted(p for p in HERE.iterdir() if p.is_dir() and p.name[:2].isdigit())
    if "--bench" in sys.argv[3:]:
        return bench(generator, cases)
    failed = 0
    passed = 0
    for case in cases:
        problems = check_case(generator, case, regenerate)
        calls, spawned, execs = count_syscalls(generator, case) if not harness.wrapper() else (None, 0, 1)
        if calls is None:
            pass  # under qemu-user: the native build's run holds the cost (above)
        elif calls == 0:
            problems.append("strace counted no system call (is strace installed?)")
        elif calls > SYSCALL_BUDGET:
            problems.append("%d system calls, budget %d" % (calls, SYSCALL_BUDGET))
        if spawned or execs > 1:
            problems.append("started %d processes (%d execve): a generator runs alone" % (spawned, execs - 1))
        cost = "system calls not counted under %s" % harness.wrapper()[0] if calls is None else "%d system calls" % calls
        print("%s %s (%s)" % ("FAIL" if problems else "ok  ", case.name, cost))
        for line in problems:
            print("    " + line.rstrip("\n"))
        failed += bool(problems)
        passed += not problems
    print("\n%d of %d cases failed" % (failed, len(cases)) if failed else "\nall %d cases passed" % len(cases))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


def bench(generator, cases):
    """Median wall and CPU per case next to /bin/true spawned the same way (the
    baseline, measured in the same run: single figures here move by 30 %)."""
    print("%d runs per case, %s, median wall / CPU (user+sys), and as a ratio to /bin/true:"
          % (RUNS, os.path.basename(generator)))
    base_wall, base_cpu = time_case("/bin/true", cases[0])
    print("  %-40s %6.2f ms  %6.2f ms" % ("baseline /bin/true", base_wall, base_cpu))
    for case in cases:
        wall, cpu = time_case(generator, case)
        print("  %-40s %6.2f ms  %6.2f ms  %5.1fx  %5.1fx" % (case.name, wall, cpu, wall / base_wall,
                                                             cpu / max(base_cpu, 0.001)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
