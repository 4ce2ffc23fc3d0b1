#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# systemd units the image provides around eks-node's drop-ins: runtime.slice,
# the AL2023-shaped kubelet.service (eks-node ships only drop-ins for it, see
# dropins/kubelet.service.d/10-eks-node.conf) with its FORWARD-policy unit,
# containerd in runtime.slice, cgroup2's favordynmods set at boot, and the CNI results
# cache of the previous boot removed before containerd and kubelet start (cni-cache-reset).
# kubelet.service stays disabled: eks-node.target starts it (units/90-eks-node.preset).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

put 0644 /etc/systemd/system/runtime.slice <"$files_dir/runtime.slice"
put 0644 /etc/systemd/system/kubelet.service <"$files_dir/kubelet.service"
put 0644 /etc/systemd/system/kubelet-forward-policy.service <"$files_dir/kubelet-forward-policy.service"
put 0644 /etc/systemd/system/cgroup-favordynmods.service <"$files_dir/cgroup-favordynmods.service"
put 0644 /etc/systemd/system/cni-cache-reset.service <"$files_dir/cni-cache-reset.service"
# enabled by hand: the same links `systemctl enable` makes, also in a chroot without systemd running
mkdir -p /etc/systemd/system/sysinit.target.wants /etc/systemd/system/multi-user.target.wants
ln -sfn ../cgroup-favordynmods.service /etc/systemd/system/sysinit.target.wants/cgroup-favordynmods.service
ln -sfn ../cni-cache-reset.service /etc/systemd/system/multi-user.target.wants/cni-cache-reset.service
put 0644 /etc/systemd/system/containerd.service.d/00-runtime-slice.conf <<'CONF'
# Installed by the eks-node image build: kubelet and containerd share runtime.slice.
[Service]
Slice=runtime.slice
CONF
put 0644 /etc/systemd/system/containerd.service.d/01-overlay-loaded-at-boot.conf <<'CONF'
# Installed by the eks-node image build. The vendor unit's
# ExecStartPre=-/sbin/modprobe overlay only repeats what systemd-modules-load
# did at boot (/etc/modules-load.d/eks-node.conf, 11-kernel-modules.sh), and
# runs between eks-node's containerd config and containerd starting, on
# every node's join path.
[Service]
ExecStartPre=
CONF
