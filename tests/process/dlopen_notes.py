#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""ELF dlopen notes (core/dl.hpp, EKSNODE_DLOPEN_NOTE): every library the code
dlopen()s is declared in the binaries that may load it, in the format packaging
tools read (https://systemd.io/ELF_DLOPEN_METADATA/).

The expected sonames come from the source, not from a list here: every
dlopen(), dl::open() and dl::load() with its soname as a string literal under
helpers/ and generators/. So a new dlopen() without a note fails this test,
and so does a note whose soname no longer matches the call.

Checks:
  - source: each file that dlopen()s a soname declares it with
    EKSNODE_DLOPEN_NOTE (the note is linked in with the object that loads it);
    no note names a library nothing loads; no dlopen() of a computed name
    outside core/dl.hpp (this test could not check it).
  - each binary: its .note.dlopen section is a SHT_NOTE, allocated, 4-byte
    aligned; every note in it is owner "FDO", type 0x407c0c0a, a
    NUL-terminated JSON array of objects with a "soname" array and a valid
    "priority"; readelf sees the same notes (the section is walkable).
  - eks-node and eks-node-config (which link all of libeksnode's loaders)
    declare exactly the source's sonames; the other binaries a subset.

Usage: dlopen_notes.py BINARY...
"""

import json
import pathlib
import re
import struct
import subprocess
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))
import harness  # noqa: E402

NOTE_OWNER = b"FDO"
NOTE_TYPE = 0x407C0C0A
SHT_NOTE = 7
SHF_ALLOC = 0x2
PRIORITIES = {"required", "recommended", "suggested"}
# the binaries that link every loader in the tree (helpers/meson.build)
COMPLETE = {"eks-node", "eks-node-config"}

# Comments and string literals, in one pass so that "//" in a string is not a
# comment and a quote in a comment is not a string. Raw strings first: they may
# hold quotes.
TOKEN = re.compile(r'R"([^(\s]*)\(.*?\)\1"|"(?:\\.|[^"\\\n])*"|//[^\n]*|/\*.*?\*/', re.S)
LITERAL = r'"([^"\\]*)"'
LOADS = [re.compile(r"\bdl::load\s*<[^>]*>\s*\(\s*" + LITERAL),
         re.compile(r"(?:\bdl::open|(?<![\w:.>])dlopen)\s*\(\s*" + LITERAL)]
ANY_DLOPEN = re.compile(r"(?<![\w:.>])dlopen\s*\(\s*([^,)]*)")
NOTE = re.compile(r"\bEKSNODE_DLOPEN_NOTE\s*\(\s*" + r"\s*,\s*".join([LITERAL] * 3) + r"\s*,\s*" + LITERAL)


def code_of(text):
    """The source with comments blanked, string literals kept."""
    return TOKEN.sub(lambda m: m.group(0) if m.group(0)[0] in 'R"' else " ", text)


def scan_source(root):
    """{soname: [files that load it]}, {soname: [files that note it]}, problems."""
    loaded, noted, problems = {}, {}, []
    for tree in ("helpers", "generators"):
        for path in sorted((root / tree).rglob("*")):
            if path.suffix not in (".cpp", ".hpp", ".h"):
                continue
            rel = str(path.relative_to(root))
            code = code_of(path.read_text())
            for pattern in LOADS:
                for m in pattern.finditer(code):
                    loaded.setdefault(m.group(1), []).append(rel)
            for m in NOTE.finditer(code):
                noted.setdefault(m.group(4), []).append(rel)
            for m in ANY_DLOPEN.finditer(code):
                if not m.group(1).startswith('"') and rel != "helpers/lib/core/dl.hpp":
                    problems.append("%s: dlopen(%s): a computed soname; give it as a literal" % (rel, m.group(1)))
    return loaded, noted, problems


def sections(data):
    """[(name, type, flags, align, bytes)] of an ELF64 little-endian file."""
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ValueError("not an ELF64 little-endian file")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    headers = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    strtab = headers[shstrndx]
    names = data[strtab[4]:strtab[4] + strtab[5]]
    out = []
    for h in headers:
        name = names[h[0]:names.index(b"\0", h[0])].decode()
        out.append((name, h[1], h[2], h[8], data[h[4]:h[4] + h[5]]))
    return out


def notes(blob):
    """[(owner, type, descriptor)] of a note section; raises on a broken chain."""
    out, at = [], 0
    while at < len(blob):
        if len(blob) - at < 12:
            raise ValueError("%d stray bytes at offset %d" % (len(blob) - at, at))
        namesz, descsz, ntype = struct.unpack_from("<III", blob, at)
        name_at = at + 12
        desc_at = name_at + (namesz + 3) // 4 * 4
        end = desc_at + (descsz + 3) // 4 * 4
        if end > len(blob):
            raise ValueError("note at offset %d runs past the section" % at)
        out.append((blob[name_at:name_at + namesz], ntype, blob[desc_at:desc_at + descsz]))
        at = end
    return out


def check_binary(tally, binary, expected):
    name = binary.name
    found = [s for s in sections(binary.read_bytes()) if s[0] == ".note.dlopen"]
    if not found:
        # a binary that loads nothing needs no section; the complete ones load something
        tally.case("%s: no .note.dlopen section, so it loads nothing" % name,
                   ["no .note.dlopen section"] if (name in COMPLETE or not expected) else [])
        return
    _, stype, flags, align, blob = found[0]
    tally.case("%s: .note.dlopen is an allocated SHT_NOTE, 4-byte aligned" % name,
               [] if (stype == SHT_NOTE and flags & SHF_ALLOC and align == 4) else
               ["type %d flags %#x alignment %d" % (stype, flags, align)])
    problems, sonames = [], set()
    try:
        entries = notes(blob)
    except ValueError as e:
        entries, problems = [], [str(e)]
    for owner, ntype, desc in entries:
        what = desc[:60]
        if owner != NOTE_OWNER + b"\0" or ntype != NOTE_TYPE:
            problems.append("note %r type %#x in .note.dlopen" % (owner, ntype))
            continue
        if not desc.endswith(b"\0") or b"\0" in desc[:-1]:
            problems.append("%r: not one NUL-terminated string" % what)
            continue
        try:
            doc = json.loads(desc[:-1].decode("utf-8"))
        except ValueError as e:
            problems.append("%r: not JSON (%s)" % (what, e))
            continue
        if not isinstance(doc, list) or not all(isinstance(o, dict) for o in doc):
            problems.append("%r: not an array of objects" % what)
            continue
        for o in doc:
            so = o.get("soname")
            if not (isinstance(so, list) and so and all(isinstance(s, str) and s for s in so)):
                problems.append("%r: soname is not a non-empty array of names" % o)
            else:
                sonames.update(so)
            if o.get("priority") not in PRIORITIES:
                problems.append("%r: priority is not one of %s" % (o, sorted(PRIORITIES)))
            for key in ("feature", "description"):
                if not isinstance(o.get(key), str) or not o[key]:
                    problems.append("%r: no %s" % (o, key))
    tally.case("%s: every note is an FDO dlopen note with valid JSON" % name, problems)

    # An independent reader: readelf walks the same section from its header.
    r = subprocess.run(["readelf", "-W", "--notes", str(binary)], capture_output=True, text=True)
    # (binutils 2.40 prints notes of an unknown type without a newline between them)
    seen = len(re.findall(r"\bFDO\s+0x[0-9a-f]+\s+Unknown note type: \(0x407c0c0a\)", r.stdout))
    tally.case("%s: readelf reads the same notes" % name,
               [] if (seen == len(entries) and "Corrupt note" not in r.stderr) else
               ["readelf saw %d FDO dlopen notes of %d (%s)" % (seen, len(entries), r.stderr.strip())])

    if name in COMPLETE:
        tally.case("%s: declares exactly the dlopen()ed %s" % (name, sorted(expected)),
                   [] if sonames == expected else
                   ["declared %s; missing %s; declared but never loaded %s"
                    % (sorted(sonames), sorted(expected - sonames), sorted(sonames - expected))])
    else:
        tally.case("%s: declares only dlopen()ed libraries" % name,
                   [] if sonames <= expected else ["declared but never loaded: %s" % sorted(sonames - expected)])


def main():
    tally = harness.Tally()
    loaded, noted, problems = scan_source(harness.SOURCE_ROOT)
    tally.case("the source dlopen()s literal sonames only", problems)
    tally.check("the source dlopen()s something (the scan works)", bool(loaded), "no dlopen() found")
    for soname, files in sorted(loaded.items()):
        missing = sorted(set(files) - set(noted.get(soname, [])))
        tally.case("%s: noted where it is loaded" % soname,
                   ["%s loads it with no EKSNODE_DLOPEN_NOTE(..., \"%s\")" % (f, soname) for f in missing])
    for soname, files in sorted(noted.items()):
        tally.case("note for %s: something loads it" % soname,
                   [] if soname in loaded else ["%s notes it; nothing dlopen()s it" % ", ".join(files)])

    binaries = [pathlib.Path(b) for b in sys.argv[1:]]
    tally.check("the complete binaries are among those checked", COMPLETE <= {b.name for b in binaries},
                "want %s" % sorted(COMPLETE))
    for binary in binaries:
        check_binary(tally, binary, set(loaded))
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
