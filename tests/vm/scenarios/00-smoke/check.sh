#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Smoke test of the VM harness itself. Runs inside the guest (see tests/vm/README.md).
# With eksvm.selftest=fail on the kernel command line one check fails on purpose, to prove
# that a failing scenario is reported as failed.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../../guest/check-lib.sh
source "$EKSVM_IN/check-lib.sh"

no_failed_units() {
  [[ $EKSVM_SYSTEM_STATE == running ]] || { systemctl --failed --no-legend; return 1; }
}
check "boot finished cleanly (state: $EKSVM_SYSTEM_STATE)" no_failed_units

check "IMDS IPv4: token, then GET instance-id" \
  grep -qx i-0000000000000abcd <(imds_get meta-data/instance-id)
check "IMDS lists meta-data/" grep -qx 'placement/' <(imds_get meta-data/)
check "IMDS serves the user data" grep -q 'smoke user data' <(imds_get user-data)
check "IMDS refuses a GET without a token (401)" \
  grep -qx 401 <(curl -s -o /dev/null -w '%{http_code}' \
    http://169.254.169.254/latest/meta-data/instance-id)
imds6() {
  local t
  t=$(curl -fsS -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' \
    'http://[fd00:ec2::254]/latest/api/token') &&
    curl -fsS -H "X-aws-ec2-metadata-token: $t" \
      'http://[fd00:ec2::254]/latest/meta-data/instance-type'
}
check "IMDS IPv6: token, then GET instance-type" grep -qx m5.large <(imds6)
check "no network interface but lo and the IMDS link" \
  diff <(ls /sys/class/net) <(printf '%s\n' imds0 lo)

check "containerd is active" systemctl is-active containerd.service
check "ctr version reaches the daemon" ctr version

nvme_serials() { cat /sys/class/nvme/nvme*/serial | tr -d ' ' | sort; }
check "two NVMe disks with the scenario's serials" \
  diff <(nvme_serials) <(printf '%s\n' vol0smoke0 vol0smoke1)
check "NVMe namespaces are block devices" test -b /dev/nvme0n1 -a -b /dev/nvme1n1

installed() {
  local f missing=0
  while read -r f; do
    [[ -e $f || -L $f ]] || { echo "missing: $f"; missing=1; }
  done <"$EKSVM_IN/manifest"
  echo "$(wc -l <"$EKSVM_IN/manifest") files in the run's package"
  return "$missing"
}
check "every file of the run's .deb is on /" installed
# installed by dpkg, its scriptlets run (guest/install-payload), where the run has a project
if [[ -f $EKSVM_IN/package/eks-node.deb ]]; then
  check "dpkg: the run's eks-node installed and configured" grep -qx \
    "install ok installed $(dpkg-deb --field "$EKSVM_IN/package/eks-node.deb" Version)" \
    <(dpkg-query -W -f='${Status} ${Version}\n' eks-node)
fi

# A missing runtime library means image-packages.txt lacks a package.
libraries_resolve() {
  local f bad=0
  while read -r f; do
    if [[ ! -f $f ]] || ! head -c4 "$f" | grep -q ELF; then continue; fi
    if ldd "$f" | grep 'not found'; then echo "in $f"; bad=1; fi
  done <"$EKSVM_IN/manifest"
  return "$bad"
}
check "every installed binary finds its shared libraries" libraries_resolve

if [[ $EKSVM_INSTALL == early ]]; then
  check "the payload's generator ran at first boot" \
    systemctl is-active eksvm-smoke-generated.service
else
  check "late install: daemon-reload ran the payload's generator" \
    systemctl cat eksvm-smoke-generated.service
fi

check "stub kubelet reports a version" grep -qx 'Kubernetes v1.31.0' <(kubelet --version)
stub_kubelet_runs() {
  systemd-run --quiet --unit=eksvm-stub-kubelet /usr/bin/kubelet \
    --config=/etc/eksvm-smoke/kubelet.json --kubeconfig /etc/eksvm-smoke/kubeconfig \
    --node-ip=10.0.0.1 || return
  local i
  for ((i = 0; i < 50; i++)); do
    [[ -f /run/stub-kubelet/flags.json ]] && break
    sleep 0.2
  done
  systemctl is-active eksvm-stub-kubelet.service &&
    grep -q '"node-ip": "10.0.0.1"' /run/stub-kubelet/flags.json
}
check "stub kubelet accepts a valid config, records its flags, keeps running" stub_kubelet_runs
# (eks-node is off here: kubelet.service never starts, so finish does not check this itself)
check "stub kubelet drove containerd over CRI with the pinned pause image, no network" cri_ok
# The harness's authentication chain without eks-node: the smoke kubeconfig's plugin signs as
# `aws eks get-token` does, with botocore, the instance profile run-scenario.sh adds to
# imds.json (tests/vm/instance-profile.json); the fake API server knows itself as "smoke"
# (files/etc/eksvm/cluster-id)
smoke_auth() {
  eventually 120 auth_settled || { cat /run/stub-kubelet/auth.json; return 1; }
  python3 - /run/eksvm-stub/auth.json <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
extra = {k: v[0] for k, v in (((r.get("review") or {}).get("userInfo") or {}).get("extra") or {}).items()}
print(r.get("stage"), r.get("error"), extra.get("arn"), extra.get("eksvm.test/clusterId"),
      extra.get("eksvm.test/verifiedBy"))
sys.exit(0 if r.get("ok") and extra.get("eksvm.test/clusterId") == "smoke"
         and extra.get("arn", "").endswith(":assumed-role/eks-node-vm-node-role/i-0000000000000abcd")
         and "botocore" in extra.get("eksvm.test/verifiedBy", "") else 1)
PY
}
check "stub kubelet authenticated: a botocore token from the instance profile, verified by the fake STS" smoke_auth
check "the pause image is cached and pinned (80-pause-image at image build)" bash -c '
  ctr -n k8s.io images ls | grep -E "^localhost/kubernetes/pause:latest .*io.cri-containerd.pinned=pinned"'
check "kubelet.service is installed and left to eks-node (not enabled)" \
  grep -qx disabled <(systemctl is-enabled kubelet.service)
check "first boot: systemd generated a machine-id" test -s /etc/machine-id

if grep -qw eksvm.selftest=fail /proc/cmdline; then
  check "deliberate failure (eksvm.selftest=fail)" systemctl is-active no-such-unit.service
fi
finish
