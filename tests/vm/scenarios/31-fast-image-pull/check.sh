#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016 # code passed to `bash -c` in single quotes expands in the guest, on purpose
# FastImagePull on the sid image (VM_FLAVOUR=sid, 4 vCPUs, 7.5 GiB): eks-node-config turned the
# gate into derived.sociSnapshotter, the generator made containerd require the SOCI snapshotter
# (started first, Type=notify) and eks-node-pause-image.service import the cached pause image
# (checked by content first) into it, containerd's CRI
# unpacks and runs through it. A real lazy pull too: the in-guest registry (soci.eksvm.test:5001,
# TLS, trusted through settings.trust: soci-setup.sh) serves an image with a 4 MiB layer; at
# boot eks-node-prepull pulls it whole (no SOCI index yet); then a SOCI index made here with
# the snapshotter's own CLI (soci create, soci push) is found through the registry's referrers
# API, and eks-node-prepull's pull through containerd's CRI again mounts the layer remote
# (FUSE), fetching by range only what is read. Not exercised: the parallel pull mode of 0.10+
# (Debian packages 0.4.1 only; its configuration is golden-checked), and kubelet's image
# service through the snapshotter (0.4.1 proxies CRI v1alpha2 only).
# Runs inside the guest (see tests/vm/README.md).
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../../guest/check-lib.sh
source "$EKSVM_IN/check-lib.sh"

soci_socket=/run/soci-snapshotter-grpc/soci-snapshotter-grpc.sock
echo "soci-snapshotter: $(soci-snapshotter-grpc --version)" | tee "${EKSVM_OUT:?}/versions.txt"
check "boot finished cleanly (state: $EKSVM_SYSTEM_STATE)" test "$EKSVM_SYSTEM_STATE" = running
check "the node joined: eks-node.target and kubelet active, eks-node-failed.target not" joined
check "eks-node-config decided: the gate applies on 4 CPUs and 7.5 GiB" bash -c '
  python3 -c "import json; c = json.load(open(\"/run/eks-node/config.json\"));
print(c[\"origins\"][\"/derived/sociSnapshotter\"]); assert c[\"derived\"][\"sociSnapshotter\"] is True
assert c[\"machine\"][\"sociSnapshotterVersion\"] == \"0.4.1\""'
check "the generator made containerd require the snapshotter, and a unit of its own import the pause image" bash -c '
  f=/run/systemd/generator/containerd.service.d/50-eks-node-soci.conf u=/run/systemd/generator/eks-node-pause-image.service
  grep -qx "Requires=soci-snapshotter.service" $f && grep -qx "After=soci-snapshotter.service" $f && ! grep -q ExecStartPost $f &&
  grep -qx "ExecStartPre=/usr/bin/eks-node check-archive /etc/eks/pause.tar" $u &&
  grep -qx "ExecStart=/usr/bin/ctr --namespace k8s.io images import --local --snapshotter soci /etc/eks/pause.tar" $u &&
  test -L /run/systemd/generator/containerd.service.wants/eks-node-pause-image.service'
check "eks-node-pause-image.service ran after containerd, its check found the archive whole" bash -c '
  systemctl is-active eks-node-pause-image.service &&
  journal -b -u eks-node-pause-image.service -o cat | grep "^/etc/eks/pause.tar: whole: localhost/kubernetes/pause:latest"'
# The steps restart containerd at boot here (its configuration, settings.trust), and each
# restart stopped an import under way (PartOf=); one stopped while it unpacked left the
# snapshotter hanging every later unpack and pull. It starts once, after them.
check "... started once this boot, after the steps that restart containerd: none cut it short" bash -c '
  journal -b -u eks-node-pause-image.service MESSAGE_ID=7d4958e842da4a758f6c1cdc7b36dcc5 -o cat | tee /dev/stderr | wc -l | grep -qx 1 &&
  test "$(journal -b -u eks-node-config.service -u eks-node-containerd.service -u eks-node-ca.service -o cat |
    grep -cE "(restarting|: starting) containerd.service")" -ge 1'
check "soci-snapshotter.service is active (Type=notify: it said READY) and serves its socket" bash -c "
  systemctl is-active soci-snapshotter.service && [[ \$(systemctl show -P Type soci-snapshotter.service) == notify ]] &&
  test -S $soci_socket"
# the ordering as it happened, not as written: the snapshotter was ready before containerd started
soci_then_containerd() {
  local ready start
  ready=$(systemctl show -P ActiveEnterTimestampMonotonic soci-snapshotter.service)
  start=$(systemctl show -P ExecMainStartTimestampMonotonic containerd.service)
  echo "soci-snapshotter active at ${ready} us, containerd's main process started at ${start} us"
  ((ready > 0 && start > ready))
}
check "containerd started after the snapshotter was ready" soci_then_containerd
check "eks-node wrote the 0.4.1 configuration: its own content store, no parallel pull mode" bash -c '
  grep -q "^type = \"soci\"" /etc/soci-snapshotter-grpc/config.toml && ! grep -q pull_modes /etc/soci-snapshotter-grpc/config.toml'
check "containerd runs with the soci proxy plugin as the CRI's snapshotter" bash -c "
  containerd config dump >/run/eksvm-dump.toml && cp /run/eksvm-dump.toml '$EKSVM_OUT/config-dump.toml' &&
  python3 -c \"import tomllib; d = tomllib.load(open('/run/eksvm-dump.toml', 'rb'))
assert d['plugins']['io.containerd.cri.v1.images']['snapshotter'] == 'soci', 'snapshotter'
assert d['proxy_plugins']['soci']['address'] == '$soci_socket', 'address'\" &&
  ctr plugins ls | grep -E 'io.containerd.snapshotter.v1 +soci +.* ok'"
check "the pause image is unpacked in the snapshotter (imported from /etc/eks/pause.tar, no registry)" bash -c '
  ctr -n k8s.io snapshots --snapshotter soci ls | tee /dev/stderr | grep -q Committed'
# Debian's 0.4.1 proxies the CRI image service (for its keychain) as CRI v1alpha2 only; kubelet
# 1.26+ speaks v1, so eks-node leaves kubelet's image service on containerd before 0.10.
check "0.4.1's socket serves no CRI v1 image service (why kubelet is not pointed at it)" bash -c "
  python3 -c \"import sys; sys.path.insert(0, '/usr/lib/eksvm'); import cri
c = cri.Client('unix://$soci_socket', print)
try:
    c.call('ImageStatus', {'image': {'image': 'localhost/kubernetes/pause:latest'}}); sys.exit(1)
except cri.CallFailed as e:
    sys.exit(0 if 'UNIMPLEMENTED' in str(e) else 1)\""
check "kubelet's image service stays containerd's (no imageServiceEndpoint for 0.4.1)" bash -c "
  ! grep -q imageServiceEndpoint /etc/kubernetes/kubelet/config.json"
# A pod of our own, over CRI as kubelet runs one: while its container runs, its root file
# system is an overlay of the snapshotter's snapshots (not containerd's overlayfs snapshotter's).
rootfs_from_soci() {
  python3 - <<'PY'
import sys
sys.path.insert(0, "/usr/lib/eksvm")
import cri

def mounts(container_id):
    for line in open("/proc/self/mountinfo"):
        if container_id in line and "/rootfs " in line:
            return line.strip()
    return ""

client = cri.Client("unix:///run/containerd/containerd.sock", print)
r = cri.pod_cycle(client, "", "localhost/kubernetes/pause:latest", "systemd", print, while_running=mounts)
line = r.get("while_running", "")
print("pod:", "ok" if r["ok"] else r.get("error"), "| rootfs:", line)
sys.exit(0 if r["ok"] and "/var/lib/soci-snapshotter-grpc/" in line else 1)
PY
}
check "a pod's container runs on the snapshotter's snapshots" rootfs_from_soci

# A lazy pull from a SOCI index, through eks-node-prepull (containerd's CRI, snapshotter soci)
ref=soci.eksvm.test:5001/eksvm/soci:v1
reg_log=/run/eksvm-soci-registry.log
layer=$(python3 -c '
import json, ssl, urllib.request
ctx = ssl.create_default_context(cafile="/run/eksvm-soci/ca.pem")
req = urllib.request.Request("https://soci.eksvm.test:5001/v2/eksvm/soci/manifests/v1",
                             headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
m = json.load(urllib.request.urlopen(req, context=ctx))
config = json.load(urllib.request.urlopen(
    "https://soci.eksvm.test:5001/v2/eksvm/soci/blobs/" + m["config"]["digest"], context=ctx))
# one layer: its snapshot is named by its chain ID, which for the first layer is its diff ID
print(m["layers"][0]["digest"], m["layers"][0]["size"], config["rootfs"]["diff_ids"][0])')
read -r layer layer_size chain <<<"$layer"
check "at boot, with no SOCI index yet: eks-node-prepull pulled $ref whole" bash -c '
  journal -b -u eks-node-prepull.service -o cat | grep -F "pulled '"$ref"'" &&
  grep -E "^5001 GET /v2/eksvm/soci/blobs/'"$layer"' 200 " '"$reg_log"
check "soci create: a zTOC for the layer (its blobs fetched again: the CRI discards them once unpacked)" bash -c '
  ctr -n k8s.io content fetch '"$ref"' >/dev/null &&
  soci -n k8s.io create --min-layer-size 0 --span-size 1048576 '"$ref"' | tee /dev/stderr | grep -F "layer '"$layer"' -> ztoc"'
check "soci push: the index and its zTOC pushed to the registry" soci -n k8s.io push "$ref"
check "the image, its local snapshots and the local index record removed (a pull must find the registry's)" bash -c '
  for i in $(soci -n k8s.io index list -q); do soci -n k8s.io index rm "$i" || exit 1; done
  refs=$(ctr -n k8s.io images ls | awk -v d="$(ctr -n k8s.io images ls | awk -v r='"$ref"' "\$1 == r { print \$3 }")" \
    "NR > 1 && \$3 == d { print \$1 }")
  echo "removing: $refs"; [[ -n $refs ]] && ctr -n k8s.io images rm --sync $refs >/dev/null &&
  ! ctr -n k8s.io snapshots --snapshotter soci ls | grep "^'"$chain"' "'
# soci-snapshotter 0.4.1 keeps the outcome of its first index lookup per image digest for as long
# as it runs, a failure too (fs.go: sociContext's fetchOnce and cachedErr): the boot's lookup found
# none, so the index pushed since is used once it restarts (containerd, which requires it, with
# it). On a node the index is in the registry before the image's first pull.
check "soci-snapshotter restarted (it remembers the boot's failed lookup), containerd with it" bash -c '
  systemctl restart soci-snapshotter.service && systemctl is-active soci-snapshotter.service containerd.service'
pushed=$(wc -l <"$reg_log")
mark=$(journal_mark)
check "eks-node-prepull pulls $ref again" bash -c '
  systemctl restart eks-node-prepull.service &&
  journal --since "'"$mark"'" -u eks-node-prepull.service -o cat | grep -F "pulled '"$ref"'"'
check "... the snapshotter found the index by the referrers API and prepared the layer remote" bash -c '
  tail -n +'"$((pushed + 1))"' '"$reg_log"' | grep -E "^5001 GET /v2/eksvm/soci/referrers/[^ ]* 200 " &&
  journal --since "'"$mark"'" -u soci-snapshotter.service -o cat | grep "remote snapshot successfully prepared"'
remote_snapshot() {
  ctr -n k8s.io snapshots --snapshotter soci info "$chain" | tee /dev/stderr | python3 -c '
import json, sys
labels = json.load(sys.stdin)["Labels"]
sys.exit(0 if labels.get("containerd.io/snapshot/remote") == "remote snapshot" and
         labels.get("containerd.io/snapshot/cri.image-ref") == sys.argv[1] else 1)' "$ref"
}
check "... the snapshotter's own state marks the image's layer a remote snapshot" remote_snapshot
fuse_root() { awk '$9 == "fuse.rawBridge" && $5 ~ "^/var/lib/soci-snapshotter-grpc/snapshotter/snapshots/[0-9]+/fs$" { print $5 }' /proc/self/mountinfo | head -n 1; }
fuse_mounted() { local r; r=$(fuse_root); [[ -n $r ]] && ls -l "$r"; }
check "... mounted by FUSE (fuse.rawBridge), not unpacked" fuse_mounted
check "... no whole GET of the layer since the index was pushed" bash -c '
  ! tail -n +'"$((pushed + 1))"' '"$reg_log"' | grep -E "^5001 GET /v2/eksvm/soci/blobs/'"$layer"' 200 "'
lazy_read() {
  local root
  root=$(fuse_root)
  # the file's first 64 bytes: registry.py's filler, SHA-256 of "eksvm 0" then of "eksvm 1"
  python3 - "$root/eksvm-filler.bin" <<'PY'
import hashlib, sys
want = hashlib.sha256(b"eksvm 0").digest() + hashlib.sha256(b"eksvm 1").digest()
sys.exit(0 if open(sys.argv[1], "rb").read(64) == want else 1)
PY
}
check "64 bytes read from the layer are the registry's bytes" lazy_read
# Counted from the push, not from the read: the snapshotter may fetch the span the read needs
# before it (it did once, 2026-11-29); what matters is that what it fetched is less than the layer
check "... fetched by range since the index was pushed: spans of the ${layer_size}-byte layer, not all of it" bash -c '
  ranges=$(tail -n +'"$((pushed + 1))"' '"$reg_log"' | grep -E "^5001 GET /v2/eksvm/soci/blobs/'"$layer"' 206 .* range=[0-9]+-[0-9]+$")
  echo "$ranges"; total=0
  while read -r line; do r=${line##*range=}; total=$((total + ${r#*-} - ${r%-*} + 1)); done <<<"$ranges"
  echo "bytes fetched: $total"; (( total > 2 && total < '"$layer_size"' ))'

# A cached archive cut short, as the sid image build once shipped one (issue 33: 200,192 of
# 311,296 bytes, in the middle of a blob): refused by name in eks-node-pause-image.service;
# containerd.service stays up for everything else (it was an ExecStartPost= of containerd's,
# which failed and restarted containerd in a loop)
cp /etc/eks/pause.tar /run/eksvm-pause.tar.whole
size=$(stat -c %s /etc/eks/pause.tar)
head -c $((size * 200192 / 311296 / 512 * 512)) /run/eksvm-pause.tar.whole >/etc/eks/pause.tar
mark=$(journal_mark)
systemctl restart containerd.service # PartOf=: the import runs again with it
pause_unit_failed() { [[ $(systemctl show -P ActiveState eks-node-pause-image.service) == failed ]]; }
check "a cut-short pause archive: eks-node-pause-image.service failed" eventually 60 pause_unit_failed
check "... with one line naming the archive and saying it is cut short, before ctr saw it" bash -c '
  j=$(journal --since "'"$mark"'" -u eks-node-pause-image.service -o cat); echo "$j"
  test "$(grep -c "/etc/eks/pause.tar: cut short: " <<<"$j")" = 1 && ! grep -q "ctr: " <<<"$j"'
check "... and containerd.service stays active, started once for that restart" bash -c '
  systemctl is-active containerd.service &&
  test "$(journal --since "'"$mark"'" -u containerd.service MESSAGE_ID=39f53479d3a045ac8e11786248231fbf -o cat | wc -l)" = 1'
cp /run/eksvm-pause.tar.whole /etc/eks/pause.tar
check "the archive put back: eks-node-pause-image.service imports it again" systemctl restart eks-node-pause-image.service
finish
