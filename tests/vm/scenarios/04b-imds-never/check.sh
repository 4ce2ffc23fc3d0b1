#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016 # code passed to `bash -c` in single quotes expands in the guest, on purpose
# IMDS that never appears -> eks-node-imds fails with exit 75 within its deadline,
# kubelet not started.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../../guest/check-lib.sh
source "$EKSVM_IN/check-lib.sh"

check "eks-node-imds.service failed" bash -c '[[ $(systemctl is-active eks-node-imds.service) == failed ]]'
check "it exited 75" bash -c '[[ $(systemctl show -P ExecMainStatus eks-node-imds.service) == 75 ]]'
check "it gave up within the 15 s deadline (+5 s)" bash -c '
  start=$(systemctl show -P ExecMainStartTimestampMonotonic eks-node-imds.service)
  end=$(systemctl show -P ExecMainExitTimestampMonotonic eks-node-imds.service)
  (( end - start < 20000000 ))'
check "one error line saying IMDS is unreachable" bash -c '
  [[ $(journalctl -b -u eks-node-imds.service -p err --no-pager -o cat | grep -c "IMDS unreachable") == 1 ]]'
check "kubelet was not started" bash -c '! systemctl is-active --quiet kubelet.service && [[ ! -e /run/stub-kubelet ]]'
finish
