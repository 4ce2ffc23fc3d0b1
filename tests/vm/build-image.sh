#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Build a base image of the VM test tier, or reuse the cached one. Two flavours, built by the
# same provisioners: bookworm (Debian 12: systemd 252, containerd 1.6, runc 1.1, as AL2023's
# generation) and sid (Debian unstable: containerd 2.x, runc 1.3, soci-snapshotter, systemd of
# the day, on Debian 13's kernel 6.12: packages.tsv says why).
#
# Usage: [EKS_NODE_VM_FLAVOUR=bookworm|sid] tests/vm/build-image.sh [--stage1]
# Prints the image directory (rootfs.img, vmlinux, initrd.img, and tree/, the same files as a
# directory for container boots) as the last line of stdout;
# progress goes to stderr. --stage1 stops after stage 1 (below), which needs no eks-node
# build: tools/test.sh runs it beside the build, so that on a bare machine the bootstraps'
# downloads and unpacking overlap the compile.
#
# Two cached stages per flavour, each keyed by a hash of exactly what goes into it, so editing a
# guest unit does not redo the slow bootstrap:
#   stage1-FLAVOUR-KEY/  bootstrapped rootfs      (packages list, mirror, bootstrap_rootfs's text)
#   base-FLAVOUR-KEY/    configured, bootable image (stage 1 + this script + the guest/ files it
#                        bakes + tests/pause/ + packer/provisioners/, the image-time steps shared with
#                        the AMI build)
# The project itself is never baked in: run-scenario.sh overlays it per run.
#
# Environment:
#   EKS_NODE_VM_FLAVOUR bookworm (default) or sid
#   EKS_NODE_VM_CACHE   cache directory (default /var/cache/eks-node-vm)
#   EKS_NODE_VM_MIRROR  Debian mirror (default: bookworm: the bookworm mirror apt uses on this
#                       host; sid: http://deb.debian.org/debian)
#   EKS_NODE_VM_BUILD_DIR, EKS_NODE_VM_DESTDIR
#                       the eks-node that validates a newly built image (validate_rootfs): a
#                       `meson install --destdir` tree, else one installed from the build
#                       directory (default: <repo>/build if configured)
#   EKS_NODE_FAKE_IMDS  the recording boot's fake IMDS (record_rootfs; default: the build's)
set -euo pipefail

# Commands in the image's root get no TMPDIR of the host's: a test run points it at a
# directory of its own (tools/test.sh, CI), which the root does not have. The image's
# update-ca-certificates failed on it (mktemp: No such file or directory), bare run of
# 2026-11-26. The provisioners run under env -i (provision_env) already.
chroot() { env -u TMPDIR /usr/sbin/chroot "$@"; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=record-image.sh
source "$here/record-image.sh"
provisioners=$(cd "$here/../../packer/provisioners" && pwd)
# our pause image (tests/pause/: pause.c and the OCI archive packer the process tests use too)
pause=$(cd "$here/../pause" && pwd)
cache=${EKS_NODE_VM_CACHE:-/var/cache/eks-node-vm}
flavour=${EKS_NODE_VM_FLAVOUR:-bookworm}
# package_list: the test plumbing; the node's packages are packages.tsv's column for the flavour
case $flavour in
  bookworm)
    suite=bookworm package_list=$here/image-packages.txt column=4
    containerd_version=1.6 runc_version=1.1 soci=false ;;  # bookworm has no soci-snapshotter
  sid)
    suite=sid package_list=$here/image-packages-sid.txt column=5
    containerd_version=2.1 runc_version=1.3 soci=true ;;
  *) echo "build-image: EKS_NODE_VM_FLAVOUR: bookworm or sid, not '$flavour'" >&2; exit 2 ;;
esac
# What configure_rootfs copies from guest/ (part of the cache key). The other files in guest/
# are shipped per run through the share and never bake into the image.
# (kubelet.service and runtime.slice come from the provisioners, like on the AMI.)
baked=(runner imds preinit install-payload kubelet cri.py kubelet_exec.py
  eksvm-runner.service eksvm-imds.service run-eksvm.mount
  eksvm-apiserver.socket eksvm-sts.socket eksvm-eks-auth.service 50-fake-aws.conf)
# Sparse: only the ~700 MB written cost disk; the rest is room for scenarios.
image_size=4G

log() { printf 'build-image: [%ss] %s\n' "$SECONDS" "$*" >&2; }
die() { log "error: $*"; exit 1; }

host_packages=(qemu-system-x86 qemu-utils mmdebstrap e2fsprogs gcc libc6-dev zstd)
missing_host_packages() {
  local p
  for p in "${host_packages[@]}"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || echo "$p"
  done
}

install_host_packages() {
  local missing
  missing=$(missing_host_packages)
  [[ -z $missing ]] && return 0
  # Both flavours' builds may get here at once (tools/test.sh's stage 1 beside the images):
  # apt's own locks make the second apt-get fail at once, so the host's install is taken under
  # a lock of ours, and what is missing asked again once it is held.
  mkdir -p "$cache"
  exec 8>"$cache/.lock-host-packages"
  flock 8
  missing=$(missing_host_packages)
  if [[ -n $missing ]]; then
    log "installing host packages: ${missing//$'\n'/ }"
    apt-get update -qq >&2
    # shellcheck disable=SC2086 # one package a word
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >&2
  fi
  exec 8>&-
}

# The bookworm mirror apt already uses here (deb822 .sources or one-line .list); sid's is
# Debian's own (apt checks the Release signature; its Valid-Until is not checked: bootstrap_rootfs).
find_mirror() {
  if [[ -n ${EKS_NODE_VM_MIRROR:-} ]]; then
    echo "$EKS_NODE_VM_MIRROR"
    return
  fi
  if [[ $suite == sid ]]; then
    echo http://deb.debian.org/debian
    return
  fi
  local f uri
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -e $f ]] || continue
    uri=$(awk -v suite="$suite" '
      /^[[:space:]]*$/ { if (ok && uri != "") { print uri; exit } ok = 0; uri = ""; next }
      $1 == "URIs:" { uri = $2 }
      $1 == "Suites:" { for (i = 2; i <= NF; i++) if ($i == suite) ok = 1 }
      END { if (ok && uri != "") print uri }' "$f" | head -n1)
    [[ -n $uri ]] && { echo "$uri"; return; }
  done
  # One-line format: "deb [options] URI SUITE COMPONENTS..."
  uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    sed -e 's/\[[^]]*\]//' | awk -v suite="$suite" '$1 == "deb" && $3 == suite { print $2; exit }')
  [[ -n $uri ]] || die "no $suite mirror in /etc/apt/sources.list*; set EKS_NODE_VM_MIRROR"
  echo "$uri"
}

# The steps the test image skips (provision_rootfs): 30-eks-node, as run-scenario.sh installs
# the build under test at every boot; 01-aws-cli, as the kubeconfig names `eks-node
# get-token` (settings.credentialPlugin's default) and the binary source is local, so neither
# the node nor the build needs the AWS CLI (the AMI's default too: install_aws_cli). Their
# packages are not in the image either; the eks-node package's dependencies are (packages.tsv's
# rows of step "eks-node": no step of that name is skipped), as the harness's install needs them.
skipped_steps="30-eks-node 01-aws-cli"

# What a node needs, as the provisioners install it on the AMI: packages.tsv's column for this
# flavour, less the packages of skipped steps; "a+b" is both (b completes a's dependencies for
# a resolver without virtual packages: the table's convention, harmless to apt); "bookworm:NAME" comes from bookworm's archive (from_bookworm), not the mirror.
node_packages() {
  awk -F'\t' -v c="$column" -v skip=" $skipped_steps " '
    /^#/ || NF < 6 || $c == "-" || $c ~ /^bookworm:/ { next }
    { n = split($2, steps, ","); s = 0
      for (i = 1; i <= n; i++) if (index(skip, " " steps[i] " ")) s++
      if (s == n) next
      gsub(/[+]/, "\n", $c); print $c }' "$provisioners/packages.tsv"
}
from_bookworm() {
  awk -F'\t' -v c="$column" '!/^#/ && $c ~ /^bookworm:/ { sub(/^bookworm:/, "", $c); print $c }' \
    "$provisioners/packages.tsv"
}
# The test plumbing (image-packages*.txt: NAME ROLE a line).
plumbing() { sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$package_list" | awk '{ print $1 }'; }
packages() { { node_packages; plumbing; } | paste -sd, -; }
# The suites other than the flavour's that names "NAME/SUITE" ask for, one a line
other_suites() { node_packages | awk -F/ 'NF == 2 { print $2 }' | sort -u; }

# Stage 1: the slow part (minutes). Its text is part of its cache key, so edit freely.
# mmdebstrap, not debootstrap: apt resolves the packages (virtual ones and alternatives too:
# sid's kernel takes the initramfs-tools of the list, not dracut, its first alternative),
# downloads them in parallel and has dpkg install them in one run, without an fsync per file
# (force-unsafe-io: a half-written tree is thrown away, never booted). Measured 2026-11-29,
# bookworm, nothing beside, .debs downloaded: debootstrap 398 CPU-s (382 s), mmdebstrap 276
# CPU-s (263 s). usr-is-merged: the merged /usr the tree already has, as debootstrap
# chose; apt's first alternative, usrmerge, would convert it and bring perl along.
bootstrap_rootfs() {
  local rootfs=$1 mirror=$2 debs=$cache/debs log=$cache/bootstrap-$suite.log other other_archives=()
  [[ $suite == bookworm ]] || debs=$cache/debs-$suite
  mkdir -p "$debs" "$rootfs"
  # A second suite's archive gives what is asked from it by name (NAME/SUITE) and what only
  # it has (the kernel image the metapackage names): the flavour's suite is apt's default
  # release, so a stable update newer than sid's version is not taken instead of sid's
  for other in $(other_suites); do other_archives+=("deb $mirror $other main"); done
  # The .debs of earlier builds in, the new ones out again: a rebuild after a package-list
  # change downloads only the delta. The mirror's sid Release may be past its Valid-Until.
  # INITRD=No: the kernel package's hook (/etc/kernel/postinst.d/initramfs-tools) makes no
  # initramfs. Nothing here boots the distribution's: qemu boots the tier's own (make_boot),
  # a container none. Making it took 33 CPU-s of user and 35 of system time for bookworm
  # (mkinitramfs in the image's chroot, an idle host, 2026-12-01), in each flavour.
  # shellcheck disable=SC2016 # $1 is the hooks' (mmdebstrap runs each with the tree's path)
  if ! INITRD=No mmdebstrap --variant=minbase --components=main --include="$(packages),usr-is-merged" \
    --aptopt='Acquire::Check-Valid-Until "false"' --aptopt="APT::Default-Release \"$suite\"" \
    --dpkgopt=force-unsafe-io \
    --skip=download/empty --setup-hook="mkdir -p \"\$1/var/cache/apt/archives\"" \
    --setup-hook="sync-in $debs /var/cache/apt/archives" \
    --customize-hook="sync-out /var/cache/apt/archives $debs" \
    --customize-hook='rm -f "$1/etc/dpkg/dpkg.cfg.d/99mmdebstrap" "$1/etc/apt/apt.conf.d/99mmdebstrap"' \
    "$suite" "$rootfs" "$mirror" "${other_archives[@]}" >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    die "mmdebstrap failed (log: $log)"
  fi
  if [[ $suite == sid ]]; then
    # The eks-node binaries are built on bookworm and link libfmt.so.9; sid ships only
    # libfmt10 (libfmt.so.10). Bookworm's libfmt9 (its own soname, so no conflict with
    # anything of sid's; packages.tsv: "bookworm:libfmt9") from Debian's archive through
    # this host's apt (a bookworm host, as the build machine is), installed with dpkg like
    # any package.
    local tmp p
    tmp=$(mktemp -d)
    for p in $(from_bookworm) ''; do
      [[ -n $p ]] || break
      (cd "$tmp" && apt-get download -qq "$p") >&2 || die "apt-get download $p (bookworm) failed"
    done
    if [[ -n $(from_bookworm) ]]; then
      cp "$tmp"/*.deb "$rootfs/var/tmp/"
      chroot "$rootfs" sh -c 'dpkg -i /var/tmp/*.deb && rm /var/tmp/*.deb' >&2
    fi
    rm -rf "$tmp"
  fi
  rm -rf "$rootfs/var/cache/apt/archives/"*.deb "$rootfs/var/lib/apt/lists/"*_Packages
}

# The AMI's image-time steps (packer/provisioners/run.sh), through the apt side of their
# package-manager shim: the packages they want are already in from stage 1, so no network.
# What the guest cannot download comes from a local binary source staged here, stated per
# item: kubelet is guest/kubelet (a stub), crictl guest/crictl (a stand-in over the CRI: Debian
# packages none), ecr-credential-provider a stub that always fails,
# the CNI plugins tarball is repacked from Debian's containernetworking-plugins, the pause
# image is our own (tests/pause/: a static pause(2) binary packed as an OCI archive here, which
# 80-pause-image imports instead of pulling). Skipped: skipped_steps (above).
#
# The steps run in a mount namespace of their own with /proc, /sys and a tmpfs /run mounted
# in the chroot: 80-pause-image runs containerd there for its duration (no systemd in a
# chroot); the mounts go away with the namespace, nothing of /run reaches the image.
# The EKS_* variables of packer/README.md, as this image sets them (run.sh's environment,
# for provision_rootfs and validate_rootfs).
# EKS_READAHEAD_RECORD=false: no systemd-nspawn boot in a chroot; record_rootfs runs the same
# recording boot from the host once the image is validated.
# EKS_HARDENING: the AMI's default, CIS Level 1 (71-cis-hardening), so every scenario runs
# on a hardened node; EKS_NODE_VM_HARDENING=none builds (and caches) the image without it.
hardening=${EKS_NODE_VM_HARDENING:-cis}
provision_env=(/usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
  EKS_IMAGE_KIND=vm-test EKS_VARIANT=standard EKS_HARDENING="$hardening" EKS_KUBERNETES_VERSION=1.31
  EKS_KUBELET_VERSION=1.31.0 EKS_CONTAINERD_VERSION="$containerd_version" EKS_RUNC_VERSION="$runc_version"
  EKS_ECR_CREDENTIAL_PROVIDER_VERSION=stub EKS_BINARY_SOURCE=/var/tmp/eks-bin
  EKS_PAUSE_IMAGE_ARCHIVE=/var/tmp/eks-pause/pause.oci.tar EKS_ADDON_IMAGE_ARCHIVES=/var/tmp/eks-addon-images
  EKS_SOCI_SNAPSHOTTER="$soci" EKS_CRICTL=true EKS_READAHEAD_RECORD=false)

provision_rootfs() {
  local r=$1 bin arch=amd64 cni_version
  bin=$r/var/tmp/eks-bin/bin/linux/$arch
  mkdir -p "$bin" "$r/var/tmp/eks-provision"
  cp -a "$provisioners/." "$r/var/tmp/eks-provision/"

  install -m 0755 "$here/guest/kubelet" "$bin/kubelet"
  # crictl: no distribution packages it (27-crictl fetches it from the binary source, here as
  # on the AMI); the stand-in speaks the CRI to the real containerd with the stub kubelet's encoder
  install -m 0755 "$here/guest/crictl" "$bin/crictl"
  printf '#!/bin/sh\necho "stub ecr-credential-provider: the VM test image has no ECR access" >&2\nexit 1\n' \
    >"$bin/ecr-credential-provider"
  chmod 0755 "$bin/ecr-credential-provider"
  # shellcheck disable=SC2016 # dpkg-query's format, not a shell expansion
  cni_version=$(chroot "$r" dpkg-query -W -f='${Version}' containernetworking-plugins | sed -E 's/[+~-].*//')
  tar -C "$r/usr/lib/cni" --owner=0 --group=0 -czf "$bin/cni-plugins-linux-$arch-v$cni_version.tgz" .
  chroot "$r" dpkg --purge containernetworking-plugins >&2
  (cd "$bin" && for f in *; do sha256sum "$f" >"$f.sha256"; done)

  # The pause image: deterministic bytes, so the same pause.c gives the same image digest.
  mkdir -p "$r/var/tmp/eks-pause"
  gcc -static -Os -s -Wall -Wextra -Werror -o "$r/var/tmp/eks-pause/pause" "$pause/pause.c"
  python3 "$pause/oci-archive.py" --binary "$r/var/tmp/eks-pause/pause" --arch "$arch" \
    --name localhost/kubernetes/pause:latest --out "$r/var/tmp/eks-pause/pause.oci.tar" |
    sed 's/^/build-image: pause image manifest /' >&2

  # The add-on images 80-pause-image caches (kube-proxy, the VPC CNI and its init container,
  # a default and a latest version each), under the names the AMI build pulls for Kubernetes
  # 1.31 in us-west-2: the same static pause binary packed under each name (the image's
  # content does not matter here; its names, import, pin and listing do). The versions have
  # the shape of the add-ons' (kube-proxy's from the EKS user guide's tables, minimal builds
  # for 1.24-1.33); which are default and latest today is EKS DescribeAddonVersions' answer
  # at AMI build, not known here.
  local ref n=0
  mkdir -p "$r/var/tmp/eks-addon-images"
  for ref in \
    602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/kube-proxy:v1.31.10-minimal-eksbuild.8 \
    602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/kube-proxy:v1.31.13-minimal-eksbuild.2 \
    602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1.19.2-eksbuild.1 \
    602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni-init:v1.19.2-eksbuild.1 \
    602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1.20.4-eksbuild.1 \
    602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni-init:v1.20.4-eksbuild.1; do
    python3 "$pause/oci-archive.py" --binary "$r/var/tmp/eks-pause/pause" --arch "$arch" \
      --name "$ref" --out "$r/var/tmp/eks-addon-images/$((n++)).tar" >/dev/null
  done

  # The chroot's root is bound onto itself first, so that it is a mount point the chroot's
  # /proc/self/mountinfo shows as "/" (containerd 2 fails its snapshotters, and everything
  # that depends on them, when it finds no mount for its root directory).
  # shellcheck disable=SC2016 # expanded by the inner bash
  local run=(unshare --mount --propagation private -- bash -c '
    r=$1; shift
    mount --bind "$r" "$r" && mount -t proc proc "$r/proc" && mount -t sysfs sysfs "$r/sys" &&
      mount -t tmpfs -o mode=0755 tmpfs "$r/run" && exec chroot "$r" "$@"' bash "$r"
    "${provision_env[@]}" EKS_CNI_PLUGINS_VERSION="$cni_version" EKS_SKIP="$skipped_steps"
    bash /var/tmp/eks-provision/run.sh)
  "${run[@]}" >&2
  # The steps promise idempotence: a second run must neither write nor install anything.
  local again
  again=$("${run[@]}" 2>&1) || { echo "$again" >&2; die "second provisioner run failed"; }
  if grep -E '^eks-provision: [^:]+: (wrote|installing|removing|moved) ' <<<"$again" >&2; then
    die "the provisioners are not idempotent (the lines above changed the image again)"
  fi
  log "provisioners: a second run changed nothing"
  rm -rf "$r/var/tmp/eks-bin" "$r/var/tmp/eks-provision" "$r/var/tmp/eks-pause" "$r/var/tmp/eks-addon-images"
}

# Stage 2: make the rootfs boot fast and headless under qemu, with the test plumbing.
configure_rootfs() {
  local r=$1 g=$here/guest

  provision_rootfs "$r"

  echo eksvm >"$r/etc/hostname"
  printf '127.0.0.1\tlocalhost\n127.0.1.1\teksvm\n::1\tlocalhost ip6-localhost ip6-loopback\n' \
    >"$r/etc/hosts"
  # Root is the only block device we boot from; the 9p share has its own mount unit.
  printf '/dev/vda\t/\text4\tdefaults,errors=remount-ro\t0\t1\n' >"$r/etc/fstab"
  # Empty machine-id: every run is a genuine first boot, as on a freshly launched AMI.
  : >"$r/etc/machine-id"
  rm -f "$r/var/lib/dbus/machine-id"

  # Journal in RAM: no flush to /var at boot; the runner exports it before poweroff.
  mkdir -p "$r/etc/systemd/journald.conf.d"
  printf '[Journal]\nStorage=volatile\nRuntimeMaxUse=64M\n' \
    >"$r/etc/systemd/journald.conf.d/eksvm.conf"

  # Test plumbing: runner, fake IMDS, early payload install (the stub kubelet and its unit
  # came through provision_rootfs).
  install -D -m 0755 -t "$r/usr/lib/eksvm" \
    "$g/runner" "$g/imds" "$g/preinit" "$g/install-payload"
  # the stub kubelet's CRI driver and credential plugin client (it imports them from here)
  install -D -m 0644 -t "$r/usr/lib/eksvm" "$g/cri.py" "$g/kubelet_exec.py"
  install -D -m 0644 -t "$r/etc/systemd/system" \
    "$g/eksvm-runner.service" "$g/eksvm-imds.service" "$g/run-eksvm.mount" \
    "$g/eksvm-apiserver.socket" "$g/eksvm-sts.socket" "$g/eksvm-eks-auth.service"
  systemctl --root="$r" --quiet enable eksvm-runner.service eksvm-imds.service \
    eksvm-apiserver.socket eksvm-sts.socket
  # eks-node-config keeps off the instance profile unless a scenario brings the fake AWS API
  # (the file says why); a vendor drop-in, so that a scenario's /etc one of the name hides it
  install -D -m 0644 -t "$r/usr/lib/systemd/system/eks-node-config.service.d" "$g/50-fake-aws.conf"

  # cloud-init, as on the AMI, but off: a scenario turns it on with the kernel argument
  # cloud-init=enabled (KERNEL_CMDLINE), which its generator reads before this file. Its
  # Ec2 datasource reads the fake IMDS (scenarios set SMBIOS_EC2=1: cloud-init asks for an
  # IMDSv2 token only on a platform it identifies as AWS). Its local stage is masked: it
  # would try DHCP on the NIC the VM does not have. Only the modules that run user data, to
  # keep its Python stages short under TCG.
  : >"$r/etc/cloud/cloud-init.disabled"
  cat >"$r/etc/cloud/cloud.cfg.d/90-eksvm.cfg" <<'CFG'
datasource_list: [ Ec2 ]
datasource:
  Ec2:
    metadata_urls: [ "http://169.254.169.254" ]
    timeout: 5
    max_wait: 60
network: { config: disabled }
cloud_init_modules: [ bootcmd, write-files ]
cloud_config_modules: [ runcmd ]
cloud_final_modules: [ scripts-per-once, scripts-per-boot, scripts-per-instance, scripts-user, final-message ]
CFG
  systemctl --root="$r" --quiet mask cloud-init-local.service
  mkdir -p "$r/etc/systemd/system/cloud-init.service.d"
  printf '[Unit]\n# its datasource is the fake IMDS\nWants=eksvm-imds.service\nAfter=eksvm-imds.service\n' \
    >"$r/etc/systemd/system/cloud-init.service.d/eksvm.conf"
  # Docker (sid only): installed for the ECS scenarios, off otherwise, as on an EKS AMI; the
  # ECS chain starts it
  if [[ -e $r/usr/lib/systemd/system/docker.service || -e $r/lib/systemd/system/docker.service ]]; then
    systemctl --root="$r" --quiet disable docker.service docker.socket
  fi
  # systemd-resolved: off unless a scenario's files/ enables it; /etc/resolv.conf stays a
  # plain file (its package made it a link to the stub resolver)
  systemctl --root="$r" --quiet disable systemd-resolved.service
  if [[ -L $r/etc/resolv.conf ]]; then
    rm -f "$r/etc/resolv.conf"
    printf '# no network in the test VM\n' >"$r/etc/resolv.conf"
  fi

  # udev would load these for the emulated CPU and board; kvm alone costs seconds under TCG.
  printf 'blacklist %s\n' kvm kvm_intel kvm_amd pcspkr powernow_k8 >"$r/etc/modprobe.d/eksvm.conf"

  # Boot time under TCG is ~16x host time: mask what a sealed, single-shot test VM never
  # needs (no logins, no timers that outlive a 1-minute boot, no fsck of a throwaway overlay,
  # no kernel modules for hardware it does not have; loop and dm_mod still load on first use
  # of /dev/loop-control and /dev/mapper/control). configfs stays: nvmet needs it. Sid's
  # xfsprogs starts a self-healing monitor for every mounted XFS (xfs_healer_start, new in
  # 6.18; AL2023's xfsprogs has none): 15 s of a 29-ecs boot's blame under TCG.
  systemctl --root="$r" --quiet mask \
    getty.target console-getty.service systemd-firstboot.service \
    systemd-logind.service systemd-user-sessions.service systemd-update-utmp.service \
    systemd-update-utmp-runlevel.service \
    systemd-fsck-root.service systemd-pstore.service systemd-timesyncd.service \
    modprobe@drm.service modprobe@efi_pstore.service modprobe@fuse.service \
    modprobe@dm_mod.service modprobe@loop.service \
    sys-fs-fuse-connections.mount sys-kernel-debug.mount sys-kernel-tracing.mount \
    apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer logrotate.timer \
    e2scrub_reap.service fstrim.timer mdcheck_start.timer mdcheck_continue.timer \
    mdmonitor-oneshot.timer mdmonitor.service systemd-networkd-wait-online.service \
    nvmf-autoconnect.service nvmefc-boot-connections.service \
    xfs_healer_start.service xfs_scrub_all.timer
  # The generators of what this VM never has (encrypted, integrity and verity disks, a GPT
  # root to discover, hibernation, SysV scripts without a unit, rc.local, a system update,
  # consoles to log in on, sshd, a factory reset) masked the way systemd documents, a link to
  # /dev/null in /etc/systemd/system-generators: systemd runs every generator at boot and at
  # each daemon-reload, and the disks group alone reloads about 15 times. Their run took
  # ~0.07 s of host CPU a reload, so ~1.5-2 s under TCG (2026-12-01, each run in the image's
  # chroot). Kept: fstab, debug (systemd.mask= and friends), cloud-init's, eks-node's.
  local gen
  mkdir -p "$r/etc/systemd/system-generators"
  for gen in cryptsetup gpt-auto hibernate-resume integritysetup veritysetup rc-local sysv \
    system-update getty run ssh factory-reset; do
    if [[ -e $r/usr/lib/systemd/system-generators/systemd-$gen-generator ]]; then
      ln -sf /dev/null "$r/etc/systemd/system-generators/systemd-$gen-generator"
    fi
  done

  # The public roots but one deselected ('!' in /etc/ca-certificates.conf) and the store
  # rebuilt: nothing in the guest reaches the internet, and Debian's update-ca-certificates
  # forks sed per selected certificate, which took 70-111 s under TCG per settings.trust
  # change in 34-private-registries (AL2023's update-ca-trust, p11-kit, takes about a
  # second). One stays: with no certificate left to add, the tool keeps the old bundle
  # instead of writing an empty one, and a withdrawn anchor would stay trusted. The tool,
  # and eks-node-ca's use of it, are the distribution's as packaged.
  if [[ -f $r/etc/ca-certificates.conf ]]; then
    awk '/^[^!#]/ && kept++ { $0 = "!" $0 } { print }' "$r/etc/ca-certificates.conf" >"$r/etc/ca-certificates.conf.new"
    mv "$r/etc/ca-certificates.conf.new" "$r/etc/ca-certificates.conf"
    chroot "$r" update-ca-certificates --fresh >/dev/null
  fi
}

# The eks-node to validate the image with, installed under DIR: the tree of
# EKS_NODE_VM_DESTDIR, else `meson install` of EKS_NODE_VM_BUILD_DIR (or <repo>/build).
# Prints the tree's path.
eks_node_tree() {
  local dir=$1 build=${EKS_NODE_VM_BUILD_DIR:-}
  if [[ -n ${EKS_NODE_VM_DESTDIR:-} ]]; then
    [[ -x $EKS_NODE_VM_DESTDIR/usr/bin/eks-node ]] || die "EKS_NODE_VM_DESTDIR: no usr/bin/eks-node in $EKS_NODE_VM_DESTDIR"
    echo "$EKS_NODE_VM_DESTDIR"
    return
  fi
  [[ -z $build && -f $here/../../build/build.ninja ]] && build=$(cd "$here/../../build" && pwd)
  [[ -n $build ]] || die "no eks-node to validate the image with: configure <repo>/build, or set EKS_NODE_VM_BUILD_DIR or EKS_NODE_VM_DESTDIR"
  # one install from a build at a time: both flavours' builds (two VM tests' first boots) can
  # get here at once, and each install rebuilds a stale build first: two links of one library
  # at once broke one of them (2026-11-30)
  flock "$build" meson install -C "$build" --destdir "$dir" --quiet >&2 || die "meson install -C $build failed"
  echo "$dir"
}

# The image as a node boots it, checked by 99-validate (packer/provisioners) with nothing
# skipped, which runs `eks-node validate --image`: every program, file and unit what eks-node
# renders and its units name (95-readahead first lists the join's files, as on the AMI).
# eks-node is installed (the build under test's `meson install` tree: the files its .deb,
# which each boot installs, holds), and the files of the test plumbing (image-packages*.txt) are
# hidden: the node must get what it needs from the provisioners, as on the AMI. All of it in
# a throw-away overlay over the rootfs, in a mount namespace of its own: nothing reaches the
# image. Not part of the cache key: a cached image was validated when it was built.
validate_rootfs() {
  local r=$1 work=$2 tree=$3
  local hide=()
  mapfile -t hide < <(plumbing)
  mkdir -p "$work/upper" "$work/work" "$work/merged"
  # shellcheck disable=SC2016 # expanded by the inner bash
  unshare --mount --propagation private -- bash -c '
    set -euo pipefail
    r=$1 work=$2 tree=$3 provisioners=$4 n=$5; shift 5
    hide=("${@:1:n}"); shift "$n"   # then run.sh'"'"'s environment
    m=$work/merged
    mount -t overlay overlay -o "lowerdir=$r,upperdir=$work/upper,workdir=$work/work" "$m"
    # the files of the plumbing packages, listed before any is gone; directories stay, and
    # so do links to them (merged /usr: a package lists /bin/ip, and /bin is a link)
    for p in "${hide[@]}"; do chroot "$m" dpkg-query -L "$p" 2>/dev/null || true; done >"$work/hidden"
    while IFS= read -r f; do
      if [[ -n $f && ( -L $m$f || -e $m$f ) && ! -d $m$f ]]; then rm -f "$m$f"; fi
    done <"$work/hidden"
    echo "build-image: validation: the files of ${#hide[@]} test plumbing packages hidden" >&2
    tar -C "$tree" -cf - . | tar -C "$m" -xf - --no-overwrite-dir --keep-directory-symlink --no-same-owner
    mkdir -p "$m/var/tmp/eks-provision"
    cp -a "$provisioners/." "$m/var/tmp/eks-provision/"
    mount -t proc proc "$m/proc" && mount -t sysfs sysfs "$m/sys" && mount -t tmpfs -o mode=0755 tmpfs "$m/run"
    exec chroot "$m" "$@" EKS_SKIP= bash /var/tmp/eks-provision/run.sh 95-readahead 99-validate' \
    bash "$r" "$work" "$tree" "$provisioners" "${#hide[@]}" "${hide[@]}" "${provision_env[@]}" >&2
}

# make_boot TREE DIR: what qemu boots, DIR/vmlinux and DIR/initrd.img (tests/vm/boot/: the
# kernel entered as PVH, not through its decompressor, and an initramfs of our own, not the
# distribution's: under TCG they cost ~9 s of emulated CPU less a bookworm boot, ~13 s a sid
# one). The initramfs loads what finds the root disk and the 9p share, and xfs: loaded there
# as on the node the image stands for (AL2023's root is XFS, so its kernel has xfs before
# userspace), where this image's ext4 root left it to the first mkfs.xfs or mount of a
# scenario's disks, after auditd had loaded the hardening's module rule (71-cis-hardening.sh:
# -S finit_module): the kernel then audits every tracefs file the module creates, 8,112 PATH
# records in one event (10-instance-store-raid0, 2026-11-27), which cost journald and auditd
# ~18 s of emulated CPU in each such boot. crc32c_generic: ext4 asks the crypto API for crc32c
# when it mounts a root with metadata checksums, and this initramfs has no modprobe to load
# it then (sid's kernel has it built in).
make_boot() {
  local tree=$1 dir=$2 kver
  kver=$(basename "$(readlink -f "$tree/vmlinuz")")
  kver=${kver#vmlinuz-}
  gcc -static -Os -s -Wall -Wextra -Werror -o "$dir/init" "$here/boot/init.c"
  python3 "$here/boot/make-boot.py" "$tree" "$kver" "$dir/init" "$dir" \
    virtio_pci virtio_blk 'crc32c_generic?' ext4 9p 9pnet_virtio xfs
  rm "$dir/init"
}

hash_of() { sha256sum | cut -c1-16; }

main() {
  [[ $(id -u) == 0 ]] || die "needs root (mmdebstrap, chroot, file ownership in the image)"
  install_host_packages
  mkdir -p "$cache"
  # One builder at a time; a second caller waits and then gets a cache hit.
  exec 9>"$cache/.lock-$flavour"
  flock 9

  local mirror key1 key2 stage1 base tmp tree
  mirror=$(find_mirror)
  key1=$( { echo "$suite $mirror"; packages; from_bookworm; declare -f bootstrap_rootfs; } | hash_of)
  key2=$( { echo "$key1 $hardening"; cat "${BASH_SOURCE[0]}" "$here/record-image.sh";
            (cd "$here/guest" && sha256sum "${baked[@]}" crictl);
            (cd "$pause" && sha256sum pause.c oci-archive.py);
            (cd "$here/boot" && sha256sum init.c make-boot.py);
            (cd "$provisioners" && find . -type f -print0 | sort -z | xargs -0 sha256sum); } | hash_of)
  stage1=$cache/stage1-$flavour-$key1
  base=$cache/base-$flavour-$key2

  if [[ -f $base/done ]]; then
    log "cache hit: $base"
    echo "$base"
    return
  fi

  if [[ ! -f $stage1/done ]]; then
    log "stage 1: mmdebstrap $suite from $mirror (key $key1)"
    rm -rf "$stage1" "$stage1.tmp"
    bootstrap_rootfs "$stage1.tmp/rootfs" "$mirror"
    touch "$stage1.tmp/done"
    mv "$stage1.tmp" "$stage1"
  fi
  if [[ ${1:-} == --stage1 ]]; then
    log "stage 1 ready: $stage1"
    echo "$stage1"
    return
  fi

  log "stage 2: configure, validate and pack (key $key2)"
  tmp=$(mktemp -d "$cache/build.XXXXXX")
  # shellcheck disable=SC2064 # expand now: tmp is local
  trap "rm -rf '$tmp'" EXIT
  tree=$(eks_node_tree "$tmp/eks-node")
  cp -a --reflink=auto "$stage1/rootfs" "$tmp/rootfs"
  configure_rootfs "$tmp/rootfs"
  validate_rootfs "$tmp/rootfs" "$tmp/validate" "$tree" || die "the image failed its validation (the 'not ok' lines above)"
  log "validated: 99-validate and eks-node validate --image passed, test plumbing hidden"
  record_rootfs "$tmp/rootfs" "$tmp/record" "$tree" "$(fake_imds)" || die "the read-ahead recording boot failed (above)"
  log "recorded: the join's reads of the listed files, in the image's /usr/lib/eks-node/readahead.list"

  mkdir "$tmp/base"
  make_boot "$tmp/rootfs" "$tmp/base"
  # The image straight from the directory: no loop device, no mount, no root-only kernel bits.
  mkfs.ext4 -q -F -L eksvm-root -d "$tmp/rootfs" "$tmp/base/rootfs.img" "$image_size" >&2
  # ...and the directory itself, kept: systemd-nspawn boots it (VM_BOOT=nspawn, run-scenario.sh)
  mv "$tmp/rootfs" "$tmp/base/tree"
  touch "$tmp/base/done"
  rm -rf "$base"
  mv "$tmp/base" "$base"

  # Keep the cache bounded: only the newest entries of each stage survive, per flavour (and
  # the unflavoured names older versions of this script wrote).
  find "$cache" -maxdepth 1 \( -name "base-$flavour-*" -o -regex '.*/base-[0-9a-f]+' \) ! -path "$base" -exec rm -rf {} +
  find "$cache" -maxdepth 1 \( -name "stage1-$flavour-*" -o -regex '.*/stage1-[0-9a-f]+' \) ! -path "$stage1" -exec rm -rf {} +
  log "built $base"
  echo "$base"
}

main "$@"
