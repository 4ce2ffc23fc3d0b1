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
check "eks-node status exits 0 and lists every step active" \
  bash -c 'out=$(eks-node status) || { echo "$out"; exit 1; }
    for u in eks-node-imds eks-node-config eks-node-ca eks-node-kubelet eks-node-containerd containerd kubelet; do
      grep -Eq "^$u\.service +active " <<<"$out" || { echo "$u not active in:"; echo "$out"; exit 1; }; done'
check "eks-node status --json parses and says configured" \
  bash -c 'eks-node status --json | python3 -c "import json, sys; r = json.load(sys.stdin); assert r[\"configured\"], r
assert {u[\"unit\"] for u in r[\"units\"]} >= {\"eks-node-config.service\", \"kubelet.service\"}, r
assert all(u[\"exitStatus\"] == 0 for u in r[\"units\"] if u[\"unit\"].startswith(\"eks-node-\")), r"'
check "eks-node validate exits 0" eks-node validate
check "eks-node collect-logs writes an archive with every section" \
  bash -c 'eks-node collect-logs --output=/tmp/x.tgz >/dev/null && python3 -c "import tarfile
names = set(tarfile.open(\"/tmp/x.tgz\").getnames())
want = {\"eks-node-logs/\" + s for s in [\"journal/eks-node.txt\", \"journal/kubelet.txt\", \"files/run/eks-node/config.json\",
  \"files/var/lib/kubelet/kubeconfig\", \"system/sysctl.txt\", \"network/routes.txt\", \"status.json\", \"notes.txt\"]}
assert want <= names, want - names
j = tarfile.open(\"/tmp/x.tgz\").extractfile(\"eks-node-logs/journal/eks-node.txt\").read().decode()
assert \"eks-node-config\" in j, j[:500]"'
systemd-analyze critical-chain kubelet.service || true
finish
