#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# kubelet from the binary source, checksum verified, and checked to be the
# version EKS_KUBELET_VERSION.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

want=${EKS_KUBELET_VERSION:?}
have() { /usr/bin/kubelet --version 2>/dev/null | awk '{ print $2 }'; }
if [[ -x /usr/bin/kubelet && $(have) == "v$want"* ]]; then
  log "kubelet $(have) already installed"
  exit 0
fi
tmp=$(mktemp -d)
fetch kubelet "$tmp/kubelet"
install -m 0755 "$tmp/kubelet" /usr/bin/kubelet
rm -rf "$tmp"
[[ $(have) == "v$want"* ]] || die "kubelet reports \"$(have)\", EKS_KUBELET_VERSION is $want"
log "kubelet $(have)"
