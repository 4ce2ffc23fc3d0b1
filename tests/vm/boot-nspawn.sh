# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# run-scenario.sh's container backend (VM_BOOT=nspawn), sourced by it after the share is
# ready: boots the scenario, sets boot_cmd, start, qemu_rc (the boot's exit status) and
# boot1_reason, and returns; run-scenario.sh's finish_run then judges the results. Where
# systemd-nspawn cannot run here it sets VM_BOOT=qemu and returns before booting.
# shellcheck disable=SC2034,SC2154 # the variables are run-scenario.sh's, read and set here

# VM_BOOT=nspawn: the same image booted by systemd-nspawn at the host's speed, for a scenario
# that needs no kernel of its own, no disks, NICs or firmware (tests/vm/README.md, "Container
# boots"). Its writes go to a tmpfs over the image's tree (--volatile=overlay); containerd's
# state to a directory of the host's, since overlayfs takes no overlayfs as its upper layer
# (containerd's snapshots); the share at /run/eksvm, where the 9p mount would be; the
# fake IMDS on lo of its own network namespace (guest/imds). KERNEL_CMDLINE is PID 1's
# command line, where systemd, cloud-init and eks-node-generator read it in a container.
# (SMBIOS_EC2 there: /sys/hypervisor/uuid, guest/preinit)
if [[ -n $POWER_CUT$NVME${NVMEOF:-}$VM_DISK_THROTTLE$VM_DISK_LAZY || $NICS != 0 || $NICS_HOTPLUG != 0 ]]; then
  log "VM_BOOT=nspawn: no POWER_CUT, NVME, NVMEOF, NICS, NICS_HOTPLUG or disk model in a container"
  exit 2
fi
# Where systemd-nspawn cannot run a container (not root, no systemd-container, a machine that
# is itself a container without what nspawn needs), the scenario boots as a VM instead, and
# says so: its checks pass in either (each check that differs says how), only slower.
tree=$base/tree
why=''
if ((EUID != 0)); then
  why="not root"
elif ! command -v systemd-nspawn >/dev/null; then
  why="no systemd-nspawn (package systemd-container)"
elif [[ ! -d $tree/usr ]]; then
  why="no image tree in $base"
elif ! (own_cgroup "eksvm-probe-$$" && SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 timeout 60 systemd-nspawn --quiet \
  --register=no --keep-unit --private-network --volatile=overlay -D "$tree" /bin/true) \
  >"$work/nspawn-probe.log" 2>&1; then
  why="systemd-nspawn failed: $(tail -n1 "$work/nspawn-probe.log")"
fi
if [[ -n $why ]]; then
  log "$name: no container boot here ($why): booting it as a VM"
  VM_BOOT=qemu
  return 0
fi
# what the image build put there (the cached pause image, imported and pinned) comes along
cp -a "$tree/var/lib/containerd" "$work/containerd"
# runc through tests/vm/nspawn/runc, which says why
mkdir "$work/runc"
cp "$tree/usr/sbin/runc" "$work/runc/runc"
# The image's own host name, not nspawn's default (the machine name). System calls nspawn's
# default filter refuses and runc makes for every pod: keyctl (a session keyring per
# container) and bpf (its device filter on the container's cgroup).
boot_cmd=(systemd-nspawn --quiet --register=no --keep-unit --machine="eksvm-${name:0:40}"
  --hostname="$(cat "$tree/etc/hostname")" --private-network --volatile=overlay
  --console=read-only -D "$tree" --bind="$work/share:/run/eksvm"
  --bind="$work/containerd:/var/lib/containerd" --bind-ro="$work/runc:/run/eksvm-nspawn"
  --bind-ro="$here/nspawn/runc:/usr/sbin/runc" --system-call-filter="@keyring bpf")
# shellcheck disable=SC2206 # words, as the kernel's command line is split
if [[ $VM_INSTALL == early ]]; then
  boot_cmd+=(/usr/lib/eksvm/preinit $KERNEL_CMDLINE $extra)
else
  boot_cmd+=(--boot $KERNEL_CMDLINE $extra)
fi
start=$(date +%s.%N)
qemu_rc=0 boot1_reason=''
log "$name: booting ($VM_FLAVOUR, systemd-nspawn at the host's speed)"
(
  # a cgroup of its own: nspawn puts the container in a child of the caller's cgroup
  # (--keep-unit), which two boots at once must not share
  own_cgroup "eksvm-$$"
  # cgroup v2 only inside, as on AL2023, whatever the host mounts
  rc=0
  SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 timeout --kill-after=10 "$vm_timeout" "${boot_cmd[@]}" \
    </dev/null >"$work/console.log" 2>&1 || rc=$?
  record_cpu
  exit "$rc"
) || qemu_rc=$?
