#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The custom runtime hook's containerd side: EKS_RUNTIME_HANDLERS, a
# space-separated list of NAME=RUNTIME_TYPE[=BINARY], becomes an image default
# of eks-node (/usr/lib/eks-node/node.toml.d/20-runtime-handlers.toml, see
# eks-node.toml(5)), merged into the config.toml that eks-node-containerd
# renders at boot. User data can still override or add handlers; no fork of
# the template or of eks-node is needed. (Packages: EKS_EXTRA_PACKAGES;
# modules: EKS_EXTRA_KERNEL_MODULES.)
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

fragment=/usr/lib/eks-node/node.toml.d/20-runtime-handlers.toml
# shellcheck disable=SC2206 # a space-separated list by contract
handlers=(${EKS_RUNTIME_HANDLERS:-})
if ((${#handlers[@]} == 0)); then
  rm -f "$fragment"
  skip "no EKS_RUNTIME_HANDLERS"
fi

# containerd 2 reads configuration version 3, where the CRI runtime plugin
# has another name; eks-node picks the version from the same containerd.
major=$(containerd --version | awk '{ print $3 }' | sed 's/^v//; s/\..*//')
if ((major >= 2)); then
  table='plugins."io.containerd.cri.v1.runtime".containerd.runtimes'
else
  table='plugins."io.containerd.grpc.v1.cri".containerd.runtimes'
fi

{
  echo "# Installed by the eks-node image build (EKS_RUNTIME_HANDLERS)."
  for h in "${handlers[@]}"; do
    IFS='=' read -r name type binary <<<"$h"
    [[ $name =~ ^[a-z0-9][a-z0-9_-]*$ ]] || die "EKS_RUNTIME_HANDLERS: bad handler name in \"$h\""
    [[ $type =~ ^io\.containerd\.[a-z0-9.]+$ ]] || die "EKS_RUNTIME_HANDLERS: \"$h\": bad runtime type"
    printf '\n[containerd.config.%s.%s]\nruntime_type = "%s"\n' "$table" "$name" "$type"
    if [[ -n ${binary:-} ]]; then
      [[ $binary == /* ]] || die "EKS_RUNTIME_HANDLERS: \"$h\": the binary must be an absolute path"
      printf '\n[containerd.config.%s.%s.options]\nBinaryName = "%s"\nSystemdCgroup = true\n' \
        "$table" "$name" "$binary"
    fi
  done
} | put 0644 "$fragment"
