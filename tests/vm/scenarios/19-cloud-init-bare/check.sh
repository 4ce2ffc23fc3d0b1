#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016 # code passed to `bash -c` in single quotes expands in the guest, on purpose
# A bare NodeConfig with cloud-init running: no part for cloud-init to run, so kubelet does
# not wait for it. Runs inside the guest.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../../guest/check-lib.sh
source "$EKSVM_IN/check-lib.sh"

check "cloud-init ran on this boot (cloud-final.service active)" systemctl is-active cloud-final.service
check "kubelet is active" systemctl is-active kubelet.service
check "config.json lists no part for cloud-init" \
  python3 -c 'import json, sys; d = json.load(open("/run/eks-node/config.json"))["derived"]; sys.exit("cloudInitParts" in d)'
check "eks-node-cloud-init.service never ran" \
  bash -c '[[ $(systemctl show -P ExecMainStartTimestampMonotonic eks-node-cloud-init.service) == 0 ]]'
check "kubelet's start job was not ordered after cloud-final" \
  bash -c '! systemd-analyze critical-chain kubelet.service | grep -q cloud-final'
# for the record (not a check: which of the two ends first is a race under TCG)
echo "kubelet started at $(systemctl show -P ExecMainStartTimestampMonotonic kubelet.service) us," \
  "cloud-final exited at $(systemctl show -P ExecMainExitTimestampMonotonic cloud-final.service) us (monotonic)"
check "no daemon-reload" bash -c '! journal -b _PID=1 --no-pager -o cat | grep -q "^Reloading"'
check "eks-node status says configured, without eks-node-cloud-init" \
  bash -c 'out=$(eks-node status) || { echo "$out"; exit 1; }; ! grep -q "eks-node-cloud-init" <<<"$out"'
systemd-analyze critical-chain kubelet.service | tee "$EKSVM_OUT/critical-chain-kubelet.txt" || true
finish
