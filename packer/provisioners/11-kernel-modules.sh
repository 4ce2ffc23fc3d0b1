#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Modules loaded at boot by systemd-modules-load (before systemd-sysctl, so
# the net.bridge.* keys exist): overlay for containerd's snapshotter,
# br_netfilter for bridged pod traffic, plus EKS_EXTRA_KERNEL_MODULES (the
# custom runtime hook, e.g. a VM-based runtime's kvm module).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

put 0644 /etc/modules-load.d/eks-node.conf <<'CONF'
# Installed by the eks-node image build.
overlay
br_netfilter
CONF

# shellcheck disable=SC2206 # a space-separated list by contract
extra=(${EKS_EXTRA_KERNEL_MODULES:-})
if ((${#extra[@]})); then
  for m in "${extra[@]}"; do
    [[ $m =~ ^[a-zA-Z0-9_-]+$ ]] || die "EKS_EXTRA_KERNEL_MODULES: \"$m\" is not a module name"
  done
  { echo "# Installed by the eks-node image build: EKS_EXTRA_KERNEL_MODULES."
    printf '%s\n' "${extra[@]}"; } | put 0644 /etc/modules-load.d/eks-node-extra.conf
else
  rm -f /etc/modules-load.d/eks-node-extra.conf
fi
