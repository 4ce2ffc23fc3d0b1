#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The shared libraries the eks-node binaries link (meson.build's dependencies; libsystemd,
# dlopen()ed, is the base image's), as packages of their own. toml++, fmt and pugixml are
# compiled into the binaries (meson.build says why: AL2023 packages none of them). On the AMI, 30-eks-node builds
# eks-node against the -devel packages and 90-cleanup removes those: a library dnf had
# installed only as a -devel package's dependency would go with it (dnf removes what no
# installed package requires any more, and eks-node is no package), leaving binaries that
# cannot start. Installed here by name, and marked so, they stay. The VM test image, which
# installs eks-node per run and skips 30-eks-node, gets them from this step too.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

libs=(libcurl libcrypto libyaml zlib)
pkg_install "${libs[@]}"
if [[ $(pkg_manager) == dnf ]]; then
  for l in "${libs[@]}"; do
    # what provides the name (libcurl-minimal for libcurl), as installed by the user
    dnf mark install -q "$(rpm -q --whatprovides --qf '%{NAME}\n' "$(pkg_name "$l")" | head -n1)" >/dev/null
  done
fi
