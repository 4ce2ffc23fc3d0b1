#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016 # code passed to `bash -c` in single quotes expands in the guest, on purpose
# IMDS that appears 10 s after boot -> the chain waits and completes.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../../guest/check-lib.sh
source "$EKSVM_IN/check-lib.sh"

check "eks-node-imds.service is active" systemctl is-active eks-node-imds.service
check "eks-node.target is active" systemctl is-active eks-node.target
check "kubelet is active" systemctl is-active kubelet.service
check "instance.json was written" test -s /run/eks-node/instance.json
check "eks-node-imds retried until IMDS answered" \
  bash -c 'journal -b -u eks-node-imds.service --no-pager -o cat | grep -q "answered after [0-9]* retries"'
# the wait, while it lasted: "still waiting for IMDS ..." as warnings on the unit's output
# stream, each once (not also a native entry), which journald forwards to the console
# (host-check.py finds them there)
check "eks-node-imds said it was still waiting for IMDS, at warning, on its stream, each line once" bash -c '
  journal -b -u eks-node-imds.service --no-pager -o json --output-fields=MESSAGE,PRIORITY,_TRANSPORT |
    python3 -c "
import json, sys
lines = [json.loads(l) for l in sys.stdin]
waits = [e for e in lines if \"still waiting for IMDS\" in e.get(\"MESSAGE\", \"\")]
print(len(waits), \"wait lines:\", [(e[\"_TRANSPORT\"], e[\"PRIORITY\"], e[\"MESSAGE\"][:90]) for e in waits])
texts = [e[\"MESSAGE\"] for e in waits]
sys.exit(0 if waits and all(e[\"_TRANSPORT\"] == \"stdout\" and e[\"PRIORITY\"] == \"4\" for e in waits)
         and len(set(texts)) == len(texts) else 1)
"'
# no config.toml of eks-node's at boot (VM_IMAGE_RENDER=0): the generator ordered containerd
# after eks-node-containerd, and it started once, on the rendered file
check "the generator ordered containerd after eks-node-containerd" \
  grep -qx "After=eks-node-containerd.service" /run/systemd/generator/containerd.service.d/50-eks-node-after-render.conf
check "containerd started after eks-node-containerd" after_start containerd.service eks-node-containerd.service
check "eks-node-kubelet ran while containerd started, after eks-node-containerd" \
  after_start eks-node-kubelet.service eks-node-containerd.service
check "containerd started once this boot" containerd_started 1
finish
