#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The files a join reads, listed for eks-node-readahead (eks-node-readahead(8)): an
# instance's root volume is restored from the AMI's snapshot lazily, each block's first
# read fetched from S3, and the step reads these files into the page cache from the first
# moment of the boot, before the join asks for them. `eks-node readahead-list` writes
# /usr/lib/eks-node/readahead.list from the image as it is now (the units, containerd,
# kubelet, the credential plugins, the pause image, the CNI plugins, each program's
# libraries), so it runs once everything a node runs is installed and the build's own
# tools are gone; 99-validate checks the list against the image. The VM test image
# installs eks-node at each boot (EKS_SKIP has 30-eks-node): its installer writes the list
# then (tests/vm/guest/install-payload), and its validation runs this step.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

if [[ " ${EKS_SKIP:-} " == *" 30-eks-node "* ]]; then
  skip "eks-node is not installed here (EKS_SKIP): its installer runs eks-node readahead-list"
fi
log "$(eks-node readahead-list)"
