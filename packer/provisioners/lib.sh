# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Shared by every provisioner: logging, the package-manager shim, verified
# binary fetches, idempotent file installs. Sourced, never run.
#
# The same scripts build the AL2023 AMI (dnf, binaries from S3) and the VM
# test image (apt on Debian 12 in a chroot, binaries from a local directory),
# so nothing here may assume systemd is running or the network is reachable.

step=$(basename "$0" .sh)

log() { printf 'eks-provision: %s: %s\n' "$step" "$*" >&2; }
die() { log "error: $*"; exit 1; }
# A step that does not apply to this variant or image ends here, saying why.
skip() { log "skipped: $*"; exit 0; }

# Steps named in EKS_SKIP (space-separated, e.g. "30-eks-node") do nothing;
# the VM test image uses it for what the harness does per run.
skip_if_listed() {
  local s
  for s in ${EKS_SKIP:-}; do
    [[ $s == "$step" ]] && skip "listed in EKS_SKIP"
  done
  return 0
}

# dnf on Amazon Linux 2023, apt on Debian. Nothing else is supported.
pkg_manager() {
  if command -v dnf >/dev/null; then echo dnf
  elif command -v apt-get >/dev/null; then echo apt
  else die "no dnf or apt-get: unsupported distribution"
  fi
}

# One name per package in the steps, the logical name of packages.tsv (beside this file),
# which gives each distribution's own: the AMI's (AL2023, dnf) and the VM test image's
# (Debian, apt; bookworm or sid, by the release this runs on). The same table is the test
# image's package list (tests/vm/build-image.sh), so a package a step installs is in it.
packages_table=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/packages.tsv

# The column of packages.tsv for this machine: 3 AL2023, 4 Debian 12, 5 Debian unstable.
pkg_column() {
  case $(pkg_manager) in
    dnf) echo 3 ;;
    apt) if [[ $(cat /etc/debian_version 2>/dev/null) == 12* ]]; then echo 4; else echo 5; fi ;;
  esac
}

# pkg_name LOGICAL -- this distribution's name of a package of packages.tsv; nothing when
# it has none there ("-"). Not in the table: an error, so that no step installs what the
# test image's package list cannot know of. Callers that must stop say `|| exit 1`: the
# message is printed here, in the command substitution that cannot end the step itself.
pkg_name() {
  local logical=$1 name
  name=$(awk -F'\t' -v n="$logical" -v c="$(pkg_column)" \
    '!/^#/ && $1 == n { print $c; found = 1; exit } END { exit !found }' "$packages_table") ||
    die "$logical: not in $(basename "$packages_table") (every package a step installs or removes is named there)"
  [[ $name == - ]] && return 0
  name=${name%%+*}        # "a+b": b only completes a's dependencies (packages.tsv)
  name=${name#bookworm:}  # bookworm's package in the sid image: installed like any other
  name=${name%/*}          # "NAME/SUITE": that suite's package (the sid image's kernel), installed like any other
  # shellcheck disable=SC2016 # the table's literal text, replaced by the running kernel's release
  echo "${name//'$(uname -r)'/$(uname -r)}"
}

# pkg_of_step STEP -- the logical names packages.tsv gives STEP ("base": the base image's).
pkg_of_step() {
  awk -F'\t' -v s="$1" '!/^#/ && NF >= 6 { n = split($2, steps, ","); for (i = 1; i <= n; i++) if (steps[i] == s) print $1 }' \
    "$packages_table"
}

# pkg_installed LOGICAL -- whether it is installed; false where the distribution has none.
# dnf asks for what provides the name: AL2023's libcurl-minimal is libcurl to every other
# package, and `dnf install libcurl` beside it would fail on the conflict.
pkg_installed() {
  local p
  p=$(pkg_name "$1") || exit 1
  [[ -n $p ]] || return 1
  case $(pkg_manager) in
    dnf) rpm -q --whatprovides "$p" >/dev/null 2>&1 ;;
    apt) dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ;;
  esac
}

pkg_version() {
  local p
  p=$(pkg_name "$1") || exit 1
  case $(pkg_manager) in
    dnf) rpm -q --whatprovides --qf '%{VERSION}\n' "$p" | head -n1 ;;
    apt) dpkg-query -W -f='${Version}\n' "$p" ;;
  esac
}

# pkg_install LOGICAL[=VERSION]... -- installs what is missing. A VERSION is a prefix
# ("1.7" matches 1.7.20): an installed package of another version is a build error, not
# something to silently replace. Packages that are already there cost no network (the VM
# test image has them from its stage 1). One the distribution has no name for is an error.
pkg_install() {
  local spec name ver p want=()
  for spec in "$@"; do
    name=${spec%%=*} ver=
    [[ $spec == *=* ]] && ver=${spec#*=}
    p=$(pkg_name "$name") || exit 1
    [[ -n $p ]] || die "$name: $(pkg_manager) has no package of it here ($(basename "$packages_table"))"
    if pkg_installed "$name"; then
      if [[ -n $ver && $(pkg_version "$name") != "$ver"* && $(pkg_version "$name") != *":$ver"* ]]; then
        die "$name $(pkg_version "$name") is installed, $ver wanted"
      fi
      continue
    fi
    case $(pkg_manager) in
      dnf) want+=("$p${ver:+-$ver*}") ;;
      apt) want+=("$p${ver:+=$ver*}") ;;
    esac
  done
  pkg_install_native "${want[@]}"
}

# pkg_install_native NAME... -- packages by the distribution's own names (EKS_EXTRA_PACKAGES:
# the image builder names them for the distribution the image is built on).
pkg_install_native() {
  local want=() n
  for n in "$@"; do
    case $(pkg_manager) in
      dnf) rpm -q "$n" >/dev/null 2>&1 && continue ;;
      apt) dpkg-query -W -f='${Status}' "$n" 2>/dev/null | grep -q 'install ok installed' && continue ;;
    esac
    want+=("$n")
  done
  ((${#want[@]})) || return 0
  log "installing ${want[*]}"
  case $(pkg_manager) in
    dnf) dnf install -y -q "${want[@]}" ;;
    apt)
      DEBIAN_FRONTEND=noninteractive apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${want[@]}"
      ;;
  esac
}

# pkg_install_file FILE -- a package file (not a repository's) through the package manager,
# so that its dependencies come from the repositories and its scriptlets run, as they do for
# any package: an .rpm where dnf is, a .deb where apt is. The other format is refused, not
# unpacked by hand: its scriptlets and dependencies would be skipped without a word.
pkg_install_file() {
  local file=$1
  [[ -f $file ]] || die "$file: no such package file"
  case $(pkg_manager):$file in
    dnf:*.rpm) dnf install -y -q "$file" ;;
    # apt takes a file only by a path it cannot mistake for a package name
    apt:*.deb)
      DEBIAN_FRONTEND=noninteractive apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$(realpath "$file")"
      ;;
    dnf:*) die "$file: not an .rpm, and dnf installs this image's packages" ;;
    apt:*) die "$file: not a .deb, and apt installs this image's packages" ;;
  esac
}

pkg_remove() {
  local name p
  for name in "$@"; do
    p=$(pkg_name "$name") || exit 1
    [[ -n $p ]] || continue
    pkg_installed "$name" || continue
    log "removing $name"
    case $(pkg_manager) in
      dnf) dnf remove -y -q "$p" ;;
      apt) DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq "$p" ;;
    esac
  done
}

# build_only LOGICAL... -- packages the build needs and the image does not: 90-cleanup
# removes them (listed in /var/tmp/eks-build-only-packages, once each).
build_only_list=/var/tmp/eks-build-only-packages
build_only() {
  local name
  for name in "$@"; do
    grep -qxF -- "$name" "$build_only_list" 2>/dev/null || echo "$name" >>"$build_only_list"
  done
}

# Go's name of the machine architecture, as release artifacts use it.
go_arch() {
  case $(uname -m) in
    x86_64) echo amd64 ;;
    aarch64) echo arm64 ;;
    *) die "unsupported architecture $(uname -m)" ;;
  esac
}

# fetch NAME DEST -- copies EKS_BINARY_SOURCE/bin/linux/ARCH/NAME to DEST after
# checking it against NAME.sha256 (the hash alone, or "HASH  NAME" as
# sha256sum prints it). The source is s3://BUCKET/PREFIX (aws CLI, region
# EKS_BINARY_REGION) or a local directory.
fetch() {
  local name=$1 dest=$2 src=${EKS_BINARY_SOURCE:?EKS_BINARY_SOURCE is not set}
  local rel tmp want have
  rel=bin/linux/$(go_arch)/$name
  tmp=$(mktemp -d)
  if [[ $src == s3://* ]]; then
    aws s3 cp --only-show-errors --region "${EKS_BINARY_REGION:?}" "$src/$rel" "$tmp/$name"
    aws s3 cp --only-show-errors --region "${EKS_BINARY_REGION:?}" "$src/$rel.sha256" "$tmp/$name.sha256"
  else
    [[ -f $src/$rel ]] || die "$src/$rel: no such file"
    [[ -f $src/$rel.sha256 ]] || die "$src/$rel.sha256: no checksum beside the binary"
    cp "$src/$rel" "$src/$rel.sha256" "$tmp/"
  fi
  want=$(awk '{ print $1; exit }' "$tmp/$name.sha256")
  have=$(sha256sum "$tmp/$name" | awk '{ print $1 }')
  [[ ${#want} == 64 ]] || die "$rel.sha256: no SHA-256 in it"
  [[ $want == "$have" ]] || die "$rel: SHA-256 $have, expected $want"
  log "$rel: SHA-256 verified"
  mkdir -p "$(dirname "$dest")"
  mv "$tmp/$name" "$dest"
  rm -rf "$tmp"
}

# put MODE DEST -- writes stdin to DEST only if the content or mode differs,
# so a re-run changes nothing (and touches no mtime).
put() {
  local mode=$1 dest=$2 tmp
  tmp=$(mktemp)
  cat >"$tmp"
  if [[ -f $dest ]] && cmp -s "$tmp" "$dest" && [[ $(stat -c %a "$dest") == "${mode#0}" ]]; then
    rm -f "$tmp"
    return 0
  fi
  install -D -m "$mode" "$tmp" "$dest"
  rm -f "$tmp"
  log "wrote $dest"
}

# The provisioners' own data files (units, configs), next to this file.
# shellcheck disable=SC2034 # read by the steps that source this file
files_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/files

# Every step honours EKS_SKIP.
skip_if_listed
