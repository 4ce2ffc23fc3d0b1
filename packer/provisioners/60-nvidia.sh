#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# NVIDIA variant: the kernel driver (EKS_NVIDIA_DRIVER_VERSION) from NVIDIA's
# AL2023 repository and nvidia-container-toolkit, whose runtime eks-node makes
# containerd's default handler on a node with an NVIDIA GPU
# (/usr/bin/nvidia-container-runtime). Only on the AMI (dnf): untested here.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

[[ ${EKS_VARIANT:-standard} == nvidia ]] || skip "variant ${EKS_VARIANT:-standard}"
[[ $(pkg_manager) == dnf ]] || die "the NVIDIA variant needs Amazon Linux 2023 (dnf)"
ver=${EKS_NVIDIA_DRIVER_VERSION:?the NVIDIA variant needs EKS_NVIDIA_DRIVER_VERSION}

arch=$(uname -m)
[[ $arch == aarch64 ]] && arch=sbsa
[[ -f /etc/yum.repos.d/cuda-amzn2023.repo ]] ||
  dnf config-manager --add-repo "https://developer.download.nvidia.com/compute/cuda/repos/amzn2023/$arch/cuda-amzn2023.repo"
[[ -f /etc/yum.repos.d/nvidia-container-toolkit.repo ]] ||
  dnf config-manager --add-repo https://nvidia.github.io/libnvidia-container/stable/rpm/nvidia-container-toolkit.repo
pkg_install kernel-devel kernel-modules-extra
dnf module install -y -q "nvidia-driver:${ver%%.*}-open" || pkg_install "nvidia-driver=$ver"
pkg_install nvidia-container-toolkit
# Persistence keeps the driver loaded between CUDA jobs (no re-init per pod).
systemctl enable nvidia-persistenced.service >/dev/null 2>&1 || true
