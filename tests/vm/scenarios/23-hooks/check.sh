#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016 # code passed to `bash -c` in single quotes expands in the guest, on purpose
# Hooks as units (eks-node-hook(8)): an admin's hooks (known to the generator at boot) and
# user data's (known after eks-node-config: one daemon-reload), one per stage, each its own
# unit; a non-essential failure lets the node join; an essential one holds kubelet back, and
# the fix recovers. Runs inside the guest.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../../guest/check-lib.sh
source "$EKSVM_IN/check-lib.sh"

# mono UNIT PROPERTY: a monotonic timestamp of the unit, in microseconds
mono() { systemctl show -P "$2" "$1"; }
# before A B: A's main process exited before B's started
before() {
  local a b
  a=$(mono "$1" ExecMainExitTimestampMonotonic)
  b=$(mono "$2" ExecMainStartTimestampMonotonic)
  echo "$1 exited at ${a}us, $2 started at ${b}us"
  ((a > 0 && b > 0 && a <= b))
}

hooks="early pre-kubelet optional-fail after from-user-data ud-early"
check "the node joined" joined
eventually 60 systemctl is-active --quiet eks-node-hook@after.service
for h in $hooks; do
  check "eks-node-hook@$h.service is in eks-node.target's dependencies" bash -c "
    systemctl list-dependencies --plain --no-legend eks-node.target | grep -qF 'eks-node-hook@$h.service'"
done
check "the admin's hooks were generated at boot, the user data's after one daemon-reload" bash -c '
  n=$(journal -b _PID=1 --no-pager -o cat | grep -c "^Reloading"); echo "reloads: $n"; [[ $n == 1 ]] &&
  journal -b -u eks-node-config.service --no-pager -o cat | grep -q "reloading systemd once"'
check "a hook's ExecStart= runs eks-node-hook NAME; its words are in hook.json, 0600, not in the unit" bash -c '
  systemctl cat eks-node-hook@from-user-data.service |
    grep -qx "ExecStart=\"/usr/libexec/eks-node/eks-node-hook\" \"from-user-data\"" &&
  ! systemctl show eks-node-hook@from-user-data.service | grep -F /run/hook-from-user-data &&
  f=/run/systemd/generator/eks-node-hook@from-user-data.service.d/hook.json &&
  [[ $(stat -c %a "$f") == 600 ]] && grep -qF "\"/run/hook-from-user-data\"" "$f"'

# before-containerd
check "early ran while containerd was not running" grep -qx inactive /run/hooks/early.containerd
check "early exited before containerd's last start" before eks-node-hook@early.service containerd.service
check "ud-early (from user data) exited before containerd's last start" \
  before eks-node-hook@ud-early.service containerd.service
check "the admin's before-containerd hook, known at boot, restarted nothing" bash -c '
  ! journal -b -u eks-node-config.service --no-pager -o cat | grep -F "eks-node-hook@early.service runs before"'
check "% reached the command as written (date +%s%N ran)" grep -qE '^[0-9]{19}$' /run/hooks/early.ran
# before-kubelet
check "pre-kubelet ran with the rendered files and containerd up, kubelet not yet started" \
  grep -qx inactive /run/hooks/pre-kubelet.kubelet
check "pre-kubelet exited before kubelet started" before eks-node-hook@pre-kubelet.service kubelet.service
check "pre-kubelet ran after eks-node-kubelet and containerd" bash -c '
  h=$(systemctl show -P ExecMainStartTimestampMonotonic eks-node-hook@pre-kubelet.service)
  k=$(systemctl show -P ExecMainExitTimestampMonotonic eks-node-kubelet.service)
  c=$(systemctl show -P ActiveEnterTimestampMonotonic containerd.service)
  echo "hook $h, eks-node-kubelet exited $k, containerd active $c"; ((h >= k && h >= c))'
check "the hook had the node's environment (instance.environment), \$ unexpanded by systemd" \
  grep -qx from-instance-environment /run/hooks/pre-kubelet.env
check "from-user-data (argv, no shell) ran before kubelet" bash -c '
  test -e /run/hook-from-user-data' 
check "from-user-data exited before kubelet started" before eks-node-hook@from-user-data.service kubelet.service
# after-join
check "eks-node-joined saw kubelet answer /healthz" bash -c '
  systemctl is-active --quiet eks-node-joined.service &&
  journal -b -u eks-node-joined.service --no-pager -o cat | grep -q "answered http://127.0.0.1:10248/healthz with ok"'
check "after ran once kubelet was running and had answered /healthz" bash -c '
  grep -qx active /run/hooks/after.kubelet && grep -qx /healthz /run/hooks/after.healthz'
check "after started after eks-node-joined" before eks-node-joined.service eks-node-hook@after.service
check "neither eks-node.target nor multi-user.target waits for the after-join units" bash -c '
  for t in eks-node.target multi-user.target; do
    systemctl show -P After "$t" | tr " " "\n" | grep -E "^(eks-node-joined|eks-node-hook@after)\.service$" && exit 1
  done; exit 0'
# not essential
check "optional-fail failed, alone" bash -c '
  [[ $(systemctl show -P ActiveState eks-node-hook@optional-fail.service) == failed ]] &&
  ! systemctl is-active --quiet eks-node-failed.target && systemctl is-active --quiet kubelet.service'
check "eks-node status lists the hooks and says configured" bash -c '
  out=$(eks-node status) && echo "$out" | grep -q "eks-node-hook@optional-fail.service" &&
  echo "$out" | grep -q "eks-node-hook@after.service" && echo "$out" | grep -qx "node configured"'
check "a re-run by systemctl restart runs the hook again" bash -c '
  rm -f /run/hook-from-user-data && systemctl restart eks-node-hook@from-user-data.service &&
  test -e /run/hook-from-user-data'

# An essential hook that fails holds kubelet back, naming itself; the fix recovers.
cat >/etc/eks-node/node.toml.d/60-must-pass.toml <<'TOML'
[settings.hooks.must-pass]
command = ["/bin/sh", "-c", "echo 'the required agent is missing' >&2; exit 3"]
TOML
systemctl stop kubelet.service
rm -rf /run/stub-kubelet
mark=$(journal_mark)
systemctl restart eks-node-config.service >/dev/null 2>&1
systemctl start eks-node.target >/dev/null 2>&1
eventually 30 systemctl is-failed --quiet eks-node-hook@must-pass.service
check "must-pass failed with its exit status 3" bash -c '
  [[ $(systemctl show -P ExecMainStatus eks-node-hook@must-pass.service) == 3 ]]'
check "its journal names the cause" bash -c "
  journal --since='$mark' -u eks-node-hook@must-pass.service --no-pager -o cat | grep -q 'the required agent is missing'"
check "kubelet was never started, eks-node-failed.target is active" held_back
check "eks-node status says not configured, naming the hook" bash -c '
  out=$(eks-node status); rc=$?; echo "$out" | grep -q "eks-node-hook@must-pass.service.*failed" && ((rc != 0))'
printf '[settings.hooks.must-pass]\ncommand = ["/bin/true"]\n' >/etc/eks-node/node.toml.d/60-must-pass.toml
systemctl restart eks-node-config.service >/dev/null 2>&1
recovers "must-pass fixed"
check "must-pass ran again and succeeded" systemctl is-active eks-node-hook@must-pass.service
finish
