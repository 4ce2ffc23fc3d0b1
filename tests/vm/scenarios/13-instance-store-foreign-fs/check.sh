#!/bin/bash
# shellcheck disable=SC2016 # code passed to `bash -c` in single quotes expands in the guest, on purpose
# A disk with a foreign filesystem is never formatted: exit 6 names it, nothing is written to
# either disk, and kubelet does not start (fail closed).
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
check "two EC2 instance-store disks are connected" nvmeof_setup
foreign=$(readlink -f /dev/disk/by-id/nvme-Amazon_EC2_NVMe_Instance_Storage_AWSINST0000000000B2_1)
check "someone's ext4 is on $foreign" mkfs.ext4 -q -L precious "$foreign"
run_chain >/dev/null 2>&1
rc=$?
check "starting eks-node.target fails" test "$rc" -ne 0
check "eks-node-instance-store failed with exit status 6" \
  bash -c 'test "$(systemctl show -P ExecMainStatus eks-node-instance-store.service)" = 6'
check "the error names the disk and what it holds" \
  bash -c 'journalctl -b -u eks-node-instance-store --no-pager -o cat | grep -F "'"$foreign"': holds TYPE=ext4 LABEL=precious"'
check "the ext4 filesystem is intact" bash -c 'blkid -p -o export '"$foreign"' | grep -qx LABEL=precious'
check "the other disk was not written either" \
  bash -c '! blkid -p /dev/disk/by-id/nvme-Amazon_EC2_NVMe_Instance_Storage_AWSINST0000000000A1_1'
check "no array was created" bash -c '! test -e /dev/md/eks-node'
check "kubelet did not start" bash -c '! systemctl is-active kubelet.service'
check "nothing is mounted on /var/lib/kubelet" bash -c '! findmnt /var/lib/kubelet'
finish
