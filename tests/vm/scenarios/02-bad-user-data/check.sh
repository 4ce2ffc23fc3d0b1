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
  lines=$(journal -b -u eks-node-config.service -p err --no-pager -o cat | grep -c "user data: spec.cluster.cidr: \"10.100.0.0/33\"")
  [[ $lines == 1 ]]'
check "kubelet was not started" bash -c '! systemctl is-active --quiet kubelet.service && [[ ! -e /run/stub-kubelet ]]'
check "eks-node-failed.target is active (fail closed)" systemctl is-active eks-node-failed.target
check "eks-node.target is not active" bash -c '! systemctl is-active --quiet eks-node.target'
check "no config.json" test ! -e /run/eks-node/config.json
check "no kubelet config written" test ! -e /etc/kubernetes/kubelet/config.json
# eks-node-kubelet did not run: "not run" at a first boot; in a boot group's re-run
# (EKSVM_SUBCASE=1) it ran for the case before and was stopped: "inactive"
export not_run="not run"
[[ ${EKSVM_SUBCASE:-0} == 1 ]] && not_run=inactive
check "eks-node status exits non-zero, shows eks-node-config failed with its error line" \
  bash -c 'out=$(eks-node status); rc=$?; echo "$out"; [[ $rc != 0 ]] &&
    grep -Eq "^eks-node-config\.service +failed .* 6$" <<<"$out" &&
    grep -q "error: .*spec.cluster.cidr" <<<"$out" && grep -q "a step failed" <<<"$out" &&
    grep -Eq "^eks-node-kubelet\.service +$not_run " <<<"$out"'
check "eks-node validate fails" bash -c '! eks-node validate'
check "eks-node-telemetry wrote the failed boot's metrics: eks-node-config, exit 6" \
  telemetry_ok 0 eks-node-config.service 6
# The verdict on the serial console (StandardOutput=journal+console: the journal
# holds the same line): the step, its exit status, its one error line, where to look.
check "eks-node-verdict: one line naming eks-node-config, exit 6, the error and where to look" bash -c '
  line=$(journal -b -u eks-node-verdict.service -o cat | grep "^eks-node: " | tail -n 1); echo "$line"
  [[ $line == "eks-node: node NOT joined: eks-node-config.service failed (exit status 6): "*"spec.cluster.cidr: \"10.100.0.0/33\" is not a CIDR; see journalctl -b -u eks-node-config and eks-node status" ]]'
# An admin re-running the chain quickly: systemd's default start limit
# (5 starts in 10 s) must not refuse eks-node-failed.target's or the step's
# start, or the 6th round would start kubelet (fail open).
check "8 quick re-runs of eks-node.target: each fails closed, kubelet never started" bash -c '
  for i in 1 2 3 4 5 6 7 8; do
    systemctl start eks-node.target 2>/dev/null
    for _ in $(seq 200); do systemctl list-jobs --no-legend | grep -q . || break; sleep 0.05; done
    r=$(systemctl show -P Result eks-node-config.service)
    [[ $r == exit-code ]] || { echo "round $i: eks-node-config Result=$r"; exit 1; }
    systemctl is-active --quiet eks-node-failed.target || { echo "round $i: eks-node-failed.target not active"; exit 1; }
    ! systemctl is-active --quiet eks-node.target || { echo "round $i: eks-node.target active"; exit 1; }
  done
  ! systemctl is-active --quiet kubelet.service && [[ ! -e /run/stub-kubelet ]]'
eks-node status || true  # for the log
finish
