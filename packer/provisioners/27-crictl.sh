#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# crictl, the CRI's own command-line client (what AWS Support's runbooks and an admin on a
# node use to list pods, containers and images as kubelet sees them), and /etc/crictl.yaml
# pointing it at containerd's CRI socket, the endpoint eks-node gives kubelet (render/,
# containerRuntimeEndpoint), so `crictl ps` needs no --runtime-endpoint.
#
# No distribution this recipe builds on packages it: AL2023 has no cri-tools (its support
# statements; amazon-eks-ami's AL2023 recipe installs no crictl, its AL2 recipe had taken
# Amazon Linux 2's cri-tools), and Debian neither (bookworm, trixie, sid). So it comes from
# the binary source like kubelet (bin/linux/ARCH/crictl, a cri-tools release's crictl, checked
# against its .sha256); the VM test image stages a stand-in that speaks the CRI to the real
# containerd (tests/vm/guest/crictl).
#
# Only with EKS_CRICTL=true (install_crictl, default false): the node needs no crictl, and the
# binary source a builder points at (EKS's own among them) may carry none, which would stop
# the build here.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

[[ ${EKS_CRICTL:-false} == true ]] || skip "EKS_CRICTL is not true (install_crictl)"

tmp=$(mktemp -d)
fetch crictl "$tmp/crictl"
put 0755 /usr/local/bin/crictl <"$tmp/crictl"
rm -rf "$tmp"

put 0644 /etc/crictl.yaml <<'YAML'
# Installed by the eks-node image build: containerd's CRI socket, kubelet's
# container runtime and image service endpoint on this node.
runtime-endpoint: unix:///run/containerd/containerd.sock
image-endpoint: unix:///run/containerd/containerd.sock
timeout: 10
YAML
