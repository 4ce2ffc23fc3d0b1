#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016 # code passed to `bash -c` in single quotes expands in the guest, on purpose
# The fault matrix on one real boot. Per fault: the fake misbehaves, and the chain must fail
# closed: the failing step exits with the status its man page documents, within its deadline
# (here 5 s for IMDS, 8 s for the AWS APIs), with one error line (priority err) naming the
# cause; kubelet is never started and eks-node-failed.target is active. Then the fault goes away and
# `systemctl start eks-node.target` must join (IMDS, EKS DescribeCluster and EC2
# DescribeInstances through the in-guest fakes, kubelet started). The first fault is the
# boot's own (a slow IMDS, scenario.env); before each later one the node is put back to what
# a fresh boot has (steps stopped, /run/eks-node emptied).
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../../guest/check-lib.sh
source "$EKSVM_IN/check-lib.sh"

# shellcheck disable=SC2120 # called with and without faults
imds_faults() { fake_faults eksvm-imds.service /run/eksvm-imds.faults "$@"; }
# shellcheck disable=SC2120 # called with and without faults
aws_faults() { fake_faults eksvm-fake-aws.service /run/eksvm-fake-aws.faults "$@"; }
imds_log=/run/eksvm/out/imds-requests.log
aws_log=/run/eksvm-fake-aws.log
# settings.imds.deadline, settings.aws.deadline (files/etc/eks-node/node.toml.d/90-fault-deadlines.toml)
imds_deadline=5 aws_deadline=8
scenario_start=$SECONDS

# What a fresh boot has before eks-node runs: no step has run, nothing in /run/eks-node,
# kubelet stopped. containerd keeps running (no fault here is about it, and its restart costs
# seconds under TCG). With "keep-imds", eks-node-imds and its outputs stay (the AWS cases:
# their fault is in eks-node-config, and IMDS was fine).
reset_node() {
  # a step stops with every step that Requires= it: from eks-node-imds, all of them
  if [[ ${1:-} == keep-imds ]]; then
    systemctl stop kubelet.service eks-node-failed.target eks-node-config.service
    rm -f /run/eks-node/config.json
  else
    systemctl stop kubelet.service eks-node-failed.target eks-node-imds.service
    rm -f /run/eks-node/instance.json /run/eks-node/user-data /run/eks-node/config.json
  fi
  systemctl reset-failed
  rm -rf /run/stub-kubelet
}

# --- IMDS (eks-node-imds(8): retried until settings.imds.deadline, then exit 75) ------------
imds_case() { # NAME EXIT MIN_S PATTERN FAULT...
  local name=$1 want=$2 min=$3 text=$4
  shift 4
  reset_node
  check "$name: the fake IMDS injects $*" imds_faults "$@"
  fails_closed "$name" eks-node-imds.service "$want" "$min" "$text"
  imds_faults
  recovers "$name"
}
# At first boot, the fake IMDS answered every request after 2.5 s (--fault slow:2500), one
# second more than settings.imds.requestTimeout.
fails_closed imds-slow-at-boot eks-node-imds.service 75 $((imds_deadline - 1)) "timed out" @0
check "imds-slow-at-boot: the fake IMDS got the token requests (and answered them too late)" \
  grep -q "^PUT /latest/api/token 200" "$imds_log"
imds_faults
recovers imds-slow-at-boot
check "... with the cluster from EKS and the node name from EC2, both signed right" \
  bash -c 'grep -q "^DescribeCluster 200 sig-ok" '$aws_log' && grep -q "^DescribeInstances 200 sig-ok" '$aws_log

# The last attempt before the deadline gets what is left (~100 ms): under TCG the fake's
# answer may take longer, and the line then names that timeout as the last failure.
imds_case imds-5xx 75 $((imds_deadline - 1)) "HTTP 503|timed out after [0-9]+ ms" status:503:100000
imds_case imds-truncated 75 $((imds_deadline - 1)) "cut short" truncate:100000
imds_case imds-garbage 75 $((imds_deadline - 1)) "not an HTTP/1.1 status line" garbage:100000

# 401 on every GET, even with a fresh token: not a token that expired, so no retry (exit 1).
# The recovery then runs through a real expiry: IMDS forgets its tokens after 3 GETs, the
# step takes a new token once and joins.
reset_node
check "imds-401: the fake IMDS answers every GET 401" imds_faults status:401:100000:GET
fails_closed imds-401 eks-node-imds.service 1 0 "401 Unauthorized even with a freshly issued session token"
n=$(wc -l <"$imds_log")
imds_faults token-expire:3
recovers "imds-401 (a token expiring mid-run)"
check "imds-401: ... the step saw the 401 and took a second token" \
  bash -c 'new=$(tail -n +'$((n + 1))' '$imds_log'); grep -q " 401" <<<"$new" &&
    test "$(grep -c "^PUT /latest/api/token 200" <<<"$new")" -ge 2'

# Redirects: eks-node must not follow one (IMDS never redirects; a 3xx is not IMDS). Today a
# 3xx to the token request counts as "unreachable" on both endpoints and gives up at once
# with exit 75; a 3xx to a GET is an unexpected answer, exit 1.
n=$(wc -l <"$imds_log")
imds_case imds-redirect-token 75 0 "HTTP 307" redirect:100000:307
imds_case imds-redirect-get 1 0 "unexpected HTTP 302" redirect:100000:302:GET
check "imds-redirect: the fake answered 307 and 302, and no redirect was followed" \
  bash -c 'new=$(tail -n +'$((n + 1))' '$imds_log')
    grep -q "^PUT /latest/api/token 307" <<<"$new" && grep -q "^GET /latest/.* 302" <<<"$new" &&
    ! grep -q followed-redirect <<<"$new"'

# --- EC2 and EKS APIs (eks-node-config(8): throttling, 5xx and timeouts retried until
# settings.aws.deadline, then 75; a refused permission exits 6 at once) --------------------
aws_case() { # NAME EXIT MIN_S PATTERN FAULT...
  local name=$1 want=$2 min=$3 text=$4
  shift 4
  reset_node keep-imds
  check "$name: the fake AWS API injects $*" aws_faults "$@"
  fails_closed "$name" eks-node-config.service "$want" "$min" "$text"
  aws_faults
  recovers "$name"
}
# Retried faults end before the deadline, not at it: the client stops once its next
# (jittered) wait would cross the deadline, so anywhere from half of it on
aws_case ec2-throttled 75 $((aws_deadline / 2)) "RequestLimitExceeded" throttle:100000:DescribeInstances
aws_case eks-denied 6 0 "AccessDeniedException" deny:DescribeCluster
aws_case ec2-denied 6 0 "UnauthorizedOperation" deny:DescribeInstances
aws_case aws-slow 75 $((aws_deadline / 2)) "timed out" slow:4000
check "aws: every request the fake saw was signed right" bash -c '! grep -v " sig-ok" '$aws_log

# --- files ------------------------------------------------------------------------------
# A full /run/eks-node (a tiny tmpfs, filled): eks-node-imds cannot write its output, exit 1
# ("a write that failed", eks-node(7)), and leaves no file behind.
reset_node
mount -t tmpfs -o size=16k,mode=0755 eksvm-full /run/eks-node &&
  { head -c 1M /dev/zero >/run/eks-node/.fill 2>/dev/null; true; }
check "run-full: /run/eks-node is a full tmpfs" bash -c 'df --output=avail /run/eks-node | tail -1 | grep -qx " *0"'
fails_closed run-full eks-node-imds.service 1 0 "No space left on device"
check "run-full: nothing but the filler is left in /run/eks-node" test "$(ls -A /run/eks-node)" = .fill
umount /run/eks-node
recovers run-full

# A read-only /etc (a read-only bind mount over it) on a node whose /etc holds none of the
# rendered files yet, as at first boot: every step that writes to /etc fails with exit 1.
# eks-node-config, which writes containerd's files itself when it can during the join
# (eks-node-config(8), CONTAINERD), leaves them to eks-node-containerd, which fails naming them.
reset_node
rm -f /etc/containerd/config.toml /etc/kubernetes/pki/ca.crt /etc/kubernetes/kubelet/config.json
mount --bind /etc /etc && mount -o remount,bind,ro /etc
check "etc-readonly: /etc is read-only" bash -c '! touch /etc/eksvm-probe 2>/dev/null'
fails_closed etc-readonly eks-node-containerd.service 1 0 "Read-only file system"
check "etc-readonly: eks-node-config left containerd's files to eks-node-containerd, and did not fail" bash -c '
  [[ $(systemctl show -P Result eks-node-config.service) == success ]] &&
  journal -b -u eks-node-config.service -o cat | grep -q "containerd.s files are left to eks-node-containerd (.*Read-only file system)"'
# lazily: a step still running after the failure (the verdict, telemetry) may hold a file of
# the read-only /etc open, and a plain umount then fails with EBUSY and leaves the fault in
# place for the recovery below (seen once under load, 2026-11-28); detached, the next steps
# see the writable /etc at once
umount -l /etc
recovers etc-readonly
check "etc-readonly: ... and wrote the files it could not before" \
  test -s /etc/containerd/config.toml -a -s /etc/kubernetes/pki/ca.crt -a -s /etc/kubernetes/kubelet/config.json

echo "timing: all cases in $((SECONDS - scenario_start)) s"
finish
