#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Every unit and drop-in of the generator's golden trees through systemd's own
reader, so that what the generator writes is checked by systemd, not only
against the bytes we expect (issue 34: a file name with line breaks went into
drop-ins that the goldens then held as expected).

Usage: verify_generated.py BUILD_DIR [GOLDEN_DIR]

GOLDEN_DIR defaults to tests/golden/generator. The build is installed into a
temporary root as check_units.py does it (meson install --destdir, the host's
system units, stand-ins for the node image's kubelet, containerd, docker and
soci-snapshotter units). Then, for each case NN-name/expected/:

- its files go to the root's /etc/systemd/system (systemd-analyze verify
  reads no generator directory), an executable stand-in for each program an
  ExecStart= or ExecStartPre= names, and
  `systemd-analyze verify --root=ROOT --man=no` runs on every unit the case
  adds a drop-in to or generates: no output, exit 0 (an unknown setting,
  a bad value, a missing program fails);
- every file is read as systemd reads it (systemd.syntax(7)): no line
  continues on the next (a trailing backslash), no section but [Unit],
  [Service], [Mount], [Swap] and [Install], no assignment outside one. verify says
  nothing about either: systemd ignores a section named X-... silently, and a
  continuation only changes a value; both are how a value pasted raw into a
  drop-in takes the lines after it away (issue 34);
- every .wants/ link names a unit the build installs or the case generates;
- once for all cases: every man: page a Documentation= of theirs names, or of
  the units they add to, is a page the build installs. verify's --man=yes asks
  man(1) once per unit and case, which took this test from 5 s to 117 s
  (2026-11-28) for the same five pages; a made-up page is reported, so the
  check is seen to fail.

Prints "ok - ..." / "not ok - ..." per case and "N passed, M failed" last.
"""
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import unitlib  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
SECTIONS = {"Unit", "Service", "Mount", "Swap", "Install"}
# Units of the node image, not ours and not systemd's: stand-ins, as check_units.py's.
IMAGE_UNITS = ("soci-snapshotter.service",)
EXEC = re.compile(r'^Exec\w*=[-@:+!|]*"?([^" ]+)"?', re.M)
MAN_REF = re.compile(r"\bman:([^\s()]+)\((\w+)\)")

# the man pages the cases' units name, checked once after the last case
REFS = set()

# one TAP-like reporter with check_units.py (unitlib.py)
check = unitlib.check
results = unitlib.results


def read_as_systemd(text):
    """Problems of one file read as systemd 252's config_parse() reads it."""
    problems = []
    section = None
    lines = re.split(r"\r\n|\r|\n|\0", text)
    for number, line in enumerate(lines, 1):
        stripped = line.strip(" \t")
        if not stripped or stripped[0] in "#;":
            continue  # comments never continue (dropped before the backslash check)
        trailing = len(line) - len(line.rstrip("\\"))
        if trailing % 2:
            problems.append(f"line {number} continues on the next: {line!r}")
        if stripped.startswith("["):
            section = stripped[1:-1] if stripped.endswith("]") else None
            if section not in SECTIONS:
                problems.append(f"line {number}: section {stripped!r}")
        elif "=" not in stripped:
            problems.append(f"line {number}: not an assignment: {line!r}")
        elif section is None:
            problems.append(f"line {number}: assignment outside of a section: {line!r}")
    return problems


def read_by_systemd(rel):
    """Whether systemd reads the generated file: a unit, or a .conf drop-in (a hook's
    hook.json beside its drop-in is eks-node-hook's, JSON)."""
    return rel.name.endswith(".conf") if len(rel.parts) == 2 else "." in rel.name


def units_of(tree):
    """The units a case's tree adds a drop-in to or generates, and its .wants/ links."""
    units, links = set(), []
    for p in sorted(tree.rglob("*")):
        rel = p.relative_to(tree)
        if p.is_symlink():
            links.append((rel, os.readlink(p)))
        elif p.is_file() and len(rel.parts) == 2 and rel.parts[0].endswith(".d"):
            unit = rel.parts[0][:-2]
            # a prefix drop-in (eks-node-.service.d) applies to every eks-node-*.service
            units.add("eks-node-config.service" if unit == "eks-node-.service" else unit)
        elif p.is_file() and len(rel.parts) == 1:
            units.add(rel.name)
    return sorted(units), links


def stand_in_programs(root, tree):
    for p in tree.rglob("*"):
        if p.is_file() and not p.is_symlink():
            for program in EXEC.findall(p.read_text(errors="replace")):
                if program.startswith("/") and not (root / program.lstrip("/")).exists():
                    target = root / program.lstrip("/")
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_text("#!/bin/sh\n")
                    target.chmod(0o755)


def man_refs(text):
    """(page, section) of each man: URI on a Documentation= line of text."""
    return {ref for line in text.splitlines() if line.startswith("Documentation=") for ref in MAN_REF.findall(line)}


def missing_pages(man_dir, refs):
    """Each man:PAGE(SECTION) of refs that has no file in man_dir, as man(1) would find it."""
    return sorted(f"man:{page}({sec})" for page, sec in refs
                  if not any((man_dir / f"man{sec[0]}").glob(f"{glob_escape(page)}.{sec}*")))


def glob_escape(name):
    return re.sub(r"([*?\[])", r"[\1]", name)


def check_case(root, unit_dir, case):
    tree = case / "expected"
    if not tree.is_dir():
        return
    etc = root / "etc/systemd/system"
    shutil.rmtree(etc)
    etc.mkdir(parents=True)
    unitlib.stage_stubs(root)
    for name in IMAGE_UNITS:
        (etc / name).write_text("[Unit]\nDescription=stand-in for the node image's unit\n"
                                "[Service]\nExecStart=/usr/bin/eks-node --version\n")
    shutil.copytree(tree, etc, symlinks=True, dirs_exist_ok=True)
    stand_in_programs(root, tree)

    syntax = []
    for p in sorted(tree.rglob("*")):
        if p.is_file() and not p.is_symlink() and read_by_systemd(p.relative_to(tree)):
            syntax += [f"{p.relative_to(tree)}: {x}" for x in read_as_systemd(p.read_text(errors="replace"))]
    check(not syntax, f"{case.name}: every file reads as written", "\n".join(syntax))

    units, links = units_of(tree)
    for p in tree.rglob("*"):
        if p.is_file() and not p.is_symlink():
            REFS.update(man_refs(p.read_text(errors="replace")))
    for unit in units:
        if (unit_dir / unit).is_file():
            REFS.update(man_refs((unit_dir / unit).read_text(errors="replace")))
    dangling = [f"{rel} -> {target}" for rel, target in links
                if not (unit_dir / pathlib.PurePath(target).name).exists() and not (tree / rel).resolve().exists()
                and not (etc / pathlib.PurePath(target).name).exists()]
    check(not dangling, f"{case.name}: every .wants/ link names a unit", "\n".join(dangling))
    if not units:
        return
    env = dict(os.environ, MANPATH=str(root / "usr/share/man"), SYSTEMD_LOG_COLOR="0")
    r = subprocess.run(["systemd-analyze", "verify", f"--root={root}", "--man=no", *units], env=env, cwd=root,
                       capture_output=True, text=True)
    out = (r.stdout + r.stderr).strip()
    check(r.returncode == 0 and not out, f"{case.name}: systemd-analyze verify {' '.join(units)}", out)


def main():
    build_dir = pathlib.Path(sys.argv[1]).resolve()
    golden = pathlib.Path(sys.argv[2]).resolve() if len(sys.argv) > 2 else HERE.parent / "golden" / "generator"
    if not shutil.which("systemd-analyze") or not unitlib.HOST_UNIT_DIR.is_dir():
        print("systemd-analyze or the host's units missing; skipped")
        return 77
    with tempfile.TemporaryDirectory(prefix="eks-node-generated.") as tmp:
        root = pathlib.Path(tmp)
        unit_dir = unitlib.stage(build_dir, root)
        cases = sorted(p for p in golden.iterdir() if p.is_dir() and p.name[:2].isdigit())
        for case in cases:
            check_case(root, unit_dir, case)
        man_dir = root / "usr/share/man"
        missing = missing_pages(man_dir, REFS)
        check(REFS and not missing, f"the {len(REFS)} man pages the cases' units name are installed: "
              + ", ".join(sorted(f"{p}({s})" for p, s in REFS)), "missing: " + ", ".join(missing))
        planted = missing_pages(man_dir, REFS | {("eks-node-planted", "8")})
        check(planted == ["man:eks-node-planted(8)"], "a made-up man:eks-node-planted(8) is reported missing",
              str(planted))
    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
