#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Elastic Fabric Adapter (EKS_EFA_VERSION, empty: none): the AWS EFA installer
# from the binary source (checksum verified), minimal install (kernel module
# and libfabric, no MPI). Used by the NVIDIA and Neuron variants. Only on the
# AMI (dnf): untested here.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

ver=${EKS_EFA_VERSION:-}
[[ -n $ver ]] || skip "no EKS_EFA_VERSION"
[[ $(pkg_manager) == dnf ]] || die "EFA needs Amazon Linux 2023 (dnf)"
if [[ -f /opt/amazon/efa_installed_packages ]] && grep -q "EFA installer version: $ver" /opt/amazon/efa_installed_packages; then
  log "EFA $ver already installed"
  exit 0
fi
tmp=$(mktemp -d)
fetch "aws-efa-installer-$ver.tar.gz" "$tmp/efa.tar.gz"
tar -xzf "$tmp/efa.tar.gz" -C "$tmp"
(cd "$tmp/aws-efa-installer" && ./efa_installer.sh -y --minimal --skip-limit-conf --no-verify)
rm -rf "$tmp"
