#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""One image recipe: the packages a node gets come from the provisioners, named in one table
(packer/provisioners/packages.tsv), and the VM test image's own lists
(tests/vm/image-packages*.txt) hold only its test plumbing.

- packages.tsv: six tab-separated columns, each logical name once, each step "base" or a
  step of packer/provisioners/, a reason on every row;
- every package a step names (pkg_install, pkg_remove, pkg_installed, build_only: literal
  words and the literal arrays it passes) is a row of the table, and the row names that
  step (pkg_installed: any step); every row of a step is named by that step;
- the rows of step "eks-node" are the eks-node package's dependencies
  (packaging/eks-node.toml: rpm by the AL2023 column, deb by the bookworm one), and each of
  those is such a row or a "base" one (or the C and C++ runtimes): what the package manager
  installs with the package is what the table says a node gets, and what the VM test image
  (which installs no package) is built with;
- image-packages*.txt: NAME ROLE a line, ROLE one of the roles tests/vm/README.md
  describes, NAME no package of the table's column for that flavour: what a node needs
  belongs to a provisioner, or the VM tier would pass where the AMI lacks it.

Each rule is then shown to bite: the same checks on a copy with one planted mistake
(mdadm only in the test list, an untagged entry, a step installing a package the table
does not have, a stale row) must fail.

Usage: packages.py REPO"""

import pathlib
import re
import shutil
import sys
import tempfile
import tomllib

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))
import harness  # noqa: E402

ROLES = {"fake-imds", "fake-aws", "stub-kubelet", "checks", "nvmeof", "binary-source", "stand-in"}
FLAVOURS = {"image-packages.txt": 3, "image-packages-sid.txt": 4}  # packages.tsv column (0-based)
COMMANDS = ("pkg_install", "pkg_remove", "pkg_installed", "build_only")
# Steps that are no script: the base image's packages, and the eks-node package's dependencies
# (30-eks-node installs the package; the package manager brings these).
PSEUDO_STEPS = ("base", "eks-node")
# packages.tsv column (0-based) of each format's dependency names in packaging/eks-node.toml
DEPENDS = {"rpm": 2, "deb": 3}
# The C and C++ runtimes: in every image, before any step; the table has no row of them.
RUNTIMES = {"rpm": {"glibc", "libstdc++"}, "deb": {"libc6", "libstdc++6"}}


def read_table(path):
    rows, problems = {}, []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) != 6:
            problems.append("packages.tsv:%d: %d columns, want 6 (tab-separated)" % (n, len(cols)))
            continue
        if cols[0] in rows:
            problems.append("packages.tsv:%d: %s a second time" % (n, cols[0]))
        if not cols[5].strip():
            problems.append("packages.tsv:%d: %s has no reason" % (n, cols[0]))
        if all(c == "-" for c in cols[2:5]):
            problems.append("packages.tsv:%d: %s has no name on any distribution" % (n, cols[0]))
        rows[cols[0]] = cols
    return rows, problems


def logical_lines(text):
    """The script's lines with backslash continuations joined and comments dropped."""
    out, cur = [], ""
    for line in text.splitlines():
        stripped = line.split(" #", 1)[0] if not line.lstrip().startswith("#") else ""
        if stripped.endswith("\\"):
            cur += stripped[:-1] + " "
            continue
        out.append(cur + stripped)
        cur = ""
    return out


def arrays(text):
    """NAME -> its words, for `NAME=(...)` (over lines too); NAME -> None for mapfile."""
    found = {}
    for m in re.finditer(r"^\s*(?:local\s+)?([A-Za-z_][A-Za-z0-9_]*)=\(([^)]*)\)", text, re.M):
        found[m.group(1)] = m.group(2).split()
    for m in re.finditer(r"mapfile\s+-t\s+([A-Za-z_][A-Za-z0-9_]*)", text):
        found[m.group(1)] = None
    return found


def names_in(script):
    """(command, logical name) for each package a step names; unreadable words as problems."""
    text = script.read_text()
    arr = arrays(text)
    names, problems = [], []
    for line in logical_lines(text):
        for m in re.finditer(r"(?:^|[;&|!(]|\bif|\bthen|\bdo)\s*(%s)\s+([^;&|)]*)" % "|".join(COMMANDS), line):
            cmd = m.group(1)
            for word in m.group(2).split():
                word = word.strip("\"'")
                if word.startswith((">", "2>")) or word in ("]]",):
                    break
                ref = re.fullmatch(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\[@\]\}", word)
                if ref:
                    if ref.group(1) not in arr:
                        problems.append("%s: %s \"${%s[@]}\": no array of that name" % (script.name, cmd, ref.group(1)))
                    elif arr[ref.group(1)] is not None:
                        names += [(cmd, w.strip("\"'").split("=")[0]) for w in arr[ref.group(1)]]
                    continue  # mapfile: names recorded by the steps that named them
                name = word.split("=")[0]
                if "$" in name or not name:
                    problems.append("%s: %s %s: not a literal package name" % (script.name, cmd, word))
                    continue
                names.append((cmd, name))
    return names, problems


def check_recipe(repo):
    """Every problem of the recipe and the test lists, as lines."""
    prov = repo / "packer/provisioners"
    rows, problems = read_table(prov / "packages.tsv")
    steps = {p.stem for p in prov.glob("[0-9][0-9]-*.sh")}
    for name, cols in rows.items():
        for s in cols[1].split(","):
            if s not in PSEUDO_STEPS and s not in steps:
                problems.append("packages.tsv: %s: no step %s in packer/provisioners" % (name, s))
    named = {}  # step -> logical names it installs or removes
    for script in sorted(prov.glob("[0-9][0-9]-*.sh")):
        found, bad = names_in(script)
        problems += bad
        for cmd, name in found:
            if name not in rows:
                problems.append("%s: %s %s: not in packages.tsv" % (script.name, cmd, name))
                continue
            if cmd != "pkg_installed":
                named.setdefault(script.stem, set()).add(name)
                if script.stem not in rows[name][1].split(","):
                    problems.append("%s: %s %s: packages.tsv gives it to %s" % (script.name, cmd, name, rows[name][1]))
    for name, cols in rows.items():
        for s in cols[1].split(","):
            if s not in PSEUDO_STEPS and name not in named.get(s, set()):
                problems.append("packages.tsv: %s: step %s does not install or remove it" % (name, s))
    depends = tomllib.loads((repo / "packaging/eks-node.toml").read_text())["depends"]
    for fmt, col in DEPENDS.items():
        wanted = set(depends[fmt])
        of_step = {cols[col]: name for name, cols in rows.items() if "eks-node" in cols[1].split(",")}
        of_base = {cols[col] for cols in rows.values() if "base" in cols[1].split(",")}
        for dep_name, name in sorted(of_step.items()):
            if dep_name not in wanted:
                problems.append("packages.tsv: %s: step eks-node, but %s is not among the %s dependencies of "
                                "packaging/eks-node.toml" % (name, dep_name, fmt))
        for dep in sorted(wanted - set(of_step) - of_base - RUNTIMES[fmt]):
            problems.append("packaging/eks-node.toml: %s dependency %s: no row of packages.tsv gives it "
                            "(step eks-node, or base)" % (fmt, dep))
    readme = (repo / "tests/vm/README.md").read_text()
    for role in sorted(ROLES):
        if "`%s`" % role not in readme:
            problems.append("tests/vm/README.md: the test plumbing role `%s` is not described" % role)
    for listname, col in FLAVOURS.items():
        node = set()
        for cols in rows.values():
            for n in cols[col].split("+"):
                node.add(n.split(":")[-1].split("/")[0])  # "bookworm:NAME", "NAME/SUITE": NAME
        node.discard("-")
        path = repo / "tests/vm" / listname
        for n, line in enumerate(path.read_text().splitlines(), 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            words = line.split()
            if len(words) != 2 or words[1] not in ROLES:
                problems.append("%s:%d: \"%s\": want NAME ROLE, ROLE one of %s" % (listname, n, line, ", ".join(sorted(ROLES))))
                continue
            if words[0] in node:
                problems.append("%s:%d: %s is a package of packages.tsv (a node needs it): "
                                "it comes from a provisioner, not from the test plumbing" % (listname, n, words[0]))
    return problems


def planted(repo, edit):
    """check_recipe on a copy of the recipe with one mistake planted by edit(copy)."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = pathlib.Path(tmp)
        shutil.copytree(repo / "packer/provisioners", copy / "packer/provisioners")
        shutil.copytree(repo / "tests/vm", copy / "tests/vm", ignore=shutil.ignore_patterns("scenarios", "guest"))
        (copy / "packaging").mkdir()
        shutil.copy(repo / "packaging/eks-node.toml", copy / "packaging")
        edit(copy)
        return check_recipe(copy)


def append(rel, text):
    def edit(copy):
        with open(copy / rel, "a") as f:
            f.write(text)
    return edit


def replace(rel, old, new):
    def edit(copy):
        p = copy / rel
        s = p.read_text()
        assert old in s, (rel, old)
        p.write_text(s.replace(old, new))
    return edit


def check_planted(tally, mistakes, run):
    """Each (what, edit, expect) of mistakes: the problems run(edit) finds in a copy with that
    mistake planted must name it (expect, a part of one problem's text)."""
    for what, edit, expect in mistakes:
        found = run(edit)
        tally.check("planted: %s fails, naming it" % what, any(expect in p for p in found), "\n".join(found) or "passed")


def main():
    repo = pathlib.Path(sys.argv[1]).resolve()
    tally = harness.Tally()
    problems = check_recipe(repo)
    tally.check("the recipe and the test image's lists agree (%s)" % "packages.tsv, image-packages*.txt",
                not problems, "\n".join(problems))
    mistakes = [
        ("mdadm only in the bookworm test list", append("tests/vm/image-packages.txt", "mdadm checks\n"),
         "image-packages.txt"),
        ("pigz only in the sid test list", append("tests/vm/image-packages-sid.txt", "pigz checks\n"),
         "image-packages-sid.txt"),
        ("an untagged test list entry", append("tests/vm/image-packages.txt", "strace\n"), "want NAME ROLE"),
        ("an unknown role", append("tests/vm/image-packages.txt", "strace debugging\n"), "want NAME ROLE"),
        ("a step installing a package the table lacks",
         replace("packer/provisioners/00-base-packages.sh", "  mdadm xfsprogs jq", "  mdadm xfsprogs jq nvme-cli"),
         "nvme-cli: not in packages.tsv"),
        ("a literal pkg_install the table lacks",
         append("packer/provisioners/52-sshd.sh", "pkg_install openssh-server\n"), "openssh-server: not in"),
        ("a package installed by a step the table does not name",
         append("packer/provisioners/52-sshd.sh", "pkg_install mdadm\n"), "packages.tsv gives it to"),
        ("a stale row", append("packer/provisioners/packages.tsv",
                               "strace\t00-base-packages\tstrace\tstrace\tstrace\tdebugging\n"),
         "does not install or remove it"),
        ("a row of no step", append("packer/provisioners/packages.tsv",
                                    "strace\t42-nothing\tstrace\tstrace\tstrace\tdebugging\n"), "no step 42-nothing"),
        ("a dependency of the package the table lacks",
         replace("packaging/eks-node.toml", '"zlib", "systemd"', '"zlib", "pcre2", "systemd"'),
         "rpm dependency pcre2: no row"),
        ("a row of step eks-node the package does not depend on",
         append("packer/provisioners/packages.tsv", "strace\teks-node\tstrace\tstrace\tstrace\tdebugging\n"),
         "strace is not among the rpm dependencies"),
        ("a row without tabs", append("packer/provisioners/packages.tsv", "strace base strace strace strace x\n"),
         "want 6"),
    ]
    check_planted(tally, mistakes, lambda edit: planted(repo, edit))
    sys.exit(tally.finish())


if __name__ == "__main__":
    main()
