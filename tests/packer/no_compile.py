#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""No step of the AMI recipe compiles (issue 59): eks-node comes as the package built from the
commit, and nothing else is built on the image either.

- No package a node gets is a compiler, a build tool or a -devel/-dev package: packages.tsv's
  names in every distribution's column (the AMI's and the VM test image's, which runs the same
  steps), what a step passes to `dnf install` itself, the variants' extra_packages, and the
  eks-node package's dependencies (packaging/eks-node.toml). One exception, EXEMPT below, with
  its reason.
- No provisioner runs a compiler or a build tool (gcc, g++, cc, clang, make, cmake, meson,
  ninja, cargo, rustc, go build, ./configure, ...).
- The template uploads nothing but the provisioners, the binary source and the eks-node
  package: no source tree, no `git archive`.

Each rule is then shown to bite on a copy with one planted mistake.

Usage: no_compile.py REPO"""

import pathlib
import re
import shutil
import sys
import tempfile
import tomllib

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "lib"))
sys.path.insert(0, str(HERE))
import harness  # noqa: E402
from al2023_names import dnf_literals, variant_packages  # noqa: E402
from packages import append, check_planted, logical_lines, read_table, replace  # noqa: E402

# Packages that build software: compilers and their drivers, build systems, code generators,
# and headers (-devel on AL2023, -dev on Debian).
BUILD_PACKAGE = re.compile(
    r"(.*-devel|.*-dev|.*-headers|gcc[0-9]*(-c\+\+|-gfortran)?|g\+\+(-[0-9]+)?|cpp|clang[0-9-]*|llvm[0-9-]*"
    r"|make|cmake[0-9]*|meson|ninja-build|ninja|autoconf|automake|libtool|pkgconf(-pkg-config)?"
    r"|pkg-config|rust|rustc|cargo|golang(-go)?|scdoc|bison|flex|build-essential)")
# The running kernel's headers for the GPU and accelerator variants: NVIDIA's and Neuron's
# drivers are DKMS packages that build their kernel modules against the kernel the image boots
# (on the image, by the vendor's package, as amazon-eks-ami's AL2023 recipe has it:
# install-nvidia-driver.sh and install-neuron-driver.sh install "${KERNEL_PACKAGE}-devel").
# Vendor kernel modules, not eks-node, and only in those variants' steps.
EXEMPT = {"kernel-devel": {"60-nvidia", "61-neuron"}}
# A compiler or build tool at a command's position: the start of a line, after ; & | ( or a
# shell keyword, after `sudo` or `env VAR=...`.
COMMAND = re.compile(
    r"(?:^|[;&|(`]|\$\(|\bthen\b|\bdo\b|\belse\b|\bexec\b)\s*(?:sudo\s+|env\s+(?:\S+=\S*\s+)*)?"
    r"(gcc[0-9-]*|g\+\+[0-9-]*|cc|c\+\+|clang\+*[0-9-]*|make|cmake|meson|ninja|cargo|rustc|scons"
    r"|autoreconf|\./configure|go\s+(?:build|install)|git\s+archive)(?=\s|$|;|\))")
# What the template may upload (file provisioners' sources, as written in al2023.pkr.hcl).
UPLOADS = {'"${path.root}/provisioners"', "var.eks_node_package", "local.binary_upload"}


def package_names(repo):
    """(where, name, step or None) of every package the recipe installs, by any distribution."""
    rows, _ = read_table(repo / "packer/provisioners/packages.tsv")
    out = []
    for logical, cols in rows.items():
        for col in cols[2:5]:
            # "a+b" is two packages (packages.tsv); the + of g++ and gcc-c++ is part of the name
            for name in re.split(r"\+(?=[a-z0-9])", col):
                name = name.split(":")[-1].replace("-$(uname -r)", "")
                if name != "-":
                    out.append(("packages.tsv %s" % logical, name, set(cols[1].split(","))))
    for script in sorted((repo / "packer/provisioners").glob("*.sh")):
        out += [(w, n, {script.stem}) for w, n in dnf_literals(script)]
    for hcl in sorted((repo / "packer").rglob("*.hcl")):
        out += [(w, n, None) for w, n in variant_packages(hcl)]
    depends = tomllib.loads((repo / "packaging/eks-node.toml").read_text())["depends"]
    for fmt, names in depends.items():
        out += [("packaging/eks-node.toml %s dependency" % fmt, n, None) for n in names]
    return out


def check(repo):
    problems = []
    for where, name, steps in package_names(repo):
        if not BUILD_PACKAGE.fullmatch(name):
            continue
        if name in EXEMPT and steps and steps <= EXEMPT[name]:
            continue
        problems.append("%s: %s builds software (a compiler, a build tool or headers): the image "
                        "installs what was built before, nothing is compiled on it" % (where, name))
    for script in sorted((repo / "packer/provisioners").glob("*.sh")):
        for n, line in enumerate(logical_lines(script.read_text()), 1):
            for m in COMMAND.finditer(line):
                problems.append("%s: runs %s: no step of the AMI recipe compiles" % (script.name, m.group(1)))
    template = (repo / "packer/al2023.pkr.hcl").read_text()
    for m in re.finditer(r'provisioner\s+"file"\s*\{(.*?)\n\s*\}', template, re.S):
        src = re.search(r"^\s*source\s*=\s*(.+?)\s*$", m.group(1), re.M)
        if src and src.group(1) not in UPLOADS:
            problems.append("al2023.pkr.hcl: a file provisioner uploads %s: the image gets the provisioners, "
                            "the binary source and the eks-node package (%s), no source tree"
                            % (src.group(1), ", ".join(sorted(UPLOADS))))
    return problems


def planted(repo, edit):
    with tempfile.TemporaryDirectory() as tmp:
        copy = pathlib.Path(tmp)
        shutil.copytree(repo / "packer", copy / "packer")
        (copy / "packaging").mkdir()
        shutil.copy(repo / "packaging/eks-node.toml", copy / "packaging")
        edit(copy)
        return check(copy)


def main():
    repo = pathlib.Path(sys.argv[1]).resolve()
    tally = harness.Tally()
    problems = check(repo)
    tally.check("no step of the AMI recipe compiles, installs a compiler or a -devel package, or uploads source",
                not problems, "\n".join(problems))
    tsv = "packer/provisioners/packages.tsv"
    mistakes = [
        ("a compiler in packages.tsv", append(tsv, "gcc-c++\t30-eks-node\tgcc-c++\tg++\tg++\tplanted\n"),
         "packages.tsv gcc-c++: gcc-c++ builds software"),
        ("a -devel package in packages.tsv",
         append(tsv, "fmt-devel\t30-eks-node\tfmt-devel\tlibfmt-dev\tlibfmt-dev\tplanted\n"),
         "packages.tsv fmt-devel: fmt-devel builds software"),
        ("kernel-devel outside the NVIDIA and Neuron steps",
         replace("packer/provisioners/packages.tsv", "kernel-devel\t60-nvidia,61-neuron\t",
                 "kernel-devel\t60-nvidia,61-neuron,62-efa\t"),
         "packages.tsv kernel-devel: kernel-devel builds software"),
        ("a compiler a step passes to dnf install",
         append("packer/provisioners/62-efa.sh", "dnf install -y -q gcc make\n"),
         "62-efa.sh (dnf install): gcc builds software"),
        ("a -devel package in a variant's extra_packages",
         append("packer/variants/standard.pkrvars.hcl", 'extra_packages = ["openssl-devel"]\n'),
         "standard.pkrvars.hcl extra_packages: openssl-devel builds software"),
        ("a -dev package among the eks-node package's dependencies",
         replace("packaging/eks-node.toml", '"zlib1g", "systemd"', '"zlib1g", "zlib1g-dev", "systemd"'),
         "packaging/eks-node.toml deb dependency: zlib1g-dev builds software"),
        ("a meson build in 30-eks-node",
         append("packer/provisioners/30-eks-node.sh", "meson setup /var/tmp/b /var/tmp/src && ninja -C /var/tmp/b\n"),
         "30-eks-node.sh: runs meson"),
        ("the ninja of that build", append("packer/provisioners/30-eks-node.sh", "true && ninja -C /var/tmp/b\n"),
         "30-eks-node.sh: runs ninja"),
        ("a make in a step", append("packer/provisioners/62-efa.sh", "if true; then make -C /tmp/x; fi\n"),
         "62-efa.sh: runs make"),
        ("a compiler run by sudo", append("packer/provisioners/52-sshd.sh", "sudo gcc -o /tmp/x x.c\n"),
         "52-sshd.sh: runs gcc"),
        ("a source tree uploaded by the template",
         replace("packer/al2023.pkr.hcl", "source      = var.eks_node_package", "source      = var.eks_node_source"),
         "a file provisioner uploads var.eks_node_source"),
    ]
    check_planted(tally, mistakes, lambda edit: planted(repo, edit))
    sys.exit(tally.finish())


if __name__ == "__main__":
    main()
