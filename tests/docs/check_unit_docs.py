#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Checks that every Documentation= of our units names a man page we build.

Usage: check_unit_docs.py --units=DIR --dropins=DIR [--generated=DIR]... [--overview=FILE] PAGE...

PAGE is each page man/meson.build builds (eks-node-kubelet.8, eks-node.7, ...).
- Every units/*.service and units/*.target has a Documentation=, and it
  names the unit's own page: eks-node-STEP.service -> man:eks-node-STEP(8)
  (one name per step), a target -> man:eks-node(7) or a page of its own.
- Every man:eks-node...(N) link in those units, in the drop-ins under
  --dropins (*.conf) and in the generator's golden output trees under
  --generated (every file below an expected/ directory) is a page in PAGE.
  Links to other projects' pages (man:systemd.unit(5)) and URLs are
  reported, not checked.
- Every units/*.service and units/*.target is named in the overview page,
  eks-node(7) (an admin reads there which units make a node): --overview, the
  build's man/eks-node.7.scd, whose synopsis lists the units of units/steps.tsv.

One line per file; the last line is "N passed, M failed". Exits 1 on failure."""

import argparse
import pathlib
import re
import sys

OURS = re.compile(r"eks-node[\w.-]*")


def documentation_links(text):
    """The Documentation= list of [Unit], as systemd builds it (an empty
    assignment resets it). Continuation lines are not used in our units."""
    links = []
    section = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, eq, value = line.partition("=")
        if eq and section == "Unit" and key.strip() == "Documentation":
            value = value.strip()
            links = links + value.split() if value else []
    return links


def own_page(unit_name):
    stem, _, suffix = unit_name.rpartition(".")
    if suffix == "service":
        # a template's page is its name without the "@": eks-node-hook@.service -> eks-node-hook(8)
        return f"{stem.removesuffix('@')}.8"
    return None


def check_file(path, label, pages, required):
    """Returns (problems, notes)."""
    links = documentation_links(path.read_text(encoding="utf-8"))
    problems, notes = [], []
    if required and not links:
        problems.append("no Documentation=")
    named = set()
    for link in links:
        m = re.fullmatch(r"man:([\w.@-]+)\((\w+)\)", link)
        if not m:
            if not re.match(r"(https?|file|info):", link):
                problems.append(f"{link}: not a man:, https:, file: or info: URI")
            else:
                notes.append(link)
            continue
        page = f"{m.group(1)}.{m.group(2)}"
        if not OURS.fullmatch(m.group(1)):
            notes.append(link)
            continue
        named.add(page)
        if page not in pages:
            problems.append(f"{link}: no man/{page}.scd in man/meson.build")
    if required:
        want = own_page(path.name)
        if want and want not in named:
            problems.append(f"does not name its own page man:{want[:-2]}({want[-1]})")
        if path.suffix == ".target" and not named:
            problems.append("names none of our pages (eks-node(7) explains the targets)")
    return problems, notes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--units", type=pathlib.Path, required=True)
    ap.add_argument("--dropins", type=pathlib.Path, required=True)
    ap.add_argument("--generated", type=pathlib.Path, action="append", default=[])
    ap.add_argument("--overview")
    ap.add_argument("pages", nargs="+")
    args = ap.parse_args()
    pages = set(args.pages)
    root = args.units.parent

    files = [(p, True) for p in sorted(args.units.glob("*.service")) + sorted(args.units.glob("*.target"))]
    files += [(p, False) for p in sorted(args.dropins.rglob("*.conf"))]
    for g in args.generated:
        # .wants/ links point at units already listed (or at UNITDIR): skip them
        files += [(p, False) for p in sorted(g.rglob("*"))
                  if p.is_file() and not p.is_symlink() and "expected" in p.relative_to(g).parts]

    passed = failed = 0
    if not any(required for _, required in files):
        print(f"FAIL {args.units}: no unit files found")
        failed += 1
    for path, required in files:
        try:
            label = path.relative_to(root)
        except ValueError:
            label = path
        problems, notes = check_file(path, label, pages, required)
        if problems:
            failed += 1
            for p in problems:
                print(f"FAIL {label}: {p}")
        else:
            passed += 1
            links = documentation_links(path.read_text(encoding="utf-8"))
            extra = f" (not ours, not checked: {' '.join(notes)})" if notes else ""
            print(f"ok   {label}: {' '.join(links) or 'no Documentation='}{extra}")
    overview_page = pathlib.Path(args.overview) if args.overview else root / "man" / "eks-node.7.scd"
    overview = overview_page.read_text(encoding="utf-8")
    for path, required in files:
        if not required:
            continue
        if re.search(r"(?<![\w-])" + re.escape(path.name) + r"(?![\w-])", overview):
            passed += 1
        else:
            failed += 1
            print(f"FAIL {path.relative_to(root)}: not named in {overview_page}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
