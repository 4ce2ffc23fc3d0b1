#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016 # code passed to `bash -c` in single quotes expands in the guest, on purpose
# IMDS that appears 10 s after boot -> the chain waits and completes.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../../guest/check-lib.sh
source "$EKSVM_IN/check-lib.sh"

check "eks-node-imds.service is active" systemctl is-active eks-node-imds.service
check "eks-node.target is active" systemctl is-active eks-node.target
check "kubelet is active" systemctl is-active kubelet.service
check "instance.json was written" test -s /run/eks-node/instance.json
check "eks-node-imds retried until IMDS answered" \
  bash -c 'journalctl -b -u eks-node-imds.service --no-pager -o cat | grep -q "answered after [0-9]* retries"'
# no config.toml of eks-node's at boot (VM_IMAGE_RENDER=0): the generator ordered containerd
# after eks-node-containerd, and it started once, on the rendered file
check "the generator ordered containerd after eks-node-containerd" \
  grep -qx "After=eks-node-containerd.service" /run/systemd/generator/containerd.service.d/50-eks-node-after-render.conf
check "containerd started after eks-node-containerd" after_start containerd.service eks-node-containerd.service
check "eks-node-kubelet ran while containerd started, after eks-node-containerd" \
  after_start eks-node-kubelet.service eks-node-containerd.service
check "containerd started once this boot" containerd_started 1
finish
