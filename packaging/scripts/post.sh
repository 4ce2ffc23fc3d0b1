# SPDX-License-Identifier: Apache-2.0
# After the package's files are in place. $action: install (the first) or upgrade.

# systemd reads the new and changed units, and runs the new eks-node-generator, only on a
# reload: before anything below starts, stops or presets a unit.
if systemd_running; then
    try systemctl daemon-reload
fi

# The preset file's word on the units it names (90-eks-node.preset: kubelet.service disabled,
# so that kubelet starts only as part of eks-node.target), on the first install only: on an
# upgrade the admin's choices since then stand. One unit at a time: a unit that is not
# installed yet (kubelet's package may come later, and its own scriptlet then reads our
# preset) fails alone. --no-reload: the reload above has been done, or there is no manager.
if [ "$action" = install ]; then
    for unit in $preset_units; do
        try systemctl --no-reload preset "$unit"
    done
fi

# The directories eks-node's tmpfiles.d names, now rather than at the next boot (the
# install may be the boot's own, as cloud-init's packages are); its sysctl.d settings and
# udev rules, where there is a running system to apply them to. Its .network and .link files
# wait for the next boot: reloading networkd would touch the running host's links.
# shellcheck disable=SC2086 # a list of names, split on purpose
[ -z "$tmpfiles" ] || try systemd-tmpfiles --create $tmpfiles
if systemd_running; then
    for conf in $sysctl; do
        systemd_sysctl "$conf"
    done
    [ "$udev_rules" != yes ] || try udevadm control --reload
fi

# journalctl's binary catalog gains eks-node's message texts (catalog/eks-node.catalog).
try journalctl --update-catalog
