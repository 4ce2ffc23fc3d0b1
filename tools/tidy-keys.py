#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Says which sources tools/lint.sh gives clang-tidy, and writes the compile commands it reads.

  git diff --name-only BASE | tools/tidy-keys.py CACHE_DIR TIDY_VERSION_TEXT [changed|includers|all]

stdin: the files changed since the base (paths from the top of the tree). Which sources under
helpers/, generators/ or tests/ are selected:
  changed (the default)  each changed source, and for each changed header one source whose
                         compilation reads it (ninja's dependency records in build/): the
                         header's own (foo.hpp: foo.cpp beside it), else the first by name.
                         clang-tidy reports a header's findings in whichever source includes it
                         (.clang-tidy's HeaderFilterRegex), so one suffices for the header's
                         code; what it leaves out is a finding a header change causes in an
                         unchanged includer's own code, which is rare and shows when that
                         source next changes (or with "includers"). A change to a header that
                         ~100 sources include (core/step.hpp) no longer costs 100 checks of
                         4-8 CPU-s each (555 s of a bare run's lint, 2026-11-28).
  includers              every source whose compilation read a changed file
  all                    every source Prints one line per selected source: "KEY SOURCE" when clang-tidy must check it,
"= SOURCE" when it was checked clean before with exactly these inputs (the cache: a file
named KEY in CACHE_DIR, which lint.sh adds once a check passes; a finding is never cached,
so it shows on every run until fixed). KEY is a SHA-256 of everything the check reads:
clang-tidy's version, .clang-tidy, the compile command, and the content of the source and of
every header its compilation read.

build/ is a unity build (meson merges 32 sources of a target into one object): its
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


def member_entry(entry, src):
    """A unity object's compile command for one of its members: the member in the unity
    source's place; -o, -MD and -MF are left as they are: clang-tidy writes nothing."""
    argv = [os.path.relpath(src, BUILD) if a == entry["file"] else a for a in shlex.split(entry["command"])]
    return dict(entry, file=os.path.relpath(src, BUILD), command=shlex.join(argv))


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
                out.setdefault(src, (member_entry(entry, src), [src] + headers, True))
        else:
            src = norm(read[0])
            out.setdefault(src, (entry, [norm(p) for p in read], False))
    # A unity object configured and never built has no records: the unit tests' objects in
    # the test command's build/ (tools/build.sh --without-unit-tests). Their members are still
    # checked; what each reads is asked of the preprocessor when needed (read None: read_by)
    for obj, entry in commands.items():
        if UNITY.search(entry["file"]) and os.path.exists(os.path.join(BUILD, entry["file"])):
            for src in members(entry["file"]):
                out.setdefault(src, (member_entry(entry, src), None, True))
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
    mode = sys.argv[3] if len(sys.argv) > 3 else "changed"
    if mode not in ("changed", "includers", "all"):
        sys.exit("tidy-keys.py: unknown selection %r (changed, includers or all)" % mode)
    everything = mode == "all"
    changed = {os.path.normpath(line.strip()) for line in sys.stdin if line.strip()}
    sources = per_source()
    os.makedirs(os.path.join(BUILD, "lint"), exist_ok=True)
    db = os.path.join(BUILD, "lint", "compile_commands.json")
    with open(db + ".tmp", "w", encoding="utf-8") as f:
        json.dump([entry for entry, _, _ in sources.values()], f, indent=1)
    os.replace(db + ".tmp", db)
    with open(".clang-tidy", "rb") as f:
        config = f.read()
    reads = {}  # a merged member's own reads, asked once

    def read_by(src):
        entry, read, merged = sources[src]
        if merged and src not in reads:
            reads[src] = own_reads(entry)
        return reads.get(src, read)

    picked = set()
    if mode == "changed":
        picked = {src for src in sources if src in changed and LINTED.match(src)}
        for header in sorted(h for h in changed if h not in sources):
            stem = os.path.splitext(header)[0]
            # the built sources first (their records say what they read), then the unbuilt ones
            readers = sorted((src for src in sources
                              if LINTED.match(src) and (sources[src][1] is None or header in sources[src][1])),
                             key=lambda s: (sources[s][1] is None, os.path.splitext(s)[0] != stem, s))
            for src in readers:  # the object's records may name a header only a sibling member reads
                if header in read_by(src):
                    picked.add(src)
                    break
    for src in sorted(sources):
        entry, read, merged = sources[src]
        if not LINTED.match(src):
            continue
        if mode == "changed":
            if src not in picked:
                continue
            read = read_by(src)
        elif read is not None and not (everything or changed.intersection(read)):
            continue
        elif merged:  # its object's records, or none (unbuilt): what it reads itself
            read = read_by(src)
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
