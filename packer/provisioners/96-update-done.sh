#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# What systemd would otherwise redo at the first boot of every instance launched from the
# image: its update units (ldconfig.service, systemd-journal-catalog-update.service,
# systemd-update-done.service; systemd.unit(5), ConditionNeedsUpdate=) run when /usr is newer
# than /etc/.updated or /var/.updated, as it is after the packages this build installed, and
# rebuild the dynamic linker's cache and the journal's message catalog on the boot's way to
# sysinit.target. Rebuilt here once, and recorded as systemd-update-done records it (the
# file's mtime is /usr's), so that the first boot skips them. In the VM test image's sid
# flavour (systemd 262) under TCG: ldconfig 7.6 s and the catalog 5.0 s of a boot's blame.
# Bookworm's systemd ships no update units; AL2023's and sid's do.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

done_bin=''
for b in /usr/lib/systemd/systemd-update-done /lib/systemd/systemd-update-done; do
  [[ -x $b ]] && done_bin=$b && break
done
[[ -n $done_bin ]] || skip "this systemd has no update units (no systemd-update-done)"
# up to date when both stamps exist and /usr is not newer (the units' own test)
[[ -f /etc/.updated && -f /var/.updated && ! /usr -nt /etc/.updated && ! /usr -nt /var/.updated ]] && exit 0
ldconfig
journalctl --update-catalog
"$done_bin"
log "wrote /etc/.updated and /var/.updated (the linker cache and the journal catalog rebuilt)"
