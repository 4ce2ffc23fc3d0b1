#!/bin/bash
# What a step's sandbox really refuses, not what its unit file says.
# Usage: confinement.sh probe            try each write/read below, print label=ok|denied
#        confinement.sh run UNIT         the probe as a transient service with UNIT's
#                                        confinement (its [Service] lines from NoNewPrivileges= on)
# The settings are spelled for start-up cost (eks-node(7), CONFINEMENT); this
# checks the cheaper spelling still refuses what the systemd-native one did.
# shellcheck disable=SC2016 # the probes are eval'ed in the subshell, on purpose
set -uo pipefail
try() {
  local label=$1
  shift
  if (eval "$*") 2>/dev/null; then echo "$label=ok"; else echo "$label=denied"; fi
}
case $1 in
  probe)
    # each write puts back what was there (or removes what it made), so the
    # unconfined control run changes nothing
    try sysctl 'v=$(cat /proc/sys/kernel/sysrq) && echo "$v" >/proc/sys/kernel/sysrq'
    try sysrq-trigger ': >>/proc/sysrq-trigger'
    try cgroupfs 'mkdir /sys/fs/cgroup/eks-node-probe && rmdir /sys/fs/cgroup/eks-node-probe'
    try sysfs 'v=$(cat /sys/kernel/mm/transparent_hugepage/enabled | sed "s/.*\[\(.*\)\].*/\1/") && echo "$v" >/sys/kernel/mm/transparent_hugepage/enabled'
    try kmsg ': </dev/kmsg'
    disk=
    for b in /sys/block/*; do [[ ${b##*/} == loop* ]] || { disk=${b##*/}; break; }; done
    try disk ": </dev/$disk"
    try etc ': >/etc/eks-node-probe && rm /etc/eks-node-probe'
    try home 'test -e /root/.eks-node-probe'
    try modules 'ls /usr/lib/modules/ | grep -q .'
    ;;
  run)
    mapfile -t props < <(systemctl cat "$2" | sed -n '/^NoNewPrivileges=/,/^\[/p' | grep -v '^#\|^\[\|^$')
    args=()
    for p in "${props[@]}"; do args+=(-p "$p"); done
    systemd-run --quiet --wait --pipe --collect "${args[@]}" /bin/bash "$0" probe
    ;;
esac
