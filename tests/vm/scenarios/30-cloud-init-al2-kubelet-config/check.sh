#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016 # code passed to `bash -c` in single quotes expands in the guest, on purpose
# AL2 user data with AWS's kubelet idiom under real cloud-init: after /etc/eks/bootstrap.sh,
# the guide's jq line edits /etc/kubernetes/kubelet/kubelet-config.json and the script restarts
# kubelet. kubelet's ExecStartPre= (eks-node-kubelet harvest) carries the edit into config.json
# and the last drop-in, so the kubelet that runs has it, and a re-run of the chain keeps it.
# Runs inside the guest.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../../guest/check-lib.sh
source "$EKSVM_IN/check-lib.sh"

state=/run/stub-kubelet/config.json
dropin=/etc/kubernetes/kubelet/config.json.d/90-kubelet-config-json.conf
has_edit() { # FILE: registryPullQPS 20 and registryBurst 40
  jq -e '.registryPullQPS == 20 and .registryBurst == 40' "$1" >/dev/null
}

# The restart after bootstrap.sh returns: the shim let kubelet start without waiting for
# cloud-final, which waits for this script (before, the restart waited for cloud-final: a
# deadlock, the boot never finished). The boot's own timeout bounds the wait.
check "cloud-init ran the script to its end (cloud-final.service active)" systemctl is-active cloud-final.service
check "the script's line after 'systemctl restart kubelet' ran" test -s /run/eksvm-user-script-done
check "the shim: kubelet no longer waits for cloud-init, and it was running when bootstrap.sh returned" bash -c '
  grep -qF "kubelet no longer waits for cloud-init to finish the script" /var/log/user-data.log &&
  grep -qF "kubelet.service is running" /var/log/user-data.log'
check "eks-node-cloud-init did not run (its queued start was stopped)" \
  bash -c '[[ $(systemctl show -P ExecMainStartTimestampMonotonic eks-node-cloud-init.service) == 0 ]]'
check "kubelet's last start (the script's restart) came before cloud-final ended" bash -c '
  (( $(systemctl show -P ExecMainStartTimestampMonotonic kubelet.service) <
     $(systemctl show -P ExecMainExitTimestampMonotonic cloud-final.service) ))'
check "the script's jq ran (no error in its log)" bash -c '! grep -qi "jq:\|command not found" /var/log/user-data.log'
check "kubelet-config.json holds the edit" has_edit /etc/kubernetes/kubelet/kubelet-config.json
check "kubelet's ExecStartPre= carried the edit into the drop-in" bash -c '
  journal -b -u kubelet --no-pager -o cat | grep -qF "registryPullQPS was edited; carried to '"$dropin"'"'
check "config.json and the drop-in hold it" bash -c 'has_edit() { jq -e ".registryPullQPS == 20 and .registryBurst == 40" "$1" >/dev/null; }
  has_edit /etc/kubernetes/kubelet/config.json && has_edit '"$dropin"
check "the running kubelet started on the edit" eventually 60 has_edit "$state"
check "kubelet is active" systemctl is-active kubelet.service

# a re-run of the whole chain keeps the edit, and the kubelet it restarts runs with it
rm -f "$state"
check "the chain runs again" run_chain
check "after the re-run, config.json and kubelet-config.json still hold the edit" bash -c '
  for f in /etc/kubernetes/kubelet/config.json /etc/kubernetes/kubelet/kubelet-config.json; do
    jq -e ".registryPullQPS == 20 and .registryBurst == 40" "$f" >/dev/null || exit 1
  done'
check "the kubelet started by the re-run read it" eventually 60 has_edit "$state"
check "eks-node-failed.target not started" bash -c '! systemctl is-active --quiet eks-node-failed.target'
finish
