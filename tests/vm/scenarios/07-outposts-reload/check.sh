#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016 # code passed to `bash -c` in single quotes expands in the guest, on purpose
# Outposts from user data: the generator could not know it at boot, so
# eks-node-config reloads systemd exactly once and eks-node-hosts runs in the same boot.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../../guest/check-lib.sh
source "$EKSVM_IN/check-lib.sh"

check "eks-node-config asked for the reload" bash -c '
  journal -b -u eks-node-config.service --no-pager -o cat | grep -q "reloading systemd once"'
check "exactly one daemon-reload this boot" bash -c '
  n=$(journal -b _PID=1 --no-pager -o cat | grep -c "^Reloading"); echo "reloads: $n"; [[ $n == 1 ]]'
check "the generator now pulls in eks-node-hosts" \
  test -L /run/systemd/generator/eks-node.target.wants/eks-node-hosts.service
check "eks-node-hosts.service ran and is active" systemctl is-active eks-node-hosts.service
check "it ran after eks-node-config" bash -c '
  c=$(systemctl show -P ExecMainExitTimestampMonotonic eks-node-config.service)
  h=$(systemctl show -P ExecMainStartTimestampMonotonic eks-node-hosts.service)
  echo "config exited $c, hosts started $h"; (( h >= c ))'
check "list-dependencies shows it" bash -c '
  systemctl list-dependencies --plain --no-legend eks-node.target | grep -q eks-node-hosts.service'
check "eks-node.target is active" systemctl is-active eks-node.target
# is-active alone would pass during a restart loop's brief "active" moments
check "kubelet is active and never failed" bash -c '
  systemctl is-active --quiet kubelet.service && [[ $(systemctl show -P NRestarts kubelet.service) == 0 ]]'
check "kubelet started with the bootstrap kubeconfig (TLS bootstrap on Outposts)" \
  grep -q -- "--bootstrap-kubeconfig=/var/lib/kubelet/bootstrap-kubeconfig" /run/stub-kubelet/argv.json
finish
