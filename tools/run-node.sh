#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The main job: builds eks-node, builds the Debian 12 guest image (first time
# only, cached), and boots it as a node against the built-in fake instance (a
# fake IMDS inside the VM serving tests/conformance/instance/imds.json and
# examples/user-data.mime). Prints `systemctl list-dependencies
# eks-node.target`, the step timings, the steps' confinement and the rendered
# kubelet configuration.
# Installs its own dependencies.
#
#   tools/run-node.sh            boot a node in a VM (needs root; ~1-2 min, +4 min the first time)
#   tools/run-node.sh --offline  no VM: run the chain with `eks-node render` into a temp root
set -euo pipefail
cd "$(dirname "$0")/.."

tools/deps.sh --test
tools/build.sh >/dev/null

if [[ "${1:-}" != "--offline" ]]; then
  scenario=$(mktemp -d "${TMPDIR:-/tmp}/eks-node-node-vm.XXXXXX")
  trap 'rm -rf "$scenario"' EXIT
  cp examples/node-vm/check.sh examples/node-vm/scenario.env "$scenario/"
  cp tests/conformance/instance/imds.json "$scenario/imds.json"
  cp examples/user-data.mime "$scenario/user-data"
  out=${EKS_NODE_VM_OUT:-$(tests/vm/out-root.sh)}/node
  echo "== booting a node (tests/vm/run-scenario.sh; results in $out)"
  status=0
  tests/vm/run-scenario.sh "$scenario" --build-dir build --out "$out" || status=$?
  echo
  cat "$out/check.log"
  exit "$status"
fi

root=${EKS_NODE_DEMO_ROOT:-$(mktemp -d "${TMPDIR:-/tmp}/eks-node-demo.XXXXXX")}
mkdir -p "$root/etc/eks" "$root/sys/devices/system/cpu"
echo "v1.31.0" >"$root/etc/eks/kubelet-version.txt"
echo "1.7.27" >"$root/etc/eks/containerd-version.txt"
echo "0-1" >"$root/sys/devices/system/cpu/online"

work=$(mktemp -d)
trap 'kill "$imds_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
build/tests/fake-imds/fake-imds --data tests/conformance/instance/imds.json \
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
