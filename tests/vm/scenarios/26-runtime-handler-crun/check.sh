#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016 # code passed to `bash -c` in single quotes expands in the guest, on purpose
# Runtime handlers as configuration (eks-node.toml(5), RUNTIME HANDLERS) on the sid image:
# - "crun" from an image fragment (files/usr/lib/eks-node/node.toml.d/20-crun.toml), its
#   module vhost_vsock loaded by modprobe@vhost_vsock.service before containerd first started;
# - "crun-ud" from user data (a TOML part), its module vhost_net loaded before the containerd
#   that runs the config.toml naming it (eks-node-containerd's restart pulls it in);
# - the stub kubelet ran a pod with each over CRI, and a pod of "crun" runs under crun (its
#   state is crun's, in the handler's Root, which runc cannot read);
# - `eks-node runtime-class` prints the RuntimeClasses, `validate` checks binaries and modules;
# - an admin's handler whose binary is missing fails closed: eks-node-containerd exits 6
#   naming it, config.toml keeps not naming it, kubelet is held back.
# Runs inside the guest (see tests/vm/README.md).
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../../guest/check-lib.sh
source "$EKSVM_IN/check-lib.sh"

{
  echo "containerd: $(containerd --version)"
  echo "crun: $(crun --version | head -n1)"
  echo "kernel: $(uname -r)"
} | tee "${EKSVM_OUT:?}/versions.txt"
check "boot finished cleanly (state: $EKSVM_SYSTEM_STATE)" test "$EKSVM_SYSTEM_STATE" = running
check "the node joined: eks-node.target and kubelet active, eks-node-failed.target not" joined

# --- the modules, loaded by systemd before containerd -------------------------------------
dropin=/run/systemd/generator/containerd.service.d/50-eks-node-runtime-modules.conf
check "the generator's containerd drop-in wants and orders after modprobe@ of both modules" bash -c "
  cat $dropin && grep -qx Wants=modprobe@vhost_vsock.service $dropin && grep -qx After=modprobe@vhost_vsock.service $dropin &&
  grep -qx Wants=modprobe@vhost_net.service $dropin && grep -qx After=modprobe@vhost_net.service $dropin"
check "both modules are loaded (/sys/module)" test -d /sys/module/vhost_vsock -a -d /sys/module/vhost_net
check "modprobe@vhost_vsock and modprobe@vhost_net succeeded (their modprobe exited 0)" bash -c '
  for m in vhost_vsock vhost_net; do
    systemctl show -p Result,ExecMainStatus,ExecMainStartTimestampMonotonic modprobe@$m.service
    [[ $(systemctl show -P Result modprobe@$m.service) == success &&
       $(systemctl show -P ExecMainStatus modprobe@$m.service) == 0 &&
       $(systemctl show -P ExecMainStartTimestampMonotonic modprobe@$m.service) != 0 ]] || exit 1
  done'
# The monotonic time (µs since boot) of the first (or last) line of PID 1 matching TEXT, whatever
# its transport: the messages of early boot reach the journal through kmsg, without the unit
# fields `journalctl -u` matches.
pid1_mono() { # first|last TEXT
  journal -b -o short-monotonic --no-pager --no-hostname |
    grep -F "systemd[1]: $2" | { if [[ $1 == first ]]; then head -n1; else tail -n1; fi; } |
    sed -E 's/^\[ *([0-9]+)\.([0-9]{6})\].*/\1\2/'
}
check "the image's module: modprobe@vhost_vsock loaded it (its condition, not already loaded, held) and finished before containerd first started" bash -c "
  $(declare -f pid1_mono)
  journal -b -o short-monotonic --no-pager --no-hostname | grep -F 'systemd[1]: ' | grep -m1 -F 'modprobe@vhost_vsock.service' |
    tee -a '$EKSVM_OUT/evidence.txt' | grep -qF 'systemd[1]: Starting modprobe@vhost_vsock.service'
  ok=\$?
  m=\$(pid1_mono first 'Finished modprobe@vhost_vsock.service'); c=\$(pid1_mono first 'Starting containerd.service')
  echo \"modprobe@vhost_vsock finished at \${m}us, containerd first starting at \${c}us\" | tee -a '$EKSVM_OUT/evidence.txt'
  ((ok == 0)) && [[ -n \$m && -n \$c ]] && ((10#\$m < 10#\$c))"
check "user data's module: modprobe@vhost_net finished before the containerd that runs crun-ud started" bash -c "
  $(declare -f pid1_mono)
  m=\$(pid1_mono first 'Finished modprobe@vhost_net.service'); c=\$(pid1_mono last 'Starting containerd.service')
  s=\$(systemctl show -P ExecMainStartTimestampMonotonic containerd.service)
  echo \"modprobe@vhost_net finished at \${m}us, containerd last starting at \${c}us, its process at \${s}us\" | tee -a '$EKSVM_OUT/evidence.txt'
  [[ -n \$m && -n \$c ]] && ((10#\$m < 10#\$c && 10#\$m < s)) && grep -q 'runtimes.crun-ud' /etc/containerd/config.toml"
containerd_started 2 # at boot on the image's config.toml, then on the one naming crun-ud

# --- the handlers in containerd, and pods under them ---------------------------------------
check "containerd runs both handlers, crun's binary /usr/bin/crun" bash -c '
  containerd config dump >/run/eksvm-config-dump.toml && cp /run/eksvm-config-dump.toml "$EKSVM_OUT/config-dump.toml" &&
  python3 - /run/eksvm-config-dump.toml <<PY
import sys, tomllib
c = tomllib.load(open(sys.argv[1], "rb"))["plugins"]["io.containerd.cri.v1.runtime"]["containerd"]["runtimes"]
for name, root in (("crun", "/run/eksvm-crun"), ("crun-ud", "/run/eksvm-crun-ud")):
    o = c[name]["options"]
    print(name, c[name]["runtime_type"], o["BinaryName"], o["Root"])
    assert c[name]["runtime_type"] == "io.containerd.runc.v2" and o["BinaryName"] == "/usr/bin/crun" and o["Root"] == root
assert c["crun"]["pod_annotations"] == ["run.oci.*"]
PY'
check "the stub kubelet ran a pod with the default handler, crun and crun-ud" cri_pods "" crun crun-ud
# A pod of handler crun, kept running while its runtime state is read: crun lists it under the
# handler's Root (the shim's --root is Root/NAMESPACE), runc does not (it is crun's state, not
# runc's state.json).
crun_pod() {
  python3 - <<'PY' | tee -a "$EKSVM_OUT/evidence.txt"
import json, subprocess, sys, uuid
sys.path.insert(0, "/usr/lib/eksvm")
import cri
client = cri.Client("unix:///run/containerd/containerd.sock", lambda line: None)
uid = str(uuid.uuid4())
sandbox = {"metadata": {"name": "eksvm-crun-check", "uid": uid, "namespace": "kube-system", "attempt": 0},
           "linux": {"cgroup_parent": cri.cgroup_parent("systemd", uid),
                     "security_context": {"namespace_options": {"network": "NODE", "pid": "CONTAINER", "ipc": "POD"}}}}
sid = client.call("RunPodSandbox", {"config": sandbox, "runtime_handler": "crun"}, timeout=120)["pod_sandbox_id"]
try:
    root = "/run/eksvm-crun/k8s.io"
    crun = subprocess.run(["crun", "--root", root, "list", "-q"], capture_output=True, text=True)
    state = json.loads(subprocess.run(["crun", "--root", root, "state", sid], capture_output=True, text=True).stdout or "{}")
    runc = subprocess.run(["runc", "--root", root, "list", "-q"], capture_output=True, text=True)
    print(f"sandbox {sid}: crun --root {root} list: {crun.stdout.split()}; crun state: {state.get('status')}, "
          f"pid {state.get('pid')}; runc --root {root} list: {runc.stdout.split()} (exit {runc.returncode})")
    ok = sid in crun.stdout.split() and state.get("status") == "running" and sid not in runc.stdout.split()
finally:
    client.call("StopPodSandbox", {"pod_sandbox_id": sid})
    client.call("RemovePodSandbox", {"pod_sandbox_id": sid})
sys.exit(0 if ok else 1)
PY
}
check "a pod of handler crun runs under crun: crun lists it in the handler's Root, runc does not" crun_pod

# --- the operator's view ----------------------------------------------------------------------
check "eks-node runtime-class prints a RuntimeClass per handler" bash -c '
  out=$(eks-node runtime-class --node-selector=eks-node/runtime=crun); echo "$out"
  [[ $(grep -c "^kind: RuntimeClass$" <<<"$out") == 2 ]] && grep -qx "handler: crun" <<<"$out" &&
  grep -qx "handler: crun-ud" <<<"$out" && grep -q "eks-node/runtime: \"crun\"" <<<"$out"'
check "eks-node validate checks each handler's binary and module" bash -c '
  out=$(eks-node validate); echo "$out" | grep "runtime handler"
  grep -qx "ok    runtime handler crun: /usr/bin/crun" <<<"$out" &&
  grep -qx "ok    runtime handler crun: kernel module vhost_vsock" <<<"$out" &&
  grep -qx "ok    runtime handler crun-ud: kernel module vhost_net" <<<"$out"'
check "eks-node config check passes on the node" eks-node config check
# finish checks kubelet's authentication only where kubelet runs at the end; here the node
# ends held back (below), so now
check "kubelet authenticated: eks-node get-token's token, its signature verified by the fake STS with botocore" \
  auth_ok

# --- a missing binary fails closed -----------------------------------------------------------
# An admin adds a handler whose binary the image does not have, and re-runs the chain.
mkdir -p /etc/eks-node/node.toml.d
cat >/etc/eks-node/node.toml.d/90-vendor.toml <<'TOML'
[settings.runtimes.vendor]
type = "io.containerd.vendor.v1"
binary = "/opt/vendor/bin/containerd-shim-vendor-v1"
TOML
config_before=$(sha256sum /etc/containerd/config.toml)
containerd_pid=$(systemctl show -P MainPID containerd.service)
check "eks-node config check refuses it (exit 6), naming the handler and the path" bash -c '
  out=$(eks-node config check 2>&1); rc=$?; echo "$out (exit $rc)"
  ((rc == 6)) && grep -q "settings.runtimes.vendor.binary: /opt/vendor/bin/containerd-shim-vendor-v1 does not exist" <<<"$out"'
rm -rf /run/stub-kubelet
mark=$(journal_mark)
systemctl restart eks-node-config.service >/dev/null 2>&1
fails_closed "missing runtime binary" eks-node-containerd.service 6 0 \
  "^containerd: /etc/eks-node/node.toml.d/90-vendor.toml: settings.runtimes.vendor.binary: /opt/vendor/bin/containerd-shim-vendor-v1 does not exist on this node$" "$mark"
# the steps that succeeded beside it do not start the node again while it is failed (a rule
# that did, on any re-run's success, re-ran this step in a loop: eks-node(7), RE-RUNNING)
jobs_settled 120
check "held back for good: eks-node-containerd ran once after the restart, no step started eks-node.target again" bash -c "
  n=\$(journal -b --since='$mark' --no-pager -o cat _PID=1 | grep -c 'Starting eks-node-containerd.service')
  echo \"eks-node-containerd started \$n times\"
  ((n == 1)) && ! journal -b --since='$mark' --no-pager -o cat | grep -q 'starting eks-node.target again' &&
    ! systemctl is-active --quiet kubelet.service && systemctl is-active --quiet eks-node-failed.target"
check "config.toml was not rewritten (names no vendor handler), containerd not restarted on it" bash -c "
  [[ \$(sha256sum /etc/containerd/config.toml) == '$config_before' ]] && ! grep -q vendor /etc/containerd/config.toml &&
  [[ \$(systemctl show -P MainPID containerd.service) == $containerd_pid ]]"
rm /etc/eks-node/node.toml.d/90-vendor.toml
# what the checks above saw, also when they passed
sed 's/^/# evidence: /' "$EKSVM_OUT/evidence.txt"
finish
