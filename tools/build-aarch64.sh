#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Configures (once) and builds the aarch64 cross build into build-aarch64/: what the aarch64
# package ships and the unit tests, nothing else (tests/README.md, "aarch64"). Run by
# tools/test.sh, which then runs its tests under qemu-user and packages it.
#
# As build/ (tools/build.sh): GCC at the project's default level (-O2, the level the x86_64
# package is built at), warnings as errors, a unity build whose sources name their members by
# relative paths (tools/unity-relative.py) so ccache hits in a clone at another path. The unit
# directories are the packages' (packaging/README.md): this tree is packaged as it is built.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -f build-aarch64/build.ninja ]] ||
  meson setup build-aarch64 --cross-file tools/cross/aarch64-linux-gnu.ini -Dwerror=true --unity on \
    -Dsystemdunitdir=/usr/lib/systemd/system \
    -Dsystemdgeneratordir=/usr/lib/systemd/system-generators >/dev/null
# A reconfigure (a meson.build changed since) first, as ninja would do before building: it
# writes the unity sources anew, with absolute paths, which unity-relative.py then rewrites
ninja -C build-aarch64 build.ninja >/dev/null
tools/unity-relative.py build-aarch64 >/dev/null
# The installed targets (binaries, man pages), unit-tests and the fake IMDS they and the golden
# tests start (a build-machine program: tests/fake-imds/meson.build): the benchmarks' programs
# and the x86_64-only tests' helpers (cri-client-table, the statvfs shim) are left out, as
# nothing runs them here
mapfile -t targets < <(tools/targets.py build-aarch64 --installed --name unit-tests --name eks-node-version --name fake-imds)
ninja -C build-aarch64 "${targets[@]}"
