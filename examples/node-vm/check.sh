#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The README's main job, inside the booted node (see tools/run-node.sh): show the
# unit graph, what each step cost and the kubelet configuration it rendered.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../../tests/vm/guest/check-lib.sh
source "$EKSVM_IN/check-lib.sh"

echo "== systemctl list-dependencies eks-node.target"
systemctl list-dependencies --no-pager eks-node.target
echo
echo "== step timings (emulated CPU under TCG: roughly 10-20x slower than EC2)"
printf '%-28s %-10s %10s %12s\n' unit result "ran (ms)" "active at (s since kernel start)"
for unit in eks-node-imds eks-node-config eks-node-ca eks-node-kubelet eks-node-containerd \
  eks-node-hosts eks-node-instance-store containerd kubelet; do
  start=$(systemctl show -P ExecMainStartTimestampMonotonic "$unit.service" 2>/dev/null)
  [[ -n $start && $start != 0 ]] || continue
  exit_ts=$(systemctl show -P ExecMainExitTimestampMonotonic "$unit.service")
  active=$(systemctl show -P ActiveEnterTimestampMonotonic "$unit.service")
  ran="-"
  [[ $exit_ts != 0 ]] && ran=$(((exit_ts - start) / 1000))
  printf '%-28s %-10s %10s %12s\n' "$unit.service" "$(systemctl show -P Result "$unit.service")" "$ran" \
    "$(awk -v t="$active" 'BEGIN { printf "%.2f", t / 1e6 }')"
done
echo
echo "== eks-node confinement (what each step may write; eks-node(7), CONFINEMENT)"
eks-node confinement
echo
echo "== systemd-analyze critical-chain kubelet.service"
systemd-analyze critical-chain --no-pager kubelet.service
echo
echo "== /etc/kubernetes/kubelet/config.json"
cat /etc/kubernetes/kubelet/config.json
echo
echo "== kubelet's command line (stub kubelet)"
tr -d '\n' </run/stub-kubelet/argv.json; echo
echo
check "eks-node.target is active" systemctl is-active eks-node.target
check "kubelet is active" systemctl is-active kubelet.service
check "the kernel enforces the steps' Landlock policies" bash -c 'eks-node confinement | grep -q "^Landlock: ABI [1-9]"'
check "no step ran without them" bash -c 'j=$(journalctl -b --no-pager -o cat -u "eks-node-*")
  grep -q "^done, " <<<"$j" && ! grep -q "has no Landlock" <<<"$j"'
finish
