#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# crictl, the CRI's own command-line client (what AWS Support's runbooks and an admin on a
# node use to list pods, containers and images as kubelet sees them), and /etc/crictl.yaml
# pointing it at containerd's CRI socket, the endpoint eks-node gives kubelet (render/,
# containerRuntimeEndpoint), so `crictl ps` needs no --runtime-endpoint.
#
# AL2023 packages it (cri-tools). Debian does not (bookworm, trixie and sid have no
# cri-tools or crictl package): there it comes from the binary source like kubelet
# (bin/linux/ARCH/crictl); the VM test image stages a stand-in that speaks the CRI to the real
# containerd (tests/vm/guest/crictl).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

native=$(pkg_name cri-tools) || exit 1
if [[ -n $native ]]; then
  pkg_install cri-tools
else
  log "no cri-tools package here: crictl from the binary source"
  tmp=$(mktemp -d)
  fetch crictl "$tmp/crictl"
  put 0755 /usr/local/bin/crictl <"$tmp/crictl"
  rm -rf "$tmp"
fi

put 0644 /etc/crictl.yaml <<'YAML'
# Installed by the eks-node image build: containerd's CRI socket, kubelet's
# container runtime and image service endpoint on this node.
runtime-endpoint: unix:///run/containerd/containerd.sock
image-endpoint: unix:///run/containerd/containerd.sock
timeout: 10
YAML
