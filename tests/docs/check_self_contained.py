#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Nothing in the repository points at files outside it.

The project's design notes, data sources and test methods are written here, in its own words;
a pointer to a directory beside the checkout (../shared/, a reference copy a developer happens
to have) is a dead link for everyone who clones the repository. Walks every file git tracks
(this one aside) and fails naming each line that points there.

Usage: check_self_contained.py SOURCE_ROOT"""
import re
import subprocess
import sys

# ../shared/... or shared/ followed by the names such copies had
OUTSIDE = re.compile(r"\.\./shared/|(?<![\w/.-])shared/(?:DESIGN|STYLE|HARNESS|DEVELOPERS)\.md|(?<![\w/.-])shared/(?:data|conformance)/")


def main(root):
    files = subprocess.run(["git", "-C", root, "ls-files", "-z"], check=True, capture_output=True).stdout
    names = [n for n in files.decode().split("\0") if n]
    bad = []
    for name in names:
        if name == "tests/docs/check_self_contained.py":
            continue
        try:
            with open(f"{root}/{name}", encoding="utf-8") as f:
                lines = f.readlines()
        except (UnicodeDecodeError, IsADirectoryError, FileNotFoundError):
            continue  # binary data, a submodule, a file deleted in the work tree
        for n, line in enumerate(lines, 1):
            if OUTSIDE.search(line):
                bad.append(f"{name}:{n}: points outside the repository: {line.strip()[:120]}")
    for b in bad:
        print(b)
    print(f"{len(names)} files, {len(bad)} pointing outside")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
