#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# What a node runs around kubelet and eks-node, from the distribution (packages.tsv says
# why each): kubelet's and kube-proxy's helpers (iptables, conntrack, ethtool, socat), log
# rotation, cloud-init (user data scripts) and systemd-resolved (instance.network), and
# eks-node-instance-store's mdadm and mkfs.xfs, and jq (AL2's guide edits kubelet-config.json
# with it in user data; AL2 AMIs had it), and the trust store's tool (settings.trust,
# eks-node-ca). Plus the image's extra packages
# (EKS_EXTRA_PACKAGES: the custom runtime hook, e.g. a runtime's own package), by the
# distribution's own names.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

base=(iptables-nft conntrack-tools ethtool socat logrotate tar cloud-init systemd-resolved
  mdadm xfsprogs jq ca-certificates)
pkg_install "${base[@]}"
# shellcheck disable=SC2206 # a space-separated list by contract
extra=(${EKS_EXTRA_PACKAGES:-})
pkg_install_native "${extra[@]}"
