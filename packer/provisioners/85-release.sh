#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# What the image is: /etc/eks/release for people, and the version files
# eks-node-config reads instead of running `kubelet --version` and
# `containerd --version` at every boot (eks-node.toml(5), VERSIONS).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

# A bare MAJOR.MINOR.PATCH[-suffix]: Debian's "1.6.20~ds1" is no version to eks-node.
kubelet_v=$(/usr/bin/kubelet --version | awk '{ print $2 }')
containerd_v=$(containerd --version | awk '{ print $3 }' | sed -E 's/^v//; s/[~+].*//')
[[ $kubelet_v =~ ^v[0-9]+\.[0-9]+\.[0-9]+ ]] || die "kubelet --version gave \"$kubelet_v\""
[[ $containerd_v =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]] || die "containerd --version gave \"$containerd_v\""
echo "$kubelet_v" | put 0644 /etc/eks/kubelet-version.txt
echo "$containerd_v" | put 0644 /etc/eks/containerd-version.txt
# "soci-snapshotter-grpc version v0.11.1 COMMIT", Debian's "0.4.1-6 0.4.1-6": the release
soci_v=
if [[ -x /usr/bin/soci-snapshotter-grpc ]]; then
  soci_v=$(/usr/bin/soci-snapshotter-grpc --version | awk '{ print $3 }' | sed -E 's/^v//; s/[-~+].*//')
  [[ $soci_v =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "soci-snapshotter-grpc --version gave \"$soci_v\""
  echo "$soci_v" | put 0644 /etc/eks/soci-snapshotter-version.txt
fi

# The image's kernel, not the build host's (the VM test image is built in a chroot).
kernel=$(find /lib/modules -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n1)
put 0644 /etc/eks/release <<REL
IMAGE_KIND=${EKS_IMAGE_KIND:-ami}
VARIANT=${EKS_VARIANT:-standard}
KUBERNETES_VERSION=${EKS_KUBERNETES_VERSION:-}
KUBELET_VERSION=$kubelet_v
CONTAINERD_VERSION=$containerd_v
RUNC_VERSION=$(runc --version | awk 'NR == 1 { print $3 }')
SOCI_SNAPSHOTTER_VERSION=$soci_v
CNI_PLUGINS_VERSION=${EKS_CNI_PLUGINS_VERSION:-}
ECR_CREDENTIAL_PROVIDER_VERSION=${EKS_ECR_CREDENTIAL_PROVIDER_VERSION:-}
SOURCE_AMI=${EKS_SOURCE_AMI:-}
BUILD_KERNEL=$kernel
ARCH=$(uname -m)
REL
