#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# FIPS variant: the kernel and the crypto policy in FIPS mode
# (fips-mode-setup, Amazon Linux 2023's own tool). Takes effect at the next
# boot, i.e. the first boot of an instance from the AMI. Only on the AMI
# (dnf): untested here.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

[[ ${EKS_FIPS:-false} == true ]] || skip "EKS_FIPS is not true"
[[ $(pkg_manager) == dnf ]] || die "FIPS mode needs Amazon Linux 2023 (dnf)"
pkg_install crypto-policies-scripts
if fips-mode-setup --is-enabled >/dev/null 2>&1; then
  log "FIPS mode already enabled"
else
  fips-mode-setup --enable
fi
