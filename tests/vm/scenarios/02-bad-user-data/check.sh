#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016 # code passed to `bash -c` in single quotes expands in the guest, on purpose
# Malformed user data -> eks-node-config failed (exit 6), its one error line in the
# journal, kubelet not started, no output file half-written.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../../guest/check-lib.sh
source "$EKSVM_IN/check-lib.sh"

check "eks-node-config.service failed" bash -c '[[ $(systemctl is-active eks-node-config.service) == failed ]]'
check "it exited 6" bash -c '[[ $(systemctl show -P ExecMainStatus eks-node-config.service) == 6 ]]'
check "one error line naming source, field and value" bash -c '
  lines=$(journalctl -b -u eks-node-config.service -p err --no-pager -o cat | grep -c "user data: spec.cluster.cidr: \"10.100.0.0/33\"")
  [[ $lines == 1 ]]'
check "kubelet was not started" bash -c '! systemctl is-active --quiet kubelet.service && [[ ! -e /run/stub-kubelet ]]'
check "eks-node-failed.target is active (fail closed)" systemctl is-active eks-node-failed.target
check "eks-node.target is not active" bash -c '! systemctl is-active --quiet eks-node.target'
check "no config.json" test ! -e /run/eks-node/config.json
check "no kubelet config written" test ! -e /etc/kubernetes/kubelet/config.json
check "eks-node status exits non-zero, shows eks-node-config failed with its error line" \
  bash -c 'out=$(eks-node status); rc=$?; echo "$out"; [[ $rc != 0 ]] &&
    grep -Eq "^eks-node-config\.service +failed .* 6$" <<<"$out" &&
    grep -q "error: .*spec.cluster.cidr" <<<"$out" && grep -q "a step failed" <<<"$out" &&
    grep -Eq "^eks-node-kubelet\.service +not run " <<<"$out"'
check "eks-node validate fails" bash -c '! eks-node validate'
eks-node status || true  # for the log
finish
