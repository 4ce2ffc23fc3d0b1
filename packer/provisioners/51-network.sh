#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The VPC CNI owns the routes and policy rules of pod ENIs. Keep the OS
# network stack from removing or re-creating them: systemd-networkd must not
# manage foreign routes and rules, and the AL2-era ec2-net-utils (which
# configured every hot-plugged ENI itself) must not be installed.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

put 0644 /etc/systemd/networkd.conf.d/80-eks-node.conf <<'CONF'
# Installed by the eks-node image build: routes and rules the VPC CNI adds are its own.
[Network]
ManageForeignRoutes=no
ManageForeignRoutingPolicyRules=no
CONF
pkg_remove ec2-net-utils
