# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# The check helpers for a scenario's own hardware: NVMe-oF disks with EC2's models (NVMEOF), the
# instance-store chain and its mounts, NICs attached while the guest runs (NICS_HOTPLUG).
# Sourced by check-lib.sh, which lists them; shipped per run beside it.

# nvmeof_setup: the scenario option NVMEOF="SERIAL:SIZE[:ebs] ..." as EC2 instance-store disks
# (or, with ":ebs", EBS volumes: nvmeof_model). qemu's
# own NVMe disks always say model "QEMU NVMe Ctrl", so each disk is a file-backed namespace of
# an in-guest NVMe-oF target (nvmet, TCP on 127.0.0.1:4420) whose subsystem reports model
# "Amazon EC2 NVMe Instance Storage" and the serial, connected with `nvme connect`: the guest
# then has /dev/nvmeXn1 with that model and udev's /dev/disk/by-id/nvme-Amazon_EC2_NVMe_
# Instance_Storage_SERIAL_1, as on EC2 (but over TCP, and with hidden nvmeXcYnZ path nodes).
# The backing files live in /var/lib/eksvm-nvmeof (the run's throw-away overlay), so data
# survives an in-guest disconnect and reconnect (nvmeof_disconnect, then nvmeof_setup again);
# a scenario may mount a small tmpfs there first, so that writes fail once it is full.
# Call it before eks-node runs; with VM_INSTALL=late, eks-node-generator runs (daemon-reload)
# after it and so sees the disks, as it sees real ones at first boot on EC2.
nvmeof_setup() {
  local cfs=/sys/kernel/config/nvmet spec serial size nqn port dir=/var/lib/eksvm-nvmeof
  port=$cfs/ports/1
  [[ -n ${NVMEOF:-} ]] || { echo "nvmeof_setup: NVMEOF is empty" >&2; return 1; }
  modprobe -a nvmet nvmet-tcp nvme-tcp || return 1
  mountpoint -q /sys/kernel/config || mount -t configfs configfs /sys/kernel/config || return 1
  mkdir -p "$dir"
  # nvmet opens a backing file with O_DIRECT, which tmpfs refuses (a scenario may put the
  # files on a small tmpfs to make the disks' writes fail once it is full): buffered there
  local buffered=0
  [[ $(stat -f -c %T "$dir") == tmpfs ]] && buffered=1
  if [[ ! -d $port ]]; then
    mkdir "$port" &&
      echo 127.0.0.1 >"$port/addr_traddr" && echo tcp >"$port/addr_trtype" &&
      echo 4420 >"$port/addr_trsvcid" && echo ipv4 >"$port/addr_adrfam" || return 1
  fi
  local model
  for spec in $NVMEOF; do
    serial=${spec%%:*} size=${spec#*:} model=$(nvmeof_model "$spec")
    size=${size%%:*}
    nqn=nqn.2026-11.io.eksvm:$serial
    if [[ ! -d $cfs/subsystems/$nqn ]]; then
      [[ -f $dir/$serial.img ]] || truncate -s "$size" "$dir/$serial.img" || return 1
      mkdir "$cfs/subsystems/$nqn" &&
        echo 1 >"$cfs/subsystems/$nqn/attr_allow_any_host" &&
        echo "$model" >"$cfs/subsystems/$nqn/attr_model" &&
        echo "$serial" >"$cfs/subsystems/$nqn/attr_serial" &&
        mkdir "$cfs/subsystems/$nqn/namespaces/1" &&
        echo "$dir/$serial.img" >"$cfs/subsystems/$nqn/namespaces/1/device_path" &&
        echo "$buffered" >"$cfs/subsystems/$nqn/namespaces/1/buffered_io" &&
        echo 1 >"$cfs/subsystems/$nqn/namespaces/1/enable" &&
        ln -s "$cfs/subsystems/$nqn" "$port/subsystems/$nqn" || return 1
    fi
    nvme connect -t tcp -a 127.0.0.1 -s 4420 -n "$nqn" >/dev/null || return 1
  done
  # nvme connect returns before the kernel has scanned the new controller's
  # namespaces (asynchronous work), so the disk's uevent may not be queued yet
  # when udevadm settle runs: wait for each link, about 10 s at most (a loaded TCG
  # guest once needed more than one settle).
  local link tries
  for spec in $NVMEOF; do
    model=$(nvmeof_model "$spec")
    link=/dev/disk/by-id/nvme-${model// /_}_${spec%%:*}_1
    for ((tries = 0; tries < 100; tries++)); do
      udevadm settle --timeout=5
      [[ -e $link ]] && break
      sleep 0.1
    done
    [[ -e $link ]] || { echo "nvmeof_setup: no by-id link for ${spec%%:*} after 10 s" >&2; return 1; }
  done
}

# nvmeof_model SERIAL:SIZE[:ebs]: the model the disk reports: EC2 instance store's, or with
# ":ebs" an EBS volume's (its serial then the volume ID without its dash, as EC2 shows it).
nvmeof_model() {
  [[ $1 == *:ebs ]] && echo "Amazon Elastic Block Store" || echo "Amazon EC2 NVMe Instance Storage"
}

# nvmeof_disconnect: the disks go away (as at shutdown); nvmeof_setup brings them back.
nvmeof_disconnect() {
  local spec
  for spec in $NVMEOF; do
    nvme disconnect -n "nqn.2026-11.io.eksvm:${spec%%:*}" >/dev/null || return 1
  done
  udevadm settle
}

# The chain as at first boot on EC2, with the project installed late (VM_INSTALL=late, so the
# generator runs after nvmeof_setup, as on EC2 where the disks exist at boot). containerd
# starts at boot on the image's config.toml (install-payload rendered it, as the AMI build
# does), so it is (re)started here first, on the root disk's /var/lib/containerd:
# eks-node-config writes config.json, stops containerd because the new mounts go over its
# state directory, triggers the one daemon-reload that lets eks-node-generator turn
# localStorage into units, and re-starts eks-node.target and containerd; starting the target
# here waits for the jobs. containerd alone (ignore-dependencies): its Wants= would start
# the chain in the same transaction, while containerd is still starting.
run_chain() {
  systemctl stop kubelet.service
  systemctl restart --job-mode=ignore-dependencies containerd.service || return 1
  systemctl start eks-node-config.service || return 1
  systemctl start eks-node.target
}

# Seconds from eks-node-instance-store's start to the last of UNIT... (mounts) being active,
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

# hotplug_nics: asks the host (run-scenario.sh) to attach the scenario's NICS_HOTPLUG NICs,
# as EC2 attaches an ENI to a running instance, and waits (at most 120 s) for its answer.
hotplug_nics() {
  local i
  touch /run/eksvm/out/hotplug.request
  for ((i = 0; i < 1200; i++)); do
    if [[ -s $EKSVM_IN/hotplug.done ]]; then
      grep -qx attached "$EKSVM_IN/hotplug.done" && return 0
      cat "$EKSVM_IN/hotplug.done" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "hotplug_nics: the host did not answer" >&2
  return 1
}
