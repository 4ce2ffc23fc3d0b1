#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016 # code passed to `bash -c` in single quotes expands in the guest, on purpose
# A workload profile at first boot (eks-node.toml(5), WORKLOAD PROFILES; eks-node-system(8),
# KERNEL PARAMETERS): the image's fragment chooses accelerated; user data overrides its
# kernel.pid_max and podPidsLimit and adds net.core.somaxconn. The image's own
# /etc/sysctl.d/99-kubelet.conf sets kernel.pid_max too: the merged value beats it.
# - the kernel holds every value (the profile's, the user's over the profile's, the user's own),
#   read back with sysctl -n;
# - /run/sysctl.d/60-eks-node.conf names each value's origin; config dump --origins does too;
# - systemd-sysctl was restarted by eks-node-system and had finished before kubelet started;
# - kubelet's configuration has the user's podPidsLimit;
# then a re-run with nothing changed restarts nothing.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../../guest/check-lib.sh
source "$EKSVM_IN/check-lib.sh"

conf=/run/sysctl.d/99-zz-eks-node.conf
# kubelet's merged configuration: config.json, then each file of config.json.d in order
kubelet_value() {
  python3 - "$1" <<'PY'
import glob, json, sys
merged = {}
for path in ["/etc/kubernetes/kubelet/config.json"] + sorted(glob.glob("/etc/kubernetes/kubelet/config.json.d/*.conf")):
    merged.update(json.load(open(path)))
print(merged.get(sys.argv[1], ""))
PY
}
export -f kubelet_value

check "eks-node.target is active" systemctl is-active eks-node.target
check "eks-node-system.service is active" systemctl is-active eks-node-system.service
check "kubelet is active" systemctl is-active kubelet.service

# --- the kernel ----------------------------------------------------------------------------
sysctl_is() { local v; v=$(sysctl -n "$1"); echo "$1 = $v"; [[ $v == "$2" ]]; }
export -f sysctl_is
check "profile: vm.max_map_count = 262144 (the kernel's default is 65530)" sysctl_is vm.max_map_count 262144
check "user over profile and image: kernel.pid_max = 1048576 (the profile's and 99-kubelet.conf's: 4194304)" \
  sysctl_is kernel.pid_max 1048576
check "user's own: net.core.somaxconn = 8192" sysctl_is net.core.somaxconn 8192

# --- the file and the origins ----------------------------------------------------------------
check "$conf: 0644, each value under its origin" bash -c '
  [[ $(stat -c %a '"$conf"') == 644 ]] &&
    grep -B1 -x "vm.max_map_count = 262144" '"$conf"' | grep -q "^# profile accelerated (settings.profile, /etc/eks-node/node.toml.d/10-profile.toml)" &&
    grep -B1 -x "kernel.pid_max = 1048576" '"$conf"' | grep -q "^# user data" &&
    grep -B1 -x "net.core.somaxconn = 8192" '"$conf"' | grep -q "^# user data"'
check "config dump --origins: the profile's values say so" bash -c '
  eks-node config dump --origins | python3 -c "
import json, sys
o = json.load(sys.stdin)[\"origins\"]
assert o[\"/settings/sysctls/vm.max_map_count\"].startswith(\"profile accelerated\"), o
assert o[\"/settings/sysctls/kernel.pid_max\"].startswith(\"user data\"), o
assert o[\"/spec/kubelet/config/podPidsLimit\"].startswith(\"user data\"), o
"'

# --- applied by systemd-sysctl, before kubelet -------------------------------------------------
check "eks-node-system restarted systemd-sysctl and waited for it" bash -c '
  journal -b -u eks-node-system.service --no-pager -o cat | grep -q "^'"$conf"' applied by systemd-sysctl.service"'
check "systemd-sysctl ran again after eks-node-config, and ended before kubelet started" bash -c '
  s=$(systemctl show -P ActiveEnterTimestampMonotonic systemd-sysctl.service)
  c=$(systemctl show -P ActiveEnterTimestampMonotonic eks-node-config.service)
  k=$(systemctl show -P ExecMainStartTimestampMonotonic kubelet.service)
  echo "eks-node-config ${c}us, systemd-sysctl ${s}us, kubelet ${k}us"; ((c < s && s < k))'
check "systemd-sysctl succeeded" bash -c '[[ $(systemctl show -P Result systemd-sysctl.service) == success ]]'

# --- kubelet ---------------------------------------------------------------------------------
check "kubelet: podPidsLimit 2048 (user data over the profile's 16384)" bash -c '[[ $(kubelet_value podPidsLimit) == 2048 ]]'

# --- a re-run with nothing changed ---------------------------------------------------------------
before=$(systemctl show -P InvocationID systemd-sysctl.service)
check "re-run: eks-node-system succeeds" systemctl restart eks-node-system.service
check "re-run: systemd-sysctl not restarted, the file unchanged" bash -c '
  [[ $(systemctl show -P InvocationID systemd-sysctl.service) == '"$before"' ]]'

finish
