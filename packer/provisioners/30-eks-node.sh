#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# eks-node itself: `meson install` of this repository, built on the instance
# (so it links the image's own libraries). EKS_NODE_SOURCE is a source tree
# or a `git archive` tarball of it. The VM test image skips this step: its
# harness installs the build under test at every boot (tests/vm/README.md).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

src=${EKS_NODE_SOURCE:?EKS_NODE_SOURCE is not set}
work=/var/tmp/eks-node-build
if [[ -f $src ]]; then
  rm -rf "$work"
  mkdir -p "$work/src"
  tar -xf "$src" -C "$work/src"
  src=$work/src
fi
[[ -f $src/meson.build ]] || die "$src: no meson.build (want the eks-node source tree)"

# Build dependencies as meson.build lists them (packages.tsv); removed by 90-cleanup. The
# libraries the binaries link at run time are 29-eks-node-libraries', and stay.
build_deps=(meson ninja-build gcc-c++ pkgconf systemd-devel json-devel tomlplusplus-devel
  libyaml-devel libcurl-devel openssl-devel fmt-devel zlib-devel pugixml-devel scdoc)
pkg_install "${build_deps[@]}"
build_only "${build_deps[@]}"

meson setup "$work/build" "$src" --wipe -Dtests=false -Dbuildtype=release >&2 ||
  meson setup "$work/build" "$src" -Dtests=false -Dbuildtype=release >&2
ninja -C "$work/build" >&2
meson install -C "$work/build" --no-rebuild >&2
# Presets apply to units enabled from now on; kubelet stays disabled.
systemctl preset eks-node.target kubelet.service >/dev/null 2>&1 || true
# journalctl -x explains eks-node's MESSAGE_IDs from the binary catalog
# database; a package manager's trigger would rebuild it, meson install does not.
journalctl --update-catalog
/usr/bin/eks-node --version >&2
