#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016 # code passed to `bash -c` in single quotes expands in the guest, on purpose
# The node name comes from EC2 DescribeInstances (the in-guest fake), signed
# with the instance profile's credentials from IMDS; kubelet registers with it.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../../guest/check-lib.sh
source "$EKSVM_IN/check-lib.sh"

name=ip-172-16-34-43.corp.example.internal
check "eks-node-config.service is active" systemctl is-active eks-node-config.service
check "eks-node.target is active" systemctl is-active eks-node.target
check "config.json: nodeName is EC2's PrivateDnsName" \
  bash -c "grep -q '\"nodeName\": \"$name\"' /run/eks-node/config.json"
check "config.json: its origin is ec2:DescribeInstances" \
  bash -c 'grep -q "\"/derived/nodeName\": \"EC2 PrivateDnsName (ec2:DescribeInstances)" /run/eks-node/config.json'
check "kubelet got --hostname-override with that name" grep -q -- "--hostname-override=$name" /run/stub-kubelet/argv.json
check "exactly one DescribeInstances, its signature checked by botocore" \
  bash -c 'test "$(grep -c "^DescribeInstances 200 sig-ok" /run/eksvm-fake-aws.log)" = 1 &&
    test "$(wc -l </run/eksvm-fake-aws.log)" = 1'
check "credentials came from the instance profile" \
  bash -c 'journal -b EKS_NODE_STEP=config --no-pager -o cat | grep -q "nodeName=" &&
    ! journal -b --no-pager -o cat | grep -q "vm/fake/secret\|FAKEvmSESSIONtoken"'
# containerd early (eks-node-generator(8), EARLY CONTAINERD): it started at boot on the
# image's config.toml, and this user data changes nothing containerd reads
check "containerd is not ordered after eks-node-containerd (config.toml is eks-node's)" \
  test ! -e /run/systemd/generator/containerd.service.d/50-eks-node-after-render.conf
check "eks-node-containerd had nothing to do: skipped by its condition, no process" containerd_step_skipped
check "no step asked for a restart of containerd" bash -c '
  ! journal -b -t eks-node-containerd -t eks-node-system -t eks-node-config --no-pager -o cat |
    grep "restarting containerd\|stopping it"'
if [[ ${EKSVM_SUBCASE:-0} == 1 ]]; then
  # a re-run in a boot group (tests/vm/groups) on the files containerd already runs on
  check "a re-run that changed none of containerd's files: containerd not restarted" containerd_started 0
else
  check "containerd started once this boot" containerd_started 1
fi
check "kubelet started after containerd" after_start kubelet.service containerd.service
# settings.maxPods.reservedMemoryPercent = 25 (files/): the ENI table's 58 pods for m4.xlarge
# lowered until kubeReserved memory fits 25 % of this VM's MemTotal
bounded_max_pods() {
  local mib want
  mib=$(($(awk '/^MemTotal:/ { print $2 }' /proc/meminfo) / 1024))
  want=$(((mib * 25 / 100 - 255) / 11))
  echo "MemTotal $mib MiB: want maxPods $want"
  grep -q "\"maxPods\": $want," /etc/kubernetes/kubelet/config.json &&
    grep -q "\"memory\": \"$((11 * want + 255))Mi\"" /etc/kubernetes/kubelet/config.json &&
    eks-node config dump --origins | grep -q "gave 58, lowered by settings.maxPods.reservedMemoryPercent = 25"
}
check "maxPods lowered until kubeReserved memory fits 25 % of MemTotal" bounded_max_pods
# eks-node-containerd(8), WHEN IT RUNS: the boot's skip ends with the pass. eks-node-verdict
# wrote its line, and an administrator's restart of the step now runs it (nothing changed:
# no restart of containerd)
check "the pass ended: eks-node-verdict wrote its line to /run/eks-node/verdict" \
  eventually 60 grep -q "^eks-node: node configured" /run/eks-node/verdict
check "systemctl restart eks-node-containerd runs it once the pass has ended" bash -c '
  u=eks-node-containerd.service
  before=$(systemctl show -P ExecMainStartTimestampMonotonic $u)
  systemctl restart $u &&
    [[ $(systemctl show -P ConditionResult $u) == yes ]] &&
    (($(systemctl show -P ExecMainStartTimestampMonotonic $u) > before)) &&
    journal -b _SYSTEMD_INVOCATION_ID="$(systemctl show -P InvocationID $u)" --no-pager -o cat |
      grep -q "done, nothing changed"'
check "...and containerd was not restarted for it" containerd_started "$((${EKSVM_SUBCASE:-0} == 1 ? 0 : 1))"
finish
