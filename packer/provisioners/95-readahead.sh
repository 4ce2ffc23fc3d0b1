#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The files a join reads, listed for eks-node-readahead (eks-node-readahead(8)): an
# instance's root volume is restored from the AMI's snapshot lazily, each block's first
# read fetched from S3, and the step reads these files into the page cache from the first
# moment of the boot, before the join asks for them. `eks-node readahead-list` writes
# /usr/lib/eks-node/readahead.list from the image as it is now (the units, containerd,
# kubelet, the credential plugins, the pause image, the CNI plugins, each program's
# libraries), so it runs once everything a node runs is installed and the build's own
# tools are gone; 99-validate checks the list against the image.
# Then the recording boot (EKS_READAHEAD_RECORD, default true; files/readahead-record-boot
# says how): the finished image booted once in systemd-nspawn up to kubelet against a
# stand-in cluster, and each listed file's line given the ranges that join read, so that a
# node asks the volume for those ranges only. systemd-nspawn is installed for it and removed
# again when the image did not have it. A recording that fails fails the build (the image
# would be slower than the recipe says); EKS_READAHEAD_RECORD=false builds without one.
# Last, the initramfs: on an image whose initramfs dracut builds (AL2023), every initramfs
# is built again, so that each has eks-node's dracut module (eks-node-readahead(8), FROM THE
# INITRAMFS): the list read from the moment the root volume is mounted, before systemd's
# own start on it. The kernel packages installed before eks-node built theirs without it;
# a later kernel's dracut run takes it in by itself (/usr/lib/dracut/dracut.conf.d).
# The VM test image installs eks-node at each boot (EKS_SKIP has 30-eks-node): its
# installer writes the list then (tests/vm/guest/install-payload), its validation runs this
# step without the recording, and tests/vm/build-image.sh runs the recording boot itself,
# from the host, with the same files/readahead-record-boot.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

if [[ " ${EKS_SKIP:-} " == *" 30-eks-node "* ]]; then
  skip "eks-node is not installed here (EKS_SKIP): its installer runs eks-node readahead-list"
fi
log "$(eks-node readahead-list)"

# every installed kernel's initramfs built again with eks-node's dracut module, where dracut
# builds them (AL2023); an image with another builder (Debian's initramfs-tools) keeps its own
initramfs() {
  if ! command -v dracut >/dev/null; then
    log "no dracut here: the initramfs is left as it is, and eks-node-readahead starts with systemd"
    return 0
  fi
  dracut --force --regenerate-all || die "dracut could not build the initramfs again"
  log "every initramfs built again, with dracut module eks-node-readahead"
}

case ${EKS_READAHEAD_RECORD:-true} in
  true) ;;
  false)
    log "EKS_READAHEAD_RECORD=false: no recording boot; nodes read the listed files whole"
    initramfs
    exit 0
    ;;
  *) die "EKS_READAHEAD_RECORD: true or false, not '$EKS_READAHEAD_RECORD'" ;;
esac
had_nspawn=true
pkg_installed systemd-container || had_nspawn=false
pkg_install systemd-container
rc=0
"$(dirname "$0")/files/readahead-record-boot" / || rc=$?
[[ $had_nspawn == true ]] || pkg_remove systemd-container
((rc == 0)) || die "the recording boot failed (above); EKS_READAHEAD_RECORD=false builds the image without one"
initramfs
