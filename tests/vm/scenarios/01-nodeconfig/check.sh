#!/bin/bash
# shellcheck disable=SC2016 # code passed to `bash -c` in single quotes expands in the guest, on purpose
# NodeConfig user data -> eks-node.target active, containerd on our config,
# kubelet started with our flags. Runs inside the guest (see tests/vm/README.md).
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../../guest/check-lib.sh
source "$EKSVM_IN/check-lib.sh"

for unit in eks-node-imds eks-node-config eks-node-ca eks-node-kubelet eks-node-containerd; do
  check "$unit.service is active" systemctl is-active "$unit.service"
done
check "eks-node.target is active" systemctl is-active eks-node.target
check "containerd is active" systemctl is-active containerd.service
check "kubelet is active" systemctl is-active kubelet.service
check "list-dependencies shows every step, containerd and kubelet" \
  bash -c 'deps=$(systemctl list-dependencies --plain --no-legend eks-node.target)
    for u in eks-node-imds eks-node-config eks-node-ca eks-node-kubelet eks-node-containerd containerd kubelet; do
      grep -q "$u.service" <<<"$deps" || { echo "missing $u"; exit 1; }; done'
check "containerd runs with our sandbox image" \
  bash -c 'ctr --address /run/containerd/containerd.sock plugins ls >/dev/null &&
    grep -q "eks/pause" /etc/containerd/config.toml'
check "containerd's own client sees SystemdCgroup" \
  bash -c 'containerd config dump 2>/dev/null | grep -q "SystemdCgroup = true"'
check "kubelet got --node-ip from IMDS" grep -q -- "--node-ip=172.16.34.43" /run/stub-kubelet/argv.json
check "kubelet got the drop-in dir for the user config" grep -q -- "--config-dir=" /run/stub-kubelet/argv.json
check "kubeconfig is 0600" test "$(stat -c %a /var/lib/kubelet/kubeconfig)" = 600
check "the steps logged to the journal with EKS_NODE_STEP" \
  bash -c 'journalctl -b EKS_NODE_STEP=config --no-pager -o cat | grep -q "done"'
check "no daemon-reload on a plain boot" bash -c '! journalctl -b _PID=1 --no-pager -o cat | grep -q "^Reloading"'
check "eks-node-failed.target not started" bash -c '! systemctl is-active --quiet eks-node-failed.target'
systemd-analyze critical-chain kubelet.service || true
finish
