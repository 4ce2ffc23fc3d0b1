#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016 # code passed to `bash -c` in single quotes expands in the guest, on purpose
# NodeConfig user data -> eks-node.target active, containerd on our config,
# kubelet started with our flags; then re-runs (no change, changed admin
# fragment, broken fragment). Runs inside the guest (see tests/vm/README.md), a container
# boot: what of the same chain needs the node's own kernel (the steps' Landlock
# confinement, the modules and sysctls `eks-node validate` checks, cgroup2's
# favordynmods) is 03-node-kernel's, in a VM.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../../guest/check-lib.sh
source "$EKSVM_IN/check-lib.sh"

for unit in eks-node-imds eks-node-config eks-node-ca eks-node-kubelet; do
  check "$unit.service is active" systemctl is-active "$unit.service"
done
# this user data sets no service environment, DNS or sysctls: eks-node-config leaves no
# marker and eks-node-system's condition skips it, no process started (eks-node-system(8),
# WHEN IT RUNS); 17-environment-dns and 28-workload-profile are the runs with work
system_skipped() {
  local props
  props=$(systemctl show -p ConditionResult -p ActiveState -p Result -p ExecMainPID -p InvocationID eks-node-system.service)
  [[ $props == *"ConditionResult=no"* && $props == *"ActiveState=inactive"* && $props == *"Result=success"* &&
    $props == *"ExecMainPID=0"* && ! -e /run/eks-node/system-due ]] || { echo "$props"; return 1; }
  journal -b -u eks-node-config -o cat --no-pager | grep -q "eks-node-system has nothing to do"
}
check "eks-node-system skipped by its condition: nothing to do, no process" system_skipped
check "eks-node.target is active" systemctl is-active eks-node.target
check "containerd is active" systemctl is-active containerd.service
check "kubelet is active" systemctl is-active kubelet.service
check "eks-node-readahead read the image build's recorded ranges (a container boot: the image's tree)" readahead_recorded
# before any check asks the fake IMDS itself: what it served is what the steps asked, but
# for the token race's losers (eks-node-telemetry(8)): a PUT to the second endpoint dropped
# when the first answered is not counted, and the fake may or may not have answered it.
# kubelet's credential plugin asks IMDS too (not a step): its requests, which the stub kubelet
# counted (auth.json) once it has run, are left out
eventually 120 auth_settled
imds_plugin=$(python3 -c 'import json; print(json.load(open("/run/eksvm-stub/auth.json"))["imdsRequestsByPlugin"])' 2>/dev/null || echo 0)
imds_served=$(($(wc -l </run/eksvm/out/imds-requests.log) - imds_plugin))
imds_tokens=$(grep -c "^PUT /latest/api/token " /run/eksvm/out/imds-requests.log)
check "eks-node-telemetry wrote the boot's metrics, Prometheus's parser reads them" telemetry_ok 1
check "eks-node-verdict: one line on the console, kubelet's start after the first step's" bash -c '
  line=$(journal -b -u eks-node-verdict.service -o cat | grep "^eks-node: " | tail -n 1); echo "$line"
  [[ $line =~ ^eks-node:\ node\ configured:\ kubelet\ started\ [0-9]+\.[0-9]{3}s\ after\ eks-node-[a-z-]+\.service\ started$ ]]'
check "the steps' IMDS requests, as counted, are the fake IMDS's ($imds_served served to them, $imds_tokens tokens)" bash -c '
  n=$(eks-node status --json | python3 -c "import json,sys; print(json.load(sys.stdin)[\"calls\"][\"imds\"][\"requests\"])")
  echo "counted $n"; (('"$imds_served"' - ('"$imds_tokens"' - 1) <= n && n <= '"$imds_served"'))'
check "eks-node-telemetry ran after kubelet started" after_start eks-node-telemetry.service kubelet.service
# its unit's MemoryMax= comment quotes this figure (KiB, from getrusage)
telemetry_rss=$(python3 -c '
import resource, subprocess
subprocess.run(["/usr/libexec/eks-node/eks-node-telemetry", "--root=/tmp/eksvm-telemetry"], check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)')
check "eks-node-telemetry's peak RSS (${telemetry_rss:-?} KiB) is far below its 256M bound" \
  test "${telemetry_rss:-999999}" -lt 65536
# eks-node-preflight(8): example.com does not resolve in the VM (no DNS server), so the
# default policy warns once, naming the stage, after kubelet's start (UNITS)
check "eks-node-preflight warned once: the API server's name does not resolve" bash -c '
  n=$(journal -b -u eks-node-preflight.service -p warning --no-pager -o cat |
    grep -c "the API server at https://example.com is unreachable: DNS: .*settings.preflight.policy = \"warn\"")
  [[ $n == 1 ]] && systemctl is-active eks-node-preflight.service'
check "kubelet waited for no report: ordered after the gate alone, which its condition skipped" bash -c '
  after=$(systemctl show -P After kubelet.service)
  grep -qw eks-node-preflight-gate.service <<<"$after" && ! grep -qw eks-node-preflight.service <<<"$after" &&
    [[ $(systemctl show -P ConditionResult eks-node-preflight-gate.service) == no && ! -e /run/eks-node/preflight-gate ]]'
# ...and it runs after kubelet's fork, so its CPU is not in containerd's and kubelet's start
# (docs/performance.md): its unit orders it after kubelet.service (Type=simple), and its
# process started no sooner than kubelet's did
check "the report started after kubelet's fork" bash -c '
  grep -qw kubelet.service <<<"$(systemctl show -P After eks-node-preflight.service)" &&
    k=$(systemctl show -P ExecMainStartTimestampMonotonic kubelet.service) &&
    p=$(systemctl show -P ExecMainStartTimestampMonotonic eks-node-preflight.service) &&
    [[ $k -gt 0 && $p -ge $k ]]'
check "list-dependencies shows every step, containerd and kubelet" \
  bash -c 'deps=$(systemctl list-dependencies --plain --no-legend eks-node.target)
    for u in eks-node-imds eks-node-config eks-node-ca eks-node-kubelet eks-node-containerd eks-node-preflight \
      eks-node-preflight-gate eks-node-telemetry containerd kubelet; do
      grep -q "$u.service" <<<"$deps" || { echo "missing $u"; exit 1; }; done'
check "containerd runs with the image's cached sandbox image" \
  bash -c 'ctr --address /run/containerd/containerd.sock plugins ls >/dev/null &&
    grep -q "sandbox_image = \"localhost/kubernetes/pause:latest\"" /etc/containerd/config.toml'
# containerd early (eks-node-generator(8), EARLY CONTAINERD): it started at boot on the
# image's config.toml; the user's containerd.config changes it, so eks-node-config, which
# knows first, writes containerd's files itself and restarts that start on them at once
# (eks-node-config(8), CONTAINERD); eks-node-containerd finds them current and is skipped;
# kubelet starts only after containerd's restart
check "containerd started at boot, before eks-node-config" bash -c '
  journal -b -o cat --no-pager MESSAGE_ID=7d4958e842da4a758f6c1cdc7b36dcc5 |
    grep -m1 -E "^Starting (containerd|eks-node-config)\.service" | grep -q "^Starting containerd"'
check "eks-node-config wrote containerd's files and restarted its early start because config.toml changes" \
  containerd_written_by_config "/etc/containerd/config.toml changes"
check "eks-node-containerd had nothing left to do: skipped by its condition, no process" containerd_step_skipped
check "the running containerd has the user's debug level" bash -c '
  id=$(systemctl show -P InvocationID containerd.service)
  journal -b _SYSTEMD_INVOCATION_ID="$id" --no-pager -o cat | grep -q "level=debug"'
check "kubelet started after containerd's restart" after_start kubelet.service containerd.service
check "containerd's own client sees SystemdCgroup" \
  bash -c 'containerd config dump 2>/dev/null | grep -q "SystemdCgroup = true"'
check "kubelet got --node-ip from IMDS" grep -q -- "--node-ip=172.16.34.43" /run/stub-kubelet/argv.json
check "kubelet got the drop-in dir for the user config" grep -q -- "--config-dir=" /run/stub-kubelet/argv.json
check "kubeconfig is 0600" test "$(stat -c %a /var/lib/kubelet/kubeconfig)" = 600
check "the steps logged to the journal with EKS_NODE_STEP" \
  bash -c 'journal -b EKS_NODE_STEP=config --no-pager -o cat | grep -q "done"'
# a step that exits before journald reads its entry still shows under
# `journalctl -u` (OBJECT_SYSTEMD_UNIT=) and by its own name (SYSLOG_IDENTIFIER=);
# eks-node-kubelet's entries from kubelet.service's ExecStartPre= (`harvest`)
# are that unit's, under its identifier (kubelet), not the step's
for s in imds config ca kubelet; do
  check "eks-node-$s's entries all found by journal -u and -t" bash -c "
    n=\$(journal -b EKS_NODE_STEP=$s --no-pager -o cat | wc -l)
    pre=\$(journal -b -u kubelet.service EKS_NODE_STEP=$s --no-pager -o cat | wc -l)
    (( n > pre )) &&
    [[ \$(journal -b -u eks-node-$s.service EKS_NODE_STEP=$s --no-pager -o cat | wc -l) == \$((n - pre)) ]] &&
    [[ \$(journal -b -t eks-node-$s EKS_NODE_STEP=$s --no-pager -o cat | wc -l) == \$((n - pre)) ]]"
done
check "no daemon-reload on a plain boot" bash -c '! journal -b _PID=1 --no-pager -o cat | grep -q "^Reloading"'
check "eks-node-failed.target not started" bash -c '! systemctl is-active --quiet eks-node-failed.target'
check "eks-node status exits 0 and lists every step active" \
  bash -c 'out=$(eks-node status) || { echo "$out"; exit 1; }
    for u in eks-node-imds eks-node-config eks-node-ca eks-node-kubelet eks-node-preflight containerd kubelet; do
      grep -Eq "^$u\.service +active " <<<"$out" || { echo "$u not active in:"; echo "$out"; exit 1; }; done
    grep -Eq "^eks-node-containerd\.service +skipped by condition" <<<"$out" || { echo "$out"; exit 1; }'
check "eks-node status --json parses and says configured" \
  bash -c 'eks-node status --json | python3 -c "import json, sys; r = json.load(sys.stdin); assert r[\"configured\"], r
assert {u[\"unit\"] for u in r[\"units\"]} >= {\"eks-node-config.service\", \"kubelet.service\"}, r
assert all(u[\"exitStatus\"] == 0 for u in r[\"units\"]
           if u[\"unit\"].startswith(\"eks-node-\") and u[\"state\"] != \"skipped by condition\"), r"'
check "eks-node collect-logs writes an archive with every section" \
  bash -c 'eks-node collect-logs --output=/tmp/x.tgz >/dev/null && python3 -c "import tarfile
names = set(tarfile.open(\"/tmp/x.tgz\").getnames())
want = {\"eks-node-logs/\" + s for s in [\"journal/eks-node.txt\", \"journal/kubelet.txt\", \"files/run/eks-node/config.json\",
  \"files/var/lib/kubelet/kubeconfig\", \"system/sysctl.txt\", \"network/routes.txt\", \"status.json\", \"notes.txt\"]}
assert want <= names, want - names
j = tarfile.open(\"/tmp/x.tgz\").extractfile(\"eks-node-logs/journal/eks-node.txt\").read().decode()
assert \"eks-node-config\" in j, j[:500]"'
systemd-analyze critical-chain kubelet.service || true
# a step with nothing to do is not started (issue 63 item 5): no settings.swap, no file
check "no swap configured: eks-node-swap was not started at all" bash -c '
  [[ $(systemctl show -P InactiveExitTimestampMonotonic eks-node-swap.service) == 0 ]] &&
    ! systemctl show -P WantedBy eks-node-swap.service | grep -q eks-node.target'

# the AMI's FORWARD policy runs in its own unit, before kubelet, off the join path
check "kubelet-forward-policy ran before kubelet started" bash -c '
  a=$(systemctl show -P ExecMainExitTimestampMonotonic kubelet-forward-policy.service)
  b=$(systemctl show -P ExecMainStartTimestampMonotonic kubelet.service)
  (( a > 0 && a <= b ))'

# ---------------------------------------------------------------------------
# Scenario 3 of the issue, in this same boot (HARNESS.md: group what needs no
# fresh boot): re-run semantics of eks-node(7). `systemctl restart
# eks-node-<step>` re-renders; kubelet/containerd restart only when a file they
# read changed; a broken admin fragment fails closed and is recovered.

# The steps enqueue consumer restarts without waiting for them, so `systemctl
# restart` returns before they run: wait until systemd's job queue is empty.
settle() { jobs_settled 60; }
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
# Count by our own EKS_NODE_STEP= field: journald cannot always attribute a message to its
# unit (_SYSTEMD_UNIT=, -u) when the process has exited before journald reads it.
unchanged_runs() { journal -b EKS_NODE_STEP=kubelet --no-pager -o cat | grep -c "done, nothing changed"; }
unchanged0=$(unchanged_runs)
timed systemctl restart eks-node-kubelet.service
settle
check "re-run eks-node-kubelet ran the step again" \
  test "$(invocation eks-node-kubelet.service)" != "$step0"
check "... and said nothing changed" eventually 60 bash -c "(( \$(journal -b EKS_NODE_STEP=kubelet --no-pager -o cat | grep -c 'done, nothing changed') > $unchanged0 ))"
check "... kubelet kept its invocation" test "$(invocation kubelet.service)" = "$kubelet0"

# 2. nothing changed: re-resolve the configuration (restarts propagate to every render step)
step1=$(invocation eks-node-kubelet.service)
timed systemctl restart eks-node-config.service
settle
check "re-run eks-node-config re-ran the render steps" test "$(invocation eks-node-kubelet.service)" != "$step1"
check "... kubelet kept its invocation" test "$(invocation kubelet.service)" = "$kubelet0"
check "... containerd kept its invocation" test "$(invocation containerd.service)" = "$containerd0"
check "... no daemon-reload" bash -c '! journal -b _PID=1 --no-pager -o cat | grep -q "^Reloading"'

# 3. an admin fragment changes a kubelet setting
mkdir -p /etc/eks-node/node.toml.d
printf '[kubelet.config]\nmaxPods = 42\n' >/etc/eks-node/node.toml.d/90-admin.toml
# and something reset the FORWARD policy: a kubelet restart sets it again
iptables -P FORWARD DROP
timed systemctl restart eks-node-config.service
settle
check "kubelet config has the admin's value" grep -q '"maxPods": 42' /etc/kubernetes/kubelet/config.json
check "kubelet was restarted" test "$(invocation kubelet.service)" != "$kubelet0"
check "... and is active" systemctl is-active kubelet.service
check "... with the FORWARD policy set again (PartOf=kubelet.service)" \
  bash -c 'iptables -S FORWARD | grep -qx -- "-P FORWARD ACCEPT"'
check "... the step said why" eventually 60 bash -c '
  journal -b EKS_NODE_STEP=kubelet --no-pager -o cat | grep -q "outputs changed: restarting kubelet.service"'
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
  journal -b -u eks-node-config.service -p err --no-pager -o cat | grep -q "91-broken.toml"'
rm /etc/eks-node/node.toml.d/91-broken.toml
timed systemctl start eks-node.target
settle
check "after the fix, start eks-node.target brings kubelet back" systemctl is-active kubelet.service
check "... eks-node.target active again" systemctl is-active eks-node.target
check "... eks-node-failed.target stopped" bash -c '! systemctl is-active --quiet eks-node-failed.target'
check "... kubelet is a new invocation with the admin's value" bash -c "
  [[ \$(systemctl show -P InvocationID kubelet.service) != $kubelet1 ]] && grep -q '\"maxPods\": 42' /etc/kubernetes/kubelet/config.json"

# 5. settings.preflight.policy = "fail" (eks-node-preflight-gate(8)): the gate runs the checks
# before kubelet and holds it back (the API server's name does not resolve here)
printf '[settings.preflight]\npolicy = "fail"\ntimeout = "2s"\n' >/etc/eks-node/node.toml.d/92-preflight-fail.toml
timed systemctl restart eks-node-config.service
settle
check "policy fail: eks-node-config left the gate's marker" bash -c '[[ $(cat /run/eks-node/preflight-gate) == fail ]]'
check "... the gate ran and failed with exit 75, naming the endpoint and the stage" bash -c '
  [[ $(systemctl is-active eks-node-preflight-gate.service) == failed &&
    $(systemctl show -P ExecMainStatus eks-node-preflight-gate.service) == 75 ]] &&
    journal -b -u eks-node-preflight-gate.service -p err --no-pager -o cat |
    grep -q "the API server at https://example.com is unreachable: DNS: .*kubelet held back"'
check "... the report unit was skipped by its condition" \
  bash -c '[[ $(systemctl show -P ConditionResult eks-node-preflight.service) == no ]]'
check "... kubelet is stopped, eks-node-failed.target active" \
  bash -c '! systemctl is-active --quiet kubelet.service && systemctl is-active --quiet eks-node-failed.target'
rm /etc/eks-node/node.toml.d/92-preflight-fail.toml
timed systemctl restart eks-node-config.service
timed systemctl start eks-node.target
settle
check "back to warn: no marker, the gate skipped, the report ran and warned" bash -c '
  [[ ! -e /run/eks-node/preflight-gate && $(systemctl show -P ConditionResult eks-node-preflight-gate.service) == no &&
    $(systemctl is-active eks-node-preflight.service) == active ]]'
check "... kubelet active again, eks-node-failed.target stopped" \
  bash -c 'systemctl is-active --quiet kubelet.service && ! systemctl is-active --quiet eks-node-failed.target'

# 6. an admin's re-runs in overlap (eks-node(7), RE-RUNNING). The kubelet step is held at a
# gate (a file this check creates) so that the second restart meets its propagated run while
# it runs, whatever the load: a run stopped by a newer run of the same step is superseded
# (SuccessExitStatus=SIGTERM), not failed, and kubelet stays up. (A fixed sleep in the step
# raced: under load the propagated run had not started yet when the check looked.)
all_steps_active() {
  local u
  for u in eks-node-imds eks-node-config eks-node-ca eks-node-kubelet; do
    systemctl is-active --quiet "$u.service" || return 1
  done
}
mkdir -p /run/systemd/system/eks-node-kubelet.service.d
rm -f /run/eksvm-gate
printf '[Service]\nExecStart=\nExecStart=/bin/sh -c "until [ -e /run/eksvm-gate ]; do sleep 0.1; done; exec /usr/libexec/eks-node/eks-node-kubelet"\n' \
  >/run/systemd/system/eks-node-kubelet.service.d/99-slow.conf
systemctl daemon-reload
held0=$(systemctl show -P ActiveEnterTimestampMonotonic eks-node-failed.target)
timed systemctl restart eks-node-config.service
eventually 60 bash -c '[[ $(systemctl show -P ActiveState eks-node-kubelet.service) == activating ]]'
running=$(systemctl show -P ActiveState eks-node-kubelet.service)
first=$(invocation eks-node-kubelet.service)
systemctl restart --no-block eks-node-kubelet.service
# the gate opens once the newer run has begun, so the first one cannot end on its own
superseded=no
eventually 60 bash -c "[[ \$(systemctl show -P InvocationID eks-node-kubelet.service) != $first ]]" && superseded=yes
touch /run/eksvm-gate
settle
check "restart config, then the kubelet step while its propagated run runs ($running): none failed" \
  bash -c '! systemctl is-active --quiet eks-node-failed.target && [[ $(systemctl show -P Result eks-node-kubelet.service) == success ]]'
check "... the first run was stopped mid-way, not failed: eks-node-failed.target never started" \
  bash -c "[[ $running == activating && $superseded == yes && \$(systemctl show -P ActiveEnterTimestampMonotonic eks-node-failed.target) == $held0 ]]"
check "... kubelet is running, every step active" bash -c "systemctl is-active --quiet kubelet.service && $(declare -f all_steps_active); all_steps_active"
# restart imds, then config while the propagated run of config waits or runs
held1=$(systemctl show -P ActiveEnterTimestampMonotonic eks-node-failed.target)
systemctl restart --no-block eks-node-imds.service
timed systemctl restart eks-node-config.service
settle
check "restart imds then config: none failed (eks-node-failed.target never started), kubelet running" \
  bash -c "[[ \$(systemctl show -P ActiveEnterTimestampMonotonic eks-node-failed.target) == $held1 ]] && systemctl is-active --quiet kubelet.service"
rm /run/systemd/system/eks-node-kubelet.service.d/99-slow.conf
systemctl daemon-reload
# a failing fragment, then the fixed one: restarting the fixed step alone brings kubelet back
# (eks-node(7), RE-RUNNING); 26-runtime-handler-crun checks that it does not while another
# step is still failed
printf 'maxPods = [\n' >/etc/eks-node/node.toml.d/93-broken.toml
timed systemctl restart eks-node-config.service
settle
check "a failing fragment: held back" bash -c '! systemctl is-active --quiet kubelet.service && systemctl is-active --quiet eks-node-failed.target'
check "... the verdict is on the console all the same (it reads the broken fragment too)" bash -c '
  [[ $(systemctl is-active eks-node-verdict.service) != failed ]] &&
  journal -b -u eks-node-verdict.service --no-pager -o cat | grep "NOT joined" | tail -n1 | grep -q 93-broken.toml'
rm /etc/eks-node/node.toml.d/93-broken.toml
mark=$(journal_mark)
timed systemctl restart eks-node-config.service
settle
check "... the fixed one, restarting eks-node-config alone: kubelet running, every step active, eks-node.target active" \
  bash -c "systemctl is-active --quiet kubelet.service && systemctl is-active --quiet eks-node.target && $(declare -f all_steps_active); all_steps_active"
check "... started by eks-node-config's success, eks-node-failed.target stopped" bash -c "
  ! systemctl is-active --quiet eks-node-failed.target &&
  journal -b --since='$mark' -u eks-node-config.service --no-pager -o cat |
    grep -q 'no step of eks-node.target is failed now: starting eks-node.target again'"
finish
