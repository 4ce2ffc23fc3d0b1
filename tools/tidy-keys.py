#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Prints "KEY SOURCE" for each source named on stdin that clang-tidy must check.

tools/lint.sh's cache of clean clang-tidy runs: a source's KEY is a SHA-256 of
everything its check reads (clang-tidy's version, .clang-tidy, the compile
command, and the content of the source and of every header its compilation read,
from ninja's dependency records in build/). A source whose KEY names a file in
the cache directory (argv[1]) was checked clean with exactly these inputs and is
left out; lint.sh adds the file once a check passes. A finding is never cached,
so it shows on every run until fixed.

  ninja -C build -t deps | ... | tools/tidy-keys.py CACHE_DIR TIDY_VERSION_TEXT
"""
import hashlib
import json
import os
import subprocess
import sys


def main():
    cache, version = sys.argv[1], sys.argv[2]
    wanted = [line.strip() for line in sys.stdin if line.strip()]
    build = "build"
    commands = {}
    for entry in json.load(open(os.path.join(build, "compile_commands.json"))):
        commands[entry["output"]] = entry
    # ninja -t deps: "OBJECT: #deps N ..." then one indented line per file read,
    # the source first; paths relative to build/
    deps = subprocess.run(["ninja", "-C", build, "-t", "deps"], capture_output=True, text=True, check=True).stdout
    per_source = {}
    obj = None
    files = []

    def close():
        if obj is not None and files:
            src = os.path.normpath(os.path.join(build, files[0]))
            per_source.setdefault(src, (obj, list(files)))

    for line in deps.splitlines():
        if line and not line.startswith(" "):
            close()
            obj, files = line.split(":", 1)[0], []
        elif line.startswith("    "):
            files.append(line.strip())
    close()
    with open(".clang-tidy", "rb") as f:
        config = f.read()
    for src in wanted:
        if src not in per_source:
            print("%s %s" % ("-", src))  # nothing known: checked, never cached
            continue
        obj, read = per_source[src]
        h = hashlib.sha256()
        h.update(version.encode() + b"\0" + config + b"\0")
        h.update(commands.get(obj, {}).get("command", "").encode() + b"\0")
        for path in read:
            full = path if os.path.isabs(path) else os.path.join(build, path)
            h.update(path.encode() + b"\0")
            try:
                with open(full, "rb") as f:
                    h.update(f.read())
            except OSError:
                h.update(b"<missing>")
            h.update(b"\0")
        key = h.hexdigest()
        if not os.path.exists(os.path.join(cache, key)):
            print("%s %s" % (key, src))


if __name__ == "__main__":
    main()
