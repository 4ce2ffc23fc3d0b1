#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016 # code passed to `bash -c` in single quotes expands in the guest, on purpose
# AL2 user data exporting a computed KUBELET_EXTRA_ARGS with USE_MAX_PODS=false: at boot
# eks-node-config warns naming the variable and succeeds without it, kubelet waits for the
# script; the shim, called with the real environment, applies the value (its --max-pods is
# maxPods, as bootstrap.sh does with USE_MAX_PODS=false) and starts kubelet. Runs in the guest.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../../guest/check-lib.sh
source "$EKSVM_IN/check-lib.sh"

check "eks-node-config warned at boot, naming the variable and its line" bash -c '
  journal -b -u eks-node-config -p warning --no-pager -o cat |
    grep -F "KUBELET_EXTRA_ARGS in bootstrap.sh'"'"'s environment (line 7): KUBELET_EXTRA_ARGS is set on line 7: \$(...) is a command substitution"'
check "... and refused nothing (no error, eks-node-failed.target never reached)" bash -c '
  ! journal -b -u eks-node-config -p err --no-pager -o cat | grep . &&
  ! journal -b _PID=1 --no-pager -o cat | grep -q "Reached target eks-node-failed.target"'
check "cloud-init ran the script (cloud-final.service active)" systemctl is-active cloud-final.service
# (the script's output: cloud-init's log of it, as this script logs nowhere else)
check "the shim applied what the boot could not and restarted the chain" \
  grep -q "restarting eks-node-config.service and starting eks-node.target" /var/log/cloud-init-output.log
check "the slot file holds the computed flags" \
  grep -qF -- '--node-labels=role=computed' /run/eks-node/node.toml.d/50-user-data.toml
check "kubelet is active, with the computed flags" \
  bash -c 'systemctl is-active --quiet kubelet.service && grep -qF -- "--node-labels=role=computed" /run/stub-kubelet/argv.json'
check "maxPods is the computed --max-pods (USE_MAX_PODS=false), not the instance type's" bash -c '
  python3 -c "import json, sys; c = json.load(open(\"/run/stub-kubelet/config.json\")); print(c.get(\"maxPods\")); sys.exit(c.get(\"maxPods\") != 42)"'
finish
