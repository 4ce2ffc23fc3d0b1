#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016 # code passed to `bash -c` in single quotes expands in the guest, on purpose
# The package upgraded on a running node (issue 59): the boot installed an older build of the
# same tree (VM_PACKAGE=older: tests/vm/older-package.sh says what differs) and the node
# joined on it. The run's package then goes over it with dpkg, as an admin's `apt-get install
# ./eks-node_VERSION_amd64.deb` (dnf on AL2023) does on a running node, and the chain runs
# again on the new files (packaging/README.md: an upgrade presets nothing, reloads systemd and
# restarts nothing).
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../../guest/check-lib.sh
source "$EKSVM_IN/check-lib.sh"

new=$EKSVM_IN/package/eks-node.deb
# shellcheck disable=SC2153 # EKSVM_OUT comes from the runner
log=$EKSVM_OUT/dpkg-upgrade.log
new_version=$(dpkg-deb --field "$new" Version)
old_version=$new_version~older
units=/usr/lib/systemd/system
admin=/etc/eks-node/node.toml.d/90-admin.toml
kubelet_config=/etc/kubernetes/kubelet/config.json
invocation() { systemctl show -P InvocationID "$1"; }
installed_as() { [[ $(dpkg-query -W -f='${Status} ${Version}' eks-node) == "install ok installed $1" ]]; }
# what systemd has read of UNIT: its load state, whether its file changed since, its description
unit_seen() { systemctl show -p LoadState -p NeedDaemonReload -p Description "$1"; }

# 1. The boot, on the older build. The first install's preset (90-eks-node.preset) and the
# generator, which pulls eks-node.target into the boot, as on an AMI with the package in it.
check "the boot installed the older build ($old_version)" installed_as "$old_version"
check "its first install preset kubelet.service: disabled (it starts within eks-node.target only)" \
  bash -c '[[ $(systemctl is-enabled kubelet.service) == disabled ]]'
# enabled-runtime: by the generator's link in /run, never by one in /etc (nothing of ours has
# an [Install] section, and the preset enables nothing)
runtime_only() {
  local s
  s=$(systemctl is-enabled eks-node.target)
  echo "eks-node.target: $s"
  [[ $s == enabled-runtime ]] && ! find /etc/systemd/system -name 'eks-node*' | grep .
}
check "eks-node.target is enabled at runtime only, no eks-node link in /etc" runtime_only
check "the generator pulled eks-node.target into the boot, from the package's unit directory" \
  bash -c '[[ $(readlink /run/systemd/generator/multi-user.target.wants/eks-node.target) == /usr/lib/systemd/system/eks-node.target ]]'
check "the node joined on the older build" joined
check "kubelet has the admin's maxPods" grep -q '"maxPods": 42' "$kubelet_config"
check "systemd runs the older build's eks-node-config.service" \
  grep -qx 'Description=.*(older build)' <(unit_seen eks-node-config.service)

# The admin's choices since the install, which an upgrade must keep: kubelet enabled by hand
# (the preset disabled it), and a unit of the older build started (loaded and active).
systemctl enable kubelet.service 2>/dev/null
systemctl start eks-node-older.service
check "the older build's eks-node-older.service is active" systemctl is-active eks-node-older.service
kubelet0=$(invocation kubelet.service)
config0=$(invocation eks-node-config.service)
cp "$kubelet_config" /run/eksvm-kubelet-config.before

# 2. The upgrade
check "dpkg --install of the run's package over the older build succeeds" \
  bash -c "dpkg --install '$new' >'$log' 2>&1 || { cat '$log'; exit 1; }"
check "dpkg: eks-node $new_version installed and configured" installed_as "$new_version"
check "dpkg took it as an upgrade of $old_version" \
  grep -qF "Unpacking eks-node ($new_version) over ($old_version)" "$log"
# every file the package has is dpkg's and on disk; dpkg owns nothing else but directories
owned() {
  local f bad=0
  declare -A listed=()
  while read -r f; do
    listed[$f]=1
    [[ -d $f && ! -L $f ]] && continue
    grep -qxF -- "$f" "$EKSVM_IN/manifest" || { echo "dpkg owns $f, which the package does not have"; bad=1; }
  done < <(dpkg-query -L eks-node)
  while read -r f; do
    [[ -n ${listed[$f]:-} ]] || { echo "not dpkg's: $f"; bad=1; }
    [[ -e $f || -L $f ]] || { echo "missing: $f"; bad=1; }
  done <"$EKSVM_IN/manifest"
  echo "$(wc -l <"$EKSVM_IN/manifest") files"
  return "$bad"
}
check "dpkg's file list is the run's package's, and every file is on disk" owned
check "every file has the run's package's content (dpkg --verify)" \
  bash -c 'out=$(dpkg --verify eks-node 2>&1); echo "$out"; [[ -z $out ]]'
check "the older build's eks-node-older.service is gone from disk and from dpkg" \
  bash -c "[[ ! -e $units/eks-node-older.service ]] && ! dpkg-query -S $units/eks-node-older.service"
check "systemd forgot it (the scriptlets' daemon-reload)" \
  grep -qx 'LoadState=not-found' <(unit_seen eks-node-older.service)
check "systemd reads the run's eks-node-config.service (reloaded, no older description)" \
  bash -c 'seen=$(systemctl show -p LoadState -p NeedDaemonReload -p Description eks-node-config.service); echo "$seen"
    [[ $seen == *NeedDaemonReload=no* && $seen != *"older build"* ]] &&
    grep -qxF "Description=$(systemctl show -P Description eks-node-config.service)" '"$units"'/eks-node-config.service'
check "the conffile /etc/eks/bootstrap.sh is the run's package's (the admin had not edited it)" \
  cmp /etc/eks/bootstrap.sh <(dpkg-deb --fsys-tarfile "$new" | tar -xO ./etc/eks/bootstrap.sh)
check "the admin's $admin is untouched" cmp "$admin" "$EKSVM_IN/scenario/files$admin"
check "the upgrade preset nothing: kubelet.service stays enabled, as the admin left it" \
  bash -c '[[ $(systemctl is-enabled kubelet.service) == enabled ]]'
check "the upgrade enabled nothing: eks-node.target still at runtime only" runtime_only
check "the generator, run again by the reload, still pulls eks-node.target in" \
  bash -c '[[ $(readlink /run/systemd/generator/multi-user.target.wants/eks-node.target) == /usr/lib/systemd/system/eks-node.target ]]'
check "the upgrade restarted nothing: kubelet and eks-node-config kept their invocations" \
  bash -c "[[ \$(systemctl show -P InvocationID kubelet.service) == $kubelet0 &&
    \$(systemctl show -P InvocationID eks-node-config.service) == $config0 ]]"
check "the node is still joined" joined
check "the journal catalog has eks-node's entries" \
  bash -c 'id=$(grep -m1 -o "^-- [0-9a-f]\{32\}" /usr/lib/systemd/catalog/eks-node.catalog | cut -c4-)
    [[ -n $id ]] && journal --list-catalog --no-pager | grep -q "^$id"'
systemctl disable kubelet.service 2>/dev/null

# 3. The chain again, on the upgraded package: the admin's new value reaches kubelet, and the
# node's files are what the older build rendered but for it (the same tree's binaries)
printf '[kubelet.config]\nmaxPods = 43\n' >"$admin"
systemctl restart eks-node-config.service
check "the re-run settled" jobs_settled 120
check "eks-node-config ran again, on the upgraded package" \
  bash -c "[[ \$(systemctl show -P InvocationID eks-node-config.service) != $config0 ]]"
check "kubelet config has the admin's new value" grep -q '"maxPods": 43' "$kubelet_config"
# kubeReserved's memory follows maxPods: 255 MiB and 11 MiB a pod (717Mi for 42, 728Mi for 43)
check "... and is otherwise what the older build rendered" \
  diff <(sed 's/"maxPods": 42/"maxPods": 43/; s/"memory": "717Mi"/"memory": "728Mi"/' \
    /run/eksvm-kubelet-config.before) "$kubelet_config"
check "kubelet was restarted for it" bash -c "[[ \$(systemctl show -P InvocationID kubelet.service) != $kubelet0 ]]"
check "the node joined again" joined
check "kubelet's kubeconfig and CA are in place" \
  test -s /var/lib/kubelet/kubeconfig -a -s /etc/kubernetes/pki/ca.crt
check "eks-node status exits 0" eks-node status
finish
