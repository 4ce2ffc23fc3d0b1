# SPDX-License-Identifier: Apache-2.0
# Put before each of post.sh, preun.sh and postun.sh in every package (build.py renders them):
# what the three share. Before it, build.py sets what the package installs:
#   preset_units   the units the preset files name, and ours with an [Install] section
#   install_units  ours with an [Install] section
#   stop_units     our services, a template's instances as a pattern (eks-node-network@*.service)
#   tmpfiles       our tmpfiles.d files' names; sysctl: our sysctl.d files'
#   udev_rules     yes if we install udev rules

# The lists above are split on spaces, and a unit pattern is systemctl's to expand, not the
# shell's against whatever the working directory holds.
set -f

# systemd is the running init of this root: not in a chroot, an image build's unpacked tree or
# a container without it, where there is no manager to reload or stop anything, and where
# writing /proc/sys would change the host's kernel, not the target's (Debian's and Fedora's
# scriptlets ask the same question the same way).
systemd_running() {
    [ -d /run/systemd/system ]
}

# Runs a command if this root has it, and never fails the transaction for it: a package whose
# files are in place is installed; a reload that failed is the admin's to see, not a reason to
# leave the package half-configured (dpkg) or the transaction aborted (rpm).
try() {
    command -v "$1" >/dev/null 2>&1 || return 0
    "$@" || echo "eks-node: '$*' failed (exit $?); continuing" >&2
}

# systemd-sysctl is not on PATH: /usr/lib on AL2023 and merged-/usr Debian, /lib on Debian
# without merged /usr.
systemd_sysctl() {
    for d in /usr/lib/systemd /lib/systemd; do
        if [ -x "$d/systemd-sysctl" ]; then
            "$d/systemd-sysctl" "$@" || echo "eks-node: systemd-sysctl $* failed; continuing" >&2
            return 0
        fi
    done
}
