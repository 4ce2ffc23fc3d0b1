#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016 # code passed to `bash -c` in single quotes expands in the guest, on purpose
# settings.prePull.images (an admin fragment): eks-node-generator pulls in eks-node-prepull
# once config.json lists images; it runs after kubelet started and pulls through containerd
# 1.6's CRI image service from the registry stand-in on 127.0.0.1:5000 (guest/registry.py,
# started by files/), one journal line per image; the image the registry lacks fails the
# unit alone, kubelet and the node stay up. Runs inside the guest (see tests/vm/README.md).
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../../guest/check-lib.sh
source "$EKSVM_IN/check-lib.sh"

good=127.0.0.1:5000/eks-node/prepull:v1
missing=127.0.0.1:5000/eks-node/missing:v1

# the boot settles with the pulls done: their job was part of the target's second start
check "eks-node-prepull ran to its end" eventually 120 unit_ended eks-node-prepull.service
check "the node joined: eks-node.target and kubelet active, eks-node-failed.target not" joined
check "the generator wanted eks-node-prepull (config.json lists images), nothing requires it" bash -c '
  test -L /run/systemd/generator/eks-node.target.wants/eks-node-prepull.service &&
  [[ -z $(systemctl show -P RequiredBy eks-node-prepull.service) ]]'
check "eks-node-prepull started after kubelet" after_start eks-node-prepull.service kubelet.service
check "eks-node.target did not wait for it" bash -c '
  t=$(systemctl show -P ActiveEnterTimestampMonotonic eks-node.target)
  p=$(systemctl show -P ExecMainExitTimestampMonotonic eks-node-prepull.service)
  echo "target at ${t}us, prepull done at ${p}us"; ((t > 0 && t < p))'
check "one journal line for the pulled image, with its image ref and seconds" bash -c '
  n=$(journal -b -u eks-node-prepull.service --no-pager -o cat |
    grep -cE "^pulled '"$good"' \(sha256:[0-9a-f]{64}\) in [0-9.]+ s, without credentials$")
  [[ $n == 1 ]]'
check "the journal line carries EKS_NODE_IMAGE= and EKS_NODE_IMAGE_REF=" bash -c '
  journal -b EKS_NODE_IMAGE='"$good"' -o json --no-pager | grep -q "\"EKS_NODE_IMAGE_REF\":\"sha256:"'
check "the image is in containerd's k8s.io namespace, where kubelet finds it" bash -c '
  ctr -n k8s.io images ls -q | grep -qx '"$good"''
check "containerd fetched the manifest and both blobs from the stand-in" bash -c '
  grep -cE "^5000 GET /v2/eks-node/prepull/blobs/sha256:[0-9a-f]{64} 200 auth=none$" /run/eksvm-registry.log |
    grep -qx 2'
check "the missing image: one failure line naming it and why" bash -c '
  journal -b -u eks-node-prepull.service --no-pager -o cat -p warning |
    grep -E "^failed to pull '"$missing"' after [0-9.]+ s: .*not found"'
check "the unit failed with exit status 1, and only it" bash -c '
  [[ $(systemctl show -P Result eks-node-prepull.service) == exit-code &&
     $(systemctl show -P ExecMainStatus eks-node-prepull.service) == 1 ]] &&
  journal -b -u eks-node-prepull.service --no-pager -o cat -p err |
    grep -qx "1 of 2 images not pulled: '"$missing"' (kubelet is not affected)"'
check "kubelet is still active; eks-node status still says configured" bash -c '
  systemctl is-active kubelet.service && eks-node status >/dev/null'
check "eks-node status lists eks-node-prepull as failed" bash -c '
  eks-node status --json | python3 -c "
import json, sys
u = {x[\"unit\"]: x for x in json.load(sys.stdin)[\"units\"]}
print(u.get(\"eks-node-prepull.service\"))
sys.exit(0 if u[\"eks-node-prepull.service\"][\"state\"] == \"failed\" else 1)"'
# re-running: the present image costs one ImageStatus, the missing one fails again
mark=$(journal_mark)
systemctl restart eks-node-prepull.service >/dev/null 2>&1
check "a restart finds the image present and pulls nothing again" bash -c '
  journal -b -u eks-node-prepull.service --since "'"$mark"'" --no-pager -o cat |
    grep -E "^'"$good"' is present already \(sha256:[0-9a-f]{64}\)$"'
# shellcheck disable=SC2153 # EKSVM_OUT comes from the runner
journal -b -u eks-node-prepull.service --no-pager -o short-precise >"$EKSVM_OUT/prepull-journal.txt"
finish
