#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Prints eks-node's version from git, as `eks-node --version` and the packages carry it.

  tools/version.py BASE SOURCE_ROOT

BASE is meson's project version (meson.build), used where git cannot say more.
- on a tag vX.Y.Z with a clean tree:        X.Y.Z
- N commits past tag vX.Y.Z:                X.Y.Z+N.gHASH
- no v* tag in the history:                 BASE+N.gHASH (N: commits in HEAD's history)
- a tree with uncommitted changes:          the above, then .dirty
- no git, or not a git tree (a tarball):    BASE
The one string is a valid rpm Version and Debian upstream version as it is (digits, letters,
dots and one '+'; no '-', which rpm forbids in Version and dpkg reads as the revision), and
sorts the way the commits do under both rpmvercmp and dpkg: the commit count comes before the
hash, as a number of its own, so a later build of the same branch compares newer, and X.Y.Z
compares older than X.Y.Z+N.gHASH in both.
"""
import re
import subprocess
import sys


def git(root, *args):
    return subprocess.run(["git", "-C", root] + list(args), check=True, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout.strip()


def version(base, root):
    try:
        head = git(root, "rev-parse", "--short=12", "HEAD")
    except (OSError, subprocess.CalledProcessError):
        return base
    try:
        dirty = bool(git(root, "status", "--porcelain", "--untracked-files=no"))
    except subprocess.CalledProcessError:
        dirty = False
    suffix = ".dirty" if dirty else ""
    try:
        described = git(root, "describe", "--tags", "--long", "--abbrev=12", "--match", "v[0-9]*")
    except subprocess.CalledProcessError:
        described = None
    m = re.fullmatch(r"v([0-9][0-9A-Za-z.]*)-([0-9]+)-g([0-9a-f]+)", described or "")
    if m:
        tag, count, _ = m.groups()
        if count == "0" and not dirty:
            return tag
        return "%s+%s.g%s%s" % (tag, count, head, suffix)
    count = git(root, "rev-list", "--count", "HEAD")
    return "%s+%s.g%s%s" % (base, count, head, suffix)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: version.py BASE SOURCE_ROOT")
    print(version(sys.argv[1], sys.argv[2]))
