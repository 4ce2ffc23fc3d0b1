#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Renders every man page in man/ with scdoc and fails on any error or warning.

Usage: check_man_pages.py --scdoc=PATH MAN_DIR PAGE...

PAGE is each page man/meson.build builds, e.g. eks-node.toml.5 (from
eks-node.toml.5.scd). Checks, for every page:
- it is listed in man/meson.build, and every listed page exists;
- its name is NAME.SECTION and its title line is NAME(SECTION);
- scdoc renders it with exit status 0 and nothing on stderr;
- groff (when installed) formats the result with every warning enabled
  (-ww), for the default device and for the terminal (-Tutf8), and prints
  nothing.
Exits 77 (skipped) when scdoc is not installed."""

import argparse
import pathlib
import re
import shutil
import subprocess
import sys

SKIP = 77


def check_page(scdoc, groff, page):
    problems = []
    name, _, section = page.stem.rpartition(".")
    if not name or not re.fullmatch(r"[1-9][a-z]*", section):
        return ["file name is not NAME.SECTION.scd"]
    source = page.read_text(encoding="utf-8")
    title = source.splitlines()[0] if source else ""
    if not re.fullmatch(re.escape(f"{name}({section})") + r'( "[^"]*")*', title):
        problems.append(f"first line {title!r} is not {name}({section})")

    r = subprocess.run([scdoc], input=source.encode(), capture_output=True)
    if r.returncode != 0 or r.stderr:
        problems.append(f"scdoc exit {r.returncode}: {r.stderr.decode(errors='replace').strip()}")
        return problems
    if groff:
        # -k: UTF-8 input through preconv, as man(1) does; -t: tables; -z: no
        # output. Twice: for the default (typesetter) device, and for the
        # terminal (-Tutf8: 78 columns), where man(1) shows it and a table
        # too wide to break is a warning too.
        for device in ([], ["-Tutf8"]):
            g = subprocess.run([groff, "-k", "-t", "-man", "-ww", "-z"] + device, input=r.stdout,
                               capture_output=True)
            if g.returncode != 0 or g.stderr:
                problems.append(f"groff {' '.join(device) or '(default device)'} exit {g.returncode}: "
                                f"{g.stderr.decode(errors='replace').strip()}")
    return problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scdoc", default="")
    ap.add_argument("man_dir", type=pathlib.Path)
    ap.add_argument("pages", nargs="*")
    args = ap.parse_args()

    if not args.scdoc:
        print("scdoc not found; man pages not checked")
        return SKIP

    on_disk = {p.name[: -len(".scd")] for p in args.man_dir.glob("*.scd")}
    listed = set(args.pages)
    failed = 0
    for missing in sorted(on_disk - listed):
        print(f"FAIL {missing}.scd: not listed in man/meson.build")
        failed += 1
    for ghost in sorted(listed - on_disk):
        print(f"FAIL {ghost}: listed in man/meson.build, but {ghost}.scd does not exist")
        failed += 1

    groff = shutil.which("groff")
    for name in sorted(on_disk & listed):
        problems = check_page(args.scdoc, groff, args.man_dir / f"{name}.scd")
        if problems:
            failed += 1
            for p in problems:
                print(f"FAIL {name}.scd: {p}")
        else:
            print(f"ok   {name}.scd")
    if not groff:
        print("(groff not found: roff output not checked)")
    print(f"{len(on_disk | listed) - failed} ok, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
