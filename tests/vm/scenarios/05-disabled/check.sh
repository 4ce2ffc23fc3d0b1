#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016 # code passed to `bash -c` in single quotes expands in the guest, on purpose
# eks-node.enable=0 on the kernel command line -> nothing of ours runs.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../../guest/check-lib.sh
source "$EKSVM_IN/check-lib.sh"

check "eks-node.target is not pulled in" bash -c '! systemctl is-active --quiet eks-node.target'
check "no eks-node step ran" bash -c '
  for u in imds config system ca kubelet containerd; do
    [[ $(systemctl show -P ExecMainStartTimestampMonotonic eks-node-$u.service) == 0 ]] || { echo "$u ran"; exit 1; }
  done'
check "nothing in /run/eks-node" bash -c '[[ -z $(ls -A /run/eks-node 2>/dev/null | grep -v "^env$") ]]'
if [[ -f /run/systemd/container ]]; then
  # VM_BOOT=nspawn: a container has no /dev/kmsg for the generator's log, and its switch is on
  # PID 1's command line, not the host kernel's: the drop-in names where it read it
  check "the generator's drop-in names PID 1's command line" \
    grep -qx "SourcePath=/proc/1/cmdline" /run/systemd/generator/eks-node-.service.d/50-disabled.conf
else
  check "the generator said so" bash -c 'journal -b -t eks-node-generator --no-pager -o cat | grep -qi disabled'
fi
finish
