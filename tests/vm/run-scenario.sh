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
# The boot itself is its backend's: boot-qemu.sh (a VM, TCG unless KVM) or boot-nspawn.sh (a
# container), each sourced once the share is ready; finish_run (below) judges either's results.
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
#                              check.sh's nvmeof_setup (guest/check-hw.sh)
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
#   VM_DISK_THROTTLE="", VM_DISK_LAZY=""   the benchmarks' models of a root disk EBS restores
#                              from a snapshot: tests/bench/vm-disk-model.sh
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
# of every boot option's value, as a case's scenario.env leaves them. NVMEOF is not one: the
# guest makes those disks in check.sh, per case (the `disks` group).
boot_options() { # [SCENARIO_ENV]
  (
    VM_MEMORY=2048 VM_CPUS='' VM_INSTALL=early NVME='' KERNEL_CMDLINE='' POWER_CUT='' SMBIOS_EC2=''
    VM_FLAVOUR=bookworm NICS=0 NICS_HOTPLUG=0 IMDS=on IMDS_ARGS='' VM_IMAGE_RENDER=1 VM_DISK_THROTTLE='' VM_DISK_LAZY=''
    VM_BOOT=qemu VM_PACKAGE=run
    # shellcheck source=/dev/null
    [[ -n ${1:-} && -f $1 ]] && source "$1"
    echo "$VM_MEMORY $VM_CPUS $VM_INSTALL [$NVME] [$KERNEL_CMDLINE] [$POWER_CUT] [$SMBIOS_EC2]" \
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
cp "$here/guest/check-lib.sh" "$here/guest/check-hw.sh" "$here/guest/registry.py" "$in/"
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
# The fake IMDS of the process tests serves the VM too (guest/imds), from the build
if [[ -n $build_dir && -x $build_dir/tests/fake-imds/fake-imds ]]; then
  cp "$build_dir/tests/fake-imds/fake-imds" "$in/"
elif [[ ${IMDS:-on} != off ]]; then
  log "no fake IMDS: build ${build_dir:-$repo/build} (tools/build.sh) or pass --build-dir"
  exit 2
fi
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

# One boot, bounded by VM_TIMEOUT, and 300 s more for each case of a boot group.
vm_timeout=$((VM_TIMEOUT + 300 * ${#cases[@]}))
# The boot, by its backend: each sets boot_cmd, start, qemu_rc and boot1_reason for finish_run.
# A container boot falls back to a VM where systemd-nspawn cannot run here (boot-nspawn.sh).
if [[ $VM_BOOT == nspawn ]]; then
  # shellcheck source=boot-nspawn.sh
  source "$here/boot-nspawn.sh"
fi
if [[ $VM_BOOT == qemu ]]; then
  # shellcheck source=boot-qemu.sh
  source "$here/boot-qemu.sh"
fi
finish_run
