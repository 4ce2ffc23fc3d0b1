#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Configures (once) and builds eks-node into build/ with warnings as errors.
#
# A unity build: meson merges four sources of a target into one object, so the headers every
# source includes (nlohmann/json, fmt, toml++, the standard library) are parsed and their
# templates compiled once per four files. The six libraries from nothing, GCC -O3, one job,
# no ccache (2026-11-28): 351 CPU-s merged, 640 per file; the unit test files merge too
# (tests/meson.build: 364 CPU-s, 171). What a unity build no longer proves, that each
# file compiles alone, tools/lint.sh's clang-tidy proves for each changed file (it parses
# each source on its own: tools/tidy-keys.py). The unity sources then name their members by
# relative paths (tools/unity-relative.py), so ccache hits in a clone at another path.
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
ninja -C build
