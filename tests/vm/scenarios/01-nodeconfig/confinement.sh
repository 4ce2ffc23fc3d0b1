#!/bin/bash
# What a step's confinement really refuses, not what its unit file says: the
# unit's settings (devices, system calls, capabilities) and the step's own
# Landlock policy together (eks-node(7), CONFINEMENT).
# Usage: confinement.sh UNIT    `eks-node confinement --probe=STEP` as a transient
#                               service with UNIT's [Service] confinement lines
#                               (from NoNewPrivileges= on); prints label=result
#        confinement.sh none    the same probe unconfined (the control)
set -uo pipefail
case $1 in
  none) exec eks-node confinement --probe=none ;;
  *)
    step=${1#eks-node-}
    step=${step%.service}
    mapfile -t props < <(systemctl cat "$1" | sed -n '/^NoNewPrivileges=/,/^\[/p' | grep -v '^#\|^\[\|^$')
    args=()
    for p in "${props[@]}"; do args+=(-p "$p"); done
    systemd-run --quiet --wait --pipe --collect "${args[@]}" /usr/bin/eks-node confinement --probe="$step"
    ;;
esac
