#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The kubelet image credential provider for ECR, where eks-node's
# credential-provider config points (/etc/eks/image-credential-provider/).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

dest=/etc/eks/image-credential-provider/ecr-credential-provider
ver=${EKS_ECR_CREDENTIAL_PROVIDER_VERSION:?}
if [[ -x $dest && -f $dest.version && $(cat "$dest.version") == "$ver" ]]; then
  log "ecr-credential-provider $ver already installed"
  exit 0
fi
tmp=$(mktemp -d)
fetch ecr-credential-provider "$tmp/ecr-credential-provider"
install -D -m 0755 "$tmp/ecr-credential-provider" "$dest"
rm -rf "$tmp"
# It has no --version: the image records what it installed.
echo "$ver" | put 0644 "$dest.version"
