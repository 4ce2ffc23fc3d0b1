#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016 # code passed to `bash -c` in single quotes expands in the guest, on purpose
# RAID0 over two instance-store disks: array, XFS, bind mounts as generated units, containerd
# and kubelet state on the array, an idempotent re-run, and the data kept across an emulated
# reboot (everything stopped, the disks disconnected and reconnected, the generator re-run).
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../../guest/check-lib.sh
source "$EKSVM_IN/check-lib.sh"
# shellcheck source=/dev/null # this case's options (NVMEOF): a sub-case of the `disks` group runs
# in the first case's boot, whose options $EKSVM_IN holds
source ./scenario.env


check "two EC2 instance-store disks are connected" nvmeof_setup
check "the chain starts" run_chain
check "eks-node-config triggered the one daemon-reload for the new units" bash -c '
  journal -b -u eks-node-config.service --no-pager -o cat | grep -q "reloading systemd once"'
binds=(var-lib-kubelet.mount var-lib-containerd.mount var-log-pods.mount)
for u in eks-node-instance-store.service 'mnt-k8s\x2ddisks-0.mount' "${binds[@]}" containerd.service kubelet.service; do
  check "$u is active" systemctl is-active "$u"
done
# containerd ran before eks-node knew of the array (it starts at boot, on the image's file)
check "eks-node-config stopped the running containerd before the mounts went over its state" bash -c '
  journal -b -u eks-node-config.service --no-pager -o cat |
    grep -Eq "containerd.service is (active|activating), and the instance-store mounts go over its directories"'
check "containerd started again after /var/lib/containerd was mounted" \
  after_start containerd.service var-lib-containerd.mount
check "list-dependencies eks-node.target shows the step and every mount" \
  bash -c 'deps=$(systemctl list-dependencies --plain --no-legend eks-node.target)
    for u in eks-node-instance-store.service "mnt-k8s\\x2ddisks-0.mount" var-lib-kubelet.mount \
        var-lib-containerd.mount var-log-pods.mount; do
      grep -qF "$u" <<<"$deps" || { echo "missing $u"; echo "$deps"; exit 1; }; done'
check "the array is RAID0 of exactly the two instance-store disks" \
  bash -c 'd=$(mdadm --detail /dev/md/eks-node); echo "$d"; grep -q "Raid Level : raid0" <<<"$d" &&
    test "$(grep -c "active sync" <<<"$d")" = 2 && grep -q "Name : any:eks-node" <<<"$d"'
check "the plain qemu NVMe disk is untouched" bash -c '! blkid -p /dev/disk/by-id/nvme-QEMU_NVMe_Ctrl_plain0'
check "XFS labelled eks-node on /mnt/k8s-disks/0" \
  bash -c 'udevadm settle; findmnt -n -o FSTYPE,LABEL /mnt/k8s-disks/0 | grep -Eq "^xfs +eks-node$"'
check "/var/lib/kubelet is bound from the array" is_mount_from /var/lib/kubelet '[/kubelet]'
check "/var/lib/containerd is bound from the array" is_mount_from /var/lib/containerd '[/containerd]'
check "/var/log/pods is bound from the array" is_mount_from /var/log/pods '[/pods]'
check "containerd's state is on the array" test -s /mnt/k8s-disks/0/containerd/io.containerd.metadata.v1.bolt/meta.db
check "eks-node-kubelet wrote the kubeconfig onto the array" test -s /mnt/k8s-disks/0/kubelet/kubeconfig
check "what /var/lib/kubelet held before is still there" test -s /var/lib/kubelet/from-the-image
check "the generator logged nothing at warning" \
  bash -c '! journal -b -t eks-node-generator -p warning --no-pager -o cat | grep .'
secs=$(store_to_mounts_seconds "${binds[@]}")
echo "timing: eks-node-instance-store start -> bind mounts active: ${secs}s (2 disks, RAID0)"
echo "raid0-2-disks ${secs}" >"$EKSVM_OUT/timing.txt"

# Re-run with everything in place: nothing changes (run the binary: `systemctl restart` would
# also restart the mounts that Require= the step).
check "a re-run changes nothing" \
  bash -c '/usr/libexec/eks-node/eks-node-instance-store 2>&1 | tee /dev/stderr | grep -q "done, nothing changed"'

# An emulated reboot: stop what uses the array, unmount, stop the array, take the disks away,
# bring them back (same backing files), re-run the generator and the chain.
echo marker >/var/lib/containerd/kept-across-reboot
# The stub kubelet's CRI run ends with its pod removed; stopped halfway, it would leave a
# containerd shim (which outlives containerd.service, KillMode=process) holding the array.
check "kubelet's CRI run is over, its pod removed" cri_ok
check "everything stops" bash -c 'systemctl stop kubelet.service containerd.service &&
  systemctl stop var-lib-kubelet.mount var-lib-containerd.mount var-log-pods.mount "mnt-k8s\\x2ddisks-0.mount" &&
  systemctl stop eks-node-instance-store.service && mdadm --stop /dev/md/eks-node'
check "the disks go away and come back" bash -c 'source "$EKSVM_IN/check-lib.sh"; NVMEOF="'"$NVMEOF"'";
  nvmeof_disconnect && nvmeof_setup'
check "the chain starts again" bash -c 'systemctl daemon-reload && systemctl start eks-node.target'
# (udev's incremental assembly usually has it running before the step looks)
check "the array was re-assembled, not re-created" \
  bash -c 'systemctl is-active "mnt-k8s\\x2ddisks-0.mount" &&
    test "$(journal -b -u eks-node-instance-store --no-pager -o cat | grep -c "created /dev/md/eks-node")" = 1'
check "data written before the reboot is still there" grep -q marker /var/lib/containerd/kept-across-reboot
check "XFS was not re-made" \
  bash -c 'test "$(journal -b -u eks-node-instance-store --no-pager -o cat | grep -c "made an XFS")" = 1'
check "kubelet is active again" systemctl is-active kubelet.service
journal -b -u eks-node-instance-store --no-pager -o short-monotonic | tail -n 20
finish
