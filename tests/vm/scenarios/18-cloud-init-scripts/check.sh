#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016 # code passed to `bash -c` in single quotes expands in the guest, on purpose
# MIME user data (NodeConfig + a slow x-shellscript part) with real cloud-init: the script
# runs to completion before kubelet's process starts, kubelet sees the file the script
# wrote, and the NodeConfig drop-in the script wrote takes effect. Runs inside the guest.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../../guest/check-lib.sh
source "$EKSVM_IN/check-lib.sh"

usec() { systemctl show -P "$1" "$2"; }
check "cloud-init ran both scripts; the second failed, so cloud-final.service failed" \
  bash -c '[[ $(systemctl show -P Result cloud-final.service) == exit-code ]] &&
    grep -q "failing on purpose" /var/log/cloud-init-output.log' 
check "the user script ran to its end" test -s /run/eksvm-user-script-done
check "eks-node-config found both script parts" \
  bash -c 'journal -b -u eks-node-config --no-pager -o cat | grep -F "cloud-init runs part(s) of the user data (user data (MIME part 2, text/x-shellscript); user data (MIME part 3, text/x-shellscript)): kubelet starts after them"'
check "eks-node-cloud-init.service ran and is active" systemctl is-active eks-node-cloud-init.service
check "eks-node-cloud-init started after cloud-final finished" bash -c '
  f=$(systemctl show -P ExecMainExitTimestampMonotonic cloud-final.service)
  c=$(systemctl show -P ExecMainStartTimestampMonotonic eks-node-cloud-init.service)
  echo "cloud-final exited at $f us, eks-node-cloud-init started at $c us"; (( f > 0 && c >= f ))'
check "kubelet is active" systemctl is-active kubelet.service
check "kubelet's process started after the script's last line" bash -c '
  done_us=$(cat /run/eksvm-user-script-done)
  k_us=$(systemctl show -P ExecMainStartTimestampMonotonic kubelet.service)
  echo "script done at ${done_us} us, kubelet started at ${k_us} us (monotonic)"
  (( done_us > 0 && k_us >= done_us ))'
check "kubelet read the drop-in the script wrote" \
  grep -q '"90-from-user-script.conf"' /run/stub-kubelet/config-dir.json
check "the NodeConfig drop-in the script wrote reached kubelet's flags" \
  grep -q -- "written-by=user-script" /run/stub-kubelet/argv.json
check "eks-node-cloud-init restarted eks-node-config for the new drop-in" \
  bash -c 'journal -b -u eks-node-cloud-init --no-pager -o cat | grep -F "/etc/eks/nodeadm.d"'
# The script also wrote a NodeConfig drop-in, so eks-node-cloud-init restarts eks-node-config
# first. kubelet's start still waits (for eks-node-cloud-init), so that run finds config.toml's
# header out of date (the drop-in is not listed) and writes containerd's files itself,
# restarting containerd on them (eks-node-config(8), CONTAINERD); eks-node-containerd, skipped
# at boot, stays skipped. Which process rendered them is that rule's business: what this
# checks is that containerd's files were rendered after the script, and containerd restarted.
check "containerd's files rendered again after the script wrote its config.d drop-in (eks-node-config re-run by eks-node-cloud-init)" \
  bash -c 'f=$(systemctl show -P ExecMainExitTimestampMonotonic cloud-final.service)
    c=$(systemctl show -P ExecMainStartTimestampMonotonic eks-node-config.service)
    s=$(systemctl show -P ExecMainStartTimestampMonotonic containerd.service)
    echo "cloud-final exited at $f us, eks-node-config last started at $c us, containerd at $s us"
    (( f > 0 && c >= f && s >= c )) &&
      journal -b -u eks-node-cloud-init --no-pager -o cat |
        grep -F "restarting eks-node-config.service before kubelet starts (and the steps after it)" &&
      journal -b -u eks-node-config --no-pager -o cat |
        grep -F "containerd imports /etc/containerd/config.d/50-debug.toml"'
check "the re-run listed the drop-in in config.toml's header" \
  grep -qE "^#   /etc/containerd/config.d/50-debug.toml [0-9a-f]{16}$" /etc/containerd/config.toml
check "the running containerd applied the drop-in (it logs at debug level), restarted before kubelet" bash -c '
  journal -b -u containerd --no-pager -o cat | grep -q "level=debug" &&
  (( $(systemctl show -P ExecMainStartTimestampMonotonic containerd.service) <=
     $(systemctl show -P ExecMainStartTimestampMonotonic kubelet.service) ))'
check "eks-node-cloud-init reported the failed script with cloud-final's unit and exit (a warning)" \
  bash -c 'journal -b -u eks-node-cloud-init -p warning --no-pager -o cat |
    grep -F "cloud-final.service failed (exit-code, exit status 1): a script failed, kubelet starts anyway"'
check "no daemon-reload" bash -c '! journal -b _PID=1 --no-pager -o cat | grep -q "^Reloading"'
check "eks-node-failed.target not started" bash -c '! systemctl is-active --quiet eks-node-failed.target'
check "eks-node status says configured, lists eks-node-cloud-init active and cloud-final failed (exit 1)" \
  bash -c 'out=$(eks-node status) || { echo "$out"; exit 1; }
    grep -Eq "^eks-node-cloud-init\.service +active " <<<"$out" &&
    grep -Eq "^cloud-final\.service +failed .* 1\s*$" <<<"$out" || { echo "$out"; exit 1; }'
systemd-analyze critical-chain kubelet.service | tee "$EKSVM_OUT/critical-chain-kubelet.txt" || true
finish
