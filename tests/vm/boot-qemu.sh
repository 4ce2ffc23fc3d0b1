# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# run-scenario.sh's VM backend (VM_BOOT=qemu), sourced by it after the share is ready: boots
# the scenario (twice for POWER_CUT), sets boot_cmd, start, qemu_rc (the boot's exit status)
# and boot1_reason, and returns; run-scenario.sh's finish_run then judges the results.
# shellcheck disable=SC2034,SC2154 # the variables are run-scenario.sh's, read and set here

# Per-run writable layer: the cached image is only ever read. The benchmarks' models of a disk
# EBS restores from a snapshot (VM_DISK_LAZY, VM_DISK_THROTTLE) change where it reads from and
# how fast: tests/bench/vm-disk-model.sh.
root_backing=$base/rootfs.img root_throttle=''
if [[ -n $VM_DISK_LAZY$VM_DISK_THROTTLE ]]; then
  # shellcheck source=../bench/vm-disk-model.sh
  source "$repo/tests/bench/vm-disk-model.sh"
fi
qemu-img create -q -f qcow2 -b "$root_backing" -F raw "$work/root.qcow2"
# shellcheck source=qemu.sh
source "$repo/tests/vm/qemu.sh"

qemu_accel

disks=()
for spec in $NVME; do
  serial=${spec%%:*}
  truncate -s "${spec#*:}" "$work/nvme-$serial.img"
  disks+=(-drive "if=none,id=nvme-$serial,file=$work/nvme-$serial.img,format=raw,cache=unsafe"
    -device "nvme,serial=$serial,drive=nvme-$serial")
done

cmdline="$qemu_cmdline"
[[ $VM_INSTALL == early ]] && cmdline+=" init=/usr/lib/eksvm/preinit"
cmdline+=" ${KERNEL_CMDLINE} ${extra}"

# The kernel as an ELF, entered through its PVH note, and the tier's own initramfs: both made
# at image build (build-image.sh make_boot, tests/vm/boot/).
# -nodefaults and no -netdev (but NICS, below): the guest has no NIC at all, so nothing (in particular
# 169.254.169.254) can leave the machine. -no-reboot turns the guest's poweroff, reboot or
# panic into qemu exiting.
qemu=(qemu-system-x86_64 -nodefaults -no-user-config -no-reboot -display none
  -machine q35 "${accel[@]}" -smp "$VM_CPUS" -m "$VM_MEMORY"
  -kernel "$base/vmlinux" -initrd "$base/initrd.img" -append "$cmdline"
  -drive "if=none,id=root,file=$work/root.qcow2,format=qcow2,cache=unsafe$root_throttle"
  -device "virtio-blk-pci,drive=root"
  -fsdev "local,id=eksvm,path=$work/share,security_model=none"
  -device "virtio-9p-pci,fsdev=eksvm,mount_tag=eksvm"
  -device virtio-rng-pci
  "${disks[@]}"
  -serial "file:$work/console.log")
[[ -n $SMBIOS_EC2 ]] && qemu+=(-smbios
  "type=1,manufacturer=Amazon EC2,product=m5.large,uuid=ec2e1916-9099-7caf-fd21-0123456789ab,serial=ec2e1916-9099-7caf-fd21-0123456789ab")
# NICS: user-mode networking with restrict=on reaches nothing outside qemu (its DHCP server
# answers; 169.254.169.254 stays the guest's own, on its dummy link)
for ((i = 1; i <= NICS; i++)); do
  qemu+=(-netdev "user,id=nic$i,restrict=on,net=10.0.$i.0/24"
    -device "virtio-net-pci,netdev=nic$i,mac=0e:49:61:0f:c3:1$i")
done
# NICS_HOTPLUG: an empty PCIe slot each (q35's root bus takes no hot-plugged device)
for ((i = NICS + 1; i <= NICS + NICS_HOTPLUG; i++)); do
  qemu+=(-device "pcie-root-port,id=hotplug$i,chassis=$i,slot=$i")
done
# QMP: the host freezes the disk of a POWER_CUT scenario's first boot through it, and attaches
# the NICS_HOTPLUG NICs
if [[ -n $POWER_CUT ]] || ((NICS_HOTPLUG)); then
  qemu+=(-qmp "unix:$work/qmp.sock,server=on,wait=off")
fi

# Run it in a subshell: `times` then counts qemu alone.
run_qemu() {
  local rc=0
  timeout --kill-after=10 "$vm_timeout" "${qemu[@]}" 2>"$work/qemu.log" || rc=$?
  record_cpu
  exit "$rc"
}

qmp() { qemu_qmp "$work/qmp.sock" "$1"; }

# POWER_CUT, first boot: once the guest reports its power-cut point, stop it, move its disk
# writes to a new overlay (qemu drains and flushes its own queue, as when it quits; what the
# guest has not written yet is lost), and let it run on. root.qcow2 stays as the cut left it.
power_cut() {
  until [[ -e $work/share/out/power-cut.reached ]]; do
    kill -0 "$qemu_pid" 2>/dev/null || return 1
    sleep 0.5
  done
  local args="{\"device\": \"root\", \"snapshot-file\": \"$work/boot1.qcow2\", \"format\": \"qcow2\"}"
  qmp '{"execute": "stop"}' &&
    qmp "{\"execute\": \"blockdev-snapshot-sync\", \"arguments\": $args}" &&
    qmp '{"execute": "cont"}' || return 1
  log "$name: power cut: disk frozen at $(cat "$work/share/out/power-cut.reached")"
  touch "$in/power-cut.released"
}

# NICS_HOTPLUG: once the guest asks (hotplug.request in its results), attach the NICs, as EC2
# attaches an ENI to a running instance, and say so in $in/hotplug.done (or why not).
hotplug_nics() {
  until [[ -e $work/share/out/hotplug.request ]]; do
    kill -0 "$qemu_pid" 2>/dev/null || return 0
    sleep 0.5
  done
  local i result=attached
  for ((i = NICS + 1; i <= NICS + NICS_HOTPLUG; i++)); do
    if ! qmp "{\"execute\": \"netdev_add\", \"arguments\": {\"type\": \"user\", \"id\": \"nic$i\",
          \"restrict\": true, \"net\": \"10.0.$i.0/24\"}}" ||
      ! qmp "{\"execute\": \"device_add\", \"arguments\": {\"driver\": \"virtio-net-pci\", \"id\": \"dev$i\",
          \"bus\": \"hotplug$i\", \"netdev\": \"nic$i\", \"mac\": \"0e:49:61:0f:c3:1$i\"}}"; then
      result="failed at NIC $i"
      break
    fi
  done
  log "$name: NICS_HOTPLUG: $result"
  echo "$result" >"$in/hotplug.done"
}

start=$(date +%s.%N)
qemu_rc=0 boot1_reason=''
: >"$work/qemu-cpu"
if [[ -n $POWER_CUT ]]; then
  log "$name: boot 1 of 2 (${accel[*]}, $VM_CPUS vCPU, ${VM_MEMORY} MiB), power cut on the way"
  (run_qemu) &
  qemu_pid=$!
  power_cut || boot1_reason="no power cut: the first boot never reached its power-cut point"
  wait "$qemu_pid" || qemu_rc=$?
  # boot 1's results aside; boot 2 gets its verdict and artifacts
  mkdir "$work/boot1"
  mv "$work/share/out" "$work/console.log" "$work/qemu.log" "$work/boot1/"
  mkdir "$work/share/out" "$in/boot1"
  if ((qemu_rc == 124 || qemu_rc == 137)); then
    boot1_reason=${boot1_reason:-"the first boot timed out after ${vm_timeout}s"}
  elif ! grep -qx 'status=pass' "$work/boot1/out/result" 2>/dev/null; then
    boot1_reason=${boot1_reason:-"the first boot (the reference) failed (qemu exit $qemu_rc; see boot1/)"}
  fi
  cp -a "$work/boot1/out/artifacts/." "$work/boot1/out/result" "$in/boot1/" 2>/dev/null || true
  echo 2 >"$in/boot"
  rm -f "$in/power-cut.released" "$work/qmp.sock"
  qemu_rc=0
fi
if [[ -z $boot1_reason ]]; then
  log "$name: booting${POWER_CUT:+ 2 of 2, the disk the power cut left} ($VM_FLAVOUR, ${accel[*]}, $VM_CPUS vCPU, ${VM_MEMORY} MiB${NVME:+, NVMe: $NVME})"
  if ((NICS_HOTPLUG)); then
    (run_qemu) &
    qemu_pid=$!
    hotplug_nics &
    hotplug_pid=$!
    wait "$qemu_pid" || qemu_rc=$?
    wait "$hotplug_pid" || true
  else
    (run_qemu) || qemu_rc=$?
  fi
fi
boot_cmd=("${qemu[@]}")
