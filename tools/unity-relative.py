#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Rewrites the unity sources meson wrote into BUILD_DIR to include their members by paths
relative to themselves, so that ccache hits across clones at other paths.

meson (1.0, Debian 12) writes each unity source as lines of `#include</abs/build/../src.cpp>`:
the clone's absolute path is in the file's content, which ccache hashes, so every fresh clone
(each CI run, each run here) missed the cache for the whole unity build, warm or not (run D,
2026-11-27: the sanitizer build compiled all its 87 objects again). With relative paths the
content is the same in every clone, and the compiler reports the members and what they include
by relative paths, which the cache's manifests then match (CCACHE_BASEDIR, tools/test.sh).

  tools/unity-relative.py BUILD_DIR      after `meson setup`; again after a reconfigure
"""
import os
import re
import sys

INCLUDE = re.compile(r"^#include<(/[^>]+)>$")


def rewrite(path):
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    out = []
    for line in lines:
        m = INCLUDE.match(line)
        if m:
            rel = os.path.relpath(os.path.normpath(m.group(1)), os.path.dirname(os.path.abspath(path)))
            line = '#include "%s"' % rel
        out.append(line)
    text = "\n".join(out) + "\n"
    with open(path, encoding="utf-8") as f:
        if f.read() == text:
            return False  # left alone: its mtime stays and ninja keeps the object
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)
    return True


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: unity-relative.py BUILD_DIR")
    n = 0
    for root, _dirs, files in os.walk(sys.argv[1]):
        if not root.endswith(".p"):
            continue
        for name in files:
            if re.search(r"-unity\d+\.(c|cpp)$", name):
                n += rewrite(os.path.join(root, name))
    print("unity-relative: %d unity sources rewritten" % n)


if __name__ == "__main__":
    main()
