#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Cache the pause (sandbox) image as a pinned local image, so no pod start
# waits for a pull and kubelet's image GC never removes it; an image default
# of eks-node makes it the sandbox image. Needs a running containerd and
# registry credentials: the AMI build pulls EKS_PAUSE_IMAGE from ECR (the
# builder's instance profile); the VM test image skips it (no containerd
# running in a chroot, no network), and tests/vm/guest/install-payload names a
# local pause image and renders the same files at each test boot instead.
# Then `eks-node render --image`: containerd's files from what the image fixes.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

[[ ${EKS_CACHE_PAUSE_IMAGE:-true} == true ]] || skip "EKS_CACHE_PAUSE_IMAGE is not true"
image=${EKS_PAUSE_IMAGE:?EKS_PAUSE_IMAGE is not set}
# A local name no registry serves: never pulled, only ever the cached copy.
local_ref=localhost/kubernetes/pause:${image##*:}
ctr=(ctr --namespace k8s.io)

systemctl start containerd.service
if ! "${ctr[@]}" images check "name==$local_ref" 2>/dev/null | grep -q complete; then
  registry=${image%%/*}
  region=$(sed -E 's/.*\.ecr\.([a-z0-9-]+)\.amazonaws\.com.*/\1/' <<<"$registry")
  "${ctr[@]}" images pull --user "AWS:$(aws ecr get-login-password --region "$region")" "$image" >/dev/null
  "${ctr[@]}" images tag --force "$image" "$local_ref"
  "${ctr[@]}" images rm "$image" >/dev/null
fi
"${ctr[@]}" images label "$local_ref" io.cri-containerd.pinned=pinned >/dev/null

put 0644 /usr/lib/eks-node/node.toml.d/10-pause-image.toml <<CONF
# Installed by the eks-node image build: the pause image cached in this image.
[settings.containerd]
sandboxImage = "$local_ref"
CONF

# containerd's files from what the image fixes, now that the pause image's name does not
# depend on the region: containerd starts at boot in parallel with eks-node's steps, and
# eks-node-containerd restarts it only for user data that changes what it reads
# (eks-node-generator(8), EARLY CONTAINERD).
eks-node render --image
