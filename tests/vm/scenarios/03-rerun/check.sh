#!/bin/bash
# shellcheck disable=SC2016 # code passed to `bash -c` in single quotes expands in the guest, on purpose
# Re-run semantics of eks-node(7): `systemctl restart eks-node-<step>` re-renders;
# kubelet/containerd restart only when a file they read changed.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../../guest/check-lib.sh
source "$EKSVM_IN/check-lib.sh"

# The steps enqueue consumer restarts without waiting for them, so `systemctl
# restart` returns before they run: wait until systemd's job queue is empty.
settle() {
  local i
  for i in $(seq 1 240); do
    [[ -z $(systemctl list-jobs --no-legend) ]] && return 0
    sleep 0.25
  done
  echo "jobs still queued after 60 s:"; systemctl list-jobs
  return 1
}
invocation() { systemctl show -P InvocationID "$1"; }
# seconds a command took, for the log
timed() {
  local t0=$EPOCHREALTIME
  "$@"
  local rc=$?
  echo "timing: $* took $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }') s (rc $rc)"
  return $rc
}

check "kubelet is active after boot" systemctl is-active kubelet.service
kubelet0=$(invocation kubelet.service)
containerd0=$(invocation containerd.service)
step0=$(invocation eks-node-kubelet.service)

# 1. nothing changed: re-run one step
timed systemctl restart eks-node-kubelet.service
settle
check "re-run eks-node-kubelet ran the step again" \
  test "$(invocation eks-node-kubelet.service)" != "$step0"
check "... and said nothing changed" bash -c '
  journalctl -b -u eks-node-kubelet.service --no-pager -o cat _SYSTEMD_INVOCATION_ID="$(systemctl show -P InvocationID eks-node-kubelet.service)" | grep -q "done, nothing changed"'
check "... kubelet kept its invocation" test "$(invocation kubelet.service)" = "$kubelet0"

# 2. nothing changed: re-resolve the configuration (restarts propagate to every render step)
step1=$(invocation eks-node-kubelet.service)
timed systemctl restart eks-node-config.service
settle
check "re-run eks-node-config re-ran the render steps" test "$(invocation eks-node-kubelet.service)" != "$step1"
check "... kubelet kept its invocation" test "$(invocation kubelet.service)" = "$kubelet0"
check "... containerd kept its invocation" test "$(invocation containerd.service)" = "$containerd0"
check "... no daemon-reload" bash -c '! journalctl -b _PID=1 --no-pager -o cat | grep -q "^Reloading"'

# 3. an admin fragment changes a kubelet setting
mkdir -p /etc/eks-node/node.toml.d
printf '[kubelet.config]\nmaxPods = 42\n' >/etc/eks-node/node.toml.d/90-admin.toml
timed systemctl restart eks-node-config.service
settle
check "kubelet config has the admin's value" grep -q '"maxPods": 42' /etc/kubernetes/kubelet/config.json
check "kubelet was restarted" test "$(invocation kubelet.service)" != "$kubelet0"
check "... and is active" systemctl is-active kubelet.service
check "... the step said why" bash -c '
  journalctl -b -u eks-node-kubelet.service --no-pager -o cat | grep -q "outputs changed: restarting kubelet.service"'
check "containerd kept its invocation (its files did not change)" \
  test "$(invocation containerd.service)" = "$containerd0"
kubelet1=$(invocation kubelet.service)

# 4. a broken fragment: the re-run fails closed, then recovers
printf 'maxPods = [\n' >/etc/eks-node/node.toml.d/91-broken.toml
timed systemctl restart eks-node-config.service
settle
check "eks-node-config failed with exit 6" bash -c '
  [[ $(systemctl is-active eks-node-config.service) == failed && $(systemctl show -P ExecMainStatus eks-node-config.service) == 6 ]]'
check "eks-node-failed.target is active" systemctl is-active eks-node-failed.target
check "kubelet is stopped (fail closed)" bash -c '! systemctl is-active --quiet kubelet.service'
check "eks-node.target is not active" bash -c '! systemctl is-active --quiet eks-node.target'
check "the error names the file" bash -c '
  journalctl -b -u eks-node-config.service -p err --no-pager -o cat | grep -q "91-broken.toml"'
rm /etc/eks-node/node.toml.d/91-broken.toml
timed systemctl start eks-node.target
settle
check "after the fix, start eks-node.target brings kubelet back" systemctl is-active kubelet.service
check "... eks-node.target active again" systemctl is-active eks-node.target
check "... eks-node-failed.target stopped" bash -c '! systemctl is-active --quiet eks-node-failed.target'
check "... kubelet is a new invocation with the admin's value" bash -c "
  [[ \$(systemctl show -P InvocationID kubelet.service) != $kubelet1 ]] && grep -q '\"maxPods\": 42' /etc/kubernetes/kubelet/config.json"
finish
