# SPDX-License-Identifier: Apache-2.0
# Before the package's files go. $action: remove (the package goes) or upgrade (a new version
# replaces it: nothing to do, the running units keep running and post.sh reloads).

if [ "$action" = remove ]; then
    # Our units that an [Install] section lets the admin enable: the links go with the
    # package. (None has one today: eks-node-generator pulls eks-node.target into the boot.)
    for unit in $install_units; do
        try systemctl --no-reload disable "$unit"
    done
    # Our services stop while their files are still there, templates' instances too.
    # Not the targets: stopping a target stops whatever Requires= it, other packages' units
    # among them, where the services' stop ends eks-node's own work only.
    if systemd_running; then
        # shellcheck disable=SC2086 # a list of names, split on purpose
        [ -z "$stop_units" ] || try systemctl stop $stop_units
    fi
fi
