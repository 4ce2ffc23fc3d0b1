#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""eks-node(7)'s CONFINEMENT table against `eks-node confinement`: every
confined step that writes or executes anything has a row naming it, and the
row names every directory of its policy, writable and executable. The
listing comes from the steps' compiled-in policies, so a directory added to a
step's outputs without the page following fails here.

Usage: check_confinement_doc.py EKS_NODE_CLI MAN_7_SCD"""

import pathlib
import re
import subprocess
import sys


def listing(cli):
    """{step: [directories it writes or executes beneath]} from `eks-node confinement`."""
    out = subprocess.run([cli, "confinement"], capture_output=True, text=True, timeout=60, check=True).stdout
    steps = {}
    for line in out.splitlines():
        m = re.match(r"^(eks-node-[a-z-]+)\s+writes beneath (.*)$", line)
        if not m:
            continue
        dirs = []
        for part in re.split(r"; ", m.group(2)):
            part = part.removeprefix("executes beneath ")
            for d in part.split(", "):
                d = re.sub(r" \(.*\)$", "", d.strip())
                if d.startswith("/"):
                    dirs.append(d)
        steps[m.group(1)] = dirs
    return steps


def table(page):
    """{step: the text of its row} of the CONFINEMENT section's table."""
    text = pathlib.Path(page).read_text()
    section = text.split("# CONFINEMENT", 1)[1].split("\n# ", 1)[0]
    rows, current = {}, None
    for line in section.splitlines():
        if line.startswith("|  "):
            current = [s.strip() for s in line[3:].split(",")]
            for step in current:
                rows[step] = ""
        elif current and (line.startswith(":  ") or line.startswith("   ")) and line.strip():
            for step in current:
                rows[step] += " " + line.strip()
        elif not line.strip() or line.startswith("[["):
            current = None if not line.strip() else current
    return rows


def main():
    cli, page = sys.argv[1], sys.argv[2]
    steps, rows = listing(cli), table(page)
    problems = []
    if len(steps) < 10:
        problems.append("`eks-node confinement` listed %d steps, expected every confined one" % len(steps))
    for step, dirs in sorted(steps.items()):
        if not dirs:
            continue
        if step not in rows:
            problems.append("%s: writes or executes beneath %s, but has no row in CONFINEMENT" % (step, ", ".join(dirs)))
            continue
        named = re.findall(r"\*(/[^*]*)\*", rows[step])
        for d in dirs:
            if d not in named:
                problems.append("%s: %s is in its policy, not in its row (%s)" % (step, d, ", ".join(named)))
    for p in problems:
        print("FAIL " + p)
    print("%d steps compared, %d problems" % (len(steps), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
