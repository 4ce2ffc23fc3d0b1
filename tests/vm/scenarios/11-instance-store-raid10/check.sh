#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016 # code passed to `bash -c` in single quotes expands in the guest, on purpose
# RAID10 over four instance-store disks: the array, its mounts, containerd and kubelet on it,
# and the time from the step's start to the bind mounts.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../../guest/check-lib.sh
source "$EKSVM_IN/check-lib.sh"
# shellcheck source=/dev/null # this case's options (NVMEOF): a sub-case of the `disks` group runs
# in the first case's boot, whose options $EKSVM_IN holds
source ./scenario.env

check "four EC2 instance-store disks are connected" nvmeof_setup
check "the chain starts" run_chain
binds=(var-lib-kubelet.mount var-lib-containerd.mount var-log-pods.mount)
for u in eks-node-instance-store.service 'mnt-k8s\x2ddisks-0.mount' "${binds[@]}" containerd.service kubelet.service; do
  check "$u is active" systemctl is-active "$u"
done
check "the array is RAID10 of the four instance-store disks, in serial order" \
  bash -c 'd=$(mdadm --detail /dev/md/eks-node); echo "$d"; grep -q "Raid Level : raid10" <<<"$d" &&
    test "$(grep -cE "active sync|spare rebuilding|resync" <<<"$d")" -ge 4 &&
    order=$(for n in $(grep -oE "/dev/nvme[0-9]+n1" <<<"$d"); do cat /sys/block/${n#/dev/}/device/serial; done | tr -d " " | tr "\n" " ")
    echo "member serials in RaidDevice order: $order"; test "$order" = "AWSINST0000000000A1 AWSINST0000000000B2 AWSINST0000000000C3 AWSINST0000000000D4 "'
check "the plain qemu NVMe disk is untouched" bash -c '! blkid -p /dev/disk/by-id/nvme-QEMU_NVMe_Ctrl_plain0'
check "XFS labelled eks-node on /mnt/k8s-disks/0" \
  bash -c 'udevadm settle; findmnt -n -o FSTYPE,LABEL /mnt/k8s-disks/0 | grep -Eq "^xfs +eks-node$"'
check "/var/lib/containerd is bound from the array" is_mount_from /var/lib/containerd '[/containerd]'
check "containerd's state is on the array" test -s /mnt/k8s-disks/0/containerd/io.containerd.metadata.v1.bolt/meta.db
check "kubelet's state is on the array" test -s /mnt/k8s-disks/0/kubelet/kubeconfig
secs=$(store_to_mounts_seconds "${binds[@]}")
echo "timing: eks-node-instance-store start -> bind mounts active: ${secs}s (4 disks, RAID10)"
echo "raid10-4-disks ${secs}" >"$EKSVM_OUT/timing.txt"
check "a re-run changes nothing" \
  bash -c '/usr/libexec/eks-node/eks-node-instance-store 2>&1 | tee /dev/stderr | grep -q "done, nothing changed"'
journal -b -u eks-node-instance-store --no-pager -o short-monotonic | tail -n 20
finish
