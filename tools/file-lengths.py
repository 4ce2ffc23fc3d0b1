#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""No file of code over 600 lines in helpers/, generators/, tests/ or tools/ (issue 62: a file
a reader takes in whole; past that, it holds two things). Data and goldens aside: what is read
as input (tests/data/, the golden trees, the conformance and bad-input cases, the fuzz corpora
and regressions) and files that are not code (by suffix).

    tools/file-lengths.py          the files over the limit, longest first; exit 1 if any
    tools/file-lengths.py --top N  the N longest files of code, over or not
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 600
TREES = ("helpers/", "generators/", "tests/", "tools/")
# inputs and expected outputs, not code
DATA = ("tests/data/", "tests/golden/", "tests/conformance/", "tests/bad-input/", "tests/fuzz/corpus",
        "tests/fuzz/regressions/", "tests/fuzz/dict")
CODE_SUFFIXES = {".cpp", ".hpp", ".h", ".c", ".in", ".py", ".sh", ".build", ".scd"}


def is_code(rel):
    path = ROOT / rel
    if path.suffix in CODE_SUFFIXES or path.name == "meson.build":
        return True
    if path.suffix:
        return False
    try:
        with open(path, "rb") as f:
            return f.read(2) == b"#!"  # a script without a suffix (tests/vm/guest/runner)
    except OSError:
        return False


def lengths():
    files = subprocess.run(["git", "-C", str(ROOT), "ls-files", "--", *TREES], capture_output=True, text=True,
                           check=True).stdout.split("\n")
    out = []
    for rel in files:
        if not rel or rel.startswith(DATA) or not is_code(rel) or not (ROOT / rel).is_file():
            continue
        with open(ROOT / rel, "rb") as f:
            out.append((sum(1 for _ in f), rel))
    return sorted(out, reverse=True)


def main():
    all_files = lengths()
    if sys.argv[1:2] == ["--top"]:
        for n, rel in all_files[:int(sys.argv[2])]:
            print("%5d %s" % (n, rel))
        return 0
    over = [(n, rel) for n, rel in all_files if n > LIMIT]
    for n, rel in over:
        print("%s: %d lines, over %d: split it where it holds two things" % (rel, n, LIMIT))
    print("file-lengths: %d files of code, %d over %d lines" % (len(all_files), len(over), LIMIT))
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
