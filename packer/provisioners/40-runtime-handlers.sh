#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The custom runtime hook's containerd side, as eks-node configuration
# (settings.runtimes, eks-node.toml(5) RUNTIME HANDLERS) in an image default,
# /usr/lib/eks-node/node.toml.d/20-runtime-handlers.toml:
# - EKS_RUNTIME_HANDLERS, a space-separated list of NAME=RUNTIME_TYPE=BINARY,
#   each a [settings.runtimes.NAME] table with type and binary;
# - EKS_RUNTIME_HANDLERS_TOML, base64 of eks-node TOML with such tables (every
#   field: options, kernelModules, podAnnotations, default, ...), as is.
# eks-node renders them into containerd's config.toml (the schema of the
# containerd it finds), checks binaries and modules (at `eks-node render
# --image` here and at every boot), and has systemd load the modules before
# containerd starts. User data can still add handlers or change them key by
# key; no fork of the template or of eks-node is needed. (Packages:
# EKS_EXTRA_PACKAGES.)
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

fragment=/usr/lib/eks-node/node.toml.d/20-runtime-handlers.toml
# shellcheck disable=SC2206 # a space-separated list by contract
handlers=(${EKS_RUNTIME_HANDLERS:-})
toml=$(base64 -d <<<"${EKS_RUNTIME_HANDLERS_TOML:-}") || die "EKS_RUNTIME_HANDLERS_TOML: not base64"
if ((${#handlers[@]} == 0)) && [[ -z $toml ]]; then
  rm -f "$fragment"
  skip "no EKS_RUNTIME_HANDLERS, no EKS_RUNTIME_HANDLERS_TOML"
fi

{
  echo "# Installed by the eks-node image build (EKS_RUNTIME_HANDLERS, EKS_RUNTIME_HANDLERS_TOML)."
  for h in "${handlers[@]}"; do
    IFS='=' read -r name type binary <<<"$h"
    # eks-node checks every field again (exit 6 naming it); these keep the TOML well formed
    [[ $name =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] || die "EKS_RUNTIME_HANDLERS: bad handler name in \"$h\""
    [[ $type =~ ^io\.containerd\.[a-z0-9.]+$ ]] || die "EKS_RUNTIME_HANDLERS: \"$h\": bad runtime type"
    [[ ${binary:-} =~ ^/[^\"\\]*$ ]] || die "EKS_RUNTIME_HANDLERS: \"$h\": the binary must be an absolute path"
    printf '\n[settings.runtimes.%s]\ntype = "%s"\nbinary = "%s"\n' "$name" "$type" "$binary"
  done
  [[ -z $toml ]] || printf '\n%s\n' "$toml"
} | put 0644 "$fragment"
