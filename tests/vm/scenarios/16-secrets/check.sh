#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016 # code passed to `bash -c` in single quotes expands in the guest, on purpose
# Planted secrets on a real boot (scenario.env): the node joins using them, the files holding
# them are 0600, no step dumped core; then every output a person would paste into a ticket is
# saved under artifacts/secrets/ for host-check.py, which searches them, the journal export and
# the console log for every secret, raw and encoded. Nothing here prints a secret: this
# script's output goes to the journal and the console too.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../../guest/check-lib.sh
source "$EKSVM_IN/check-lib.sh"

check "the node joined (kubelet active)" joined
check "the IMDS session token was asked for and the instance profile read" \
  bash -c 'grep -q "^PUT /latest/api/token 200" /run/eksvm/out/imds-requests.log &&
    grep -q "^GET /latest/meta-data/iam/security-credentials/eks-node-secrets-role 200" /run/eksvm/out/imds-requests.log'
check "EKS DescribeCluster and EC2 DescribeInstances were signed with the planted credentials" \
  bash -c 'grep -q "^DescribeCluster 200 sig-ok" /run/eksvm-fake-aws.log &&
    grep -q "^DescribeInstances 200 sig-ok" /run/eksvm-fake-aws.log && ! grep -v " sig-ok" /run/eksvm-fake-aws.log'
check "the steps logged at debug (eks-node.log-level=debug)" \
  bash -c 'journal -b -p debug..debug EKS_NODE_STEP=imds -o cat | grep -q .'
check "kubelet runs with the proxy of instance.environment (the secret is live)" \
  bash -c 'grep -q "\"HTTPS_PROXY\": \"http://user:" /run/stub-kubelet/environ.json'
for f in /run/eks-node/user-data /run/eks-node/config.json /var/lib/kubelet/kubeconfig \
  /run/eks-node/env/default.env /run/eks-node/env/kubelet.env /run/eks-node/env/containerd.env \
  /etc/containerd/config.toml /etc/kubernetes/kubelet/config.json \
  /etc/kubernetes/kubelet/config.json.d/40-user.conf /etc/eks/kubelet/environment \
  /run/systemd/generator/eks-node-hook@site-agent.service.d/hook.json \
  /run/systemd/generator/eks-node-hook@ud-agent.service.d/hook.json; do
  check "$f is 0600" test "$(stat -c %a "$f")" = 600
done
check "containerd runs on the registry credentials and headers (config.toml holds them)" \
  bash -c 'systemctl is-active --quiet containerd.service && grep -q "identitytoken" /etc/containerd/config.toml'
# The hooks ran through eks-node-hook, their words in hook.json, not in the units
for h in site-agent ud-agent; do
  check "eks-node-hook@$h.service ran and succeeded" systemctl is-active --quiet "eks-node-hook@$h.service"
  check "eks-node-hook@$h.service's ExecStart= is eks-node-hook $h" bash -c "
    systemctl show -P ExecStart eks-node-hook@$h.service | grep -q 'argv\[\]=/usr/libexec/eks-node/eks-node-hook $h ;'"
done

out=$EKSVM_OUT/secrets
mkdir -p "$out"
# The CLI where it may call EC2 or EKS (config check, dump without config.json) in the
# environment eks-node-config.service has here: the fake AWS API (its drop-in), with the
# instance profile (the runner's environment keeps check.sh off it elsewhere, eksvm-runner.service)
export AWS_ENDPOINT_URL=http://127.0.0.1:8080
unset AWS_EC2_METADATA_DISABLED
# what systemd tells every user of the units that carry the planted settings
for u in eks-node-hook@site-agent.service eks-node-hook@ud-agent.service kubelet.service containerd.service; do
  systemctl show "$u" >"$out/systemctl-show-$u.txt" 2>&1
  systemctl cat "$u" >"$out/systemctl-cat-$u.txt" 2>&1
done
eks-node status >"$out/status.txt" 2>&1
eks-node status --json >"$out/status.json" 2>&1
eks-node config dump >"$out/config-dump.txt" 2>&1
eks-node config dump --origins >"$out/config-dump-origins.txt" 2>&1
eks-node config check >"$out/config-check.txt" 2>&1
eks-node validate >"$out/validate.txt" 2>&1
eks-node validate --json >"$out/validate.json" 2>&1
# without config.json, dump resolves the configuration itself (IMDS credentials, AWS calls)
mv /run/eks-node/config.json /run/eks-node/config.json.saved
eks-node config dump --origins >"$out/config-dump-resolving.txt" 2>&1
mv /run/eks-node/config.json.saved /run/eks-node/config.json
check "config dump resolved without config.json" grep -q '"derived"' "$out/config-dump-resolving.txt"
# ... and once with the real endpoints, which only the planted HTTPS_PROXY could reach (no
# network here): the error must not show the proxy's password (settings.aws.deadline 20 s)
env -u AWS_ENDPOINT_URL timeout 60 eks-node config check >"$out/config-check-via-proxy.txt" 2>&1
check "config check through the proxy failed" test "$(wc -l <"$out/config-check-via-proxy.txt")" -ge 1
# a kubeconfig with a token, as a bootstrap-token kubeconfig has one, for collect-logs
printf '# a bootstrap token\n    token: Pl4nted-Kubeconfig-Bearer-Token-5e6f\n' >>/var/lib/kubelet/kubeconfig
check "collect-logs writes its archive" eks-node collect-logs --output="$out/collect-logs.tar.gz"
# every field of every entry of this boot, all priorities
journal -b -o verbose --all --no-pager >"$out/journal-verbose.txt" 2>&1

# Core dumps: the image has no systemd-coredump; a crashing step would show as a unit result,
# a core file (kernel.core_pattern is "core": in the service's working directory, /) or the
# kernel's report.
check "no eks-node unit was killed by a signal or dumped core" bash -c '
  for u in $(systemctl list-units --all --plain --no-legend "eks-node*" | cut -d" " -f1); do
    r=$(systemctl show -P Result "$u"); [[ $r != core-dump && $r != signal ]] || { echo "$u: $r"; exit 1; }; done'
check "no core dump: none in coredumpctl (if installed), no core file, no kernel report" bash -c '
  ! { command -v coredumpctl >/dev/null && coredumpctl list --no-pager -q 2>/dev/null | grep -q .; } &&
    ! find / /var/lib/systemd/coredump -xdev -maxdepth 1 -name "core*" -type f 2>/dev/null | grep . &&
    ! journal -b -k --no-pager -o cat | grep -E "segfault at|traps:"'
finish
