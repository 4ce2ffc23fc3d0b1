#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016 # code passed to `bash -c` in single quotes expands in the guest, on purpose
# The sid image (VM_FLAVOUR=sid): eks-node's whole chain on containerd 2.1, runc 1.3, systemd
# 262 and Debian 13's kernel 6.12. containerd runs the schema 3 config.toml eks-node wrote
# (every key we wrote is in `containerd config dump` with our value), and the stub kubelet
# drove it over CRI (finish's cri check) with the default runtime handler and a named one an
# admin fragment adds (which only the running daemon's config can have: `containerd config
# dump` reads the file).
# Runs inside the guest (see tests/vm/README.md).
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../../guest/check-lib.sh
source "$EKSVM_IN/check-lib.sh"

# the stack, recorded (artifacts/versions.txt) and printed
{
  echo "containerd: $(containerd --version)"
  echo "runc: $(runc --version | head -n1)"
  echo "systemd: $(systemctl --version | head -n1)"
  echo "kernel: $(uname -r)"
  echo "soci-snapshotter: $(dpkg-query -W -f='${Version}' soci-snapshotter)"
} | tee "${EKSVM_OUT:?}/versions.txt"
check "the sid stack: containerd 2.1, runc 1.3" bash -c "
  grep -E '^containerd: .* v?2\.1\.' '$EKSVM_OUT/versions.txt' && grep -E '^runc: runc version 1\.3\.' '$EKSVM_OUT/versions.txt'"
check "soci-snapshotter is installed, not started (FastImagePull is off; 31-fast-image-pull turns it on)" bash -c "test -x /usr/bin/soci-snapshotter-grpc && ! systemctl is-active soci-snapshotter.service"
check "boot finished cleanly (state: $EKSVM_SYSTEM_STATE)" test "$EKSVM_SYSTEM_STATE" = running
check "the node joined: eks-node.target and kubelet active, eks-node-failed.target not" joined
for unit in eks-node-imds eks-node-config eks-node-system eks-node-ca eks-node-kubelet eks-node-containerd; do
  check "$unit succeeded" bash -c "[[ \$(systemctl show -P Result $unit.service) == success ]]"
done
check "containerd is active and runs eks-node's config.toml, configuration version 3" bash -c '
  systemctl is-active containerd.service && grep -qx "version = 3" /etc/containerd/config.toml'
# Every leaf key of what eks-node wrote is in what containerd runs, with our value.
config_in_dump() {
  containerd config dump >/run/eksvm-config-dump.toml || return 1
  cp /run/eksvm-config-dump.toml "$EKSVM_OUT/config-dump.toml"
  python3 - /etc/containerd/config.toml /run/eksvm-config-dump.toml <<'PY'
import sys, tomllib
ours, dump = (tomllib.load(open(p, "rb")) for p in sys.argv[1:3])
def leaves(doc, path=()):
    for k, v in doc.items():
        if isinstance(v, dict) and v:
            yield from leaves(v, path + (k,))
        else:
            yield path + (k,), v
bad = n = 0
for path, value in leaves(ours):
    n += 1
    have = dump
    for k in path:
        have = have.get(k, KeyError) if isinstance(have, dict) else KeyError
    if have != value:
        bad += 1
        print(f"{'.'.join(path)}: we wrote {value!r}, containerd runs {'(absent)' if have is KeyError else repr(have)}")
print(f"{n} keys written, {bad} differ or are missing in containerd config dump")
sys.exit(1 if bad else 0)
PY
}
check "containerd config dump has every key eks-node wrote, with our value" config_in_dump
check "the admin fragment's runtime handler is in the config containerd runs" \
  grep -q 'runtimes.eksvm-runc' /run/eksvm-config-dump.toml
check "the pause image is cached and pinned (80-pause-image at image build)" bash -c '
  ctr -n k8s.io images ls | grep -E "^localhost/kubernetes/pause:latest .*io.cri-containerd.pinned=pinned"'
check "the stub kubelet ran a pod with the named handler too" cri_pods "" eksvm-runc
finish
