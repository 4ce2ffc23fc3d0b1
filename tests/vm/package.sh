#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The .deb the VM tier boots: packaging/build.py's .deb of BUILD_DIR, the package a user
# installs (its files, scriptlets and presets), at a fixed path (run-case.sh, once per run of
# the test command, and run-scenario.sh by hand).
#
# Usage: tests/vm/package.sh BUILD_DIR OUT.deb
#
# Only the .deb (no rpmbuild, no tarball) and uncompressed: the guest's dpkg would spend
# seconds of emulated CPU at every boot decompressing xz or gzip (tests/vm/README.md, "How the
# project gets into the VM"); the files are the same.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
(($# == 2)) || { echo "usage: package.sh BUILD_DIR OUT.deb" >&2; exit 2; }
build=$1 out=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/eks-node-vm-package.XXXXXX")
trap 'rm -rf "$work"' EXIT
# x86_64: the tier boots qemu-system-x86_64 guests only
"$here/../../packaging/build.py" --formats deb --compression none "$build" x86_64 "$work" >/dev/null
debs=("$work"/*.deb)
((${#debs[@]} == 1)) || { echo "package.sh: build.py made ${#debs[@]} .deb files" >&2; exit 1; }
mv "${debs[0]}" "$out.tmp"
mv "$out.tmp" "$out"
