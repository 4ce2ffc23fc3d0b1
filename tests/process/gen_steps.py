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
ROW = "eks-node-imds.service\teks-node-imds\tstep\tsteps\tboth\t1\ttarget\tyes\tyes\tprepare"


def run(text):
    with tempfile.TemporaryDirectory() as d:
        src, out, hdr = (pathlib.Path(d) / n for n in ("steps.tsv", "out.cpp", "entries.hpp"))
        src.write_text(text, encoding="utf-8")
        r = subprocess.run([sys.executable, str(GEN), "--steps", str(src), "--output", str(out), "--entries", str(hdr)],
                           stderr=subprocess.PIPE, text=True)
        read = lambda f: f.read_text() if f.exists() else ""  # noqa: E731
        return r.returncode, r.stderr, read(out), read(hdr)


def main():
    failed = 0

    def check(what, ok, detail=""):
        nonlocal failed
        print(f"{'ok' if ok else 'not ok'} - {what}" + ("" if ok else f"\n    {detail}"))
        failed += not ok

    assert ROW in TABLE, "the imds row this test mutates"
    rc, err, out, hdr = run(TABLE)
    rows = [line.split("\t") for line in TABLE.splitlines() if line and not line.startswith("#")]
    check(f"the tree's table compiles, {len(rows)} rows", rc == 0 and out.count("Start::") == len(rows), err)
    # steps/entries.hpp: each steps row with entry step declares its spec and function, each
    # with entry main its own main(); the chain's functions in the chain column's order
    entries = [r for r in rows if r[2] != "-"]  # a row whose program is another row's declares nothing
    for unit, program, entry, library, _, chain, *_ in entries:
        name = program.removeprefix("eks-node-").replace("-", "_")
        want = {"step": [f"extern const StepSpec {name}_spec;", f"StepResult {name}(const StepOptions& opts);"],
                "main": [f"int {name}_main(int argc, char** argv);"]}.get(entry, []) if library == "steps" else []
        check(f"entries.hpp declares {unit}'s entry ({entry}, {library})",
              all(w in hdr for w in want) and (want or f" {name}_spec;" not in hdr), hdr)
    chain = [r[1].removeprefix("eks-node-") for r in sorted((r for r in rows if r[5] != "-"), key=lambda r: int(r[5]))]
    listed = [line.split('"')[1] for line in hdr.split("chain_functions[] = {")[-1].split("};")[0].splitlines()
              if '"' in line]
    check(f"entries.hpp lists the chain in order: {' '.join(chain)}", listed == chain, listed)
    cases = {
        "a missing column": ROW.rsplit("\t", 1)[0],
        "a kind that is not eks, ecs or both": ROW.replace("\tboth\t", "\tall\t"),
        "an entry that is not step, main or -": ROW.replace("\tstep\tsteps", "\tmain.cpp\tsteps"),
        "a step of the chain with its own main()": ROW.replace("\tstep\tsteps", "\tmain\tsteps"),
        "a gap in the chain": ROW.replace("\t1\t", "\t9\t"),
        "a unit named twice": ROW + "\n" + ROW,
        "an order that is not prepare, check, after, report or -": ROW.replace("\tprepare", "\tbefore"),
    }
    template = next(line for line in TABLE.splitlines() if line.startswith("eks-node-network@.service\t"))
    bad_template = template.rsplit("\t", 1)[0] + "\tprepare"
    for what, row in cases.items():
        rc, err, _, _ = run(TABLE.replace(ROW, row))
        check(f"refused: {what}", rc != 0 and "steps.tsv" in err, f"rc {rc}: {err.strip()}")
    rc, err, _, _ = run(TABLE.replace(template, bad_template))
    check("refused: a template with an order (nothing orders itself after all its instances)",
          rc != 0 and "template" in err, f"rc {rc}: {err.strip()}")
    # --page: eks-node(7)'s synopsis is every unit of the table, and a page without the mark is refused
    with tempfile.TemporaryDirectory() as d:
        page, out = pathlib.Path(d) / "in.scd", pathlib.Path(d) / "out.scd"
        page.write_text("# SYNOPSIS\n\n@STEP_UNITS@,\n*ecs-node.target*\n", encoding="utf-8")
        tsv = pathlib.Path(d) / "steps.tsv"
        tsv.write_text(TABLE, encoding="utf-8")
        cmd = [sys.executable, str(GEN), "--steps", str(tsv), "--page", str(page), str(out)]
        r = subprocess.run(cmd, stderr=subprocess.PIPE, text=True)
        listed = [line.strip("*,") for line in out.read_text().splitlines()[2:-1]] if out.exists() else []
        check("--page lists every unit of the table in the synopsis", r.returncode == 0 and
              listed == [row[0] for row in rows], listed)
        page.write_text("# SYNOPSIS\n", encoding="utf-8")
        r = subprocess.run(cmd, stderr=subprocess.PIPE, text=True)
        check("--page refuses a page without @STEP_UNITS@", r.returncode != 0 and "@STEP_UNITS@" in r.stderr, r.stderr)
    print(f"checks: {len(cases) + len(entries) + 5 - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
