#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# /etc/eks/log-collector-script/eks-log-collector.sh, the path AWS Support's runbooks and its
# SSM document run AWS's EKS log collector from: here a shim with that script's command line
# over `eks-node collect-logs`, whose archive masks secrets (files/eks-log-collector.sh says
# how each argument is mapped or refused; tests/data/log-collector-compat.tsv lists them).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

put 0755 /etc/eks/log-collector-script/eks-log-collector.sh <"$files_dir/eks-log-collector.sh"
