#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Kernel parameters for a Kubernetes node, applied by systemd-sysctl at boot.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

# Bridged and forwarded pod traffic must pass iptables (kube-proxy, CNI).
put 0644 /etc/sysctl.d/99-kubernetes-cri.conf <<'CONF'
# Installed by the eks-node image build: pod traffic through iptables.
net.bridge.bridge-nf-call-iptables = 1
net.bridge.bridge-nf-call-ip6tables = 1
net.ipv4.ip_forward = 1
net.ipv6.conf.all.forwarding = 1
CONF

# kubelet's protectKernelDefaults refuses to start unless these hold
# (kubelet/cm/container_manager_linux.go: setupKernelTunables); more PIDs and
# inotify instances than the distribution defaults, for dense nodes.
put 0644 /etc/sysctl.d/99-kubelet.conf <<'CONF'
# Installed by the eks-node image build: what protectKernelDefaults checks.
vm.overcommit_memory = 1
vm.panic_on_oom = 0
kernel.panic = 10
kernel.panic_on_oops = 1
kernel.keys.root_maxkeys = 1000000
kernel.keys.root_maxbytes = 25000000
# dense nodes: many processes, many file watchers
kernel.pid_max = 4194304
fs.inotify.max_user_watches = 524288
fs.inotify.max_user_instances = 8192
CONF
