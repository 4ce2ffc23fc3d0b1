#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016 # code passed to `bash -c` in single quotes expands in the guest, on purpose
# Power cut in the middle of the chain at first boot (POWER_CUT=1, tests/vm/run-scenario.sh).
# Boot 1 is cut once eks-node-ca and eks-node-containerd have written their files and before
# eks-node-kubelet starts, then runs on: the clean reference. Boot 2 boots the disk the cut
# left: the chain must complete the join with the reference's files, byte for byte, and leave
# no temporary file of a writer behind. Runs inside the guest (see tests/vm/README.md).
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../../guest/check-lib.sh
source "$EKSVM_IN/check-lib.sh"

# Every file eks-node writes, from its one list as `eks-node validate` prints it
# ("ok    /path", "skip  /path: not present ..."), whether present or not.
outputs() { eks-node validate 2>/dev/null | awk '$2 ~ /^\// { sub(/:$/, "", $2); print $2 }'; }
# "PATH MODE SHA256", or "PATH absent", for each of them
fingerprints() {
  local p
  for p in $(outputs); do
    if [[ ($p == /var/lib/node_exporter/textfile_collector/eks-node.prom || $p == /run/eks-node/verdict) && -e $p ]]; then
      # eks-node-telemetry(8)'s report and eks-node-verdict(8)'s line of this boot: their
      # times differ by design
      echo "$p $(stat -c %a "$p") (this boot's report)"
    elif [[ -e $p ]]; then
      echo "$p $(stat -c %a "$p") $(sha256sum <"$p" | cut -d' ' -f1)"
    else
      echo "$p absent"
    fi
  done
}
# the temporary files of the atomic writes still there (.NAME.XXXXXX, or any .NAME.*, next to NAME)
stray_temps() {
  local p
  for p in $(outputs); do
    compgen -G "${p%/*}/.${p##*/}.*" || true
  done
}
no_stray_temps() {
  local left
  left=$(stray_temps)
  [[ -z $left ]] || { echo "$left"; return 1; }
}
step_said() { # STEP WORDS: eks-node-STEP logged "done, WORDS" in this boot
  # by EKS_NODE_STEP=, not -u: journald misses the unit of an entry whose sender has exited
  journal -b "EKS_NODE_STEP=$1" --no-pager -o cat | grep -q "^done, $2"
}

# cni-cache-reset's run ended before containerd's and kubelet's main processes started
# (systemd's monotonic timestamps of this boot: an order, not a duration)
reset_first() {
  local reset u start
  reset=$(systemctl show -p ExecMainExitTimestampMonotonic --value cni-cache-reset.service)
  for u in containerd.service kubelet.service; do
    start=$(systemctl show -p ExecMainStartTimestampMonotonic --value "$u")
    echo "cni-cache-reset ended at $reset, $u started at $start"
    ((reset > 0 && start > reset)) || return 1
  done
}

echo "boot $EKSVM_BOOT of 2"
check "eks-node validate lists the kubelet config among the outputs" \
  bash -c 'eks-node validate | grep -q " /etc/kubernetes/kubelet/config.json$"'
for unit in eks-node-imds eks-node-config eks-node-ca eks-node-kubelet; do
  check "$unit.service is active" systemctl is-active "$unit.service"
done
# the image's render of containerd's files is this configuration's, in both boots
check "eks-node-containerd had nothing to do: skipped by its condition" containerd_step_skipped
check "eks-node.target is active" systemctl is-active eks-node.target
check "kubelet is active" systemctl is-active kubelet.service
check "the stub kubelet started and found its configuration good" \
  bash -c 'test "$(tr -d "[:space:]" </run/stub-kubelet/errors.json)" = "[]"'
check "eks-node validate exits 0" eks-node validate
check "no temporary file of an atomic write is left" no_stray_temps
# cni-cache-reset (the image's unit, packer/provisioners/24-units.sh): eksvm-cni-result wrote
# a CNI result of this boot after it ran and before the cut; this boot's is there
this_result=/var/lib/cni/results/eksvm-net-$(cat /proc/sys/kernel/random/boot_id)-eth0
check "cni-cache-reset.service ran in this boot" systemctl is-active cni-cache-reset.service
check "cni-cache-reset.service had finished when containerd and kubelet started" reset_first
check "the CNI result written after the reset in this boot is there" test -e "$this_result"

if [[ $EKSVM_BOOT == 1 ]]; then
  check "the power-cut point was reached in this boot" test -s /run/eksvm/out/power-cut.reached
  # shellcheck disable=SC2153 # EKSVM_OUT comes from the runner
  fingerprints >"$EKSVM_OUT/files.txt"
  cat /proc/sys/kernel/random/boot_id >"$EKSVM_OUT/boot_id"
else
  check "boot 1, the clean reference, passed" grep -qx status=pass "$EKSVM_IN/boot1/result"
  # what the cut left: the file eks-node-ca had written (and fsynced), none of
  # eks-node-kubelet's; /run is a new tmpfs
  check "eks-node-ca found its file from before the cut" step_said ca "nothing changed"
  check "eks-node-kubelet wrote its files (it had not run before the cut)" step_said kubelet "outputs changed"
  check "every file eks-node writes is byte-identical to the clean boot's (path, mode, sha256)" \
    diff "$EKSVM_IN/boot1/files.txt" <(fingerprints)
  # the reboot: boot 1's CNI result was on the disk this boot started from, and is gone
  boot1_result=eksvm-net-$(cat "$EKSVM_IN/boot1/boot_id")-eth0
  check "boot 1's CNI result was on the disk at this boot's start (before cni-cache-reset)" \
    grep -qx "$boot1_result" /run/eksvm-cni-before.txt
  check "cni-cache-reset removed boot 1's CNI result" \
    test ! -e "/var/lib/cni/results/$boot1_result"
fi
finish
