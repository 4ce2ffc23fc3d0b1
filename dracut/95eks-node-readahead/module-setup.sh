#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# dracut module eks-node-readahead: eks-node-readahead.service in the initramfs
# (eks-node-readahead(8), FROM THE INITRAMFS). The real root's list read from
# the moment that root is mounted, not from when its systemd starts the unit:
# on a volume EBS loads from its snapshot, systemd's own start on it comes
# between the two.
#
# One unit file, no program: the unit runs the real root's eks-node-readahead
# chrooted into /sysroot, so this image holds no copy of eks-node for an
# update of the package to leave behind, and needs rebuilding only when this
# unit changes. The unit's conditions make it a no-op on a root without the
# program or a list. Asked for by ../90-eks-node-readahead.conf (dracut.conf.d).

# sourced by dracut: its functions and variables are not ours to declare
# shellcheck disable=SC2154,SC2034

check() {
    # included only when asked for (dracut.conf.d), never by a scan of what the host needs
    return 255
}

depends() {
    echo systemd
    return 0
}

install() {
    inst_simple "$moddir/eks-node-readahead.service" "$systemdsystemunitdir/eks-node-readahead.service"
    # the link `systemctl add-wants initrd.target` makes, by hand: ln_r is in every dracut
    # release (AL2023's is 055) and runs no systemctl against the image
    mkdir -p "$initdir$systemdsystemunitdir/initrd.target.wants"
    ln_r "$systemdsystemunitdir/eks-node-readahead.service" \
        "$systemdsystemunitdir/initrd.target.wants/eks-node-readahead.service"
}
