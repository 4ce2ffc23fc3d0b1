#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016 # code passed to `bash -c` in single quotes expands in the guest, on purpose
# What the image carries for an admin and AWS Support (issue 39), on a node that joined:
# crictl with /etc/crictl.yaml (27-crictl), the cached and pinned pause and add-on images
# (80-pause-image), the SSM agent's OOM-score drop-in (28-ssm-agent) on a stand-in unit, the
# log collector's path over collect-logs (53-log-collector). Runs inside the guest (see
# tests/vm/README.md); a case of the boot group chain.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../../guest/check-lib.sh
source "$EKSVM_IN/check-lib.sh"

check "the chain joined the node (kubelet active)" systemctl is-active kubelet.service

# ---- crictl (27-crictl): the VM image's is a stand-in over the CRI (Debian has no crictl),
# reading /etc/crictl.yaml as crictl does: no --runtime-endpoint here
check "/etc/crictl.yaml names containerd's CRI socket" \
  grep -qx 'runtime-endpoint: unix:///run/containerd/containerd.sock' /etc/crictl.yaml
check "crictl info: containerd's RuntimeReady is true" bash -c '
  crictl info | python3 -c "import json, sys
s = json.load(sys.stdin)[\"status\"]
sys.exit(0 if any(c[\"type\"] == \"RuntimeReady\" and c[\"status\"] for c in s[\"conditions\"]) else 1)"'
# the cached images: the list the build wrote, every name of it listed by crictl and pinned
cached() { awk -F'\t' '!/^#/ && NF == 2 { print $1 }' /etc/eks/cached-images.tsv; }
check "the image build cached the pause image, kube-proxy, amazon-k8s-cni and amazon-k8s-cni-init" bash -c '
  for name in localhost/kubernetes/pause:latest /eks/kube-proxy: /amazon-k8s-cni: /amazon-k8s-cni-init:; do
    grep -q -- "$name" /etc/eks/cached-images.tsv || { echo "none of $name"; exit 1; }
  done
  for addon in /eks/kube-proxy: /amazon-k8s-cni: /amazon-k8s-cni-init:; do
    n=$(grep -- "$addon" /etc/eks/cached-images.tsv | grep -vc ecr-fips)
    [[ $n == 2 ]] || { echo "$addon: $n versions, want 2 (default and latest)"; exit 1; }
  done'
check "... and the ECR FIPS endpoint's names of the add-ons (us-west-2 has one)" \
  grep -q '^602401143452\.dkr\.ecr-fips\.us-west-2\.amazonaws\.com/eks/kube-proxy:' /etc/eks/cached-images.tsv
crictl_lists_cached() {
  local listed ref missing=0
  listed=$(crictl images | awk 'NR > 1 { print $1 ":" $2 }')
  echo "$listed"
  for ref in $(cached); do
    grep -qxF -- "$ref" <<<"$listed" || { echo "not listed: $ref"; missing=1; }
  done
  return "$missing"
}
check "crictl images lists every cached image" crictl_lists_cached
all_pinned() {
  # shellcheck disable=SC2046 # one argument per name
  crictl images -o json | python3 -c '
import json, sys
cached = set(sys.argv[1:])
images = json.load(sys.stdin)["images"]
unpinned = [t for i in images for t in i["repoTags"] if t in cached and not i["pinned"]]
found = {t for i in images for t in i["repoTags"]}
print("not pinned:", unpinned, "missing:", sorted(cached - found))
sys.exit(1 if unpinned or cached - found else 0)' $(cached)
}
# the label the build set on each name (io.cri-containerd.pinned=pinned), as containerd keeps it
# (one listing for all of them: a ctr start is ~0.5 s in the TCG guest)
labelled() {
  local ref name rest bad=0
  local -A pinned=()
  while read -r name rest; do
    [[ $rest == *io.cri-containerd.pinned=pinned* ]] && pinned[$name]=1
  done < <(ctr -n k8s.io images ls)
  for ref in $(cached); do
    [[ -n ${pinned[$ref]:-} ]] || { echo "no pin label: $ref"; bad=1; }
  done
  return "$bad"
}
check "every cached image carries the pin label in containerd" labelled
# containerd reports pinned images over the CRI from 1.7 (kubelet's image GC then keeps them);
# 1.6, bookworm's, has no such field in its answers
# (`containerd --version`: "containerd github.com/containerd/containerd 1.6.20~ds1 ..." on Debian,
# "v1.7.27" upstream)
if [[ $(containerd --version | awk '{ print $3 }') =~ ^v?1\.6\. ]]; then
  echo "containerd 1.6: its CRI answers carry no pinned field; the label is checked above"
else
  check "every cached image is pinned over the CRI (kubelet's image GC keeps it)" all_pinned
fi
check "crictl ps -a answers (the stub kubelet's pods are gone again)" bash -c '
  crictl ps -a | head -n1 | grep -q "^CONTAINER"'
check "eks-node validate --image finds each cached image in containerd's content store" bash -c '
  out=$(eks-node validate --image 2>&1); echo "$out" | grep "cached image"
  for ref in $(awk -F"\t" "!/^#/ && NF == 2 { print \$1 }" /etc/eks/cached-images.tsv); do
    echo "$out" | grep -q "^ok.*cached image $ref" || { echo "no ok line for $ref"; exit 1; }
  done'

# ---- the SSM agent's drop-in (28-ssm-agent) on the stand-in unit of its name (files/)
check "amazon-ssm-agent.service (stand-in) is active" systemctl is-active amazon-ssm-agent.service
check "its drop-in is the image's" bash -c '
  systemctl show -P DropInPaths amazon-ssm-agent.service | grep -q /etc/systemd/system/amazon-ssm-agent.service.d/00-oom-score.conf'
check "the agent's process has oom_score_adj -999" bash -c '
  pid=$(systemctl show -P MainPID amazon-ssm-agent.service); [[ $pid != 0 ]] &&
  grep -qx -- -999 "/proc/$pid/oom_score_adj"'

# ---- the log collector's path (53-log-collector) over collect-logs
rm -f /var/log/eks_i*
check "eks-log-collector.sh --ignore_introspection=true writes /var/log/eks_INSTANCE_..." bash -c '
  out=$(/etc/eks/log-collector-script/eks-log-collector.sh --ignore_introspection=true) || exit 1
  echo "$out"
  archive=$(ls /var/log/eks_i-1234567890abcdef0_*_eks-node.tar.gz) && grep -qF "located in $archive" <<<"$out" &&
  tar -tzf "$archive" | grep -q "^eks-node-logs/"'
check "eks-log-collector.sh refuses an argument AWS's script does not take, exit 2" bash -c '
  /etc/eks/log-collector-script/eks-log-collector.sh --bundle=all; [[ $? == 2 ]]'
finish
