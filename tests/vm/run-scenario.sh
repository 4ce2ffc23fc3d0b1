#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Boot the VM test image once and run one scenario in it.
#
# Usage: tests/vm/run-scenario.sh SCENARIO_DIR [options]
#   --kernel-cmdline-extra ARGS  appended to the guest kernel command line
#   --build-dir DIR    install this build's .deb into the VM (tests/vm/package.sh; default:
#                      $EKS_NODE_VM_BUILD_DIR, else <repo>/build when it holds a configured build)
#   --package FILE     install this .deb (tests/vm/package.sh's) instead of packaging the build
#   --no-project       boot without the project
#   --install early|late  override the scenario's VM_INSTALL (below)
#   --out DIR          results (default: ${EKS_NODE_VM_OUT:-/tmp/eks-node-vm/CHECKOUT}/SCENARIO, tests/vm/out-root.sh)
#   --keep             keep the run's work directory (overlay disk, share) for a post-mortem
#   --case DIR         a boot group's further scenario (repeatable): run in the same boot after
#                      SCENARIO_DIR's check, as a re-run of the chain (guest/subcases.sh), its
#                      results in OUT/cases/NAME/; its boot options must be SCENARIO_DIR's
# Exit status: 0 when the scenario passed, 1 when it failed, 2 on usage errors.
#
# A scenario directory holds check.sh (run inside the VM; exit 0 = pass) and optionally
# scenario.env (options below), imds.json, user-data, files/ (a tree installed onto /
# together with the project), and host-check.py (run on the host after the VM with the results
# directory, for what only the host sees, e.g. console.log; its output is appended to
# check.log, and it must exit 0 too). Options, with defaults:
#   VM_MEMORY=2048 VM_CPUS=    guest size; VM_CPUS: 2 under KVM, 1 under TCG (below)
#   VM_FLAVOUR=bookworm        the image: bookworm (Debian 12) or sid (Debian unstable,
#                              containerd 2.x); build-image.sh's EKS_NODE_VM_FLAVOUR
#   VM_BOOT=qemu               qemu: the image as a VM (its own kernel, TCG unless KVM); nspawn:
#                              the same image under systemd-nspawn at the host's speed, for what
#                              needs no kernel, disks, NICs or firmware of its own (below)
#   VM_TIMEOUT=900             host-side limit for the whole boot, in seconds
#   VM_INSTALL=early           early: project installed before systemd starts (first boot as
#                              on an AMI); late: by the runner into the running system
#   VM_PACKAGE=run             run: the boot installs the run's .deb; older: an older build of
#                              it (tests/vm/older-package.sh), which check.sh upgrades to the
#                              run's, $EKSVM_IN/package/eks-node.deb (39-package-upgrade)
#   VM_IMAGE_RENDER=1          1: the payload install names a cached pause image and runs
#                              `eks-node render --image`, as the AMI build does (guest/install-payload)
#   NVME="SERIAL:SIZE ..."     emulated NVMe disks, sparse files (e.g. "vol0:1G vol1:1G")
#   NVMEOF="SERIAL:SIZE[:ebs] ..."   EC2 instance-store disks (exact model; ":ebs": an EBS volume's), made in the guest by
#                              check.sh's nvmeof_setup (guest/check-lib.sh)
#   KERNEL_CMDLINE=""          extra kernel arguments
#   SMBIOS_EC2=""              1: SMBIOS says EC2 (system UUID and serial ec2..., vendor
#                              "Amazon EC2"), as cloud-init's platform check wants before it
#                              uses IMDSv2 (token), which is all the fake IMDS answers
#   IMDS, IMDS_ARGS            see guest/imds;  BOOT_TIMEOUT (300 here), CHECK_TIMEOUT, COLLECT: guest/runner
#   NICS=0                     N virtio NICs on qemu user networking with restrict=on (nothing
#                              leaves qemu; its DHCP answers), NIC i: MAC 0e:49:61:0f:c3:1i,
#                              subnet 10.0.i.0/24 (address 10.0.i.15, gateway 10.0.i.2)
#   NICS_HOTPLUG=0             N more such NICs, attached while the guest runs, as an ENI is
#                              attached to a running instance: the guest asks (check-lib.sh's
#                              hotplug_nics), the host adds them through QMP. They follow the
#                              NICS in number (MAC, subnet), each in its own PCIe slot.
#   POWER_CUT=""               1: two boots of one disk. The first loses power at the point where
#                              a unit of the scenario runs guest/power-cut: the host freezes the
#                              disk there (what a power cut leaves), and that boot runs on as the
#                              clean reference; the second boots the frozen disk. check.sh runs in
#                              both ($EKSVM_BOOT 1, 2); the second gets the first's result and
#                              artifacts in $EKSVM_IN/boot1/; the first's results go to boot1/.
#   VM_DISK_THROTTLE=""        the root disk read as a volume EBS restores from a snapshot loads
#                              (tests/bench/README.md, "A lazily loaded disk"): qemu's block
#                              throttling, "bps-read=BYTES,iops-read=N[,iops-size=BYTES]" (each
#                              a -drive throttling.KEY=VALUE), and the guest's page cache emptied
#                              once the payload is installed (guest/preinit), as nothing of an
#                              instance's volume has been read at its first boot
#   VM_DISK_LAZY=""            the root disk as EBS loads a volume restored from a snapshot, block
#                              by block at each block's first read (tests/bench/README.md, "A
#                              lazily loaded disk"): "LATENCY_MS[,BLOCK_KIB[,FETCHES]]", the
#                              overlay's backing file served by tests/bench/lazydisk.py over
#                              NBD (its figures in the run's lazydisk.json); the guest's page
#                              cache emptied as with VM_DISK_THROTTLE
#   GUEST_POWERS_OFF=0         1: the guest is expected to power itself off before its check
#                              reports (settings.onFailure): no result from the guest, and the
#                              verdict is host-check.py's, from the serial console
# shellcheck disable=SC2030,SC2031 # boot_options reads a case's options in a subshell, on purpose
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

usage() { sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}" >&2; exit 2; }
log() { printf 'vm: %s\n' "$*" >&2; }

scenario='' extra='' build_dir=${EKS_NODE_VM_BUILD_DIR:-} package='' no_project='' out='' keep=''
install='' cases=()
while (($#)); do
  case $1 in
    --kernel-cmdline-extra) extra=${2?}; shift ;;
    --build-dir) build_dir=${2?}; shift ;;
    --package) package=$(realpath "${2?}"); shift ;;
    --no-project) no_project=1 ;;
    --install) install=${2?}; shift ;;
    --out) out=${2?}; shift ;;
    --keep) keep=1 ;;
    --case) cases+=("$(cd "${2?}" && pwd)"); shift ;;
    -h | --help) usage ;;
    -*) log "unknown option $1"; usage ;;
    *) [[ -z $scenario ]] || usage; scenario=$1 ;;
  esac
  shift
done
[[ -n $scenario && -f $scenario/check.sh ]] || { log "no check.sh in '${scenario}'"; usage; }
scenario=$(cd "$scenario" && pwd)
name=$(basename "$scenario")
out=${out:-${EKS_NODE_VM_OUT:-$("$here/out-root.sh")}/$name}
# Results replace an earlier result, but never a directory that is something else.
if [[ -d $out && -n $(ls -A "$out") && ! -f $out/timing.txt ]]; then
  log "not overwriting $out: not a result directory"
  exit 2
fi
if [[ -z $build_dir && -f $repo/build/build.ninja ]]; then
  build_dir=$repo/build
fi

VM_MEMORY=2048 VM_CPUS='' VM_TIMEOUT=900 VM_INSTALL=early NVME='' KERNEL_CMDLINE='' POWER_CUT='' SMBIOS_EC2='' GUEST_POWERS_OFF=0
VM_FLAVOUR=bookworm VM_DISK_THROTTLE='' VM_DISK_LAZY='' VM_BOOT=qemu VM_PACKAGE=run
NICS=0 NICS_HOTPLUG=0
# shellcheck source=/dev/null
[[ -f $scenario/scenario.env ]] && source "$scenario/scenario.env"
VM_INSTALL=${install:-$VM_INSTALL}

# A boot group's cases share this boot: the options that shape it must be the same. One line
# of every boot option's value, as a case's scenario.env leaves them.
boot_options() { # [SCENARIO_ENV]
  (
    VM_MEMORY=2048 VM_CPUS='' VM_INSTALL=early NVME='' NVMEOF='' KERNEL_CMDLINE='' POWER_CUT='' SMBIOS_EC2=''
    VM_FLAVOUR=bookworm NICS=0 NICS_HOTPLUG=0 IMDS=on IMDS_ARGS='' VM_IMAGE_RENDER=1 VM_DISK_THROTTLE='' VM_DISK_LAZY=''
    VM_BOOT=qemu VM_PACKAGE=run
    # shellcheck source=/dev/null
    [[ -n ${1:-} && -f $1 ]] && source "$1"
    echo "$VM_MEMORY $VM_CPUS $VM_INSTALL [$NVME] [$NVMEOF] [$KERNEL_CMDLINE] [$POWER_CUT] [$SMBIOS_EC2]" \
      "$VM_FLAVOUR $NICS $NICS_HOTPLUG $IMDS [$IMDS_ARGS] $VM_IMAGE_RENDER [$VM_DISK_THROTTLE] [$VM_DISK_LAZY] $VM_BOOT $VM_PACKAGE"
  )
}
for c in "${cases[@]}"; do
  [[ -f $c/check.sh ]] || { log "no check.sh in $c"; usage; }
  if [[ $(boot_options "$c/scenario.env") != "$(boot_options "$scenario/scenario.env")" ]]; then
    log "$(basename "$c") cannot share $name's boot: its boot options differ"
    log "  $name: $(boot_options "$scenario/scenario.env")"
    log "  $(basename "$c"): $(boot_options "$c/scenario.env")"
    exit 2
  fi
done
[[ ${#cases[@]} == 0 || -z $POWER_CUT ]] || { log "a POWER_CUT scenario boots twice: it cannot have --case"; exit 2; }
[[ $VM_INSTALL == early || $VM_INSTALL == late ]] || { log "VM_INSTALL: early or late"; usage; }
[[ $VM_PACKAGE == run || $VM_PACKAGE == older ]] || { log "VM_PACKAGE: run or older"; usage; }

[[ $VM_FLAVOUR == bookworm || $VM_FLAVOUR == sid ]] || { log "VM_FLAVOUR: bookworm or sid"; usage; }
[[ $VM_BOOT == qemu || $VM_BOOT == nspawn ]] || { log "VM_BOOT: qemu or nspawn"; usage; }
# the build under test validates a newly built image (build-image.sh, validate_rootfs)
base=$(EKS_NODE_VM_FLAVOUR=$VM_FLAVOUR EKS_NODE_VM_BUILD_DIR=$build_dir \
  "$here/build-image.sh" | tail -n1)
[[ -f $base/rootfs.img ]] || { log "no $VM_FLAVOUR image"; exit 1; }

# record_cpu: the CPU time the calling subshell's children used (user + sys), one line added to
# WORK/qemu-cpu per boot: next to wall time it tells whether a slow run was slow or just
# starved by other work on the machine
record_cpu() {
  times >"$work/times" # not in a pipeline: that would run it in a subshell without children
  awk 'NR == 2 { gsub(/[ms]/, " "); printf "%.1f\n", $1 * 60 + $2 + $3 * 60 + $4 }' \
    "$work/times" >>"$work/qemu-cpu"
}

# own_cgroup NAME: moves the calling (sub)shell into a new child NAME of its cgroup v2 group
own_cgroup() {
  local mnt rel
  mnt=$(findmnt -n -o TARGET -t cgroup2 | head -n1)
  rel=$(sed -n 's/^0:://p' /proc/self/cgroup)
  mkdir -p "$mnt${rel%/}/$1"
  echo "$BASHPID" >"$mnt${rel%/}/$1/cgroup.procs"
  echo "$mnt${rel%/}/$1" >>"$work/cgroups"
}

work=$(mktemp -d "${TMPDIR:-/var/tmp}/eks-node-vm.XXXXXX")
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
  [[ -n ${lazy_pid:-} ]] && kill "$lazy_pid" 2>/dev/null
  # a container's cgroups outlive it (its systemd's tree, nspawn's payload and supervisor):
  # removed bottom up, as nothing runs in them any more
  if [[ -f $work/cgroups ]]; then
    while read -r cg; do find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null; done <"$work/cgroups"
  fi
  if [[ -n $keep ]]; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# The 9p share: in/ is what the guest reads, out/ what it writes back.
in=$work/share/in
mkdir -p "$in" "$work/share/out"
cp -a "$scenario" "$in/scenario"
# The guest reads the same options; the command line's overrides come last. First the
# guest's boot guard for scenarios that set none: 300 s, not the runner's own 180, since two
# single-threaded guests share the two cores (below): 16-secrets settled at 90 s beside
# another boot, 58 s alone under multi-threaded TCG, and CI's machines have been 2-4x slower.
{
  echo "BOOT_TIMEOUT=300"
  [[ -f $scenario/scenario.env ]] && cat "$scenario/scenario.env"
  echo "VM_INSTALL=$VM_INSTALL"
} >"$in/scenario.env"
cp "$here/guest/check-lib.sh" "$here/guest/registry.py" "$in/"
# The registry stand-ins' CA and certificate (31, 34), made here at the host's speed: openssl
# in a TCG guest took 31 s of 31-fast-image-pull's boot (run R, 2026-11-29)
python3 "$here/guest/registry.py" certs "$in/registry-tls" registry.eksvm.test mirror.eksvm.test soci.eksvm.test
if ((${#cases[@]})); then
  mkdir "$in/cases"
  for c in "${cases[@]}"; do
    cp -a "$c" "$in/cases/"
    basename "$c" >>"$in/cases.list"
  done
  cp "$here/guest/subcases.sh" "$in/"
fi
echo 1 >"$in/boot"
[[ -n $POWER_CUT ]] && cp "$here/guest/power-cut" "$in/"
# The fake IMDS of the process tests serves the VM too.
cp "$repo/tests/fake-imds/fake_imds.py" "$in/"
# ...and its C++ twin from the build, where there is one (guest/imds says when it serves)
[[ -n $build_dir && -x $build_dir/tests/bench/fast-imds ]] && cp "$build_dir/tests/bench/fast-imds" "$in/"
cp "$repo/tests/fake-aws/fake_aws.py" "$in/"
# ...and the cluster side of kubelet's authentication (guest/eksvm-eks-auth.service)
cp "$repo/tests/fake-aws/fake_eks_auth.py" "$in/"
# Every instance here has an instance profile, as every EKS node has one: kubelet's credential
# plugin signs its token with it. A scenario's (or case's) imds.json without one gets
# instance-profile.json's keys in the run's copy, which the fake IMDS serves and the fake STS
# checks signatures against.
with_instance_profile() {
  [[ -f $1/imds.json ]] || return 0
  python3 - "$1/imds.json" "$here/instance-profile.json" <<'PY'
import json, sys
path, default = sys.argv[1:]
with open(path) as f:
    data = json.load(f)
if not any(k.strip("/").startswith("meta-data/iam/") for k in data):
    with open(default) as f:
        data.update((k, v) for k, v in json.load(f).items() if not k.startswith("_"))
    with open(path, "w") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
PY
}
with_instance_profile "$in/scenario"
for c in "${cases[@]}"; do with_instance_profile "$in/cases/$(basename "$c")"; done
if [[ -n $no_project ]]; then
  log "booting without the project"
else
  # The package a user installs (guest/install-payload installs it with dpkg): the meson
  # test's (run-case.sh packages the build once per run), or this build's
  mkdir "$in/package"
  if [[ -n $package ]]; then
    cp "$package" "$in/package/eks-node.deb"
  elif [[ -n $build_dir ]]; then
    log "packaging $build_dir (tests/vm/package.sh)"
    "$here/package.sh" "$build_dir" "$in/package/eks-node.deb"
  else
    log "no build directory (configure $repo/build or pass --build-dir/--package/--no-project)"
    exit 2
  fi
  # the older build the boot installs instead, which the scenario upgrades (VM_PACKAGE=older)
  if [[ $VM_PACKAGE == older ]]; then
    "$here/older-package.sh" "$in/package/eks-node.deb" "$in/package/eks-node-older.deb"
  fi
fi
# What the run's package installs, so a check can prove the project arrived (see 00-smoke).
if [[ -f $in/package/eks-node.deb ]]; then
  dpkg-deb --fsys-tarfile "$in/package/eks-node.deb" | tar -t | sed -n 's|^\./|/|; /[^/]$/p' |
    LC_ALL=C sort >"$in/manifest"
else
  : >"$in/manifest"
fi

# After the boot, whichever ran it: the results to OUT, the host checks, the verdicts.
finish_run() {
  if [[ -n ${lazy_pid:-} ]]; then
    kill -TERM "$lazy_pid" 2>/dev/null || true
    wait "$lazy_pid" || true
    lazy_pid=''
    [[ -f $work/lazydisk.json ]] && cp "$work/lazydisk.json" "$work/share/out/"
  fi
  wall=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  cpu=$(awk '{ s += $1 } END { printf "%.1f", s }' "$work/qemu-cpu")

  rm -rf "$out"
  mkdir -p "$out"
  cp -a "$work/share/out/." "$out/"
  for f in console.log qemu.log; do
    [[ -f $work/$f ]] && cp "$work/$f" "$out/"
  done
  if [[ -d $work/boot1 ]]; then
    mkdir "$out/boot1"
    cp -a "$work/boot1/out/." "$work/boot1/console.log" "$work/boot1/qemu.log" "$out/boot1/"
  fi
  printf '%s\n' "${boot_cmd[@]}" >"$out/$VM_BOOT-command.txt"

  # judge RESULTS SCENARIO_DIR NO_RESULT: the host's part of a scenario (its host-check.py, on
  # whatever the guest left, even after a failure), then its verdict, "pass" or "fail: REASON",
  # in $verdict, $reason and RESULTS/verdict; NO_RESULT is the reason when the guest left none
  judge() {
    local res=$1 dir=$2 no_result=$3 host_rc=0
    if [[ -f $dir/host-check.py ]]; then
      {
        echo "# host-check.py"
        python3 "$dir/host-check.py" "$res"
      } >>"$res/check.log" 2>&1 || host_rc=$?
    fi
    verdict=fail reason=
    if [[ ! -f $res/result && $GUEST_POWERS_OFF == 1 && -f $dir/host-check.py ]]; then
      # the guest powered itself off before its check could report (settings.onFailure):
      # host-check.py, reading the console, is the whole verdict
      if ((host_rc == 0)); then verdict=pass; else reason="host-check.py failed (exit $host_rc)"; fi
    elif [[ ! -f $res/result ]]; then
      reason=$no_result
    elif ! grep -qx 'status=pass' "$res/result"; then
      reason="check failed ($(grep '^check_exit=' "$res/result"))"
    elif ((host_rc != 0)); then
      reason="host-check.py failed (exit $host_rc)"
    else
      verdict=pass
    fi
    echo "$verdict${reason:+: $reason}" >"$res/verdict"
  }

  judge "$out" "$scenario" "no result from the guest ($VM_BOOT exit $qemu_rc; see console.log)"
  if [[ -n $boot1_reason ]]; then
    verdict=fail reason=$boot1_reason
  elif ((qemu_rc == 124 || qemu_rc == 137)); then
    verdict=fail reason="timed out after ${vm_timeout}s"
  fi
  echo "$verdict${reason:+: $reason}" >"$out/verdict"
  printf 'boot=%s\nwall_seconds=%s\ncpu_seconds=%s\n' "$VM_BOOT" "$wall" "$cpu" >"$out/timing.txt"

  # say NAME RESULTS HOW: the verdict's line (and the check's last lines on a failure)
  status=0
  say() {
    if [[ $verdict == pass ]]; then
      echo "vm: $1: PASS $3 (results in $2)"
    else
      echo "vm: $1: FAIL $3: $reason (results in $2)"
      [[ -f $2/check.log ]] && tail -n 30 "$2/check.log" | sed 's/^/    /'
      status=1
    fi
  }
  say "$name" "$out" "in ${wall}s, $VM_BOOT CPU ${cpu}s"

  # A boot group's further cases: each its own verdict, under cases/NAME/
  for c in "${cases[@]}"; do
    cout=$out/cases/$(basename "$c")
    mkdir -p "$cout"
    no_result="no result from the guest (the boot ended before this case: $VM_BOOT exit $qemu_rc; see $out/console.log)"
    ((qemu_rc == 124 || qemu_rc == 137)) && no_result="timed out after ${vm_timeout}s before this case ended"
    judge "$cout" "$c" "$no_result"
    secs=$(sed -n 's/^reset_and_chain_seconds=//p; s/^check_seconds=//p' "$cout/result" 2>/dev/null |
      awk '{ s += $1 } END { printf "%.1f", s }')
    say "$(basename "$c")" "$cout" "in ${secs}s of $name's boot"
  done
  exit "$status"
}

# VM_BOOT=nspawn: the same image booted by systemd-nspawn at the host's speed, for a scenario
# that needs no kernel of its own, no disks, NICs or firmware (tests/vm/README.md, "Container
# boots"). Its writes go to a tmpfs over the image's tree (--volatile=overlay); containerd's
# state to a directory of the host's, since overlayfs takes no overlayfs as its upper layer
# (containerd's snapshots); the share at /run/eksvm, where the 9p mount would be; the
# fake IMDS on lo of its own network namespace (guest/imds). KERNEL_CMDLINE is PID 1's
# command line, where systemd, cloud-init and eks-node-generator read it in a container.
# (SMBIOS_EC2 there: /sys/hypervisor/uuid, guest/preinit)
if [[ $VM_BOOT == nspawn ]] && [[ -n $POWER_CUT$NVME${NVMEOF:-}$VM_DISK_THROTTLE$VM_DISK_LAZY || $NICS != 0 || $NICS_HOTPLUG != 0 ]]; then
  log "VM_BOOT=nspawn: no POWER_CUT, NVME, NVMEOF, NICS, NICS_HOTPLUG or disk model in a container"
  exit 2
fi
# Where systemd-nspawn cannot run a container (not root, no systemd-container, a machine that
# is itself a container without what nspawn needs), the scenario boots as a VM instead, and
# says so: its checks pass in either (each check that differs says how), only slower.
tree=$base/tree
# One boot, bounded by VM_TIMEOUT, and 300 s more for each case of a boot group.
vm_timeout=$((VM_TIMEOUT + 300 * ${#cases[@]}))
if [[ $VM_BOOT == nspawn ]]; then
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
  fi
fi
if [[ $VM_BOOT == nspawn ]]; then
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
  finish_run
fi

# Per-run writable layer: the cached image is only ever read.
root_backing=$base/rootfs.img
if [[ -n $VM_DISK_LAZY ]]; then
  # VM_DISK_LAZY: the image read through lazydisk.py, which answers a block's first read
  # after LATENCY_MS; the overlay's writes stay local, as an EBS volume's writes do not wait
  IFS=, read -r lazy_ms lazy_kib lazy_fetches <<<"$VM_DISK_LAZY"
  [[ $lazy_ms =~ ^[0-9]+$ && ${lazy_kib:-512} =~ ^[0-9]+$ && ${lazy_fetches:-64} =~ ^[0-9]+$ ]] ||
    { log "VM_DISK_LAZY: \"$VM_DISK_LAZY\" is not LATENCY_MS[,BLOCK_KIB[,FETCHES]]"; usage; }
  python3 "$repo/tests/bench/lazydisk.py" --image "$base/rootfs.img" --socket "$work/root.sock" \
    --latency-ms "$lazy_ms" --block-kib "${lazy_kib:-512}" --fetches "${lazy_fetches:-64}" \
    --forget-when "$work/share/out/preinit.txt" --stats "$work/lazydisk.json" &
  lazy_pid=$!
  for _ in {1..100}; do [[ -S $work/root.sock ]] && break; sleep 0.05; done
  [[ -S $work/root.sock ]] || { log "VM_DISK_LAZY: lazydisk.py did not start"; exit 2; }
  root_backing="nbd+unix:///?socket=$work/root.sock"
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

# VM_DISK_THROTTLE: "bps-read=B,iops-read=N" -> ",throttling.bps-read=B,throttling.iops-read=N"
root_throttle=''
if [[ -n $VM_DISK_THROTTLE ]]; then
  IFS=, read -ra throttle_keys <<<"$VM_DISK_THROTTLE"
  for kv in "${throttle_keys[@]}"; do
    [[ $kv =~ ^[a-z-]+=[0-9]+$ ]] || { log "VM_DISK_THROTTLE: \"$kv\" is not KEY=NUMBER"; usage; }
    root_throttle+=",throttling.$kv"
  done
fi

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
finish_run
