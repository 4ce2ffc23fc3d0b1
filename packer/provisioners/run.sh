#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Runs every image-time step (NN-name.sh beside this file) in order, as root.
# The AMI build (packer/al2023.pkr.hcl) and the VM test image
# (tests/vm/build-image.sh) both call this, with the EKS_* variables of
# packer/README.md in the environment. Each step is idempotent: running the
# whole list twice leaves the image as running it once.
#
# Usage: run.sh [STEP...]   (no argument: every step)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[[ $(id -u) == 0 ]] || { echo "run.sh: needs root" >&2; exit 1; }

steps=("$@")
if ((${#steps[@]} == 0)); then
  for f in "$here"/[0-9][0-9]-*.sh; do steps+=("$(basename "$f" .sh)"); done
fi
for s in "${steps[@]}"; do
  [[ -f $here/$s.sh ]] || { echo "run.sh: no step $s" >&2; exit 2; }
  start=$SECONDS
  bash "$here/$s.sh"
  printf 'eks-provision: %s: done in %ss\n' "$s" $((SECONDS - start)) >&2
done
