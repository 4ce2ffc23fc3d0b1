#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016 # code passed to `bash -c` in single quotes expands in the guest, on purpose
# A disk with a foreign filesystem is never formatted: exit 6 names it, nothing is written to
# either disk, and kubelet does not start (fail closed).
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../../guest/check-lib.sh
source "$EKSVM_IN/check-lib.sh"
# shellcheck source=/dev/null # this case's options (NVMEOF): a sub-case of the `disks` group runs
# in the first case's boot, whose options $EKSVM_IN holds
source ./scenario.env

check "two EC2 instance-store disks are connected" nvmeof_setup
foreign=$(readlink -f /dev/disk/by-id/nvme-Amazon_EC2_NVMe_Instance_Storage_AWSINST0000000000B2_1)
check "someone's ext4 is on $foreign" mkfs.ext4 -q -L precious "$foreign"
run_chain >/dev/null 2>&1
rc=$?
check "starting eks-node.target fails" test "$rc" -ne 0
check "eks-node-instance-store failed with exit status 6" \
  bash -c 'test "$(systemctl show -P ExecMainStatus eks-node-instance-store.service)" = 6'
check "the error names the disk and what it holds" \
  bash -c 'journal -b -u eks-node-instance-store --no-pager -o cat | grep -F "'"$foreign"': holds TYPE=ext4 LABEL=precious"'
check "the ext4 filesystem is intact" bash -c 'blkid -p -o export '"$foreign"' | grep -qx LABEL=precious'
check "the other disk was not written either" \
  bash -c '! blkid -p /dev/disk/by-id/nvme-Amazon_EC2_NVMe_Instance_Storage_AWSINST0000000000A1_1'
check "no array was created" bash -c '! test -e /dev/md/eks-node'
check "the plain qemu NVMe disk is untouched" bash -c '! blkid -p /dev/disk/by-id/nvme-QEMU_NVMe_Ctrl_plain0'
check "kubelet did not start" bash -c '! systemctl is-active kubelet.service'
check "nothing is mounted on /var/lib/kubelet" bash -c '! findmnt /var/lib/kubelet'
finish
