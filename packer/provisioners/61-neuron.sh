#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Neuron variant (Inferentia, Trainium): the aws-neuronx-dkms driver and
# tools from AWS's Neuron repository; pods reach the devices through the
# Neuron device plugin with runc. Only on the AMI (dnf): untested here.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

[[ ${EKS_VARIANT:-standard} == neuron ]] || skip "variant ${EKS_VARIANT:-standard}"
[[ $(pkg_manager) == dnf ]] || die "the Neuron variant needs Amazon Linux 2023 (dnf)"

put 0644 /etc/yum.repos.d/neuron.repo <<'CONF'
[neuron]
name=AWS Neuron
baseurl=https://yum.repos.neuron.amazonaws.com
enabled=1
gpgcheck=1
gpgkey=https://yum.repos.neuron.amazonaws.com/GPG-PUB-KEY-AMAZON-AWS-NEURON.PUB
CONF
pkg_install kernel-devel aws-neuronx-dkms aws-neuronx-tools
