#!/bin/bash
# Runs inside a booted container (join.py --sandbox-cost): what each sandboxing
# setting of our step units costs systemd before the program runs. One empty
# oneshot per setting (or group), started 7 times; prints the sorted
# ExecMainStart -> ExecMainExit spans in ms (the namespace and seccomp setup
# happens in the forked child, between the two).
set -euo pipefail
# the sandboxing of eks-node-ca.service, the plainest step, one line per setting
mounts=(ProtectSystem=strict ProtectHome=yes PrivateTmp=yes PrivateDevices=yes
  ProtectKernelTunables=yes ProtectKernelModules=yes ProtectKernelLogs=yes
  ProtectControlGroups=yes ReadWritePaths=/etc/kubernetes)
seccomp=(NoNewPrivileges=yes ProtectClock=yes RestrictNamespaces=yes RestrictRealtime=yes
  RestrictSUIDSGID=yes LockPersonality=yes MemoryDenyWriteExecute=yes
  SystemCallArchitectures=native SystemCallFilter=@system-service
  "SystemCallFilter=~@privileged @resources" RestrictAddressFamilies=AF_UNIX)
other=(ProtectHostname=yes CapabilityBoundingSet= PrivateNetwork=yes)
variants=(none all mounts seccomp "${mounts[@]}" "${other[@]}")
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
      all) printf '%s\n' "${mounts[@]}" "${seccomp[@]}" "${other[@]}" ;;
      mounts) printf '%s\n' "${mounts[@]}" ;;
      seccomp) printf '%s\n' "${seccomp[@]}" ;;
      *) printf '%s\n' "${v//;/$'\n'}" ;;  # a variant may be a ';'-separated group
    esac
  } >"/run/systemd/system/sbx-$i.service"
done
systemctl daemon-reload
for v in "${variants[@]}"; do
  u=${name[$v]} spans=()
  for _ in 1 2 3 4 5 6 7; do
    systemctl start "$u"
    a=$(systemctl show -P ExecMainStartTimestampMonotonic "$u")
    b=$(systemctl show -P ExecMainExitTimestampMonotonic "$u")
    systemctl stop "$u"
    spans+=("$(awk -v d="$((b - a))" 'BEGIN { printf "%.1f", d / 1000 }')")
  done
  printf '%-40s %s\n' "$v" "$(printf '%s\n' "${spans[@]}" | sort -g | tr '\n' ' ')"
done
