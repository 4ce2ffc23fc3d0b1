#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Checks that ELF files can run on Amazon Linux 2023: each shared library they need
(DT_NEEDED) is one AL2023 has, each symbol version they need from it (.gnu.version_r) is
one AL2023's build of it defines, and each file is built for the expected architecture.
What AL2023 has is tests/data/al2023/abi.tsv (sonames, packages, newest versions, sources).

Meant for what a package ships: point it at the unpacked .rpm, .deb or tarball (files or
directories, searched recursively; files that are not ELF are skipped). A library that the
inputs themselves provide (their DT_SONAME) counts as present.

It reads the ELF header itself and asks binutils' readelf for the dynamic section, the
version needs and the dynamic symbols: readelf comes with the compiler this project already
needs, where pyelftools would be one more package on every build and test machine.

Usage: elf-check.py --arch x86_64|aarch64 [--abi ABI.TSV] [--list] PATH...
Exit status: 0 all pass, 1 a file fails (each problem a line naming file, library, version),
2 usage or an unreadable input."""

import argparse
import os
import pathlib
import re
import struct
import subprocess
import sys

DEFAULT_ABI = pathlib.Path(__file__).resolve().parents[1] / "tests/data/al2023/abi.tsv"
# e_machine values of the ELF specification for the two architectures AL2023 ships
MACHINES = {62: "x86_64", 183: "aarch64"}
FAMILY = re.compile(r"^(.*?)(\d+(?:\.\d+)*)$")


def read_abi(path, arch):
    """soname -> list of newest version names (None: no versions), for arch."""
    table = {}
    for n, line in enumerate(pathlib.Path(path).read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) != 6:
            sys.exit("%s:%d: %d columns, want 6" % (path, n, len(cols)))
        if cols[0] not in (arch, "*"):
            continue
        table[cols[1]] = None if cols[4] == "-" else cols[4].split(",")
    return table


def split_version(name):
    """("GLIBC_", (2, 34)) for GLIBC_2.34; (name, None) for a name without a number."""
    m = FAMILY.match(name)
    if not m:
        return name, None
    return m.group(1), tuple(int(x) for x in m.group(2).split("."))


def resolves(need, newest):
    """None if AL2023's build (newest: its newest names per family) defines need; else why not."""
    if newest is None:
        return "AL2023's build defines no symbol versions"
    family, num = split_version(need)
    for have in newest:
        hfamily, hnum = split_version(have)
        if num is None or hnum is None:
            if need == have:
                return None
            continue
        if hfamily == family:
            return None if num <= hnum else "newer than AL2023's %s" % have
    return "a version AL2023's build does not define (it has %s)" % ", ".join(newest)


def elf_machine(path):
    """The ELF file's architecture name; None if it is not ELF or is a relocatable object
    (a .o is never loaded: what it needs is decided when something links it)."""
    with open(path, "rb") as f:
        head = f.read(20)
    if len(head) < 20 or head[:4] != b"\x7fELF":
        return None
    # e_type and e_machine are the half-words at offsets 16 and 18, in the byte order
    # EI_DATA (byte 5) gives
    order = "<" if head[5] == 1 else ">"
    etype, machine = struct.unpack(order + "HH", head[16:20])
    if etype == 1:  # ET_REL
        return None
    return MACHINES.get(machine, "e_machine %d" % machine)


def readelf(args, path):
    out = subprocess.run(["readelf", "-W"] + args + [str(path)], capture_output=True, text=True,
                         env=dict(os.environ, LC_ALL="C"))
    if out.returncode != 0:
        raise RuntimeError("readelf %s %s: %s" % (" ".join(args), path, out.stderr.strip()))
    return out.stdout


def dynamic(path):
    """(needed sonames, own soname) from the dynamic section."""
    text = readelf(["-d"], path)
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", text)
    soname = re.findall(r"\(SONAME\)\s+Library soname: \[([^\]]+)\]", text)
    return needed, soname[0] if soname else None


def version_needs(path):
    """{library: {version name: [symbols that use it]}} from .gnu.version_r and .dynsym."""
    needs, lib = {}, None
    section = False
    for line in readelf(["-V"], path).splitlines():
        if line.startswith("Version needs section"):
            section = True
            continue
        if line.startswith("Version ") and "section" in line:
            section = False
        if not section:
            continue
        m = re.search(r"File: (\S+)", line)
        if m:
            lib = m.group(1)
            needs.setdefault(lib, {})
            continue
        m = re.search(r"Name: (\S+)", line)
        if m and lib:
            needs[lib].setdefault(m.group(1), [])
    # undefined dynamic symbols show "name@VERSION (n)": which calls need the version
    for line in readelf(["--dyn-syms"], path).splitlines():
        cols = line.split()
        if len(cols) >= 8 and cols[6] == "UND" and "@" in cols[7]:
            sym, ver = cols[7].split("@", 1)
            ver = ver.lstrip("@")
            for versions in needs.values():
                if ver in versions:
                    versions[ver].append(sym)
    return needs


def elf_files(paths):
    for p in paths:
        p = pathlib.Path(p)
        if p.is_dir():
            for q in sorted(p.rglob("*")):
                # a symlink names a file the walk reaches anyway (libfoo.so -> libfoo.so.1)
                if q.is_file() and not q.is_symlink():
                    yield q
        elif p.is_file():
            yield p
        else:
            raise FileNotFoundError(str(p))


def check(paths, arch, abi, listing=False):
    """Problem lines for every ELF file under paths; prints the listing when asked."""
    problems, files = [], []
    for f in elf_files(paths):
        machine = elf_machine(f)
        if machine is not None:
            files.append((f, machine))
    provided = set()
    info = {}
    for f, machine in files:
        needed, soname = dynamic(f)
        if soname:
            provided.add(soname)
        info[f] = (machine, needed, version_needs(f))
    for f, (machine, needed, needs) in info.items():
        if machine != arch:
            problems.append("%s: built for %s, want %s" % (f, machine, arch))
        if listing:
            print("%s: %s" % (f, machine))
            for lib in needed:
                vers = sorted(needs.get(lib, {}), key=lambda v: (split_version(v)[0], split_version(v)[1] or ()))
                print("  NEEDED %s%s" % (lib, (" " + " ".join(vers)) if vers else ""))
        for lib in needed:
            if lib in provided:
                continue
            if lib not in abi:
                problems.append("%s: %s: a library AL2023 does not have (not in abi.tsv for %s)" % (f, lib, arch))
                continue
            for ver, syms in sorted(needs.get(lib, {}).items()):
                why = resolves(ver, abi[lib])
                if why:
                    shown = ", ".join(sorted(set(syms))[:3]) + (", ..." if len(set(syms)) > 3 else "")
                    problems.append("%s: %s: %s: %s%s" % (f, lib, ver, why, " (%s)" % shown if shown else ""))
        # a version need on a library that is not DT_NEEDED (rare: a transitive link) still counts
        for lib in needs:
            if lib not in needed and lib not in provided and lib not in abi:
                problems.append("%s: %s: versions needed from a library AL2023 does not have" % (f, lib))
    return problems, len(files)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", required=True, choices=sorted(set(MACHINES.values())))
    ap.add_argument("--abi", default=str(DEFAULT_ABI))
    ap.add_argument("--list", action="store_true", help="print each file's needed libraries and versions")
    ap.add_argument("paths", nargs="+")
    args = ap.parse_args()
    abi = read_abi(args.abi, args.arch)
    try:
        problems, count = check(args.paths, args.arch, abi, args.list)
    except (OSError, RuntimeError) as e:
        print("elf-check: %s" % e, file=sys.stderr)
        return 2
    for p in problems:
        print(p)
    print("elf-check: %d ELF files, %d problems (AL2023, %s)" % (count, len(problems), args.arch),
          file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
