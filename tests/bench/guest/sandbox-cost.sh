#!/bin/bash
# Runs inside a booted container (join.py --sandbox-cost): what each sandboxing
# setting of our step units costs systemd before the program runs. One empty
# oneshot per setting (or group), started 7 times; prints the sorted
# ExecMainStart -> ExecMainExit spans in ms (the namespace and seccomp setup
# happens in the forked child, between the two).
set -euo pipefail
# eks-node-ca.service's confinement as installed (eks-node(7), CONFINEMENT):
# its [Service] lines from NoNewPrivileges= on
mapfile -t steps < <(systemctl cat eks-node-ca.service | sed -n '/^NoNewPrivileges=/,/^\[/p' | grep -v '^#\|^\[\|^$')
# the same protection in systemd's own names, as the steps had it before
native_mounts=(ProtectSystem=strict ProtectHome=yes PrivateTmp=yes PrivateDevices=yes
  ProtectKernelTunables=yes ProtectKernelModules=yes ProtectKernelLogs=yes
  ProtectControlGroups=yes ReadWritePaths=/etc/kubernetes)
# the steps' spelling of the same (one mount path per setting): their
# file-system and device lines, taken from the installed unit too
mapfile -t steps_mounts < <(printf '%s\n' "${steps[@]}" |
  grep -E '^(ProtectSystem|ProtectHome|PrivateTmp|PrivateMounts|ReadOnlyPaths|ReadWritePaths|DevicePolicy|ProtectKernelModules)=')
seccomp=(NoNewPrivileges=yes ProtectClock=yes RestrictNamespaces=yes RestrictRealtime=yes
  RestrictSUIDSGID=yes LockPersonality=yes MemoryDenyWriteExecute=yes
  SystemCallArchitectures=native SystemCallFilter=@system-service
  "SystemCallFilter=~@privileged @resources" RestrictAddressFamilies=AF_UNIX)
other=(ProtectHostname=yes CapabilityBoundingSet= PrivateNetwork=yes IPAddressDeny=any)
variants=(none steps native native-mounts steps-mounts seccomp "${native_mounts[@]}"
  ProtectHome=tmpfs "ReadOnlyPaths=/proc /sys" DevicePolicy=closed "${other[@]}")
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
      native) printf '%s\n' "${native_mounts[@]}" "${seccomp[@]}" "${other[@]}" ;;
      native-mounts) printf '%s\n' "${native_mounts[@]}" ;;
      steps-mounts) printf '%s\n' "${steps_mounts[@]}" ;;
      seccomp) printf '%s\n' "${seccomp[@]}" ;;
      *) printf '%s\n' "$v" ;;
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
