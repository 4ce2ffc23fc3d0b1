#!/usr/bin/env bash
# The main job: builds eks-node, starts the built-in fake instance (a loopback
# IMDS serving tests/conformance/instance/imds.json and examples/user-data.mime)
# and runs the whole chain with `eks-node render` into a temporary root, then
# shows what a node would get. Installs its own dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/deps.sh --test
tools/build.sh >/dev/null

root=${EKS_NODE_DEMO_ROOT:-$(mktemp -d /tmp/eks-node-demo.XXXXXX)}
mkdir -p "$root/etc/eks" "$root/sys/devices/system/cpu"
echo "v1.31.0" >"$root/etc/eks/kubelet-version.txt"
echo "1.7.27" >"$root/etc/eks/containerd-version.txt"
echo "0-1" >"$root/sys/devices/system/cpu/online"

work=$(mktemp -d)
trap 'kill "$imds_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
/usr/bin/python3 tests/fake-imds/fake_imds.py --data tests/conformance/instance/imds.json \
  --user-data examples/user-data.mime --port 0 --port-file "$work/port" --log "$work/requests.log" &
imds_pid=$!
for _ in $(seq 200); do [[ -s "$work/port" ]] && break; sleep 0.02; done
endpoint="http://127.0.0.1:$(cat "$work/port")"

echo "== eks-node render --root=$root --imds-endpoint=$endpoint"
build/helpers/eks-node render --root="$root" --imds-endpoint="$endpoint"
echo
echo "== IMDS requests: $(wc -l <"$work/requests.log")"
echo "== files written"
(cd "$root" && find run etc var -type f -printf '%m %p\n' 2>/dev/null | sort)
echo
echo "== /etc/kubernetes/kubelet/config.json"
cat "$root/etc/kubernetes/kubelet/config.json"
echo "== /etc/eks/kubelet/environment"
cat "$root/etc/eks/kubelet/environment"
echo
echo "== where each value came from: build/helpers/eks-node config dump --origins --root=$root"
