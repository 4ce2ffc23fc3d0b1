#!/bin/bash
# shellcheck disable=SC2016 # code passed to `bash -c` in single quotes expands in the guest, on purpose
# RAID10 over four instance-store disks: the array, its mounts, containerd and kubelet on it,
# and the time from the step's start to the bind mounts.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../../guest/check-lib.sh
source "$EKSVM_IN/check-lib.sh"
# shellcheck source=/dev/null # the run's options (NVMEOF), as the runner wrote them
source "$EKSVM_IN/scenario.env"

# The chain as at first boot on EC2, with the project installed late (VM_INSTALL=late): the
# image started containerd at boot, which on an AMI waits for eks-node; eks-node-config writes
# config.json; the daemon-reload it triggers (done here again, which is harmless, in case this
# build's eks-node-config does not yet) lets eks-node-generator turn localStorage into units;
# then eks-node.target starts them.
run_chain() {
  systemctl stop kubelet.service containerd.service
  systemctl start eks-node-config.service || return 1
  systemctl daemon-reload
  systemctl start eks-node.target
}

# Seconds from eks-node-instance-store's start to the last bind (or disk) mount being active,
# from systemd's monotonic timestamps (microseconds).
store_to_mounts_seconds() {
  local start last=0 t unit
  start=$(systemctl show -P ExecMainStartTimestampMonotonic eks-node-instance-store.service)
  for unit in "$@"; do
    t=$(systemctl show -P ActiveEnterTimestampMonotonic "$unit")
    ((t > last)) && last=$t
  done
  awk -v a="$start" -v b="$last" 'BEGIN { printf "%.2f\n", (b - a) / 1e6 }'
}

is_mount_from() { # WHERE SOURCE-SUBSTRING
  findmnt -n -o SOURCE --mountpoint "$1" | grep -q -- "$2"
}
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
  bash -c 'findmnt -n -o FSTYPE,LABEL /mnt/k8s-disks/0 | grep -Eq "^xfs +eks-node$"'
check "/var/lib/containerd is bound from the array" is_mount_from /var/lib/containerd '[/containerd]'
check "containerd's state is on the array" test -s /mnt/k8s-disks/0/containerd/io.containerd.metadata.v1.bolt/meta.db
check "kubelet's state is on the array" test -s /mnt/k8s-disks/0/kubelet/kubeconfig
secs=$(store_to_mounts_seconds "${binds[@]}")
echo "timing: eks-node-instance-store start -> bind mounts active: ${secs}s (4 disks, RAID10)"
echo "raid10-4-disks ${secs}" >"$EKSVM_OUT/timing.txt"
check "a re-run changes nothing" \
  bash -c '/usr/libexec/eks-node/eks-node-instance-store 2>&1 | tee /dev/stderr | grep -q "done, nothing changed"'
journalctl -b -u eks-node-instance-store --no-pager -o short-monotonic | tail -n 20
finish
