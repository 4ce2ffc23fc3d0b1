#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Runs the fuzz targets of a -Dfuzz=true build (README.md here).

    run.py smoke --build-dir DIR TARGET
        The CI smoke, a meson test of the suite `fuzz`: a fixed number of
        executions from the gathered seeds (fixed seed, so a run is repeatable),
        then every input of regressions/TARGET/. Ends with "N passed, N failed".

    run.py long --build-dir DIR [--seconds S | --runs N] [--jobs J] [--out DIR] [TARGET...]
        Long runs, J targets at a time (all targets by default). Keeps a
        corpus per target under OUT/corpus/ (seeded again from the tree each
        time), goes on after a finding (--seconds) and saves every finding
        under OUT/findings/TARGET/. Ends with a table: executions per second,
        coverage (libFuzzer's cov: edges and ft: features), findings new in
        this run.
"""

import argparse
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import corpus  # noqa: E402

# Per target: the smoke's executions, the largest input generated, and the
# dictionary (dict/NAME.dict, plus the schema's field names for the
# configuration front ends). With -seed=1 a smoke's mutations are the same in
# every run: it checks a change against its seeds, its regressions and a fixed
# set of mutations of them, and new inputs come from the long runs. So a smoke
# is kept to about 2-8 CPU-s on the 2-core CI machine: a third of the
# executions of 2026-11-30's smokes, which took 398 s of test time in all
# (run P2, docs/test-cost.md) where the whole sanitizer tier's other tests
# took 313 s; a bare run of the test command had no CPU to spare for them.
TARGETS = {
    "user-data": {"runs": 1000, "max_len": 65536, "dict": "user-data", "schema": True},
    "pipeline": {"runs": 1000, "max_len": 65536, "dict": "user-data", "schema": True},
    "nodeconfig": {"runs": 2500, "max_len": 16384, "dict": "yaml", "schema": True},
    "toml": {"runs": 5000, "max_len": 16384, "dict": "toml", "schema": True},
    "settings": {"runs": 6500, "max_len": 4096, "dict": "toml", "schema": True},
    "bootstrap-sh": {"runs": 500, "max_len": 16384, "dict": "shell", "schema": False},
    "max-pods-expr": {"runs": 16500, "max_len": 1024, "dict": "cel", "schema": False},
    "imds-http": {"runs": 16500, "max_len": 8192, "dict": "http", "schema": False},
    "imds-instance": {"runs": 10000, "max_len": 8192, "dict": "imds", "schema": False},
    "aws-api": {"runs": 6500, "max_len": 16384, "dict": "aws", "schema": False},
    "certificate": {"runs": 16500, "max_len": 16384, "dict": None, "schema": False},
    "journal-calls": {"runs": 16500, "max_len": 1024, "dict": "journal-calls", "schema": False},
    "cri-answer": {"runs": 33500, "max_len": 4096, "dict": "cri", "schema": False},
    "credential-provider": {"runs": 6500, "max_len": 8192, "dict": "cri", "schema": False},
    "image-archive": {"runs": 6500, "max_len": 16384, "dict": "image-archive", "schema": False},
    "unit-writer": {"runs": 6500, "max_len": 2048, "dict": "unit-file", "schema": False},
    "generator-dropins": {"runs": 1500, "max_len": 2048, "dict": "unit-file", "schema": False},
    "toml-writer": {"runs": 5000, "max_len": 4096, "dict": "toml", "schema": False},
    "env-yaml-writer": {"runs": 13500, "max_len": 1024, "dict": "unit-file", "schema": False},
    "get-token": {"runs": 13500, "max_len": 4096, "dict": "get-token", "schema": False},
    "unit-reader": {"runs": 13500, "max_len": 2048, "dict": "unit-file", "schema": False},
    "registries": {"runs": 3500, "max_len": 8192, "dict": "toml", "schema": True},
    "readahead": {"runs": 13500, "max_len": 8192, "dict": "readahead", "schema": False},
}

COMMON = ["-timeout=5", "-rss_limit_mb=2048", "-print_final_stats=1", "-print_funcs=0"]


def sanitizer_env():
    env = dict(os.environ)
    # UBSan only prints unless told to stop; a finding must fail the run.
    env.setdefault("UBSAN_OPTIONS", "halt_on_error=1:print_stacktrace=1")
    env.setdefault("ASAN_OPTIONS", "halt_on_error=1:print_stacktrace=1:detect_leaks=1")
    for symbolizer in ("/usr/bin/llvm-symbolizer-14", "/usr/bin/llvm-symbolizer"):
        if os.path.exists(symbolizer):
            env.setdefault("ASAN_SYMBOLIZER_PATH", symbolizer)
            env.setdefault("UBSAN_SYMBOLIZER_PATH", symbolizer)
            break
    return env


def schema_words():
    """Field names and enum values of input/schema.cpp, as dictionary entries."""
    text = (HERE.parents[1] / "helpers/lib/input/schema.cpp").read_text()
    return sorted(set(re.findall(r'"([A-Za-z][A-Za-z0-9_.-]{1,40})"', text)))


def write_dict(name, path):
    spec = TARGETS[name]
    lines = []
    if spec["dict"]:
        lines += (HERE / "dict" / (spec["dict"] + ".dict")).read_text().splitlines()
    if spec["schema"]:
        lines += ['"%s"' % w for w in schema_words()]
    if not lines:
        return None
    path.write_text("\n".join(lines) + "\n")
    return path


def executable(build_dir, name):
    exe = Path(build_dir) / "tests" / "fuzz" / ("fuzz-" + name)
    if not exe.exists():
        sys.exit("%s: not built (meson setup with -Dfuzz=true, then ninja)" % exe)
    return exe


def fuzzer_args(name, work, dict_path):
    args = ["-max_len=%d" % TARGETS[name]["max_len"], "-artifact_prefix=%s/" % work] + COMMON
    if dict_path:
        args.append("-dict=%s" % dict_path)
    return args


def stats(output):
    """(executions per second, cov, ft, executions) from libFuzzer's output."""
    def last(pattern):
        found = re.findall(pattern, output)
        return int(found[-1]) if found else 0
    return (last(r"stat::average_exec_per_sec:\s*(\d+)") or last(r"exec/s:? (\d+)"),
            last(r"cov: (\d+)"), last(r"ft: (\d+)"),
            last(r"stat::number_of_executed_units:\s*(\d+)") or last(r"#(\d+)"))


def report_failure(output, work, keep_dir):
    sys.stdout.write(output[-6000:])
    keep_dir.mkdir(parents=True, exist_ok=True)
    for a in Path(work).glob("*"):
        if a.is_file() and re.match(r"(crash|leak|timeout|oom|slow-unit)-", a.name):
            shutil.copy(a, keep_dir / a.name)
            print("finding saved: %s" % (keep_dir / a.name))


def known_findings(name):
    """(regex, why) of the defects pending/known.txt lists for a target: found
    by fuzzing, not fixed yet (their inputs wait in pending/TARGET/)."""
    out = []
    for line in (HERE / "pending" / "known.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            targets, regex, why = line.split("|", 2)
            if name in [t.strip() for t in targets.split(",")]:
                out.append((re.compile(regex.strip(), re.S), why.strip()))
    return out


REPORT_STARTS = ("runtime error:", "ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "ERROR: libFuzzer",
                 "terminate called", "fuzz: property broken")


def known(name, output):
    # Only the report counts: the lines before it name functions too.
    starts = [i for i in (output.find(s) for s in REPORT_STARTS) if i >= 0]
    report = output[min(starts):] if starts else output
    for regex, why in known_findings(name):
        if regex.search(report):
            return why
    return None


def smoke(args):
    name = args.target
    exe = executable(args.build_dir, name)
    env = sanitizer_env()
    passed = failed = skipped = 0
    keep = Path(args.build_dir) / "fuzz-findings" / name
    with tempfile.TemporaryDirectory(prefix="fuzz-%s." % name) as work:
        seeds = Path(work) / "corpus"
        n = corpus.gather(name, seeds)
        dict_path = write_dict(name, Path(work) / "dict")
        cmd = [str(exe), "-runs=%d" % TARGETS[name]["runs"], "-seed=1"] + fuzzer_args(name, work, dict_path) + [str(seeds)]
        r = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
        eps, cov, ft, execs = stats(r.stdout)
        if r.returncode == 0:
            passed += 1
            print("ok: %s smoke: %d seeds, %d executions, %d exec/s, cov %d ft %d" % (name, n, execs, eps, cov, ft))
        elif known(name, r.stdout):
            # A defect already in pending/known.txt: the smoke stops there, and
            # says so, until the fix lands and its input moves to regressions/.
            skipped += 1
            print("KNOWN: %s smoke stopped after %d executions on a pending defect: %s"
                  % (name, execs, known(name, r.stdout)))
            report_failure(r.stdout[-1500:], work, keep)
        else:
            failed += 1
            print("FAIL: %s smoke (exit %d): %s" % (name, r.returncode, " ".join(cmd)))
            report_failure(r.stdout, work, keep)

        regressions = sorted(p for p in (HERE / "regressions" / name).glob("*") if p.is_file() and p.suffix != ".md")
        for p in regressions:
            r = subprocess.run([str(exe)] + COMMON + ["-artifact_prefix=%s/" % work, str(p)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
            if r.returncode == 0:
                passed += 1
                print("ok: %s regression %s" % (name, p.name))
            else:
                failed += 1
                print("FAIL: %s regression %s (exit %d)" % (name, p.name, r.returncode))
                report_failure(r.stdout, work, keep)
    print("%d passed, %d failed" % (passed, failed) + (", %d skipped" % skipped if skipped else ""))
    return 1 if failed else 0


def long_one(name, args, out):
    exe = executable(args.build_dir, name)
    corpus_dir = out / "corpus" / name
    findings = out / "findings" / name
    findings.mkdir(parents=True, exist_ok=True)
    # a finding kept from an earlier run (fixed since, or not) is not this run's
    earlier = {p.name for p in findings.iterdir()}
    with tempfile.TemporaryDirectory(prefix="fuzz-%s." % name) as work:
        seeds = Path(work) / "seeds"
        corpus.gather(name, seeds)
        corpus_dir.mkdir(parents=True, exist_ok=True)
        dict_path = write_dict(name, Path(work) / "dict")
        cmd = [str(exe)] + fuzzer_args(name, str(findings), dict_path)
        if args.runs:
            cmd.append("-runs=%d" % args.runs)
        else:
            # Fork mode goes on after a crash, a leak or a timeout and saves each.
            cmd += ["-max_total_time=%d" % args.seconds, "-fork=1", "-ignore_crashes=1",
                    "-ignore_timeouts=1", "-ignore_ooms=1"]
        cmd += [str(corpus_dir), str(seeds)]
        log = out / ("%s.log" % name)
        start = time.monotonic()
        with open(log, "w") as f:
            r = subprocess.run(cmd, env=sanitizer_env(), stdout=f, stderr=subprocess.STDOUT)
        wall = time.monotonic() - start
        execs = stats(log.read_text(errors="replace"))[3]
        # Coverage as the smoke reports it: the corpus reached, replayed once
        # (fork mode's own counters are summed over its jobs).
        replay = subprocess.run([str(exe), "-runs=0", "-max_len=%d" % TARGETS[name]["max_len"], "-timeout=5",
                                 str(corpus_dir), str(seeds)], env=sanitizer_env(), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, errors="replace")
        m = re.search(r"INITED cov: (\d+) ft: (\d+)", replay.stdout)
        cov, ft = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
    eps = int(execs / wall) if wall else 0
    found = sorted(p.name for p in findings.iterdir() if p.name not in earlier)
    return name, r.returncode, eps, cov, ft, execs, found, log


def long_run(args):
    names = args.targets or list(TARGETS)
    for n in names:
        if n not in TARGETS:
            sys.exit("unknown target %s (one of %s)" % (n, ", ".join(TARGETS)))
    out = Path(args.out or Path(args.build_dir) / "fuzz-long").resolve()
    out.mkdir(parents=True, exist_ok=True)
    how = ("%d runs" % args.runs) if args.runs else ("%d s" % args.seconds)
    print("fuzzing %d targets, %s each, %d at a time; corpora and findings in %s" % (len(names), how, args.jobs, out))
    rows = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for row in pool.map(lambda n: long_one(n, args, out), names):
            name, rc, eps, cov, ft, execs, found, log = row
            print("%-14s exit %-3d %9d exec/s  cov %6d  ft %7d  %10d runs  %d findings  (%s)"
                  % (name, rc, eps, cov, ft, execs, len(found), log), flush=True)
            rows.append(row)
    total_findings = sum(len(r[6]) for r in rows)
    for name, *_, found, _log in rows:
        for f in found:
            print("finding: %s" % (out / "findings" / name / f))
    print("%d passed, %d failed" % (sum(1 for r in rows if not r[6]), sum(1 for r in rows if r[6])))
    return 1 if total_findings else 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("smoke")
    s.add_argument("--build-dir", required=True)
    s.add_argument("target", choices=sorted(TARGETS))
    lg = sub.add_parser("long")
    lg.add_argument("--build-dir", required=True)
    lg.add_argument("--seconds", type=int, default=600, help="per target (default 600)")
    lg.add_argument("--runs", type=int, default=0, help="executions per target instead of a time")
    lg.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="targets run at once (default: cores)")
    lg.add_argument("--out", help="corpora, findings and logs (default BUILD/fuzz-long)")
    lg.add_argument("targets", nargs="*")
    args = p.parse_args()
    sys.exit(smoke(args) if args.mode == "smoke" else long_run(args))


if __name__ == "__main__":
    main()
