#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016 # code passed to `bash -c` in single quotes expands in the guest, on purpose
# Runs while eks-node-fail-fast waits settings.onFailureDelay: what it prints reaches the
# serial console, which host-check.py reads after the guest powered itself off. Then it waits
# to be powered off: it must not report, or the runner would power the guest off itself.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../../guest/check-lib.sh
source "$EKSVM_IN/check-lib.sh"

check "eks-node-config failed with exit 6" bash -c \
  '[[ $(systemctl is-active eks-node-config.service) == failed && $(systemctl show -P ExecMainStatus eks-node-config.service) == 6 ]]'
check "kubelet was not started" bash -c '! systemctl is-active --quiet kubelet.service && [[ ! -e /run/stub-kubelet ]]'
check "eks-node-fail-fast is waiting its delay" bash -c \
  '[[ $(systemctl show -P ActiveState eks-node-fail-fast.service) == activating ]]'
echo "fail-fast: checks before the power-off: $_eksvm_passed passed, $_eksvm_failed failed"
echo "fail-fast: waiting for eks-node-fail-fast to power the guest off"
sleep 3600
