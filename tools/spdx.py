#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Every source file we write says its license in its first lines (SPDX).

    tools/spdx.py          list the files without the line; exit 1 if any
    tools/spdx.py --fix    add it (after a #! line, if there is one)

Sources: C++, Python, shell and meson files tracked by git, outside test data
(golden trees, fuzz inputs, samples), which must stay byte for byte as they are.
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LICENSE = "Apache-2.0"
TAG = "SPDX-License-Identifier: " + LICENSE
COMMENT = {".cpp": "//", ".hpp": "//", ".py": "#", ".sh": "#", ".build": "#"}
# test data, read or compared as bytes, even where a name ends in .sh or .py
DATA = ("/expected/", "/input/", "/root/", "/node/", "/regressions/", "tests/data/", "tests/bench/scenarios/")


def sources():
    files = subprocess.run(["git", "-C", str(ROOT), "ls-files"], capture_output=True, text=True,
                           check=True).stdout.split("\n")
    for f in files:
        p = Path(f)
        suffix = ".build" if p.name == "meson.build" else p.suffix
        if f and suffix in COMMENT and not any(d in f for d in DATA):
            yield f, COMMENT[suffix]


def main():
    fix = sys.argv[1:] == ["--fix"]
    missing = []
    for f, comment in sources():
        path = ROOT / f
        text = path.read_text()
        if TAG in "\n".join(text.split("\n")[:3]):
            continue
        missing.append(f)
        if fix:
            line = f"{comment} {TAG}\n"
            if text.startswith("#!"):
                first, _, rest = text.partition("\n")
                text = first + "\n" + line + rest
            else:
                text = line + text
            path.write_text(text)
    for f in missing:
        print(("added: " if fix else "no SPDX line: ") + f)
    print(f"{len(missing)} file{'s' if len(missing) != 1 else ''} without an SPDX line"
          + (" (fixed)" if fix else ""))
    return 0 if fix or not missing else 1


if __name__ == "__main__":
    sys.exit(main())
