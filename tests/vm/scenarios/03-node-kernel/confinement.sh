#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# What a step's confinement really refuses, not what its unit file says: the
# unit's settings (devices, system calls, capabilities) and the step's own
# Landlock policy together (eks-node(7), CONFINEMENT).
# Usage: confinement.sh UNIT    `eks-node confinement --probe=STEP` as a transient
#                               service with UNIT's confinement lines, from the
#                               unit file and its drop-ins (the shared
#                               10-sandbox.conf among them) as `systemctl cat`
#                               shows them; prints label=result
#        confinement.sh none    the same probe unconfined (the control)
set -uo pipefail
case $1 in
  none) exec eks-node confinement --probe=none ;;
  *)
    step=${1#eks-node-}
    step=${step%.service}
    # every confinement setting, in systemd's order (unit file, then drop-ins),
    # wherever it is written; -p applies them in the same order
    mapfile -t props < <(systemctl cat "$1" | grep -E '^(NoNewPrivileges|DevicePolicy|DeviceAllow|Protect[A-Za-z]*|Restrict[A-Za-z]*|LockPersonality|MemoryDenyWriteExecute|SystemCall[A-Za-z]*|CapabilityBoundingSet|AmbientCapabilities|Private[A-Za-z]*|IPAddress(Allow|Deny))=')
    args=()
    for p in "${props[@]}"; do args+=(-p "$p"); done
    systemd-run --quiet --wait --pipe --collect "${args[@]}" /usr/bin/eks-node confinement --probe="$step"
    ;;
esac
