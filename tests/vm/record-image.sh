# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# The VM test image's read-ahead recording boot, sourced by build-image.sh (part of its cache
# key): the recording of packer/provisioners/95-readahead, run from the host.
# shellcheck disable=SC2154 # here, provisioners, image_size: build-image.sh's

# The fake IMDS of the recording boot (record_rootfs): EKS_NODE_FAKE_IMDS, else the build's
# (EKS_NODE_VM_BUILD_DIR or <repo>/build), built if it is not yet.
fake_imds() {
  local build=${EKS_NODE_VM_BUILD_DIR:-}
  if [[ -n ${EKS_NODE_FAKE_IMDS:-} ]]; then
    [[ -x $EKS_NODE_FAKE_IMDS ]] || die "EKS_NODE_FAKE_IMDS: $EKS_NODE_FAKE_IMDS is not a program"
    echo "$EKS_NODE_FAKE_IMDS"
    return
  fi
  [[ -z $build && -f $here/../../build/build.ninja ]] && build=$(cd "$here/../../build" && pwd)
  [[ -n $build ]] || die "no fake IMDS for the recording boot: set EKS_NODE_FAKE_IMDS, or EKS_NODE_VM_BUILD_DIR"
  [[ -x $build/tests/fake-imds/fake-imds ]] ||
    flock "$build" ninja -C "$build" tests/fake-imds/fake-imds >&2 || die "could not build the fake IMDS in $build"
  echo "$build/tests/fake-imds/fake-imds"
}

# The recording boot of 95-readahead (packer/provisioners/files/readahead-record-boot), which
# the chroot of validate_rootfs cannot run: from the host, on the image with eks-node installed
# as a boot's payload install leaves it (guest/install-payload with no package: the tree's files,
# the image render, the list), the plumbing's fake IMDS on lo of a private network (its share:
# the conformance instance, no user data; the stand-in cluster is the script's). The list it
# records goes into the image, the only file of eks-node there: each boot's payload install
# lists again (`eks-node readahead-list` keeps the recording of every file still as recorded:
# the image's programs, libraries and pause archive; eks-node's own, new at each install, are
# read whole). In a throw-away overlay, as validate_rootfs; part of the cache key (this text).
# The boot runs on a copy of that tree in an ext4 image on a loop device whose read-ahead
# window is the kernel's default, 128 KiB, as a node's root volume and the VM's disk have
# it: the kernel reads ahead of each read by its device's window, and what it reads ahead is
# cached, so recorded; on this host's disk (8 MiB here) nearly every file came out whole.
record_rootfs() {
  local r=$1 work=$2 tree=$3 fake_imds=$4
  # mkfs.ext4 -d keeps whole seconds of a modification time (e2fsprogs 1.47): the image's
  # files get theirs now, so that a recording, which holds each file's time, matches the
  # image in either boot (qemu's rootfs.img, made the same way, and nspawn's tree, this one)
  python3 - "$r" <<'EOF'
import os, stat, sys
for d, _, files in os.walk(sys.argv[1]):
    for f in files:
        p = os.path.join(d, f)
        st = os.lstat(p)
        if stat.S_ISREG(st.st_mode) and st.st_mtime_ns % 10**9:
            os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns - st.st_mtime_ns % 10**9), follow_symlinks=False)
EOF
  mkdir -p "$work/upper" "$work/work" "$work/merged" "$work/share/in/scenario" "$work/share/out" "$work/payload"
  cp "$here/../conformance/instance/imds.json" "$work/share/in/scenario/imds.json"
  : >"$work/share/in/scenario/user-data"
  : >"$work/share/in/scenario.env"
  cp "$fake_imds" "$work/share/in/fake-imds"
  # shellcheck disable=SC2016 # expanded by the inner bash
  unshare --mount --propagation private -- bash -c '
    set -euo pipefail
    r=$1 work=$2 tree=$3 here=$4 provisioners=$5 image_size=$6
    m=$work/merged
    mount -t overlay overlay -o "lowerdir=$r,upperdir=$work/upper,workdir=$work/work" "$m"
    tar -C "$tree" -cf - . | tar -C "$m" -xf - --no-overwrite-dir --keep-directory-symlink --no-same-owner
    "$here/guest/install-payload" "$work/payload" "$m"
    mkfs.ext4 -q -F -d "$m" "$work/record.img" "$image_size"
    dev=$(losetup --find --show "$work/record.img")
    trap "umount $work/ext 2>/dev/null; losetup -d $dev" EXIT
    blockdev --setra 256 "$dev"
    mkdir "$work/ext"
    mount "$dev" "$work/ext"
    "$provisioners/files/readahead-record-boot" --private-network --bind="$work/share:/run/eksvm" \
      --want=eksvm-imds.service "$work/ext"
    install -D -m 0644 "$work/ext/usr/lib/eks-node/readahead.list" "$r/usr/lib/eks-node/readahead.list"' \
    bash "$r" "$work" "$tree" "$here" "$provisioners" "$image_size" >&2
}
