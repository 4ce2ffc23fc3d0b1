#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Runs inside a booted container (join.py --sandbox-cost): what the steps'
# confinement costs systemd before the program runs. One empty oneshot per
# variant, started 7 times; prints the sorted ExecMainStart -> ExecMainExit
# spans in ms (namespace and seccomp setup happen in the forked child, between
# the two). The steps' own Landlock rules are not here: they cost the program
# ~0.2 ms (nspawn's seccomp filter refuses the calls in this container anyway).
set -euo pipefail
# eks-node-ca.service's confinement as installed (eks-node(7), CONFINEMENT):
# its confinement lines from the unit and its drop-ins (the shared
# 10-sandbox.conf among them), in systemd's order
mapfile -t steps < <(systemctl cat eks-node-ca.service | grep -E '^(NoNewPrivileges|DevicePolicy|DeviceAllow|Protect[A-Za-z]*|Restrict[A-Za-z]*|LockPersonality|MemoryDenyWriteExecute|SystemCall[A-Za-z]*|CapabilityBoundingSet|AmbientCapabilities|Private[A-Za-z]*|IPAddress(Allow|Deny))=')
mapfile -t seccomp < <(printf '%s\n' "${steps[@]}" | grep -E '^(SystemCall|Restrict|LockPersonality|MemoryDeny|NoNewPriv)')
# the mount namespace the steps had before Landlock did the file system:
# the same protection spelled with one path per setting...
mounts=(ProtectSystem=strict ProtectHome=tmpfs PrivateTmp=yes PrivateMounts=yes "ReadOnlyPaths=/proc /sys"
  ProtectKernelModules=yes ReadWritePaths=/etc/kubernetes)
# ...and in systemd's own names
native=(ProtectSystem=strict ProtectHome=yes PrivateTmp=yes PrivateDevices=yes ProtectKernelTunables=yes
  ProtectKernelModules=yes ProtectKernelLogs=yes ProtectControlGroups=yes ReadWritePaths=/etc/kubernetes)
variants=(none steps seccomp "steps+mounts" "steps+native" mounts native PrivateNetwork=yes DevicePolicy=closed)
mkdir -p /etc/kubernetes /run/systemd/system
declare -A name
i=0
for v in "${variants[@]}"; do
  i=$((i + 1))
  name[$v]=sbx-$i
  {
    printf '[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\n'
    case $v in
      none) ;;
      steps) printf '%s\n' "${steps[@]}" ;;
      seccomp) printf '%s\n' "${seccomp[@]}" ;;
      steps+mounts) printf '%s\n' "${steps[@]}" "${mounts[@]}" ;;
      steps+native) printf '%s\n' "${steps[@]}" "${native[@]}" ;;
      mounts) printf '%s\n' "${mounts[@]}" ;;
      native) printf '%s\n' "${native[@]}" ;;
      *) printf '%s\n' "$v" ;;
    esac
  } >"/run/systemd/system/sbx-$i.service"
done
systemctl daemon-reload
# and the CPU the unit's cgroup took (CPUUsageNSec, read before the stop removes the
# cgroup): the forked child's setup and /bin/true, which a step's program adds its own to
cpus=()
for v in "${variants[@]}"; do
  u=${name[$v]} spans=() cpu=()
  for _ in 1 2 3 4 5 6 7; do
    systemctl start "$u"
    a=$(systemctl show -P ExecMainStartTimestampMonotonic "$u")
    b=$(systemctl show -P ExecMainExitTimestampMonotonic "$u")
    c=$(systemctl show -P CPUUsageNSec "$u")
    systemctl stop "$u"
    spans+=("$(awk -v d="$((b - a))" 'BEGIN { printf "%.1f", d / 1000 }')")
    [[ $c =~ ^[0-9]+$ ]] && cpu+=("$(awk -v d="$c" 'BEGIN { printf "%.1f", d / 1e6 }')")
  done
  printf '%-40s %s\n' "$v" "$(printf '%s\n' "${spans[@]}" | sort -g | tr '\n' ' ')"
  cpus+=("$(printf '%-40s %s' "$v" "$(printf '%s\n' "${cpu[@]}" | sort -g | tr '\n' ' ')")")
done
echo "cgroup CPU of the same starts, ms (7 runs, sorted)"
printf '%s\n' "${cpus[@]}"
