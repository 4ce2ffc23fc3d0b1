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

# Real KVM only with kvm_intel/kvm_amd: the /dev/kvm of some hosts cannot run stock kernels.
if [[ -e /sys/module/kvm_intel || -e /sys/module/kvm_amd ]] && [[ -w /dev/kvm ]]; then
  accel=(-accel kvm -cpu host)
  VM_CPUS=${VM_CPUS:-2}
else
  # TCG: one host thread for the guest, one vCPU unless the scenario asks for more, so that
  # two guests side by side each have a core (tests/meson.build runs two boots at a time).
  # Measured 2026-11-26, 16-secrets then 17-environment-dns: 246 s one after the other
  # under multi-threaded TCG with 2 vCPUs (128 and 117 s; qemu CPU 164 and 177 s), 173 s side
  # by side single-threaded with 1 vCPU each (168 and 173 s; qemu CPU 147 and 171 s): a
  # multi-threaded guest used 1.3 cores and left the rest idle. Single-threaded TCG is also
  # the only kind the sid kernel (7.x) survives: under multi-threaded TCG (QEMU 7.2,
  # bookworm's) it now and then oopsed on an int3 its own text patching left behind ("Oops:
  # int3" in dequeue_entities, CI 2026-11-24), a vCPU running a stale translation of code
  # another vCPU had just patched; round-robin vCPUs cannot race so.
  # -cpu Nehalem (x86-64-v2, no AVX), not max: with AVX2 and AVX-512 to offer, glibc, the
  # kernel's crypto and every program pick vector code paths that TCG emulates slower than
  # the SSE ones. Measured 2026-11-27, one after the other, qemu CPU seconds: a boot that
  # runs no step (05-disabled's settings) 54.7 and 56.8 with max, 46.5 and 43.6 with Nehalem
  # (45.1 and 43.8 with qemu64, which lacks SSE4.2 and POPCNT that some builds may assume);
  # 16-secrets 113.2 with max, 100.2 with Nehalem; sid's boot 86.0 and 82.4. AES-NI and
  # PCLMULQDQ back on (TCG runs them as helpers, far cheaper than software AES-GCM: TLS in
  # 34-private-registries): 18-cloud-init-scripts, beside a test run, 194.3 s with max, 168.4
  # with Nehalem, 160.6 with these two added, 219.4 with max again.
  accel=(-accel "tcg,thread=single" -cpu "Nehalem,+aes,+pclmulqdq")
  VM_CPUS=${VM_CPUS:-1}
fi

disks=()
for spec in $NVME; do
  serial=${spec%%:*}
  truncate -s "${spec#*:}" "$work/nvme-$serial.img"
  disks+=(-drive "if=none,id=nvme-$serial,file=$work/nvme-$serial.img,format=raw,cache=unsafe"
    -device "nvme,serial=$serial,drive=nvme-$serial")
done

# tsc=reliable clocksource=tsc: the kernel finds TCG's vCPU TSCs unsynchronized and falls back
# to the HPET, whose every read is an emulated MMIO access and, with no vDSO path, a system
# call: journald, systemd and Python read the clock all the time. mitigations=off: nothing
# untrusted runs in a test guest, and retpolines and RSB fills cost emulated instructions.
# Measured 2026-11-26 on 05-disabled, one boot each: qemu CPU 83.4 s as before, 63.2 s with
# the clock options, 69.3 s with mitigations=off alone, 63.9 s with both.
cmdline="console=ttyS0,115200 root=/dev/vda ro panic=1 quiet tsc=reliable clocksource=tsc mitigations=off"
# Drivers udev would load for q35's board (SATA, SMBus, watchdog, mouse), the CPU's crypto
# and, through systemd-networkd's nl80211 query, wireless: no test uses them, and under TCG
# each module's load (signature check, relocation) is emulated work. modprobe.blacklist
# stops udev's and the kernel's loads by alias before the file is read; a test that needs
# one can still `modprobe` it by name. Measured 2026-11-27, 05-disabled's settings: 59
# modules loaded, 30 with the list; qemu CPU 66.6 s before, 63.6 s after.
cmdline+=" modprobe.blacklist=cfg80211,rfkill,ahci,libahci,libata,psmouse,serio_raw,evdev"
cmdline+=",i2c_i801,i2c_smbus,lpc_ich,iTCO_wdt,iTCO_vendor_support,intel_pmc_bxt,aesni_intel"
cmdline+=",ghash_clmulni_intel,sha512_ssse3,sha256_ssse3,sha1_ssse3,crc32_pclmul,crct10dif_pclmul"
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

# One QMP command (JSON) to the running qemu; fails on an error reply.
qmp() {
  python3 - "$work/qmp.sock" "$1" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(60)
s.connect(sys.argv[1])
f = s.makefile("rw")
def reply():
    while True:
        msg = json.loads(f.readline())
        if "return" in msg or "error" in msg:
            return msg
json.loads(f.readline())  # the greeting
for cmd in ('{"execute": "qmp_capabilities"}', sys.argv[2]):
    f.write(cmd + "\n")
    f.flush()
    msg = reply()
    if "error" in msg:
        sys.exit("qmp: %s: %s" % (cmd, msg["error"]))
EOF
}

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
