#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fetches the containerd binaries tests/containerd-real/check.py loads our
# config.toml files with: Debian sid's containerd 2.x and trixie's 1.7.x (testing moved on to 2.x),
# whose binaries need only libc6 >= 2.34 and so run on Debian 12.
#
# apt-get runs on a private configuration under the cache directory: the
# host's /etc/apt is neither read nor changed. The mirror's Release files of
# these suites may carry an expired Valid-Until, hence the option. Idempotent:
# a second run with both binaries in the cache asks the network nothing.
#
# Two tests of one run call this at once (containerd-real and containerd-real-registries):
# the cache is taken under an exclusive lock (flock on CACHE/.lock) for the whole fetch, so
# the second waits and then finds the binaries; without it, on a new machine, the second lost
# apt's lock on the lists and failed (tests/cache_lock_test.py).
#
#   tests/containerd-real/fetch.sh [CACHE]   prints "SUITE BINARY" per suite
set -euo pipefail
cache=${1:-${EKS_NODE_CONTAINERD_CACHE:-/var/cache/eks-node-containerd}}
suites=(sid trixie)

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9

have_all() {
  for s in "${suites[@]}"; do [[ -x $cache/$s/usr/bin/containerd ]] || return 1; done
}

if ! have_all; then
  mkdir -p "$cache"/{lists/partial,cache/archives/partial,debs}
  : >"$cache/sources.list"
  for s in "${suites[@]}"; do echo "deb http://deb.debian.org/debian $s main" >>"$cache/sources.list"; done
  apt=(apt-get -q -o Dir::Etc::SourceList="$cache/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null
    -o Dir::State::Lists="$cache/lists" -o Dir::Cache="$cache/cache"
    -o Acquire::Check-Valid-Until=false -o APT::Default-Release=)
  "${apt[@]}" update >&2
  for s in "${suites[@]}"; do
    [[ -x $cache/$s/usr/bin/containerd ]] && continue
    rm -f "$cache"/debs/*.deb
    (cd "$cache/debs" && "${apt[@]}" download "containerd/$s" >&2)
    rm -rf "$cache/$s.tmp" && mkdir -p "$cache/$s.tmp"
    dpkg-deb -x "$cache"/debs/containerd_*.deb "$cache/$s.tmp"
    rm -rf "${cache:?}/$s" && mv "$cache/$s.tmp" "$cache/$s"
  done
fi
for s in "${suites[@]}"; do echo "$s $cache/$s/usr/bin/containerd"; done
