#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Prints the default root of the VM tier's results: one directory per checkout
# under /tmp/eks-node-vm, so that two trees' VM runs (a worktree and main, or a
# CI clone beside a developer's tree) never write to each other's results.
# EKS_NODE_VM_OUT overrides it in every script that calls this one.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
name=${repo#/}
echo "/tmp/eks-node-vm/${name//\//_}"
