#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The image has what the steps promised; the build fails otherwise.
# Offline checks only: the same in a chroot as on the builder instance.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

failed=0
check() {
  local what=$1
  shift
  if "$@" >/dev/null 2>&1; then log "ok - $what"; else log "not ok - $what"; failed=1; fi
}
listed() { [[ " ${EKS_SKIP:-} " == *" $1 "* ]]; }

# what the recipe takes from the base image (packages.tsv, step "base"), by its name here
for p in $(pkg_of_step base); do
  [[ -n $(pkg_name "$p") ]] && check "base package $p ($(pkg_name "$p"))" pkg_installed "$p"
done
check "runc runs" runc --version
check "containerd is $EKS_CONTAINERD_VERSION" grep -q "^${EKS_CONTAINERD_VERSION//./\\.}" /etc/eks/containerd-version.txt
check "kubelet is $EKS_KUBELET_VERSION" grep -q "^v${EKS_KUBELET_VERSION//./\\.}" /etc/eks/kubelet-version.txt
check "ecr-credential-provider is installed" test -x /etc/eks/image-credential-provider/ecr-credential-provider
for p in loopback portmap bandwidth host-local; do
  check "CNI plugin $p" test -x "/opt/cni/bin/$p"
done
check "sysctls for the CRI" grep -q '^net.bridge.bridge-nf-call-iptables = 1' /etc/sysctl.d/99-kubernetes-cri.conf
check "protectKernelDefaults sysctls" grep -q '^vm.overcommit_memory = 1' /etc/sysctl.d/99-kubelet.conf
check "br_netfilter loads at boot" grep -qx br_netfilter /etc/modules-load.d/eks-node.conf
check "kubelet.service runs in runtime.slice" grep -qx 'Slice=runtime.slice' /etc/systemd/system/kubelet.service
check "kubelet.service sets the FORWARD policy off the join path" \
  grep -qx 'Wants=kubelet-forward-policy.service' /etc/systemd/system/kubelet.service
check "cgroup2 favordynmods is set at boot" \
  test -e /etc/systemd/system/sysinit.target.wants/cgroup-favordynmods.service
check "the CNI results cache of the previous boot is reset at boot (cni-cache-reset)" \
  test -e /etc/systemd/system/multi-user.target.wants/cni-cache-reset.service
no_net_utils() { ! pkg_installed amazon-ec2-net-utils && ! pkg_installed ec2-net-utils; }
check "no amazon-ec2-net-utils (eks-node-network configures the ENIs)" no_net_utils
check "systemd-networkd is enabled" systemctl is-enabled systemd-networkd.service
if [[ ${EKS_SOCI_SNAPSHOTTER:-true} == true ]]; then
  soci_unit() { [[ -e /usr/lib/systemd/system/soci-snapshotter.service || -e /lib/systemd/system/soci-snapshotter.service ]]; }
  check "the SOCI snapshotter and its unit (FastImagePull)" soci_unit
  check "the SOCI snapshotter's release is recorded" test -s /etc/eks/soci-snapshotter-version.txt
fi
if [[ ${EKS_CACHE_PAUSE_IMAGE:-true} == true ]]; then
  # by content, not size: a cut-short archive had passed `test -s` (issue 33)
  check "the cached pause image's archive is whole (every blob's digest)" \
    python3 "$files_dir/check-oci-archive" /etc/eks/pause.tar "$(go_arch)"
fi
# the steps confine their own file system with Landlock (eks-node(7),
# CONFINEMENT): AL2023 kernels have it from release 2023.8.20250804
landlock_kernel() {
  local c
  for c in /boot/config-*; do
    grep -qx CONFIG_SECURITY_LANDLOCK=y "$c" && grep -q '^CONFIG_LSM=.*landlock' "$c" && return 0
  done
  return 1
}
check "the kernel has Landlock, enabled at boot" landlock_kernel
case ${EKS_HARDENING:-cis} in
  cis | stig)
    # the hardening of 71-cis-hardening is on (the default); the booted image's controls are
    # checked one by one in the VM tier (tests/vm/scenarios/35-cis-hardening)
    check "CIS: unused filesystems and protocols cannot be loaded" grep -qx 'install cramfs /bin/false' /etc/modprobe.d/eks-node-cis.conf
    check "CIS: kernel and network sysctls" grep -qx 'fs.suid_dumpable = 0' /etc/sysctl.d/60-eks-node-cis.conf
    check "CIS: auditd is enabled with the CIS rules" \
      bash -c 'systemctl is-enabled auditd.service && test -s /etc/audit/rules.d/60-eks-node-cis.rules'
    check "CIS: auditd starts beside the boot, not before sysinit.target" \
      bash -c 'test -f /etc/systemd/system/auditd.service &&
        ! grep -q "^Before=.*sysinit\.target" /etc/systemd/system/auditd.service'
    ;;&
  stig) check "STIG: sysctls and audit rules" \
    test -s /etc/sysctl.d/61-eks-node-stig.conf -a -s /etc/audit/rules.d/61-eks-node-stig.rules ;;
esac
check "kubelet.service is not enabled" test ! -e /etc/systemd/system/multi-user.target.wants/kubelet.service
check "/etc/eks/release names the image" grep -q '^KUBELET_VERSION=v' /etc/eks/release
if [[ -n ${EKS_RUNTIME_HANDLERS:-} ]]; then
  check "runtime handlers are an eks-node image default" \
    test -s /usr/lib/eks-node/node.toml.d/20-runtime-handlers.toml
fi
if listed 30-eks-node; then
  log "eks-node not installed by this build (EKS_SKIP): not checked"
else
  check "eks-node is installed" /usr/bin/eks-node --version
  # what the package manager installed with it (packaging/eks-node.toml; packages.tsv, "eks-node")
  for p in $(pkg_of_step eks-node); do
    check "eks-node's dependency $p ($(pkg_name "$p"))" pkg_installed "$p"
  done
  check "eks-node's generator is installed" test -x /usr/lib/systemd/system-generators/eks-node-generator
  if [[ ${EKS_CACHE_PAUSE_IMAGE:-true} == true ]]; then
    # the check eks-node-pause-image.service runs at boot agrees with the build's
    check "eks-node check-archive takes the cached pause archive" eks-node check-archive /etc/eks/pause.tar
  fi
  # every program, file and unit that what eks-node renders, and its units, name: each on a
  # line of its own in the build's log, a missing one named (eks-node(1), validate --image)
  if eks-node validate --image >&2; then
    log "ok - eks-node validate --image"
  else
    log "not ok - eks-node validate --image (its FAIL lines above)"
    failed=1
  fi
  check "eks-node's kubelet drop-in is installed" \
    test -f /usr/lib/systemd/system/kubelet.service.d/10-eks-node.conf -o \
    -f /lib/systemd/system/kubelet.service.d/10-eks-node.conf
  # 51-network removed amazon-ec2-net-utils: eks-node-network's pieces take its place
  check "EC2 interfaces get DHCP until eks-node-network has run" \
    test -s /usr/lib/systemd/network/80-eks-node-ec2.network
  check "udev starts eks-node-network@ for EC2 interfaces" \
    grep -q 'eks-node-network@' /usr/lib/udev/rules.d/90-eks-node-network.rules
  check "MACAddressPolicy=none" \
    grep -qx 'MACAddressPolicy=none' /usr/lib/systemd/network/99-default.link.d/50-eks-node.conf
  check "ports of host-network add-ons reserved" \
    grep -q '^net.ipv4.ip_local_reserved_ports = .*61678' /usr/lib/sysctl.d/67-eks-node-reserved-ports.conf
  # 95-readahead built every initramfs again where dracut builds them (AL2023)
  initramfs_reads_ahead() {
    local img found=0
    for img in /boot/initramfs-*.img; do
      [[ -e $img ]] || continue
      lsinitrd "$img" | grep -q 'initrd.target.wants/eks-node-readahead.service' || return 1
      found=1
    done
    ((found))
  }
  if command -v dracut >/dev/null; then
    check "every initramfs starts eks-node-readahead (dracut module)" initramfs_reads_ahead
  fi
fi
if [[ ${EKS_VARIANT:-standard} == ecs ]]; then
  check "ECS: Docker and the ECS agent's unit" \
    bash -c 'command -v docker && test -e /usr/lib/systemd/system/ecs.service'
  check "ECS: the image is an ECS container instance (settings.node)" \
    grep -qx 'node = "ecs"' /usr/lib/eks-node/node.toml.d/10-ecs.toml
  check "ECS: Docker is not enabled (ecs-node.target starts it)" \
    bash -c '! systemctl is-enabled --quiet docker.service'
fi
((failed == 0)) || die "the image is incomplete (see 'not ok' above)"
log "image validated"
