#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# What kubelet and kube-proxy call on a node (iptables, conntrack, ethtool,
# socat), plus the image's extra packages (EKS_EXTRA_PACKAGES: the custom
# runtime hook, e.g. a runtime's own package).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

base=(iptables-nft conntrack-tools ethtool socat logrotate tar)
# shellcheck disable=SC2206 # a space-separated list by contract
extra=(${EKS_EXTRA_PACKAGES:-})
pkg_install "${base[@]}" "${extra[@]}"
