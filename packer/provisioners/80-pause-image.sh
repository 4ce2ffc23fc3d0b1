#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Cache the pause (sandbox) image as a pinned local image, so no pod start
# waits for a pull and kubelet's image GC never removes it; an image default
# of eks-node makes it the sandbox image. With it, the add-on images every node
# of an EKS cluster runs first (kube-proxy, the VPC CNI and its init container),
# pinned too (below, "Add-on images"). Its local name is the one nodeadm's
# AMIs use, localhost/kubernetes/pause:latest: no registry serves it, so it is
# never pulled, only ever the cached copy.
#
# Where it comes from:
#   EKS_PAUSE_IMAGE_ARCHIVE=PATH  an OCI image layout archive on this machine,
#                                 imported (the VM test image: tests/pause/,
#                                 built by tests/vm/build-image.sh; no network)
#   EKS_PAUSE_IMAGE=REF           otherwise: pulled from ECR with the builder's
#                                 instance profile (the AMI build)
#
# EKS_CACHE_PAUSE_IMAGE=false (cache_pause_image): nothing cached, and the image default
# names the regional EKS pause image instead (settings.containerd.pauseSource =
# "regional-ecr": 602401143452.dkr.ecr.REGION.amazonaws.com/eks/pause:3.10, the region's
# account by eks-node's table), which eks-node-sandbox-image.service pulls at boot with
# kubelet's image credentials before kubelet starts. The cached name would be a pause image
# nothing can pull: every pod sandbox would fail.
#
# Needs a running containerd. Under systemd (the packer instance) that is
# containerd.service; in a chroot without systemd (the VM test image) this step
# runs containerd itself for its own duration, on the chroot's /run, and stops
# it again (the caller mounts /proc, /sys and a tmpfs on /run, build-image.sh).
# Then `eks-node render --image`: containerd's files from what the image fixes;
# where eks-node is not in the image yet (EKS_SKIP has 30-eks-node: the VM test
# image, whose per-run install does it, tests/vm/guest/install-payload) that
# part is left to whoever installs eks-node.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

fragment=/usr/lib/eks-node/node.toml.d/10-pause-image.toml
if [[ ${EKS_CACHE_PAUSE_IMAGE:-true} != true ]]; then
  put 0644 "$fragment" <<'CONF'
# Installed by the eks-node image build: no pause image is cached in this image
# (cache_pause_image = false). Nodes pull the regional EKS pause image with kubelet's
# image credentials before kubelet starts (eks-node-sandbox-image(8)).
[settings.containerd]
pauseSource = "regional-ecr"
CONF
  skip "EKS_CACHE_PAUSE_IMAGE is not true: nodes pull the regional pause image ($fragment)"
fi
archive=${EKS_PAUSE_IMAGE_ARCHIVE:-}
[[ -n $archive ]] || image=${EKS_PAUSE_IMAGE:?EKS_PAUSE_IMAGE or EKS_PAUSE_IMAGE_ARCHIVE must be set}
local_ref=localhost/kubernetes/pause:latest
ctr=(ctr --namespace k8s.io)

# containerd_up: containerd.service under systemd, else a containerd of our own until exit.
own_containerd=
stop_own_containerd() {
  [[ -n $own_containerd ]] || return 0
  kill -TERM "$own_containerd" 2>/dev/null || true
  wait "$own_containerd" 2>/dev/null || true
  own_containerd=
}
containerd_up() {
  if [[ -d /run/systemd/system ]]; then
    systemctl start containerd.service
    return
  fi
  [[ -d /proc/self && -d /sys/kernel ]] || die "no systemd and no /proc or /sys: mount them for this step"
  mkdir -p /run/containerd
  containerd >/run/containerd/provision.log 2>&1 &
  own_containerd=$!
  trap stop_own_containerd EXIT
  local i
  for ((i = 0; i < 100; i++)); do
    "${ctr[@]}" version >/dev/null 2>&1 && { log "containerd started (no systemd here)"; return; }
    kill -0 "$own_containerd" 2>/dev/null || break
    sleep 0.2
  done
  cat /run/containerd/provision.log >&2
  die "containerd did not come up"
}

containerd_up
if ! "${ctr[@]}" images check "name==$local_ref" 2>/dev/null | grep -q complete; then
  if [[ -n $archive ]]; then
    [[ -f $archive ]] || die "$archive: no such file"
    # The archive's index names the image (io.containerd.image.name); unpacked for the
    # snapshotter, as a pull would leave it.
    "${ctr[@]}" images import "$archive" >/dev/null
    "${ctr[@]}" images check "name==$local_ref" | grep -q complete ||
      die "$archive: no complete image $local_ref after the import"
    log "imported $local_ref from $archive"
  else
    registry=${image%%/*}
    region=$(sed -E 's/.*\.ecr\.([a-z0-9-]+)\.amazonaws\.com.*/\1/' <<<"$registry")
    "${ctr[@]}" images pull --user "AWS:$(aws ecr get-login-password --region "$region")" "$image" >/dev/null
    "${ctr[@]}" images tag --force "$image" "$local_ref"
    "${ctr[@]}" images rm "$image" >/dev/null
    log "pulled $image as $local_ref"
  fi
fi
"${ctr[@]}" images label "$local_ref" io.cri-containerd.pinned=pinned >/dev/null
# Its archive too, where nodeadm's AMIs keep it: with FastImagePull, pod sandboxes
# unpack in the SOCI snapshotter, and eks-node-pause-image.service imports it there at
# each containerd start (eks-node-generator(8)); no registry is asked for it then either.
#
# Checked by content (files/check-oci-archive: the tar whole, every blob's size and
# digest as the index names them), an archive already there too: ctr 2.1's export
# through containerd's transfer service once left the file cut short at a 64 KiB chunk
# boundary (196,608 bytes of a 303,167-byte blob), and the image shipped it (issue 33).
# Why: without --local, ctr streams the tar from containerd, and the client side
# (core/transfer/archive, ImageExportStream.MarshalAny) copies that stream into the file
# in a goroutine nobody waits for: Transfer() returns when containerd has sent the
# last chunk, ctr closes the file and exits, and what the goroutine had not copied yet
# is lost. So the export runs in ctr itself (--local, where ctr has it: 2.x; 1.x
# exports locally anyway), is flushed to disk before the check, and only a whole
# archive takes the final name.
check_archive() { python3 "$files_dir/check-oci-archive" "$1" "$(go_arch)"; }
if [[ ! -e /etc/eks/pause.tar ]] || ! check_archive /etc/eks/pause.tar >/dev/null; then
  mkdir -p /etc/eks
  local_export=()
  "${ctr[@]}" images export --help 2>&1 | grep -q -- '--local' && local_export=(--local)
  rm -f /etc/eks/pause.tar.tmp
  "${ctr[@]}" images export "${local_export[@]}" /etc/eks/pause.tar.tmp "$local_ref"
  sync /etc/eks/pause.tar.tmp
  check_archive /etc/eks/pause.tar.tmp >&2 || die "the export of $local_ref is not whole (above)"
  mv /etc/eks/pause.tar.tmp /etc/eks/pause.tar
  log "exported $local_ref to /etc/eks/pause.tar"
fi

# ---- Add-on images -------------------------------------------------------------------------
# kube-proxy, amazon-k8s-cni and amazon-k8s-cni-init, the default and the latest version of
# their EKS add-ons for this Kubernetes release, as the AL2 EKS AMI's cache_container_images
# did (install-worker.sh, "Cache Images"): the DaemonSets' first pods on a new node start
# without a pull. Pinned (io.cri-containerd.pinned=pinned), so that kubelet's image GC never
# removes them, and listed with their manifest digests in $cached_list, which `eks-node
# validate --image` checks against containerd's content store.
#
# Where they come from:
#   EKS_ADDON_IMAGE_ARCHIVES=DIR  every *.tar there, an OCI image layout archive naming its
#                                 image, imported (the VM test image: tests/vm/build-image.sh
#                                 packs them; no network)
#   otherwise                     pulled from the EKS registry of the pause image's region
#                                 (its account serves the add-ons too) with the builder's ECR
#                                 credentials; the versions from EKS DescribeAddonVersions
# Each is also tagged with its ECR FIPS endpoint's name where ECR has one (the US and GovCloud
# regions), so a FIPS node's DaemonSet finds it. EKS_CACHE_ADDON_IMAGES=false
# (cache_addon_images): none.
cached_list=/etc/eks/cached-images.tsv
fips_regions=" us-east-1 us-east-2 us-west-1 us-west-2 us-gov-east-1 us-gov-west-1 "
k8s_minor=${EKS_KUBERNETES_VERSION:-}
k8s_minor=${k8s_minor#v}

# addon_versions ADDON REGION -- the add-on's default and latest version for this release.
addon_versions() {
  local all default latest
  all=$(aws eks describe-addon-versions --region "$2" --addon-name "$1" --kubernetes-version "$k8s_minor" \
    --query 'addons[0].addonVersions[].addonVersion' --output text | tr '\t' '\n')
  # shellcheck disable=SC2016 # a JMESPath literal (`true`), not a shell expansion
  default=$(aws eks describe-addon-versions --region "$2" --addon-name "$1" --kubernetes-version "$k8s_minor" \
    --query 'addons[0].addonVersions[?compatibilities[?defaultVersion==`true`]].addonVersion' --output text)
  latest=$(sort -V <<<"$all" | tail -n1)
  [[ -n $default && -n $latest ]] || die "EKS has no $1 add-on versions for Kubernetes $k8s_minor in $2"
  printf '%s\n' "$default" "$latest" | sort -u
}

# kube_proxy_tag VERSION -- the image tag of a kube-proxy add-on version: EKS ships the
# minimal (distroless) build from 1.24 to 1.33, the standard one from 1.34 (the EKS user
# guide's kube-proxy image table; eksctl#8553).
kube_proxy_tag() {
  local minor=${k8s_minor#1.}
  if ((minor >= 24 && minor < 34)); then echo "${1%%-*}-minimal-${1#*-}"; else echo "$1"; fi
}

# pull_ecr REF -- pulls REF with ECR credentials; an add-on's eksbuild.N need not exist as an
# image tag, so lower builds of the same version are tried down to eksbuild.1, as the AL2 AMI
# did. Prints the reference pulled.
pull_ecr() {
  local ref=$1 region=$2 build password
  password=$(aws ecr get-login-password --region "$region")
  build=$(grep -o 'eksbuild\.[0-9]*' <<<"$ref" | cut -d. -f2)
  for ((build = ${build:-1}; build >= 1; build--)); do
    ref=$(sed -E "s/eksbuild\.[0-9]+/eksbuild.$build/" <<<"$ref")
    if "${ctr[@]}" images pull --user "AWS:$password" "$ref" >/dev/null 2>&1; then
      echo "$ref"
      return
    fi
  done
  die "cannot pull $1 (nor a lower eksbuild of it)"
}

addon_refs=()
if [[ ${EKS_CACHE_ADDON_IMAGES:-true} != true ]]; then
  log "EKS_CACHE_ADDON_IMAGES is not true: no add-on image cached"
elif [[ -n ${EKS_ADDON_IMAGE_ARCHIVES:-} ]]; then
  for a in "$EKS_ADDON_IMAGE_ARCHIVES"/*.tar; do
    [[ -f $a ]] || die "$EKS_ADDON_IMAGE_ARCHIVES: no *.tar archive in it"
    check_archive "$a" >/dev/null || die "$a: not a whole OCI archive"
    # the archive's index names the image (io.containerd.image.name), as the pause image's
    ref=$(python3 -c 'import json, sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    for m in json.load(t.extractfile("index.json"))["manifests"]:
        print(m["annotations"]["io.containerd.image.name"])' "$a")
    if ! "${ctr[@]}" images check "name==$ref" 2>/dev/null | grep -q complete; then
      "${ctr[@]}" images import "$a" >/dev/null
      log "imported $ref from $a"
    fi
    addon_refs+=("$ref")
  done
else
  [[ -n $k8s_minor ]] || die "EKS_KUBERNETES_VERSION is not set: the add-on versions are per Kubernetes release"
  registry=${EKS_PAUSE_IMAGE:?EKS_PAUSE_IMAGE names the registry the add-on images come from}
  registry=${registry%%/*}
  region=$(sed -E 's/.*\.ecr\.([a-z0-9-]+)\.amazonaws\.com.*/\1/' <<<"$registry")
  wanted=()
  for v in $(addon_versions kube-proxy "$region"); do wanted+=("$registry/eks/kube-proxy:$(kube_proxy_tag "$v")"); done
  for v in $(addon_versions vpc-cni "$region"); do
    wanted+=("$registry/amazon-k8s-cni:$v" "$registry/amazon-k8s-cni-init:$v")
  done
  for ref in "${wanted[@]}"; do
    if "${ctr[@]}" images check "name==$ref" 2>/dev/null | grep -q complete; then
      addon_refs+=("$ref")
    else
      addon_refs+=("$(pull_ecr "$ref" "$region")")
      log "pulled ${addon_refs[-1]}"
    fi
  done
fi

# the FIPS endpoint's names where ECR has one; every name pinned
all_refs=()
for ref in "${addon_refs[@]}"; do
  all_refs+=("$ref")
  region=$(sed -nE 's/^[0-9]+\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com\/.*/\1/p' <<<"$ref")
  if [[ -n $region && $fips_regions == *" $region "* ]]; then
    fips_ref=${ref/.dkr.ecr./.dkr.ecr-fips.}
    "${ctr[@]}" images check "name==$fips_ref" 2>/dev/null | grep -q complete ||
      "${ctr[@]}" images tag "$ref" "$fips_ref" >/dev/null
    all_refs+=("$fips_ref")
  fi
done
for ref in "${all_refs[@]}"; do
  "${ctr[@]}" images label "$ref" io.cri-containerd.pinned=pinned >/dev/null
done
# REF<TAB>DIGEST (the manifest or index containerd keeps the image by), the pause image first
{
  printf '# Written by the eks-node image build (80-pause-image): the images cached in this image,\n'
  printf '# pinned; checked by eks-node validate --image. REF<TAB>DIGEST\n'
  for ref in "$local_ref" "${all_refs[@]}"; do
    printf '%s\t%s\n' "$ref" "$("${ctr[@]}" images ls "name==$ref" | awk 'NR == 2 { print $3 }')"
  done
} | put 0644 "$cached_list"
stop_own_containerd

put 0644 "$fragment" <<CONF
# Installed by the eks-node image build: the pause image cached in this image.
[settings.containerd]
sandboxImage = "$local_ref"
CONF

# containerd's files from what the image fixes, now that the pause image's name does not
# depend on the region: containerd starts at boot in parallel with eks-node's steps, and
# eks-node-containerd restarts it only for user data that changes what it reads
# (eks-node-generator(8), EARLY CONTAINERD).
if [[ " ${EKS_SKIP:-} " == *" 30-eks-node "* ]]; then
  log "eks-node is not installed here (EKS_SKIP): its installer runs eks-node render --image"
else
  eks-node render --image
fi
