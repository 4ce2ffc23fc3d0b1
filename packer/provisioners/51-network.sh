#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The network interfaces, the AL2023 way, without amazon-ec2-net-utils.
#
# AL2023's amazon-ec2-net-utils gives every ENI DHCP (80-ec2.network) and, on
# each hot-plug, routes and rules of its own, racing the VPC CNI for the ENIs
# the CNI attaches and flushing its routes. It goes (on AL2023 it is
# amazon-ec2-net-utils, on AL2 ec2-net-utils). What it did for the ENIs that
# are the OS's is eks-node-network's, installed by 30-eks-node with the rest of
# eks-node (eks-node-network(8)):
#   /usr/lib/systemd/network/80-eks-node-ec2.network    DHCP for EC2 interfaces until each has its file
#   /usr/lib/udev/rules.d/90-eks-node-network.rules     eks-node-network@NAME.service per interface:
#                                                       its own 70-eks-node-NAME.network (route table,
#                                                       policy rules, MTU 9001) or Unmanaged=yes for
#                                                       the ENIs the VPC CNI attaches after the join
#   /usr/lib/systemd/network/99-default.link.d/50-eks-node.conf   MACAddressPolicy=none (the CNI's veths)
#   /usr/lib/sysctl.d/67-eks-node-reserved-ports.conf   ports of host-network add-ons out of the ephemeral range
# Here: systemd-networkd is the network manager, and it leaves the routes and
# rules the VPC CNI adds alone.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

put 0644 /etc/systemd/networkd.conf.d/80-eks-node.conf <<'CONF'
# Installed by the eks-node image build: routes and rules the VPC CNI adds are its own.
[Network]
ManageForeignRoutes=no
ManageForeignRoutingPolicyRules=no
CONF
pkg_remove amazon-ec2-net-utils ec2-net-utils
# networkd configures the interfaces from the files above (AL2023 enables it;
# a Debian build image may not)
systemctl enable systemd-networkd.service
