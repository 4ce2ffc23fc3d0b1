#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Says which sources tools/lint.sh gives clang-tidy, and writes the compile commands it reads.

  git diff --name-only BASE | tools/tidy-keys.py CACHE_DIR TIDY_VERSION_TEXT [all]

stdin: the files changed since the base (paths from the top of the tree). A source under
helpers/, generators/ or tests/ is selected when its compilation read a changed file (the
source itself, or a header it includes: ninja's dependency records in build/), or every one
with "all". Prints one line per selected source: "KEY SOURCE" when clang-tidy must check it,
"= SOURCE" when it was checked clean before with exactly these inputs (the cache: a file
named KEY in CACHE_DIR, which lint.sh adds once a check passes; a finding is never cached,
so it shows on every run until fixed). KEY is a SHA-256 of everything the check reads:
clang-tidy's version, .clang-tidy, the compile command, and the content of the source and of
every header its compilation read.

build/ is a unity build (meson merges four sources of a target into one object): its
compile_commands.json and dependency records name the merged object, not its members. So a
member gets its object's command with the member in the unity source's place, written to
build/lint/compile_commands.json (clang-tidy -p build/lint), and the headers its object read:
which of them read a changed header is then asked of the preprocessor, member by member
(own_reads), and a member's key holds only what it read itself.
"""
import hashlib
import json
import os
import re
import shlex
import subprocess
import sys

BUILD = "build"
LINTED = re.compile(r"^(helpers|generators|tests)/")
UNITY = re.compile(r"-unity\d+\.(c|cpp)$")
MEMBER = re.compile(r'^#include\s*[<"]([^>"]+)[>"]\s*$')


def norm(path):
    """A path from build/'s point of view as one from the top of the tree; one outside the
    tree (a system header) stays absolute, so keys do not depend on where the clone is."""
    if not os.path.isabs(path):
        return os.path.normpath(os.path.join(BUILD, path))
    rel = os.path.relpath(os.path.normpath(path))
    return path if rel.startswith("..") else rel


def members(unity):
    """The sources a unity source includes, from the top of the tree."""
    where = os.path.dirname(os.path.join(BUILD, unity))
    out = []
    with open(os.path.join(BUILD, unity), encoding="utf-8") as f:
        for line in f:
            m = MEMBER.match(line.strip())
            if m:
                inc = m.group(1)
                out.append(norm(inc if os.path.isabs(inc) else os.path.relpath(os.path.join(where, inc), BUILD)))
    return out


def per_source():
    """source -> (compile command entry, the files its compilation read, from the top)."""
    commands = {e["output"]: e for e in json.load(open(os.path.join(BUILD, "compile_commands.json")))}
    # ninja -t deps: "OBJECT: #deps N ..." then one indented line per file read, the source
    # first; paths relative to build/
    deps = subprocess.run(["ninja", "-C", BUILD, "-t", "deps"], capture_output=True, text=True, check=True).stdout
    objects = []
    for line in deps.splitlines():
        if line and not line.startswith(" "):
            objects.append((line.split(":", 1)[0], []))
        elif line.startswith("    ") and objects:
            objects[-1][1].append(line.strip())
    out = {}
    for obj, read in objects:
        entry = commands.get(obj)
        if not read or entry is None:
            continue
        if UNITY.search(entry["file"]):
            parts = members(entry["file"])
            headers = [p for p in map(norm, read[1:]) if p not in parts]
            for src in parts:
                # the member in the unity source's place; -o, -MD and -MF are left as they
                # are: clang-tidy writes nothing
                argv = [os.path.relpath(src, BUILD) if a == entry["file"] else a for a in shlex.split(entry["command"])]
                member = dict(entry, file=os.path.relpath(src, BUILD), command=shlex.join(argv))
                out.setdefault(src, (member, [src] + headers, True))
        else:
            src = norm(read[0])
            out.setdefault(src, (entry, [norm(p) for p in read], False))
    return out


def own_reads(entry):
    """What a unity member's compilation reads by itself: its command with -M in place of the
    object (the preprocessor alone, ~0.5 s against clang-tidy's 4-8 s), for the key and for
    the selection of a member its object's records picked for a header only a sibling reads."""
    argv, skip = [], False
    for a in shlex.split(entry["command"]):
        if skip:
            skip = False
        elif a in ("-o", "-MQ", "-MF", "-MT"):
            skip = True
        elif a not in ("-c", "-MD", "-MMD", entry["file"]) and a != "ccache":
            argv.append(a)
    rule = subprocess.run(argv + ["-M", entry["file"]], cwd=entry["directory"], capture_output=True, text=True,
                          check=True).stdout
    files = rule.replace("\\\n", " ").split(":", 1)[1].split()
    return [norm(p) for p in files]


def main():
    cache, version = sys.argv[1], sys.argv[2]
    everything = len(sys.argv) > 3 and sys.argv[3] == "all"
    changed = {os.path.normpath(line.strip()) for line in sys.stdin if line.strip()}
    sources = per_source()
    os.makedirs(os.path.join(BUILD, "lint"), exist_ok=True)
    db = os.path.join(BUILD, "lint", "compile_commands.json")
    with open(db + ".tmp", "w", encoding="utf-8") as f:
        json.dump([entry for entry, _, _ in sources.values()], f, indent=1)
    os.replace(db + ".tmp", db)
    with open(".clang-tidy", "rb") as f:
        config = f.read()
    for src in sorted(sources):
        entry, read, merged = sources[src]
        if not LINTED.match(src) or not (everything or changed.intersection(read)):
            continue
        if merged:
            read = own_reads(entry)
            if not (everything or changed.intersection(read)):
                continue
        h = hashlib.sha256()
        h.update(version.encode() + b"\0" + config + b"\0")
        h.update(entry["command"].encode() + b"\0")
        for path in read:
            h.update(path.encode() + b"\0")
            try:
                with open(path, "rb") as f:
                    h.update(f.read())
            except OSError:
                h.update(b"<missing>")
            h.update(b"\0")
        key = h.hexdigest()
        print("%s %s" % ("=" if os.path.exists(os.path.join(cache, key)) else key, src))


if __name__ == "__main__":
    main()
