#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# runc from the distribution (dnf/apt verify the signed package), at the
# version prefix EKS_RUNC_VERSION.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

pkg_install "runc=${EKS_RUNC_VERSION:?}"
# sed, not head: head exits after one line, and runc 1.3 (four lines) then dies of SIGPIPE,
# which pipefail makes this step's failure
runc --version | sed -n 1p >&2
