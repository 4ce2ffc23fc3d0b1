#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The SOCI snapshotter, for the FastImagePull feature gate (eks-node-containerd(8)):
# the distribution's package, and its unit where the package ships none
# (Debian's does not; AL2023's does, and is left alone).
#
# Not enabled: nothing starts it unless the gate is on. Then eks-node-generator
# makes containerd.service require it and start after it is ready
# (containerd.service.d/50-eks-node-soci.conf). soci-snapshotter-grpc binds its
# socket itself (0.4.1 takes no socket from systemd), so there is no .socket unit.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

[[ ${EKS_SOCI_SNAPSHOTTER:-true} == true ]] || skip "EKS_SOCI_SNAPSHOTTER is not true"
# pigz: from release 0.10 its parallel pull decompresses gzip layers with unpigz, which
# the configuration eks-node-containerd writes names (/usr/bin/unpigz)
pkg_install soci-snapshotter pigz
[[ -x /usr/bin/soci-snapshotter-grpc ]] || die "soci-snapshotter installed no /usr/bin/soci-snapshotter-grpc"
# eks-node-containerd writes its config.toml there and may create no directory
# under /etc (its Landlock rules); Debian's package has none
if [[ ! -d /etc/soci-snapshotter-grpc ]]; then
  install -d -m 0755 /etc/soci-snapshotter-grpc
  log "made /etc/soci-snapshotter-grpc"
fi

if [[ -e /usr/lib/systemd/system/soci-snapshotter.service || -e /lib/systemd/system/soci-snapshotter.service ]]; then
  log "the package ships soci-snapshotter.service: kept"
  exit 0
fi
put 0644 /usr/lib/systemd/system/soci-snapshotter.service <<'UNIT'
# Installed by the eks-node image build: the SOCI snapshotter's package ships no unit.
[Unit]
Description=SOCI snapshotter, containerd's proxy snapshotter for FastImagePull
Documentation=man:eks-node-containerd(8)
# containerd.service requires this unit and starts after it when
# derived.sociSnapshotter is true (eks-node-generator(8)); nothing else starts it
Before=containerd.service
# its FUSE mounts and state live on the instance store when that is set up
After=local-fs.target

[Service]
# READY=1 once its gRPC socket serves: containerd's proxy plugin may connect
Type=notify
ExecStart=/usr/bin/soci-snapshotter-grpc
Restart=always
RestartSec=5
# its FUSE daemons serve mounted layers: stopping them under a running
# container would break the container's root file system
KillMode=process
Delegate=yes
OOMScoreAdjust=-999
LimitNOFILE=1048576
Slice=runtime.slice
UNIT
