#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""tools/elf-check.py against small ELF files built here, each with one thing AL2023 lacks
(issue 59): the check must name the file, the library and the version, and pass a clean one.

Built at test time with the host's compilers (Debian 12: gcc and g++ 12, glibc 2.36), so the
planted needs are real ones, as a package built on this host would carry them:
- a C program calling arc4random(), glibc 2.36's: GLIBC_2.36 > AL2023's GLIBC_2.34;
- a C++ program waiting on a std::condition_variable, whose wait() g++ 12 binds to
  GLIBCXX_3.4.30 (AL2023's GCC 11 libstdc++ ends at GLIBCXX_3.4.29);
- a program linked to a made-up libnotonal2023.so.1: a library AL2023 does not have; the
  same program passes when the input also holds that library (a package shipping its own);
- a program linked to stubs named like AL2023's zlib and libyaml, whose version scripts give
  crc32_combine_gen ZLIB_1.2.12 (zlib 1.2.12's; AL2023 has 1.2.11) and a libyaml symbol a
  version (AL2023's libyaml defines none);
- a clean C program, and the same checked as the other architecture (the ELF machine is not
  what is asked).

All of it twice: for x86_64 with gcc and g++, for aarch64 with Debian's cross compilers
(aarch64-linux-gnu-gcc and -g++ 12, glibc 2.36 for arm64: crossbuild-essential-arm64), whose
needs come from the aarch64 rows of abi.tsv (glibc's nodes there start at GLIBC_2.17).

Usage: elf_check.py REPO"""

import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))
import harness  # noqa: E402

# arch: (C compiler, C++ compiler, the other architecture)
COMPILERS = {
    "x86_64": (os.environ.get("CC", "gcc"), os.environ.get("CXX", "g++"), "aarch64"),
    "aarch64": ("aarch64-linux-gnu-gcc", "aarch64-linux-gnu-g++", "x86_64"),
}
CC, CXX = COMPILERS["x86_64"][:2]


def build(tmp, name, source, lang="c", flags=()):
    """Compiles source into tmp/bin/name (or tmp/lib/name for -shared); returns the path."""
    src = tmp / ("%s.%s" % (name, "cc" if lang == "c++" else "c"))
    src.write_text(source)
    out = tmp / ("lib" if "-shared" in flags else "bin") / name
    out.parent.mkdir(exist_ok=True)
    cmd = [CXX if lang == "c++" else CC, "-O0", "-o", str(out), str(src)] + list(flags)
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return out


def stub_library(tmp, soname, symbol, version):
    """A shared library called soname whose symbol carries version (version None: no script)."""
    flags = ["-shared", "-fPIC", "-Wl,-soname," + soname]
    if version:
        script = tmp / (soname + ".map")
        script.write_text("%s { global: %s; local: *; };\n" % (version, symbol))
        flags.append("-Wl,--version-script=" + str(script))
    lib = build(tmp, soname, "int %s(void) { return 0; }\n" % symbol, flags=flags)
    # the link editor finds -lNAME as libNAME.so in -L
    link = lib.parent / (soname.split(".so")[0] + ".so")
    if not link.exists():
        link.symlink_to(lib.name)
    return lib


def run(repo, arch, *paths):
    out = subprocess.run([sys.executable, str(repo / "tools/elf-check.py"), "--arch", arch] + [str(p) for p in paths],
                         capture_output=True, text=True)
    return out.returncode, out.stdout + out.stderr


def planted(tally, repo, tmp, arch):
    """Each planted need built for arch, checked as arch: reported by name; a clean one passes."""
    global CC, CXX
    CC, CXX, other = COMPILERS[arch]
    tmp.mkdir()
    clean = build(tmp, "clean", '#include <stdio.h>\nint main(void) { puts("ok"); return 0; }\n')
    rc, out = run(repo, arch, clean)
    tally.check("%s: a clean C program passes" % arch, rc == 0, out)
    rc, out = run(repo, other, clean)
    tally.check("%s: the program checked for %s fails, naming both" % (arch, other),
                rc == 1 and "%s: built for %s, want %s" % (clean, arch, other) in out, out)

    newer_glibc = build(tmp, "arc4random",
                        "#include <stdlib.h>\nint main(void) { return (int)(arc4random() & 1); }\n")
    rc, out = run(repo, arch, newer_glibc)
    tally.check("%s: arc4random() (GLIBC_2.36) fails, naming file, library, version and symbol" % arch,
                rc == 1 and "%s: libc.so.6: GLIBC_2.36: newer than AL2023's GLIBC_2.34 (arc4random)" % newer_glibc in out,
                out)

    newer_cxx = build(tmp, "condvar", "#include <condition_variable>\n#include <mutex>\n"
                      "std::mutex m; std::condition_variable cv;\n"
                      "int main(int argc, char **) { std::unique_lock<std::mutex> l(m);\n"
                      "  if (argc > 5) cv.wait(l); return 0; }\n", lang="c++")
    rc, out = run(repo, arch, newer_cxx)
    tally.check("%s: condition_variable::wait (GLIBCXX_3.4.30, g++ 12) fails, naming it" % arch,
                rc == 1 and "%s: libstdc++.so.6: GLIBCXX_3.4.30: newer than AL2023's GLIBCXX_3.4.29" % newer_cxx in out,
                out)

    stub_library(tmp, "libnotonal2023.so.1", "notonal2023", None)
    stub_library(tmp, "libz.so.1", "crc32_combine_gen", "ZLIB_1.2.12")
    stub_library(tmp, "libyaml-0.so.2", "yaml_get_version_string", "YAML_0.2")
    lib = ["-L%s" % (tmp / "lib")]
    unknown = build(tmp, "unknown", "int notonal2023(void);\nint main(void) { return notonal2023(); }\n",
                    flags=lib + ["-lnotonal2023"])
    rc, out = run(repo, arch, unknown)
    tally.check("%s: a program needing libnotonal2023.so.1 fails, naming it" % arch,
                rc == 1 and "%s: libnotonal2023.so.1: a library AL2023 does not have" % unknown in out, out)
    shipped = tmp / "package"
    (shipped / "usr/lib64").mkdir(parents=True)
    (shipped / "usr/bin").mkdir(parents=True)
    shutil.copy(unknown, shipped / "usr/bin")
    shutil.copy(tmp / "lib/libnotonal2023.so.1", shipped / "usr/lib64")
    rc, out = run(repo, arch, shipped)
    tally.check("%s: the same program passes in a package that ships libnotonal2023.so.1 itself" % arch, rc == 0, out)

    newer_zlib = build(tmp, "zlib112", "int crc32_combine_gen(void);\nint main(void) { return crc32_combine_gen(); }\n",
                       flags=lib + ["-lz"])
    rc, out = run(repo, arch, newer_zlib)
    tally.check("%s: crc32_combine_gen@ZLIB_1.2.12 fails, naming it (AL2023's zlib 1.2.11 ends at ZLIB_1.2.9)" % arch,
                rc == 1 and "%s: libz.so.1: ZLIB_1.2.12: newer than AL2023's ZLIB_1.2.9 (crc32_combine_gen)" % newer_zlib in out,
                out)
    versioned_yaml = build(tmp, "yaml", "int yaml_get_version_string(void);\n"
                           "int main(void) { return yaml_get_version_string(); }\n", flags=lib + ["-lyaml-0"])
    rc, out = run(repo, arch, versioned_yaml)
    tally.check("%s: a version needed from libyaml-0.so.2 fails (AL2023's build defines none)" % arch,
                rc == 1 and "%s: libyaml-0.so.2: YAML_0.2: AL2023's build defines no symbol versions" % versioned_yaml in out,
                out)

    # one run over the whole tree: every planted problem at once, the clean file silent
    rc, out = run(repo, arch, tmp / "bin")
    tally.check("%s: a directory: each planted file reported, the clean one not" % arch,
                rc == 1 and all(str(p) in out for p in (newer_glibc, newer_cxx, unknown, newer_zlib, versioned_yaml))
                and "%s:" % clean not in out, out)


def main():
    repo = pathlib.Path(sys.argv[1]).resolve()
    tally = harness.Tally()
    tools = [c for cc, cxx, _ in COMPILERS.values() for c in (cc, cxx)] + ["readelf"]
    missing = [c for c in tools if shutil.which(c) is None]
    if missing:
        # tools/deps.sh --test installs them all (the cross compilers: crossbuild-essential-arm64)
        print("FAIL elf-check needs %s" % ", ".join(missing))
        sys.exit(1)
    with tempfile.TemporaryDirectory(prefix="elf-check-") as t:
        for arch in COMPILERS:
            planted(tally, repo, pathlib.Path(t) / arch, arch)
    sys.exit(tally.finish())


if __name__ == "__main__":
    main()
