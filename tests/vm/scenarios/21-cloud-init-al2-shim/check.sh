#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016 # code passed to `bash -c` in single quotes expands in the guest, on purpose
# AL2 user data the static reader cannot follow (a command substitution in the cluster name):
# eks-node-config refuses it at boot with one error and kubelet is held back; cloud-init then
# runs the script, whose call of /etc/eks/bootstrap.sh (the shim) applies the flags as bash
# resolved them and starts the chain again. Runs inside the guest.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../../guest/check-lib.sh
source "$EKSVM_IN/check-lib.sh"

check "eks-node-config refused the script at boot, naming the command substitution" \
  bash -c 'journal -b -u eks-node-config -p err --no-pager -o cat | grep -F "command substitution"'
check "eks-node-failed.target held kubelet back then" \
  bash -c 'journal -b _PID=1 --no-pager -o cat | grep -q "Reached target eks-node-failed.target"'
check "cloud-init ran the script (cloud-final.service active)" systemctl is-active cloud-final.service
check "the shim wrote the resolved flags and restarted the chain" \
  grep -q "restarting eks-node-config.service and starting eks-node.target" /var/log/user-data.log
check "the shim returned once kubelet ran (as AL2's bootstrap.sh starts kubelet)" \
  grep -qF "kubelet.service is running" /var/log/user-data.log
check "the slot file holds the cluster name bash resolved" \
  grep -q 'name = "my-cluster"' /run/eks-node/node.toml.d/50-user-data.toml
check "eks-node-config is active now" systemctl is-active eks-node-config.service
check "eks-node.target is active" systemctl is-active eks-node.target
check "kubelet is active, with the call's labels" \
  bash -c 'systemctl is-active --quiet kubelet.service && grep -q "role=workers" /run/stub-kubelet/argv.json'
check "eks-node-failed.target is no longer active" bash -c '! systemctl is-active --quiet eks-node-failed.target'
finish
