#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Logs that are not pod logs (kubelet rotates those): a bounded journal, which
# holds kubelet's and containerd's output, and logrotate for the plain files
# node agents still write under /var/log.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

put 0644 /etc/systemd/journald.conf.d/50-eks-node.conf <<'CONF'
# Installed by the eks-node image build: the journal must not fill the root volume.
[Journal]
SystemMaxUse=1G
SystemMaxFileSize=100M
CONF

put 0644 /etc/logrotate.d/eks-node <<'CONF'
# Installed by the eks-node image build.
/var/log/kube-proxy.log /var/log/aws-routed-eni/*.log {
    daily
    rotate 5
    maxsize 100M
    compress
    delaycompress
    missingok
    notifempty
    copytruncate
}
CONF
