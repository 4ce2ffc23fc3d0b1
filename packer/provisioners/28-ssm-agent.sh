#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The SSM agent (Session Manager, Run Command: how AWS Support and most runbooks reach a
# node without SSH), as nodeadm's AL2023 AMI installs it, and the drop-in that keeps it alive
# under memory pressure: OOMScoreAdjust=-999, below every pod's score (kubelet gives
# Guaranteed pods -997), so the kernel's OOM killer takes pods first and the way in to
# debug the node stays open (amazon-eks-ami #2175; nodeadm's AMI has the same drop-in).
#
# Debian packages no amazon-ssm-agent: the VM test image gets the drop-in only, and its
# scenario 00-smoke checks it on a stand-in unit of that name.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

native=$(pkg_name amazon-ssm-agent) || exit 1
if [[ -n $native ]]; then
  pkg_install amazon-ssm-agent
else
  log "amazon-ssm-agent is not packaged here: its OOM-score drop-in only"
fi

put 0644 /etc/systemd/system/amazon-ssm-agent.service.d/00-oom-score.conf <<'CONF'
# Installed by the eks-node image build: the OOM killer takes pods before the agent,
# the way to debug a node under memory pressure (amazon-eks-ami #2175).
[Service]
OOMScoreAdjust=-999
CONF
