#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016 # code passed to `bash -c` in single quotes expands in the guest, on purpose
# 01-nodeconfig's chain (the same NodeConfig user data and instance) in a VM, for what needs
# the node's own kernel and so no container boot can show (tests/vm/README.md, "Container
# boots"): each step's confinement as the kernel enforces it (Landlock and the unit's
# settings), `eks-node validate` (kernel modules and sysctls among its checks), and what the
# AMI sets up at boot (overlay loaded, cgroup2's favordynmods before the first step). The
# first boot of the `chain` group (tests/vm/groups).
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../../guest/check-lib.sh
source "$EKSVM_IN/check-lib.sh"

check "eks-node.target is active" systemctl is-active eks-node.target
check "kubelet is active" systemctl is-active kubelet.service
check "eks-node-readahead read the image build's recorded ranges (a VM: the image's rootfs.img)" readahead_recorded
check "eks-node validate exits 0" eks-node validate

# The steps' confinement (eks-node(7), CONFINEMENT): the unit's settings
# and the step's own Landlock policy. A probe run with each step's settings
# and policy must be refused everything but its own directory; the same probe
# unconfined (the control) must get through everything.
probe=$EKSVM_IN/scenario/confinement.sh
labels="own etc usr sysctl sysrq-trigger cgroupfs sysfs kmsg disk exec"
control=$(bash "$probe" none)
echo "$control" | tr '\n' ' '; echo
check "unconfined, the probe gets through all 10" test "$(grep -c '=ok$' <<<"$control")" = 10
check "this kernel has Landlock" bash -c 'eks-node confinement | grep -q "^Landlock: ABI [1-9]"'
check "no step of this boot ran without Landlock" \
  bash -c 'j=$(journal -b --no-pager -o cat -u "eks-node-*")
  grep -q "^done, " <<<"$j" && ! grep -q "has no Landlock" <<<"$j"'
# The settings the steps share come from one drop-in (eks-node-sandbox.conf,
# linked as 10-sandbox.conf): systemd must have loaded it for each of these
# steps, and what it sets must be in force, not just on disk.
check "eks-node-instance-store keeps its own sandbox, not the shared one" \
  bash -c '! systemctl show -P DropInPaths eks-node-instance-store.service | grep -q 10-sandbox.conf'
# One systemctl a unit, read with builtins (a `bash -c` of four systemctl, tr and grep cost
# ~2 s of emulated CPU a unit under TCG)
sandboxed() {
  local props line
  local -A p=()
  props=$(systemctl show -p DropInPaths -p DevicePolicy -p NoNewPrivileges -p CapabilityBoundingSet "$1.service")
  while IFS= read -r line; do p[${line%%=*}]=${line#*=}; done <<<"$props"
  [[ " ${p[DropInPaths]-} " == *"/$1.service.d/10-sandbox.conf "* && ${p[DevicePolicy]-} == closed &&
    ${p[NoNewPrivileges]-} == yes && -z ${p[CapabilityBoundingSet]-} ]] || { echo "$props"; return 1; }
}
for unit in eks-node-imds eks-node-config eks-node-system eks-node-ca eks-node-kubelet eks-node-containerd eks-node-hosts; do
  check "$unit loads the shared 10-sandbox.conf, and its settings are in force" sandboxed "$unit"
  out=$(bash "$probe" "$unit.service")
  want=""
  for l in $labels; do
    case $l:$unit in
      own:*) want+="$l=ok " ;;
      etc:eks-node-hosts) want+="$l=ok " ;;  # its policy: /etc/hosts, renamed into place
      exec:eks-node-ca) want+="$l=ok " ;;  # settings.trust: the store's tool, run from /usr
      *) want+="$l=denied " ;;
    esac
  done
  got=$(sed 's/ (.*//' <<<"$out" | tr '\n' ' ')
  check "$unit's confinement refuses all but its own directory ($labels)" test "$got" = "$want"
  [[ $got == "$want" ]] || echo "$out"
done

# the AMI loads overlay at boot, so containerd's start runs no modprobe first
check "overlay is loaded" grep -q '^overlay ' /proc/modules
check "containerd.service has no ExecStartPre= left" test -z "$(systemctl show -P ExecStartPre containerd.service)"
# the AMI sets favordynmods on cgroup2 at boot, before any eks-node step starts
check "cgroup-favordynmods ran" systemctl is-active cgroup-favordynmods.service
check "cgroup2 is mounted with favordynmods" bash -c 'grep -E "^cgroup2 " /proc/mounts | grep -q favordynmods'
check "... and keeps systemd's nsdelegate and memory_recursiveprot" \
  bash -c 'grep -E "^cgroup2 " /proc/mounts | grep nsdelegate | grep -q memory_recursiveprot'
check "... before eks-node-imds started" bash -c '
  a=$(systemctl show -P ExecMainExitTimestampMonotonic cgroup-favordynmods.service)
  b=$(systemctl show -P ExecMainStartTimestampMonotonic eks-node-imds.service)
  (( a > 0 && a <= b ))'
finish
