#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Checks that the man pages give every file a step writes the mode it is written with.

Usage: check_file_modes.py MAN_DIR

A page names a file and its mode as "/etc/containerd/config.toml (0600" (eks-node(7)'s list
of files, a step's FILES section). Every such mention of a file of the output registry
(helpers/lib/core/outputs.hpp, read by tests/lib/harness.py) must say the registry's mode:
the list in eks-node(7) once kept modes a change had made stricter. A mention of another
file (the image's, nodeadm's) is not checked. One line per mention; the last line is
"N passed, M failed"; exits 1 on a failure, or when no mention was found at all."""

import pathlib
import re
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))
import harness  # noqa: E402

# "*/path*" or "/path", then " (0NNN"
MENTION = re.compile(r"\*?(/[\w./@-]+)\*?\s+\((0[0-7]{3})\b")


def main():
    man = pathlib.Path(sys.argv[1])
    modes = {"/" + o["path"]: o["mode"] for o in harness.outputs() if "*" not in o["path"]}
    passed = failed = 0
    for page in sorted(man.glob("*.scd")):
        for m in MENTION.finditer(page.read_text(encoding="utf-8")):
            path, mode = m.group(1), int(m.group(2), 8)
            if path not in modes:
                continue
            line = page.read_text(encoding="utf-8")[:m.start()].count("\n") + 1
            if mode == modes[path]:
                passed += 1
                print(f"ok   {page.name}:{line}: {path} {mode:04o}")
            else:
                failed += 1
                print(f"FAIL {page.name}:{line}: {path} says {mode:04o}, written {modes[path]:04o}")
    if passed + failed == 0:
        print("FAIL no file of the output registry mentioned with a mode")
        failed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
