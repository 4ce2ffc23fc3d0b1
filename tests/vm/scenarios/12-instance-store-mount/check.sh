#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016 # code passed to `bash -c` in single quotes expands in the guest, on purpose
# Mount: one XFS per disk on /mnt/k8s-disks/1 and /2 in serial order, no bind mounts, no array.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../../guest/check-lib.sh
source "$EKSVM_IN/check-lib.sh"
# shellcheck source=/dev/null # this case's options (NVMEOF): a sub-case of the `disks` group runs
# in the first case's boot, whose options $EKSVM_IN holds
source ./scenario.env

check "two EC2 instance-store disks are connected" nvmeof_setup
check "the chain starts" run_chain
mounts=('mnt-k8s\x2ddisks-1.mount' 'mnt-k8s\x2ddisks-2.mount')
for u in eks-node-instance-store.service "${mounts[@]}" kubelet.service; do
  check "$u is active" systemctl is-active "$u"
done
check "disk 1 is the lower serial" \
  bash -c 'findmnt -n -o SOURCE /mnt/k8s-disks/1 | xargs -I{} sh -c "cat /sys/block/\$(basename {})/device/serial" | grep -q AWSINST0000000000A1'
check "disk 2 is the higher serial" \
  bash -c 'findmnt -n -o SOURCE /mnt/k8s-disks/2 | xargs -I{} sh -c "cat /sys/block/\$(basename {})/device/serial" | grep -q AWSINST0000000000B2'
for n in 1 2; do
  check "/mnt/k8s-disks/$n is XFS labelled eks-node" \
    bash -c 'udevadm settle; findmnt -n -o FSTYPE,LABEL /mnt/k8s-disks/'"$n"' | grep -Eq "^xfs +eks-node$"'
done
check "no array, no bind mounts" bash -c '! test -e /dev/md/eks-node && ! findmnt /var/lib/kubelet'
check "the plain qemu NVMe disk is untouched" bash -c '! blkid -p /dev/disk/by-id/nvme-QEMU_NVMe_Ctrl_plain0'
secs=$(store_to_mounts_seconds "${mounts[@]}")
echo "timing: eks-node-instance-store start -> disk mounts active: ${secs}s (2 disks, Mount)"
echo "mount-2-disks ${secs}" >"$EKSVM_OUT/timing.txt"
check "a re-run changes nothing" \
  bash -c '/usr/libexec/eks-node/eks-node-instance-store 2>&1 | tee /dev/stderr | grep -q "done, nothing changed"'
finish
