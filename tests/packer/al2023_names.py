#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Every package name the AMI recipe asks AL2023's dnf for is one AL2023 has (issue 59).

The names come from four places: packages.tsv's al2023 column (what pkg_install and
pkg_remove turn a logical name into on dnf), the literal words a provisioner passes to
`dnf install` / `dnf module install` itself, the extra_packages lists of the Packer
variants (EKS_EXTRA_PACKAGES, installed by their dnf names), and the eks-node .rpm's
dependencies (packaging/eks-node.toml's rpm list, which dnf resolves when 30-eks-node installs
the package). Each must be

- in AL2023's package list, tests/data/al2023/packages.txt (generated from AL2023's support
  statements by tools/al2023-packages.py) or additions.tsv beside it (later packages, each
  with evidence); or
- on a packages.tsv row whose why ends "[not in AL2023: HOW]": the row says which repository
  a step adds for it, or why nothing installs it; or
- in tests/data/al2023/known-missing.tsv, with its issue: a name the recipe still has no way
  to get. Those are printed, not failed, so the test passes while the list says plainly
  what is left to do.

The lists cannot rot: a known-missing name the recipe no longer asks for, or that AL2023's
lists now hold, fails as stale; so does an addition packages.txt now has, and a marker on a
name AL2023 has after all. Then each rule is shown to bite on a copy with one planted mistake
(a made-up name in each of the four places, a stale line of each list).

Usage: al2023_names.py REPO"""

import pathlib
import re
import shutil
import tomllib
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "lib"))
sys.path.insert(0, str(HERE))
import harness  # noqa: E402
from packages import append, check_planted, logical_lines, read_table, replace  # noqa: E402  (the recipe's one table reader)

DATA = "tests/data/al2023"
MARKER = re.compile(r"\[not in AL2023: ([^\]]+)\]\s*$")
PLANTED = "libnotinal2023-devel"


def read_names(path):
    """The first tab-separated field of each line that is not a comment, with the rest."""
    out = {}
    for line in path.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        out[cols[0]] = cols[1:]
    return out


def dnf_literals(script):
    """(where, name) for each literal word a script passes to dnf install / dnf module install.
    Words holding $ are the script's variables (pkg_install_native's list, a version-built
    module stream): their names come from the table or the variants, checked there."""
    found = []
    for n, line in enumerate(logical_lines(script.read_text()), 1):
        for m in re.finditer(r"(?:^|[\s;&|(])dnf\s+(.*)", line):
            words = [w.strip("\"'") for w in m.group(1).split()]
            # the subcommand is the first word that is no option; "module" takes one more
            plain = [i for i, w in enumerate(words) if not w.startswith("-")]
            if not plain:
                continue
            i = plain[0]
            if words[i] == "module" and len(plain) > 1:
                i = plain[1]
            if words[i] != "install":
                continue
            for w in words[i + 1:]:
                if w in ("||", "&&", ";", ";;", "|", ")") or w.startswith((">", "2>")):
                    break
                if w.startswith("-") or "$" in w or not w:
                    continue
                found.append(("%s (dnf install)" % script.name, w.split(":")[0]))
    return found


def variant_packages(hcl):
    """(where, name) for each entry of an extra_packages = [...] list of a Packer file."""
    found = []
    for m in re.finditer(r"^\s*extra_packages\s*=\s*\[(.*?)\]", hcl.read_text(), re.S | re.M):
        found += [("%s extra_packages" % hcl.name, w) for w in re.findall(r'"([^"]*)"', m.group(1))]
    return found


def check(repo):
    """(problems, known): problems as lines; known: (name, where, issue) reported as known."""
    data = repo / DATA
    listed = set(read_names(data / "packages.txt"))
    additions = read_names(data / "additions.tsv")
    known_missing = read_names(data / "known-missing.tsv")
    al2023 = listed | set(additions)
    problems, known = [], []
    rows, bad = read_table(repo / "packer/provisioners/packages.tsv")
    problems += bad

    wanted = []  # (where, name, how it comes another way or None)
    marked = {}
    for logical, cols in rows.items():
        mark = MARKER.search(cols[5])
        # one name (the "a+b" of the Debian columns is two packages; gcc-c++ has a + of its
        # own); the running kernel's release is a version, not part of the package's name
        name = cols[2].replace("-$(uname -r)", "")
        if name == "-":
            if mark:
                problems.append("packages.tsv: %s: marked [not in AL2023] but has no AL2023 name" % logical)
            continue
        wanted.append(("packages.tsv %s" % logical, name, mark.group(1) if mark else None))
        if mark:
            marked[name] = mark.group(1)
    for script in sorted((repo / "packer/provisioners").glob("*.sh")):
        wanted += [(w, n, marked.get(n)) for w, n in dnf_literals(script)]
    for hcl in sorted((repo / "packer").rglob("*.hcl")):
        wanted += [(w, n, marked.get(n)) for w, n in variant_packages(hcl)]

    toml = repo / "packaging/eks-node.toml"
    wanted += [("packaging/eks-node.toml rpm dependency", n, marked.get(n))
               for n in tomllib.loads(toml.read_text())["depends"]["rpm"]]

    asked = set()
    for where, name, how in wanted:
        asked.add(name)
        if name in al2023:
            if how:
                problems.append("%s: %s is marked [not in AL2023: %s], but AL2023 has it (%s): "
                                "drop the marker" % (where, name, how,
                                                     "packages.txt" if name in listed else "additions.tsv"))
            continue
        if how:
            continue
        if name in known_missing:
            known.append((name, where, known_missing[name][0] if known_missing[name] else "?"))
            continue
        problems.append("%s: %s: not one of AL2023's packages (%s/packages.txt, additions.tsv), not "
                        "marked [not in AL2023: HOW] in packages.tsv, not in known-missing.tsv"
                        % (where, name, DATA))

    for name, cols in known_missing.items():
        if len(cols) != 3 or not cols[0].isdigit():
            problems.append("known-missing.tsv: %s: want NAME, ISSUE (a number), WHERE, WHY (tabs)" % name)
        if name in al2023:
            problems.append("known-missing.tsv: %s: stale, AL2023 has it now: delete the line" % name)
        elif name not in asked:
            problems.append("known-missing.tsv: %s: stale, the recipe no longer asks for it: delete the line" % name)
    for name, cols in additions.items():
        if not cols or not cols[0].strip():
            problems.append("additions.tsv: %s: no evidence" % name)
        if name in listed:
            problems.append("additions.tsv: %s: stale, packages.txt has it: delete the line" % name)
    return problems, known


def planted(repo, edit):
    """check() on a copy of the recipe and the AL2023 data with one mistake planted by edit(copy)."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = pathlib.Path(tmp)
        shutil.copytree(repo / "packer", copy / "packer")
        shutil.copytree(repo / DATA, copy / DATA)
        shutil.copytree(repo / "packaging", copy / "packaging", ignore=shutil.ignore_patterns("__pycache__"))
        edit(copy)
        return check(copy)[0]


def mark_row(rel, logical, text):
    """Appends text to the why of the table's row for logical."""
    def edit(copy):
        p = copy / rel
        lines = p.read_text().splitlines()
        hits = [i for i, line in enumerate(lines) if line.startswith(logical + "\t")]
        assert len(hits) == 1, (rel, logical)
        lines[hits[0]] += text
        p.write_text("\n".join(lines) + "\n")
    return edit


def main():
    repo = pathlib.Path(sys.argv[1]).resolve()
    tally = harness.Tally()
    problems, known = check(repo)
    tally.check("every name the AMI recipe asks AL2023's dnf for is AL2023's, marked, or known missing",
                not problems, "\n".join(problems))
    for name, where, issue in known:
        print("     known missing (issue %s): %s, from %s" % (issue, name, where))

    tsv = "packer/provisioners/packages.tsv"
    mistakes = [
        ("a made-up AL2023 name in packages.tsv",
         append(tsv, "notinal2023\t30-eks-node\t%s\tx\tx\tplanted\n" % PLANTED),
         "packages.tsv notinal2023: %s: not one of AL2023's packages" % PLANTED),
        ("a made-up name a step passes to dnf install",
         append("packer/provisioners/62-efa.sh", "dnf install -y -q %s || true\n" % PLANTED),
         "62-efa.sh (dnf install): %s: not one of" % PLANTED),
        ("a made-up name in a variant's extra_packages",
         append("packer/variants/standard.pkrvars.hcl", 'extra_packages = ["%s"]\n' % PLANTED),
         "standard.pkrvars.hcl extra_packages: %s: not one of" % PLANTED),
        ("a made-up name among the eks-node package's rpm dependencies",
         replace("packaging/eks-node.toml", '"zlib", "systemd"', '"zlib", "%s", "systemd"' % PLANTED),
         "packaging/eks-node.toml rpm dependency: %s: not one of" % PLANTED),
        ("a -devel package AL2023 lacks, as the compile on the image had asked for",
         append(tsv, "fmt-devel\t30-eks-node\tfmt-devel\tlibfmt-dev\tlibfmt-dev\tplanted\n"),
         "packages.tsv fmt-devel: fmt-devel: not one of"),
        ("a known-missing name the recipe does not ask for",
         append(DATA + "/known-missing.tsv", "%s\t59\tnowhere\tplanted\n" % PLANTED),
         "known-missing.tsv: %s: stale, the recipe no longer" % PLANTED),
        ("a known-missing name AL2023 has",
         append(DATA + "/known-missing.tsv", "jq\t59\tpackages.tsv jq\tplanted\n"),
         "known-missing.tsv: jq: stale, AL2023 has it now"),
        ("an addition packages.txt already has",
         append(DATA + "/additions.tsv", "jq\tplanted\n"), "additions.tsv: jq: stale"),
        ("a [not in AL2023] marker on a name AL2023 has",
         mark_row(tsv, "jq", " [not in AL2023: planted]"),
         "jq is marked [not in AL2023: planted], but AL2023 has it"),
    ]
    check_planted(tally, mistakes, lambda edit: planted(repo, edit))
    sys.exit(tally.finish())


if __name__ == "__main__":
    main()
