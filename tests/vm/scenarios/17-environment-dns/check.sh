#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016 # code passed to `bash -c` in single quotes expands in the guest, on purpose
# instance.environment and instance.network at first boot (eks-node-system(8)):
# - default reaches kubelet and a unit of the scenario's own (eksvm-envprobe, started after
#   eks-node.target), each unit's section reaches that unit and wins over default and over the
#   unit's own Environment=; a unit that was already running (eksvm-envearly) is restarted into
#   its section; no daemon-reload;
# - systemd-resolved serves the name servers and search domains, restarted by eks-node-system
#   before kubelet started;
# then, in the same boot: a re-run with nothing changed restarts nothing; a changed section
# restarts exactly its unit; a changed search domain restarts only systemd-resolved; with
# systemd-resolved stopped the step fails closed, and starting eks-node.target recovers.
set -uo pipefail
# NO_PROXY: the user's entries first, then what eks-node-config completes (eks-node-config(8),
# NO_PROXY completion), IMDS's IPv6 address among them
# shellcheck source-path=SCRIPTDIR source=../../guest/check-lib.sh
source "$EKSVM_IN/check-lib.sh"

# VAR of the environment a probe unit recorded at its Nth start (last if N is empty)
probe_var() {
  local unit=$1 var=$2 n=${3:-} file
  if [[ -n $n ]]; then
    file=/run/eksvm-envprobe/$unit.$n
  else
    file=$(find /run/eksvm-envprobe -maxdepth 1 -name "$unit.*" | sort -t. -k2 -n | tail -1)
  fi
  [[ -n $file && -f $file ]] || return 1
  tr '\0' '\n' <"$file" | sed -n "s/^$var=//p"
}
starts() { find /run/eksvm-envprobe -maxdepth 1 -name "$1.*" | wc -l; }
invocation() { systemctl show -P InvocationID "$1"; }
# kubelet's environment, as the stub kubelet recorded it
kubelet_var() { python3 -c 'import json, sys; print(json.load(open("/run/stub-kubelet/environ.json")).get(sys.argv[1], ""))' "$1"; }
# the jobs a re-run queued (its restarts among them) have run
drained() { jobs_settled 30; }
# the check commands run in a child bash
export -f probe_var starts kubelet_var

check "eks-node.target is active" systemctl is-active eks-node.target
check "eks-node-system.service is active" systemctl is-active eks-node-system.service
check "eks-node.target wants eks-node-system" \
  bash -c 'systemctl list-dependencies --plain --no-legend eks-node.target | grep -q eks-node-system.service'
check "kubelet is active" systemctl is-active kubelet.service
check "no daemon-reload" bash -c '! journal -b _PID=1 --no-pager -o cat | grep -q "^Reloading"'

# --- the service environment -------------------------------------------------------------
check "the files: default.env and one per section, 0600" bash -c '
  cd /run/eks-node/env && [[ $(ls | sort | tr "\n" " ") == "default.env eksvm-envearly.env eksvm-envprobe.env kubelet.env " ]] &&
    [[ $(stat -c %a default.env eksvm-envearly.env eksvm-envprobe.env kubelet.env | sort -u) == 600 ]]'
check "every service reads them through the one top-level drop-in" \
  bash -c 'systemctl show -P EnvironmentFiles eksvm-envprobe.service | grep -q "/run/eks-node/env/default.env (ignore_errors=yes)" &&
    systemctl show -P EnvironmentFiles eksvm-envprobe.service | grep -q "/run/eks-node/env/eksvm-envprobe.env (ignore_errors=yes)" &&
    systemctl show -P EnvironmentFiles systemd-journald.service | grep -q "/run/eks-node/env/systemd-journald.env"'
check "systemctl show -p Environment lists the unit's own lines only" \
  bash -c 'systemctl show -P Environment eksvm-envprobe.service | grep -q "UNIT_OWN=from-the-unit"'

check "kubelet: HTTPS_PROXY and NO_PROXY of default" bash -c '
  [[ $(kubelet_var HTTPS_PROXY) == http://proxy.internal:3128 ]] &&
    [[ $(kubelet_var NO_PROXY) == localhost,127.0.0.1,169.254.169.254,.internal,* ]] &&
    [[ ,$(kubelet_var NO_PROXY), == *,fd00:ec2::254,* ]]'
check "kubelet: its own section" bash -c '[[ $(kubelet_var KUBELET_ONLY) == kubelet-section ]]'
check "kubelet: NODEADM_KUBELET_ARGS still from /etc/eks/kubelet/environment" \
  bash -c '[[ $(kubelet_var NODEADM_KUBELET_ARGS) == *--node-ip=* ]]'
check "kubelet: no other unit's section" bash -c '[[ -z $(kubelet_var PROBE_VALUE) && -z $(kubelet_var EARLY_VALUE) ]]'

check "probe (started after eks-node.target): NO_PROXY of default" \
  bash -c '[[ $(probe_var eksvm-envprobe NO_PROXY) == localhost,127.0.0.1,169.254.169.254,.internal,* ]] &&
    [[ ,$(probe_var eksvm-envprobe NO_PROXY), == *,fd00:ec2::254,* ]]'
check "probe: its section's HTTPS_PROXY wins over default" \
  bash -c '[[ $(probe_var eksvm-envprobe HTTPS_PROXY) == http://probe-proxy.internal:3128 ]]'
check "probe: a value with spaces, quotes and \$ arrives unchanged" \
  bash -c '[[ $(probe_var eksvm-envprobe PROBE_VALUE) == "two words, \"quoted\" and \$dollar" ]]'
check "probe: the section wins over the unit's own Environment= (a documented difference from nodeadm)" \
  bash -c '[[ $(probe_var eksvm-envprobe UNIT_OWN) == from-the-section ]]'
check "probe: the unit's other Environment= lines are kept" \
  bash -c '[[ $(probe_var eksvm-envprobe ONLY_IN_UNIT) == kept ]]'
check "early unit: started before eks-node-system without its section" \
  bash -c '[[ -f /run/eksvm-envprobe/eksvm-envearly.1 && -z $(probe_var eksvm-envearly EARLY_VALUE 1) ]]'
check "early unit: restarted by eks-node-system into its section (same boot)" \
  bash -c '[[ $(starts eksvm-envearly) == 2 && $(probe_var eksvm-envearly EARLY_VALUE 2) == first ]]'
check "early unit: the step said why" eventually 60 bash -c '
  journal -b EKS_NODE_STEP=system --no-pager -o cat |
    grep -q "changed: restarting eksvm-envearly.service ("'
check "eks-node's own steps read no service environment (10-sandbox.conf resets EnvironmentFile=)" \
  bash -c '[[ -z $(systemctl show -P EnvironmentFiles eks-node-config.service) &&
    -z $(systemctl show -P EnvironmentFiles eks-node-system.service) ]]'

# --- DNS ---------------------------------------------------------------------------------
check "40-eks.conf as nodeadm writes it" bash -c '
  grep -qx "DNS=10.0.0.2 fd00:ec2::253" /run/systemd/resolved.conf.d/40-eks.conf &&
    grep -qx "Domains=corp.example.com ec2.internal" /run/systemd/resolved.conf.d/40-eks.conf'
check "resolvectl dns: the configured name servers" \
  bash -c 'resolvectl dns | grep -q "^Global: 10.0.0.2 fd00:ec2::253"'
check "resolvectl domain: the configured search domains" \
  bash -c 'resolvectl domain | grep -q "^Global: corp.example.com ec2.internal"'
check "systemd-resolved was restarted by eks-node-system" eventually 60 bash -c '
  journal -b EKS_NODE_STEP=system --no-pager -o cat |
    grep -q "40-eks.conf changed: restarting systemd-resolved.service ("'
check "kubelet started after systemd-resolved's restart finished" bash -c '
  s=$(systemctl show -P ExecMainStartTimestampMonotonic eks-node-system.service)
  r=$(systemctl show -P ActiveEnterTimestampMonotonic systemd-resolved.service)
  k=$(systemctl show -P ExecMainStartTimestampMonotonic kubelet.service)
  echo "eks-node-system started at $s, resolved active (again) at $r, kubelet started at $k"
  (( s > 0 && r > s && k > r ))'

# --- re-runs in the same boot ------------------------------------------------------------
kubelet0=$(invocation kubelet.service)
containerd0=$(invocation containerd.service)
resolved0=$(invocation systemd-resolved.service)
early0=$(starts eksvm-envearly)

systemctl restart eks-node-system.service
drained
check "re-run, nothing changed: the step ran again" systemctl is-active eks-node-system.service
check "... kubelet, containerd, resolved and the early unit kept their invocations" bash -c "
  [[ \$(systemctl show -P InvocationID kubelet.service) == $kubelet0 &&
     \$(systemctl show -P InvocationID containerd.service) == $containerd0 &&
     \$(systemctl show -P InvocationID systemd-resolved.service) == $resolved0 &&
     \$(find /run/eksvm-envprobe -maxdepth 1 -name 'eksvm-envearly.*' | wc -l) == $early0 ]]"

mkdir -p /etc/eks-node/node.toml.d
printf '[instance.environment.eksvm-envearly]\nEARLY_VALUE = "second"\n' >/etc/eks-node/node.toml.d/90-env.toml
systemctl restart eks-node-config.service
drained
check "a changed section restarts exactly its unit" \
  eventually 60 bash -c '[[ $(probe_var eksvm-envearly EARLY_VALUE) == second ]]'
check "... kubelet, containerd and resolved kept their invocations" bash -c "
  [[ \$(systemctl show -P InvocationID kubelet.service) == $kubelet0 &&
     \$(systemctl show -P InvocationID containerd.service) == $containerd0 &&
     \$(systemctl show -P InvocationID systemd-resolved.service) == $resolved0 ]]"

printf '[instance.network]\ndomains = ["corp.example.com"]\n' >/etc/eks-node/node.toml.d/91-dns.toml
early1=$(starts eksvm-envearly)
systemctl restart eks-node-config.service
drained
check "a changed search domain restarts systemd-resolved" \
  eventually 60 bash -c '[[ $(systemctl show -P InvocationID systemd-resolved.service) != '"$resolved0"' ]] &&
    resolvectl domain | grep -qx "Global: corp.example.com"'
check "... and nothing else" bash -c "
  [[ \$(systemctl show -P InvocationID kubelet.service) == $kubelet0 &&
     \$(systemctl show -P InvocationID containerd.service) == $containerd0 &&
     \$(find /run/eksvm-envprobe -maxdepth 1 -name 'eksvm-envearly.*' | wc -l) == $early1 ]]"
check "still no daemon-reload" bash -c '! journal -b _PID=1 --no-pager -o cat | grep -q "^Reloading"'
check "eks-node.target still active" systemctl is-active eks-node.target

# DNS settings but no systemd-resolved running: fail closed (exit 1, one error line), then recover
systemctl stop systemd-resolved.service
systemctl restart eks-node-system.service
drained
check "resolved stopped: eks-node-system failed with exit 1" bash -c '
  [[ $(systemctl is-active eks-node-system.service) == failed && $(systemctl show -P ExecMainStatus eks-node-system.service) == 1 ]]'
check "... saying why" eventually 60 bash -c '
  journal -b EKS_NODE_STEP=system -p err --no-pager -o cat | tail -1 |
    grep -q "but systemd-resolved.service is inactive, so nothing on this node applies them"'
check "... kubelet is stopped (fail closed)" bash -c '! systemctl is-active --quiet kubelet.service'
check "... eks-node-failed.target is active" systemctl is-active eks-node-failed.target
systemctl start systemd-resolved.service
# This scenario started the step five times within seconds; systemd's start rate limit (5 in
# 10 s) would refuse a sixth start, and a refused start of an already failed unit triggers no
# OnFailure=. An admin's fix comes later than that; reset-failed stands for the wait.
systemctl reset-failed eks-node-system.service
systemctl start eks-node.target
drained
check "resolved started again: systemctl start eks-node.target recovers" bash -c '
  systemctl is-active --quiet eks-node.target && systemctl is-active --quiet kubelet.service &&
    systemctl is-active --quiet eks-node-system.service'
check "... resolved serves the domain of the configuration" \
  bash -c 'resolvectl domain | grep -qx "Global: corp.example.com"'
finish
