#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016 # code passed to `bash -c` in single quotes expands in the guest, on purpose
# AL2 user data with real cloud-init: the static reader skips the logging line and follows
# the call; the script drops a containerd config.d file after containerd started, and
# the bootstrap.sh shim it then calls re-runs eks-node-config, which (kubelet's start still
# waiting) writes containerd's files itself and restarts containerd before kubelet
# (eks-node-config(8), CONTAINERD); and, as AL2's bootstrap.sh starts kubelet, kubelet starts then,
# without waiting for the rest of the script (eks-node-cloud-init's queued start is stopped;
# its own config.d path is scenario 18's). Runs inside the guest.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../../guest/check-lib.sh
source "$EKSVM_IN/check-lib.sh"

check "eks-node-config read the call at boot (not failed)" \
  bash -c '[[ $(systemctl show -P NRestarts eks-node-config.service) == 0 ]] &&
    ! journal -b -u eks-node-config -p err --no-pager -o cat | grep -q .'
check "cloud-init ran the script (cloud-final.service active)" systemctl is-active cloud-final.service
check "the logging line worked under real bash" grep -q "bootstrap.sh\|nothing to do" /var/log/user-data.log
check "the bootstrap.sh shim found the boot's flags applied" \
  grep -q "were applied at boot from the user data; nothing to do" /var/log/user-data.log
check "the shim let kubelet start without waiting for cloud-final; eks-node-cloud-init did not run" bash -c '
  grep -qF "kubelet no longer waits for cloud-init to finish the script" /var/log/user-data.log &&
  [[ $(systemctl show -P ExecMainStartTimestampMonotonic eks-node-cloud-init.service) == 0 ]]'
check "the shim's re-run rendered containerd's files again: it checked the drop-in and listed it in config.toml's header" bash -c '
  journal -b -u eks-node-config -u eks-node-containerd --no-pager -o cat |
    grep -qF "containerd imports /etc/containerd/config.d/90-debug.toml" &&
  grep -qE "^#   /etc/containerd/config.d/90-debug.toml [0-9a-f]{16}$" /etc/containerd/config.toml'
check "containerd was restarted after the drop-in was written" bash -c '
  (( $(date -d "$(systemctl show -P ExecMainStartTimestamp containerd.service)" +%s) >=
     $(stat -c %Y /etc/containerd/config.d/90-debug.toml) ))'
check "the running containerd applied the imported drop-in (it logs at debug level)" bash -c '
  containerd config dump | sed -n "/^\[debug\]/,/^\[/p" | grep -qx "  level = \"debug\"" &&
  journal -b -u containerd --no-pager -o cat | grep -q "level=debug"'
check "kubelet is active, started after containerd's restart, before bootstrap.sh returned" bash -c '
  systemctl is-active --quiet kubelet.service &&
  (( $(systemctl show -P ExecMainStartTimestampMonotonic kubelet.service) >=
     $(systemctl show -P ExecMainStartTimestampMonotonic containerd.service) )) &&
  grep -qF "kubelet.service is running" /var/log/user-data.log'
check "kubelet got the call's labels" grep -q "role=workers" /run/stub-kubelet/argv.json
check "eks-node-failed.target not started" bash -c '! systemctl is-active --quiet eks-node-failed.target'
finish
