#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The reference CNI plugins into /opt/cni/bin (the VPC CNI chains loopback,
# portmap, bandwidth), from the release tarball in the binary source.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

ver=${EKS_CNI_PLUGINS_VERSION:?}
tarball=cni-plugins-linux-$(go_arch)-v$ver.tgz
if [[ -f /opt/cni/bin/.version ]] && [[ $(cat /opt/cni/bin/.version) == "$ver" ]]; then
  log "CNI plugins v$ver already in /opt/cni/bin"
  exit 0
fi
tmp=$(mktemp -d)
fetch "$tarball" "$tmp/$tarball"
mkdir -p /opt/cni/bin
tar -xzf "$tmp/$tarball" -C /opt/cni/bin --no-same-owner
rm -rf "$tmp"
for p in loopback portmap bandwidth host-local; do
  [[ -x /opt/cni/bin/$p ]] || die "$tarball has no $p plugin"
done
echo "$ver" | put 0644 /opt/cni/bin/.version
