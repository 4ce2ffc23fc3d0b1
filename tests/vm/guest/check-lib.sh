# shellcheck shell=bash
# Helpers for a scenario's check.sh (shipped into the VM per run; source "$EKSVM_IN/check-lib.sh").
#   check "what it proves" COMMAND...   run COMMAND; print "ok"/"not ok" with its output
#   imds_get PATH                       GET /latest/PATH from the fake IMDS with a fresh token
#   finish                              summary line; exit 1 if any check failed
#   nvmeof_setup, nvmeof_disconnect     the scenario's NVMEOF disks (EC2 instance-store model), below
#   run_chain, store_to_mounts_seconds UNIT..., is_mount_from WHERE SOURCE   instance-store scenarios, below
_eksvm_passed=0
_eksvm_failed=0
# Which boot this is: 1, or 2 for the second boot of a POWER_CUT scenario (run-scenario.sh).
# shellcheck disable=SC2034 # for check.sh
EKSVM_BOOT=$(cat "$EKSVM_IN/boot" 2>/dev/null || echo 1)

check() {
  local what=$1 output
  shift
  if output=$("$@" 2>&1); then
    _eksvm_passed=$((_eksvm_passed + 1))
    echo "ok - $what"
  else
    _eksvm_failed=$((_eksvm_failed + 1))
    echo "not ok - $what"
    echo "    \$ $*"
    # shellcheck disable=SC2001 # indent every line
    sed 's/^/    /' <<<"$output"
  fi
}

imds_get() {
  local token
  token=$(curl -fsS --max-time 5 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' \
    http://169.254.169.254/latest/api/token) &&
    curl -fsS --max-time 5 -H "X-aws-ec2-metadata-token: $token" \
      "http://169.254.169.254/latest/$1"
}

# eventually SECONDS COMMAND...: retry COMMAND every 0.5 s until it succeeds or SECONDS pass
# (journald stores a message a moment after the step that sent it has exited).
eventually() {
  local end=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS >= end)) && return 1
    sleep 0.5
  done
}

finish() {
  echo "checks: $_eksvm_passed passed, $_eksvm_failed failed"
  ((_eksvm_failed == 0))
}

# nvmeof_setup: the scenario option NVMEOF="SERIAL:SIZE ..." as EC2 instance-store disks. qemu's
# own NVMe disks always say model "QEMU NVMe Ctrl", so each disk is a file-backed namespace of
# an in-guest NVMe-oF target (nvmet, TCP on 127.0.0.1:4420) whose subsystem reports model
# "Amazon EC2 NVMe Instance Storage" and the serial, connected with `nvme connect`: the guest
# then has /dev/nvmeXn1 with that model and udev's /dev/disk/by-id/nvme-Amazon_EC2_NVMe_
# Instance_Storage_SERIAL_1, as on EC2 (but over TCP, and with hidden nvmeXcYnZ path nodes).
# The backing files live in /var/lib/eksvm-nvmeof (the run's throw-away overlay), so data
# survives an in-guest disconnect and reconnect (nvmeof_disconnect, then nvmeof_setup again).
# Call it before eks-node runs; with VM_INSTALL=late, eks-node-generator runs (daemon-reload)
# after it and so sees the disks, as it sees real ones at first boot on EC2.
nvmeof_setup() {
  local cfs=/sys/kernel/config/nvmet spec serial size nqn port dir=/var/lib/eksvm-nvmeof
  port=$cfs/ports/1
  [[ -n ${NVMEOF:-} ]] || { echo "nvmeof_setup: NVMEOF is empty" >&2; return 1; }
  modprobe -a nvmet nvmet-tcp nvme-tcp || return 1
  mountpoint -q /sys/kernel/config || mount -t configfs configfs /sys/kernel/config || return 1
  mkdir -p "$dir"
  if [[ ! -d $port ]]; then
    mkdir "$port" &&
      echo 127.0.0.1 >"$port/addr_traddr" && echo tcp >"$port/addr_trtype" &&
      echo 4420 >"$port/addr_trsvcid" && echo ipv4 >"$port/addr_adrfam" || return 1
  fi
  for spec in $NVMEOF; do
    serial=${spec%%:*} size=${spec#*:}
    nqn=nqn.2026-11.io.eksvm:$serial
    if [[ ! -d $cfs/subsystems/$nqn ]]; then
      [[ -f $dir/$serial.img ]] || truncate -s "$size" "$dir/$serial.img" || return 1
      mkdir "$cfs/subsystems/$nqn" &&
        echo 1 >"$cfs/subsystems/$nqn/attr_allow_any_host" &&
        echo "Amazon EC2 NVMe Instance Storage" >"$cfs/subsystems/$nqn/attr_model" &&
        echo "$serial" >"$cfs/subsystems/$nqn/attr_serial" &&
        mkdir "$cfs/subsystems/$nqn/namespaces/1" &&
        echo "$dir/$serial.img" >"$cfs/subsystems/$nqn/namespaces/1/device_path" &&
        echo 1 >"$cfs/subsystems/$nqn/namespaces/1/enable" &&
        ln -s "$cfs/subsystems/$nqn" "$port/subsystems/$nqn" || return 1
    fi
    nvme connect -t tcp -a 127.0.0.1 -s 4420 -n "$nqn" >/dev/null || return 1
  done
  udevadm settle
  for spec in $NVMEOF; do
    [[ -e /dev/disk/by-id/nvme-Amazon_EC2_NVMe_Instance_Storage_${spec%%:*}_1 ]] ||
      { echo "nvmeof_setup: no by-id link for ${spec%%:*}" >&2; return 1; }
  done
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
# generator runs after nvmeof_setup, as on EC2 where the disks exist at boot): containerd,
# which the image started at boot, waits for eks-node on an AMI; eks-node-config writes
# config.json and itself triggers the one daemon-reload that lets eks-node-generator turn
# localStorage into units, and re-starts eks-node.target; starting it here waits for the jobs.
run_chain() {
  systemctl stop kubelet.service containerd.service
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
