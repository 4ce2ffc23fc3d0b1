#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian 12 packages eks-node needs to build and test.
# Idempotent and quick when everything is present: apt runs only for what is missing.
set -euo pipefail

build_pkgs=(meson ninja-build pkg-config g++ libsystemd-dev systemd nlohmann-json3-dev
  libtomlplusplus-dev libyaml-dev libcurl4-openssl-dev libssl-dev libfmt-dev
  zlib1g-dev libpugixml-dev catch2 scdoc ccache)
# clang-format-14 and clang-tidy-14: tools/lint.sh, which tools/test.sh runs.
# openssl: the certificates of the preflight test's TLS servers.
# python3-grpcio: the fake CRI image service of the prepull test.
# awscli: `aws eks get-token`, the get-token test's oracle and benchmark baseline
# (it brings python3-awscrt, the AWS CRT signer the test compares with too).
# rpm: rpmbuild, rpm and rpm2archive for the packages test (packaging/build.py builds the .rpm).
# zsh, fish: the completion test parses the zsh and fish scripts and asks fish for completions.
# dracut-core, zstd: vm-initramfs-readahead builds a systemd initramfs with the package's dracut
# module, as the AMI's recipe does with AL2023's dracut (dracut-core is dracut without taking
# over this host's own initramfs from initramfs-tools).
test_pkgs=(python3 python3-yaml python3-botocore time packer shellcheck man-db
  systemd-container valgrind strace clang-format-14 clang-tidy-14 openssl python3-grpcio awscli rpm
  zsh fish dracut-core zstd)
# The aarch64 build (tools/build-aarch64.sh, tests/README.md "aarch64"): Debian's cross
# compilers, the arm64 builds of the libraries the build links or reads headers of (multiarch:
# dpkg --add-architecture arm64 below; nlohmann-json3-dev and catch2 serve both architectures as
# they are), and qemu-user, which runs the aarch64 unit and golden tests without binfmt_misc.
cross_pkgs=(crossbuild-essential-arm64 qemu-user libsystemd-dev:arm64 libcurl4-openssl-dev:arm64
  libssl-dev:arm64 libyaml-dev:arm64 zlib1g-dev:arm64 libpugixml-dev:arm64 libfmt-dev:arm64
  libtomlplusplus-dev:arm64)
# The sanitizer and fuzz build (tests/fuzz/README.md): clang with libFuzzer
# and the sanitizer runtimes, llvm-symbolizer for the reports' stacks, lld as its linker.
fuzz_pkgs=(clang-14 libclang-rt-14-dev llvm-14 lld-14)

#   tools/deps.sh [--test] [--fuzz]
want=("${build_pkgs[@]}")
for arg in "$@"; do
  case "$arg" in
    --test) want+=("${test_pkgs[@]}" "${cross_pkgs[@]}") ;;
    --fuzz) want+=("${fuzz_pkgs[@]}") ;;
  esac
done

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # apt knows arm64 packages only once dpkg does
  if [[ " ${missing[*]}" == *:arm64* ]] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
    dpkg --add-architecture arm64
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
