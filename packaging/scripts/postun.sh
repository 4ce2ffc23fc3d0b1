# SPDX-License-Identifier: Apache-2.0
# After the package's files went. $action: remove, or upgrade (the old version's files that
# the new one no longer has went).

# systemd forgets the units that went, and runs the generator again, or finds it gone (then
# nothing pulls eks-node.target into the boot any more).
if systemd_running; then
    try systemctl daemon-reload
    if [ "$action" = remove ]; then
        [ "$udev_rules" != yes ] || try udevadm control --reload
    fi
fi
# The catalog loses the texts that went.
try journalctl --update-catalog
