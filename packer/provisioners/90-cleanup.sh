#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Leave nothing of the build in the image: build-only
# packages, package caches, and the per-instance identity a first boot must
# create afresh (machine-id, SSH host keys, cloud-init state).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

# what the build needed and the image does not (build_only: the AWS CLI the build
# fetched with)
if [[ -f $build_only_list ]]; then
  mapfile -t deps <"$build_only_list"
  pkg_remove "${deps[@]}"
  rm -f "$build_only_list"
fi
case $(pkg_manager) in
  dnf) dnf clean all -q ;;
  apt) apt-get clean ;;
esac
rm -rf /var/lib/cloud/instances /var/lib/cloud/instance
rm -f /etc/ssh/ssh_host_*
: >/etc/machine-id
rm -f /var/lib/dbus/machine-id
