#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016 # code passed to `bash -c` in single quotes expands in the guest, on purpose
# EBS data volumes: a blank volume formatted XFS and mounted on /var/lib/containerd before
# containerd, an ext4 volume with data mounted as it is on two targets, generated units, an
# idempotent re-run, and the data kept across an emulated reboot (everything stopped, the
# volumes disconnected and reconnected, the generator re-run).
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../../guest/check-lib.sh
source "$EKSVM_IN/check-lib.sh"
# shellcheck source=/dev/null # this case's options (NVMEOF): a sub-case of the `disks` group runs
# in the first case's boot, whose options $EKSVM_IN holds
source ./scenario.env

blank=/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0_1
snap=/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0fedcba9876543210_1
check "two EBS-model volumes are connected" nvmeof_setup
# the second volume as a snapshot would bring it: ext4, with data
check "the second volume holds ext4 with a file" bash -c '
  mkfs.ext4 -q -L snapshot '"$snap"' && d=$(mktemp -d) && mount '"$snap"' "$d" &&
  echo from-the-snapshot >"$d/data.txt" && umount "$d" && rmdir "$d"'
check "the chain starts" run_chain

# The refusals, the step's binary on a config of its own (--config=, one volume): a volume that
# never appears is waited for 90 s, then exit 75 (temporary: systemd.exec(5)); that run goes on
# in the background from here and is read at the end.
foreign=/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0aaaaaaaaaaaaaaaa_1
missing=/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0bbbbbbbbbbbbbbbb_1
one_volume_config() { # NAME DEVICE TARGET [FSTYPE] -> /run/eksvm-ebs-NAME.json
  python3 - "$@" <<'PY'
import json, sys
name, device, target = sys.argv[1:4]
c = json.load(open("/run/eks-node/config.json"))
v = {"device": device, "mountTarget": target}
if len(sys.argv) > 4:
    v["fsType"] = sys.argv[4]
c["spec"]["instance"]["storage"] = {"volumes": [v]}
json.dump(c, open("/run/eksvm-ebs-%s.json" % name, "w"))
PY
}
one_volume_config missing "$missing" /srv/missing
(
  start=$SECONDS
  /usr/libexec/eks-node/eks-node-ebs-volumes --config=/run/eksvm-ebs-missing.json >/run/eksvm-ebs-missing.log 2>&1
  echo "$? $((SECONDS - start))" >/run/eksvm-ebs-missing.rc
) &
missing_pid=$!
check "eks-node-config stopped the running containerd before the volume went over its state" bash -c '
  journal -b -u eks-node-config.service --no-pager -o cat |
    grep -Eq "containerd.service is (active|activating), and the EBS volume mounts go over its directories"'
mounts=(var-lib-containerd.mount srv-data.mount srv-also.mount)
for u in eks-node-ebs-volumes.service "${mounts[@]}" containerd.service kubelet.service; do
  check "$u is active" systemctl is-active "$u"
done
check "containerd started again after /var/lib/containerd was mounted" \
  after_start containerd.service var-lib-containerd.mount
check "list-dependencies eks-node.target shows the step and every mount" \
  bash -c 'deps=$(systemctl list-dependencies --plain --no-legend eks-node.target)
    for u in eks-node-ebs-volumes.service '"${mounts[*]}"'; do
      grep -qF "$u" <<<"$deps" || { echo "missing $u"; echo "$deps"; exit 1; }; done'
check "the blank volume got XFS labelled eks-node-ebs, on /var/lib/containerd" \
  bash -c 'udevadm settle; findmnt -n -o FSTYPE,LABEL /var/lib/containerd | grep -Eq "^xfs +eks-node-ebs$"'
check "/var/lib/containerd is the blank volume, mounted there once" \
  bash -c 'm=$(findmnt -n -o MAJ:MIN,SOURCE,FSTYPE,LABEL --mountpoint /var/lib/containerd); d=$(lsblk -dno MAJ:MIN '"$blank"' | tr -d " ")
    echo "mounted: $m"; echo "the blank volume: $d ($(readlink -f '"$blank"'))"
    test "$(wc -l <<<"$m")" = 1 && test "${m%% *}" = "$d"'
check "containerd's state is on the volume" test -s /var/lib/containerd/io.containerd.metadata.v1.bolt/meta.db
check "the ext4 volume was mounted as it is (no Type=, not re-made)" \
  bash -c 'findmnt -n -o FSTYPE,LABEL /srv/data | grep -Eq "^ext4 +snapshot$" && grep -q from-the-snapshot /srv/data/data.txt'
check "the second target shows the whole volume (a bind of the first)" grep -q from-the-snapshot /srv/also/data.txt
check "the plain qemu NVMe disk is untouched" bash -c '! blkid -p /dev/disk/by-id/nvme-QEMU_NVMe_Ctrl_plain0'

check "a third EBS volume holds swap (a file system eks-node did not make)" mkswap "$foreign"
one_volume_config foreign "$foreign" /srv/foreign xfs
check "a volume holding another file system is refused: exit 6 naming the field and what it holds, not formatted" \
  bash -c 'out=$(/usr/libexec/eks-node/eks-node-ebs-volumes --config=/run/eksvm-ebs-foreign.json 2>&1); rc=$?
    echo "exit $rc: $out"; test $rc = 6 && grep -q "spec.instance.storage.volumes\[0\]" <<<"$out" &&
    grep -q "holds .*swap" <<<"$out" && test "$(blkid -p -o value -s TYPE '"$foreign"')" = swap'
one_volume_config plain /dev/disk/by-id/nvme-QEMU_NVMe_Ctrl_plain0 /srv/plain
check "a disk that is not EBS is refused: exit 6 naming its model" \
  bash -c 'out=$(/usr/libexec/eks-node/eks-node-ebs-volumes --config=/run/eksvm-ebs-plain.json 2>&1); rc=$?
    echo "exit $rc: $out"; test $rc = 6 && grep -q "volumes\[0\].device" <<<"$out" && grep -q "is not an EBS volume" <<<"$out"'
check "the generator logged nothing at warning" \
  bash -c '! journal -b -t eks-node-generator -p warning --no-pager -o cat | grep .'

# Re-run with everything in place: nothing changes (the binary: `systemctl restart` would also
# restart the mounts that Require= the step).
check "a re-run changes nothing" \
  bash -c '/usr/libexec/eks-node/eks-node-ebs-volumes 2>&1 | tee /dev/stderr | grep -q "done, nothing changed"'

echo marker >/var/lib/containerd/kept-across-reboot
check "everything stops" bash -c 'systemctl stop kubelet.service containerd.service &&
  systemctl stop '"${mounts[*]}"' && systemctl stop eks-node-ebs-volumes.service'
check "the volumes go away and come back" bash -c 'source "$EKSVM_IN/check-lib.sh"; NVMEOF="'"$NVMEOF"'";
  nvmeof_disconnect && nvmeof_setup'
check "the chain starts again" bash -c 'systemctl daemon-reload && systemctl start eks-node.target'
check "data written before the reboot is still there" grep -q marker /var/lib/containerd/kept-across-reboot
check "the volume was not formatted again" \
  bash -c 'test "$(journal -b -u eks-node-ebs-volumes --no-pager -o cat | grep -c "formatted xfs")" = 1'
check "kubelet is active again" systemctl is-active kubelet.service
wait "$missing_pid"
check "a volume never attached: waited for 90 s, then exit 75 naming the field and the device" \
  bash -c 'read -r rc secs </run/eksvm-ebs-missing.rc; out=$(cat /run/eksvm-ebs-missing.log)
    echo "exit $rc after ${secs} s: $out"; test "$rc" = 75 && ((secs >= 90)) &&
    grep -q "spec.instance.storage.volumes\[0\].device .*vol0bbbbbbbbbbbbbbbb_1: no such EBS volume attached after 90s" <<<"$out"'
journal -b -u eks-node-ebs-volumes --no-pager -o short-monotonic | tail -n 20
finish
