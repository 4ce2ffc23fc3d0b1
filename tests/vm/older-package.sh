#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# An older build of the same tree, for the upgrade scenario (39-package-upgrade): the run's
# .deb repacked with a lower version and what an upgrade has to change on a node, so that each
# of its checks can fail:
#   - Version VERSION~older, which dpkg sorts before VERSION: installing the run's package
#     over it is an upgrade (postinst configure with the old version: no preset)
#   - eks-node-older.service, a unit the run's package no longer has (a renamed step): the
#     upgrade must remove it, and systemd forget it (the scriptlets' daemon-reload)
#   - eks-node-config.service with another Description: systemd must read the new unit
#   - /etc/eks/bootstrap.sh, a conffile, with one more line: an admin who did not edit it gets
#     the new one (Debian Policy 10.7.3), which AL2 user data calls
# The same binaries, scriptlets and presets: a real older commit would cost a second build
# at every test run, and what it changed would be whatever history changed, often nothing an
# upgrade has to handle.
#
# Usage: tests/vm/older-package.sh NEW.deb OUT.deb
set -euo pipefail
(($# == 2)) || { echo "usage: older-package.sh NEW.deb OUT.deb" >&2; exit 2; }
new=$1 out=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/eks-node-vm-older.XXXXXX")
trap 'rm -rf "$work"' EXIT
pkg=$work/pkg
dpkg-deb --raw-extract "$new" "$pkg"
version=$(dpkg-deb --field "$new" Version)
sed -i "s/^Version: .*/Version: $version~older/" "$pkg/DEBIAN/control"
units=$pkg/usr/lib/systemd/system
[[ -f $units/eks-node-config.service && -f $pkg/etc/eks/bootstrap.sh ]] ||
  { echo "older-package: $new lacks eks-node-config.service or /etc/eks/bootstrap.sh" >&2; exit 1; }
cat >"$units/eks-node-older.service" <<'UNIT'
[Unit]
Description=EKS node: a step of an older build, gone from the newer
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/true
UNIT
chmod 0644 "$units/eks-node-older.service"
sed -i 's/^Description=.*/& (older build)/' "$units/eks-node-config.service"
echo '# older build' >>"$pkg/etc/eks/bootstrap.sh"
# dpkg checks nothing against md5sums at install, but `dpkg --verify` and debsums do
(cd "$pkg" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z |
  xargs -0 md5sum) >"$pkg/DEBIAN/md5sums"
dpkg-deb --root-owner-group -Znone --build "$pkg" "$out" >/dev/null
