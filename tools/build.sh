#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Configures (once) and builds eks-node into build/ with warnings as errors.
#
# A unity build: meson merges 32 sources of a target into one object (unity_size, the
# top-level meson.build), so the headers every source includes (nlohmann/json, fmt, toml++,
# Catch2, the standard library) are parsed and their templates compiled once per 32 files.
# build/ from nothing, two jobs, no ccache (2026-11-29, the same tree): 1,000 CPU-s at four
# to an object, 714 at sixteen; the sanitizer build 1,768 and 1,149 (tools/test.sh). One job,
# two trees side by side (2026-11-30): 553 CPU-s at sixteen, 474 at 32 (docs/test-cost.md).
# The price is an edit's rebuild: one changed library file recompiles about 40 CPU-s of
# object instead of 29. What a
# unity build no longer proves, that each
# file compiles alone, tools/lint.sh's clang-tidy proves for each changed file (it parses
# each source on its own: tools/tidy-keys.py). The unity sources then name their members by
# relative paths (tools/unity-relative.py), so ccache hits in a clone at another path.
#
# Usage: tools/build.sh [--without-unit-tests]
#   --without-unit-tests  every default target but the unit tests' program (tools/test.sh: the
#                         test command runs the unit tests in the sanitizer and aarch64 builds,
#                         not here; `meson test -C build unit` still builds and runs them)
set -euo pipefail
cd "$(dirname "$0")/.."
# The packages' layout (packaging/README.md): the units and the generator in /usr/lib, not
# where Debian 12's systemd.pc says (/lib). The VM tier boots the .deb of this build
# (tests/vm/README.md), which packaging/build.py builds only from a build laid out as the
# packages are; the same directories on merged-/usr Debian, the only ones on AL2023.
layout=(-Dsystemdunitdir=/usr/lib/systemd/system -Dsystemdgeneratordir=/usr/lib/systemd/system-generators)
if [[ ! -f build/build.ninja ]]; then
  meson setup build -Dwerror=true --unity on "${layout[@]}" >/dev/null
elif ! grep -q '"name": "systemdgeneratordir", "value": "/usr/lib/systemd/system-generators"' \
  build/meson-info/intro-buildoptions.json; then
  # a build configured before: a reconfigure, and the generator's library recompiled (it names
  # the unit directory)
  meson configure build "${layout[@]}" >/dev/null
fi
# ninja's own reconfigure (after a meson.build change) writes the unity sources anew, with
# absolute paths: reconfigure first, then make them relative, then build
ninja -C build build.ninja >/dev/null
tools/unity-relative.py build >/dev/null
if [[ ${1:-} == --without-unit-tests ]]; then
  mapfile -t targets < <(tools/targets.py build --default --without unit-tests --without unit-source-root)
  ninja -C build "${targets[@]}"
else
  ninja -C build
fi
