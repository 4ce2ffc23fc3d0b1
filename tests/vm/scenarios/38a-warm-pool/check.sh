#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016 # code passed to `bash -c` in single quotes expands in the guest, on purpose
# Warmed:Running: the chain prepares the node and kubelet is held back (the marker, kubelet's
# condition), the boot settles and the verdict says so; eks-node-warm-pool polls IMDS. Then the
# state turns InService (the fake IMDS restarted on it): kubelet starts after the switch, from the waiter's one InService
# answer, and no step runs again.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../../guest/check-lib.sh
source "$EKSVM_IN/check-lib.sh"
state_path=meta-data/autoscaling/target-lifecycle-state
polls() { grep -c "^GET /latest/$state_path " /run/eksvm/out/imds-requests.log; }

# --- in the warm pool
# A starved guest may reach this before the chain did (the runner's 180 s guard): wait for the
# target, a hang guard only, then the boot must settle with the waiter running (no job left)
eventually 600 systemctl is-active --quiet eks-node.target
check "the boot settles while kubelet is held back (no job left)" \
  eventually 120 bash -c '[[ -z $(systemctl list-jobs --no-legend) && $(systemctl is-system-running) == running ]]'
check "the marker holds Warmed:Running" bash -c '[[ $(cat /run/eks-node/warm-pool) == Warmed:Running ]]'
check "instance.json says Warmed:Running" bash -c \
  '[[ $(python3 -c "import json; print(json.load(open(\"/run/eks-node/instance.json\"))[\"targetLifecycleState\"])") == Warmed:Running ]]'
check "every step ran, containerd runs" systemctl is-active eks-node-imds.service eks-node-config.service \
  eks-node-system.service eks-node-ca.service eks-node-kubelet.service eks-node-containerd.service \
  eks-node-preflight.service containerd.service
check "kubelet's files are written" test -s /etc/kubernetes/kubelet/config.json
check "eks-node.target reached, eks-node-failed.target not" bash -c \
  'systemctl is-active eks-node.target && ! systemctl is-active --quiet eks-node-failed.target'
check "kubelet skipped by its condition, never started" bash -c \
  '[[ $(systemctl show -P ConditionResult kubelet.service) == no && ! -e /run/stub-kubelet ]] &&
   ! systemctl is-active --quiet kubelet.service'
check "eks-node-warm-pool is running" bash -c '[[ $(systemctl show -P SubState eks-node-warm-pool.service) == running ]]'
check "the verdict line says prepared in the warm pool" bash -c '
  line=$(journal -b -u eks-node-verdict.service -o cat | grep "^eks-node: " | tail -n 1); echo "$line"
  [[ $line == "eks-node: node prepared in an Auto Scaling warm pool (Warmed:Running): kubelet held back until the instance is InService (eks-node-warm-pool)" ]]'
check "eks-node status shows the warm pool" bash -c '
  out=$(eks-node status); echo "$out"
  grep -q "^warm pool: Warmed:Running: kubelet held back until the instance is InService" <<<"$out" &&
  grep -q "^node configured, kubelet held back (warm pool)$" <<<"$out" &&
  eks-node status --json | python3 -c "import json, sys; w = json.load(sys.stdin)[\"warmPool\"]; print(w)
assert w == {\"targetLifecycleState\": \"Warmed:Running\", \"holdingKubelet\": True, \"waiter\": \"active\"}"'
check "it polls IMDS (at least twice by now)" eventually 60 bash -c "(( \$(grep -c '^GET /latest/$state_path ' /run/eksvm/out/imds-requests.log) >= 3 ))"
# an admin's re-runs in the pool: kubelet stays held back, nothing fails
check "systemctl restart eks-node-kubelet: kubelet still not started" bash -c '
  systemctl restart eks-node-kubelet.service && sleep 1 && ! systemctl is-active --quiet kubelet.service &&
  [[ ! -e /run/stub-kubelet ]]'
check "systemctl start kubelet: skipped by the condition, not failed" bash -c '
  systemctl start kubelet.service && ! systemctl is-active --quiet kubelet.service &&
  [[ $(systemctl show -P Result kubelet.service) == success && ! -e /run/stub-kubelet ]]'
steps="eks-node-imds.service eks-node-config.service eks-node-system.service eks-node-ca.service eks-node-kubelet.service eks-node-containerd.service eks-node-preflight.service"
# shellcheck disable=SC2086 # a word list
before=$(systemctl show -P InvocationID $steps)

# --- InService
polls_before=$(polls)
# CLOCK_MONOTONIC, as systemd's *TimestampMonotonic
switch_usec=$(python3 -c 'import time; print(int(time.monotonic() * 1e6))')
# the fake IMDS restarted on the same data but the state (guest/imds serves the directory
# /run/eksvm-case-dir names, as for a boot group's sub-case); its request log goes on
in_service() {
  mkdir -p /run/eksvm-warm-pool &&
    python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); d[sys.argv[2]] = "InService"; print(json.dumps(d))' \
      "$EKSVM_IN/scenario/imds.json" "$state_path" >/run/eksvm-warm-pool/imds.json &&
    cp "$EKSVM_IN/scenario/user-data" /run/eksvm-warm-pool/ && echo /run/eksvm-warm-pool >/run/eksvm-case-dir &&
    systemctl restart eksvm-imds.service
}
check "the fake IMDS answers InService from now on" in_service
check "kubelet starts" eventually 120 systemctl is-active --quiet kubelet.service
kubelet_usec=$(systemctl show -P ExecMainStartTimestampMonotonic kubelet.service)
check "kubelet started after the switch" bash -c "(( ${kubelet_usec:-0} > $switch_usec ))"
# one poll after the switch, or two when one was on its way as the fake took the new answer;
# none once the waiter is done
check "the waiter stopped at the first InService answer" bash -c "
  systemctl show -P SubState eks-node-warm-pool.service | grep -qx exited || exit 1
  n=\$(grep -c '^GET /latest/$state_path ' /run/eksvm/out/imds-requests.log); echo \"\$((n - $polls_before)) polls after the switch\"
  (( n - $polls_before >= 1 && n - $polls_before <= 2 )) && sleep 6 &&
  (( \$(grep -c '^GET /latest/$state_path ' /run/eksvm/out/imds-requests.log) == n ))"
check "the marker is gone, the waiter done (exit 0)" bash -c '
  u=eks-node-warm-pool.service
  [[ ! -e /run/eks-node/warm-pool && $(systemctl show -P ActiveState $u) == active &&
     $(systemctl show -P SubState $u) == exited && $(systemctl show -P ExecMainStatus $u) == 0 ]]'
# shellcheck disable=SC2086 # a word list
check "no step ran again" bash -c "[[ \"\$(systemctl show -P InvocationID $steps)\" == '$before' ]]"
check "the waiter said so" bash -c \
  'journal -b -u eks-node-warm-pool.service -o cat | grep -q "^out of the warm pool (InService) after [0-9]*s: starting eks-node.target (kubelet)$"'
check "a second verdict line: kubelet started" eventually 60 bash -c '
  journal -b -u eks-node-verdict.service -o cat | grep "^eks-node: " | tail -n 1 | grep -q "^eks-node: node configured: kubelet started"'
check "eks-node status: node configured" bash -c 'eks-node status | grep -q "^node configured$"'
# a figure, not a bound (no timed assertion): switch to kubelet's start
echo "timing: InService to kubelet start: $(( (${kubelet_usec:-0} - switch_usec) / 1000 )) ms (poll interval 5 s)"
eks-node status || true  # for the log
finish
