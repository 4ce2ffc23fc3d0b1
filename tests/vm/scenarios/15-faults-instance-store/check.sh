#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016 # code passed to `bash -c` in single quotes expands in the guest, on purpose
# eks-node-instance-store when the tools it runs fail, the nearest real way: mkfs.xfs on
# instance-store disks whose writes fail (the backing store of the NVMe-oF disks is a full
# tmpfs: every write past it is an I/O error, as on a failing disk), then mdadm --create
# with one disk held open exclusively by another process. Each fails closed (and a mount's
# start does not run the failed step again): exit status 1
# (eks-node-instance-store(8): "a tool failed"), one error line naming the tool, kubelet never
# started, eks-node-failed.target active; and once the fault is gone, `systemctl start
# eks-node.target` joins.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../../guest/check-lib.sh
source "$EKSVM_IN/check-lib.sh"
# shellcheck source=/dev/null # this case's options (NVMEOF): a sub-case of the `disks` group runs
# in the first case's boot, whose options $EKSVM_IN holds
source ./scenario.env

store=/var/lib/eksvm-nvmeof # where nvmeof_setup keeps the disks' backing files
disk_a=/dev/disk/by-id/nvme-Amazon_EC2_NVMe_Instance_Storage_AWSINST0000000000A1_1
disk_b=/dev/disk/by-id/nvme-Amazon_EC2_NVMe_Instance_Storage_AWSINST0000000000B2_1
binds=(var-lib-kubelet.mount var-lib-containerd.mount var-log-pods.mount)
array_mount='mnt-k8s\x2ddisks-0.mount'

mounted() { systemctl is-active "$array_mount" "${binds[@]}"; }
nothing_mounted() { ! findmnt /mnt/k8s-disks/0 && ! findmnt /var/lib/kubelet; }

# --- mkfs.xfs fails: the disks take 1 MiB of writes in all, then every write fails ----------
mkdir -p "$store"
mount -t tmpfs -o size=1m eksvm-disks "$store"
check "two EC2 instance-store disks are connected (1 MiB of room behind them)" nvmeof_setup
mark=$(journal_mark)
run_chain >/dev/null 2>&1
# The line must say why mkfs.xfs failed, not only that it did (mkfs.xfs prints a warning
# about the stripe unit first: the step joins every line the tool printed).
fails_closed disk-write-errors eks-node-instance-store.service 1 0 \
  "mkfs\.xfs.*(Input/output error|I/O error|write failed)" "$mark"
check "disk-write-errors: the kernel saw the write errors" bash -c 'dmesg | grep -Eiq "I/O error"'
check "disk-write-errors: nothing is mounted from the disks" nothing_mounted
# A consumer's start checks the step, never runs it (the mounts' Requisite=; eks-node-generator(8),
# FAILED STEPS): with Requires= each start of a mount, e.g. by a socket-activated Docker, ran the
# failed step (mdadm, mkfs.xfs) again, every two seconds while a client waited.
run_before=$(systemctl show -P InvocationID eks-node-instance-store.service)
check "disk-write-errors: starting a mount fails at once and does not run the failed step again" bash -c '
  ! systemctl start var-lib-containerd.mount 2>/dev/null &&
    [[ $(systemctl show -P InvocationID eks-node-instance-store.service) == '"$run_before"' ]] &&
    [[ $(systemctl show -P ActiveState eks-node-instance-store.service) == failed ]]'
mount -o remount,size=1500m "$store"
# The failed mkfs.xfs left a half-made XFS on the array; it is labelled eks-node-mk (the label
# becomes eks-node only once mkfs succeeded), so the next run makes it again rather than
# mounting it ("Structure needs cleaning"), as after a reboot during the first boot's mkfs.
recovers disk-write-errors
check "disk-write-errors: ... the array, its XFS and the bind mounts are active" mounted
check "disk-write-errors: ... the XFS is labelled eks-node" bash -c '[[ $(blkid -s LABEL -o value /dev/md/eks-node) == eks-node ]]'
check "disk-write-errors: ... kubelet's kubeconfig is on the array" test -s /mnt/k8s-disks/0/kubelet/kubeconfig

# --- mdadm --create fails: another process holds disk B open exclusively (O_EXCL) ---------
# First the instance as after a stop and start: everything stopped, blank disks (the
# filesystem's signature wiped too: a new array over the same disks would show it again).
systemctl stop kubelet.service containerd.service "${binds[@]}" "$array_mount" eks-node-instance-store.service
wipefs -q -a /dev/md/eks-node
mdadm --stop /dev/md/eks-node >/dev/null 2>&1
wipefs -q -a "$disk_a" "$disk_b"
systemctl reset-failed
rm -rf /run/stub-kubelet
python3 -c 'import os, signal, sys
os.open(sys.argv[1], os.O_RDONLY | os.O_EXCL)
open("/run/eksvm-holder", "w").close()
signal.pause()' "$(readlink -f "$disk_b")" &
holder=$!
check "mdadm-busy: disk B is held open exclusively" eventually 30 test -e /run/eksvm-holder
fails_closed mdadm-busy eks-node-instance-store.service 1 0 "mdadm.*(busy|Device or resource busy)"
check "mdadm-busy: nothing was written to disk A" bash -c '! blkid -p '"$disk_a"
check "mdadm-busy: no array, nothing mounted" bash -c '! test -e /dev/md/eks-node && ! findmnt /mnt/k8s-disks/0'
kill "$holder"
wait "$holder" 2>/dev/null
recovers mdadm-busy
check "mdadm-busy: ... the array, its XFS and the bind mounts are active" mounted
check "mdadm-busy: ... the array is RAID0 of both disks" \
  bash -c 'test "$(mdadm --detail /dev/md/eks-node | grep -c "active sync")" = 2'
journal -b -u eks-node-instance-store --no-pager -o short-monotonic | tail -n 30
finish
