#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""tools/gen-steps.py: units/steps.tsv compiles, and each kind of mistake in a row fails
the build naming the file and line rather than leaving a step out.

Usage: gen_steps.py SOURCE_ROOT"""
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(sys.argv[1])
GEN = ROOT / "tools" / "gen-steps.py"
TABLE = (ROOT / "units" / "steps.tsv").read_text(encoding="utf-8")
ROW = "eks-node-imds.service\teks-node-imds\timds\tsteps\tboth\t1\ttarget\tyes\tyes"


def run(text):
    with tempfile.TemporaryDirectory() as d:
        src, out = pathlib.Path(d) / "steps.tsv", pathlib.Path(d) / "out.cpp"
        src.write_text(text, encoding="utf-8")
        r = subprocess.run([sys.executable, str(GEN), "--steps", str(src), "--output", str(out)],
                           stderr=subprocess.PIPE, text=True)
        return r.returncode, r.stderr, out.read_text() if out.exists() else ""


def main():
    failed = 0

    def check(what, ok, detail=""):
        nonlocal failed
        print(f"{'ok' if ok else 'not ok'} - {what}" + ("" if ok else f"\n    {detail}"))
        failed += not ok

    assert ROW in TABLE, "the imds row this test mutates"
    rc, err, out = run(TABLE)
    rows = [line for line in TABLE.splitlines() if line and not line.startswith("#")]
    check(f"the tree's table compiles, {len(rows)} rows", rc == 0 and out.count("Start::") == len(rows), err)
    cases = {
        "a missing column": ROW.rsplit("\t", 1)[0],
        "a kind that is not eks, ecs or both": ROW.replace("\tboth\t", "\tall\t"),
        "a program its main does not build": ROW.replace("\timds\tsteps", "\tconfig\tsteps"),
        "a gap in the chain": ROW.replace("\t1\t", "\t9\t"),
        "a unit named twice": ROW + "\n" + ROW,
    }
    for what, row in cases.items():
        rc, err, _ = run(TABLE.replace(ROW, row))
        check(f"refused: {what}", rc != 0 and "steps.tsv" in err, f"rc {rc}: {err.strip()}")
    print(f"checks: {len(cases) + 1 - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
