#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# containerd from the distribution at the version prefix EKS_CONTAINERD_VERSION.
# eks-node-containerd renders /etc/containerd/config.toml at boot; the
# package's own config is moved out of the way so nothing mistakes it for ours.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

pkg_install "containerd=${EKS_CONTAINERD_VERSION:?}"
if [[ -f /etc/containerd/config.toml && ! -f /etc/containerd/config.toml.dist ]]; then
  mv /etc/containerd/config.toml /etc/containerd/config.toml.dist
  log "moved the package's config.toml to config.toml.dist"
fi
