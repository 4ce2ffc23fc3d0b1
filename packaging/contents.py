# SPDX-License-Identifier: Apache-2.0
"""What a built .deb, .rpm or tarball holds, read with the format's own tool (dpkg-deb -c,
rpm -qp --queryformat, tar -tvf), as manifest lines (build.py's form: PATH, type, mode, link
target, tab-separated, sorted) and owners. build.py compares each package with the manifest
it wrote; tests/packaging/packages.py reads them with the same code."""
import re
import stat
import subprocess

TYPES = {"-": "f", "d": "d", "l": "l"}


def _run(cmd):
    return subprocess.run(cmd, check=True, text=True, capture_output=True).stdout


def _mode(perms):
    """0755 from "rwxr-xr-x" (the nine characters after the type), set-id and sticky bits too:
    s and t stand for the bit and x, S and T for the bit alone."""
    mode = 0
    for i, ch in enumerate(perms):
        if ch in "rwxst":
            mode |= 1 << (8 - i)
        if ch in "sS":
            mode |= stat.S_ISUID if i == 2 else stat.S_ISGID
        if ch in "tT":
            mode |= stat.S_ISVTX
    return mode


def _tar_listing(text):
    """{path: (type, mode, target, owner)} from GNU tar's and dpkg-deb's verbose listing:
    PERMS OWNER/GROUP SIZE DATE TIME NAME[ -> TARGET]."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"^(\S)(\S{9}) (\S+)/(\S+) +\d+ \S+ \S+ (.*)$", line)
        if not m:
            raise ValueError("unreadable listing line: %r" % line)
        kind, perms, user, group, name = m.groups()
        target = None
        if kind == "l":
            name, target = name.split(" -> ", 1)
        if kind not in TYPES:
            raise ValueError("%s: type %r (not a file, directory or link)" % (name, kind))
        path = "/" + name.removeprefix("./").rstrip("/")
        if path == "/":
            continue
        out[path] = (TYPES[kind], 0o777 if kind == "l" else _mode(perms), target,
                     "%s:%s" % (user, group))
    return out


def _rpm_listing(pkg):
    fmt = "[%{FILEMODES:octal}\\t%{FILEUSERNAME}\\t%{FILEGROUPNAME}\\t%{FILENAMES}\\t%{FILELINKTOS}\\n]"
    out = {}
    for line in _run(["rpm", "-qp", "--nosignature", "--queryformat", fmt, str(pkg)]).splitlines():
        mode, user, group, path, target = line.split("\t")
        mode = int(mode, 8)
        if stat.S_ISLNK(mode):
            kind = "l"
        elif stat.S_ISDIR(mode):
            kind = "d"
        elif stat.S_ISREG(mode):
            kind = "f"
        else:
            raise ValueError("%s: mode %o is not a file, directory or link" % (path, mode))
        out[path] = (kind, 0o777 if kind == "l" else stat.S_IMODE(mode), target or None,
                     "%s:%s" % (user, group))
    return out


def listing(pkg):
    """{path: (type, mode, target, owner)} of a package, by its file name's ending."""
    name = str(pkg)
    if name.endswith(".deb"):
        return _tar_listing(_run(["dpkg-deb", "-c", name]))
    if name.endswith(".rpm"):
        return _rpm_listing(pkg)
    if name.endswith(".tar.gz"):
        # --numeric-owner: root is 0:0 on any machine; shown as root:root below
        return {p: (k, m, t, "root:root" if o == "0:0" else o)
                for p, (k, m, t, o) in _tar_listing(_run(["tar", "--numeric-owner", "-tvzf", name])).items()}
    raise ValueError("%s: not a .deb, .rpm or .tar.gz" % name)


def manifest(pkg, shared):
    """The package's manifest lines: as build.py writes them, shared directories left out."""
    lines = []
    for path, (kind, mode, target, _) in sorted(listing(pkg).items()):
        if kind == "d" and path in shared:
            continue
        lines.append("%s\t%s\t%04o\t%s" % (path, kind, mode, target if target else "-"))
    return lines


def owners(pkg):
    return {path: owner for path, (_, _, _, owner) in listing(pkg).items()}


def compare(want, got, label):
    """Problems, one line each, where the lines got differ from the lines want."""
    want_by = {line.split("\t")[0]: line for line in want}
    got_by = {line.split("\t")[0]: line for line in got}
    problems = []
    for path in sorted(set(want_by) | set(got_by)):
        if path not in got_by:
            problems.append("%s: lacks %s" % (label, want_by[path].replace("\t", " ")))
        elif path not in want_by:
            problems.append("%s: has %s, which the manifest does not" % (label, got_by[path].replace("\t", " ")))
        elif want_by[path] != got_by[path]:
            problems.append("%s: %s, the manifest %s" % (label, got_by[path].replace("\t", " "),
                                                        want_by[path].replace("\t", " ")))
    return problems
