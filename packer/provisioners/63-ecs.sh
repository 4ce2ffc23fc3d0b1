#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# ECS variant: an Amazon ECS container instance instead of an EKS node (docs/configuration.md,
# "An ECS container instance"). Docker runs the tasks, ecs-init brings the ECS agent's unit
# (ecs.service), both AL2023 packages; the image default settings.node = "ecs" makes
# eks-node-generator pull in ecs-node.target instead of eks-node.target, which runs
# eks-node-ecs (ecs.config, Docker's default runtime) and then Docker and the agent. The rest
# of the image is the standard one's: the same image could serve EKS with the fragment gone.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

fragment=/usr/lib/eks-node/node.toml.d/10-ecs.toml
if [[ ${EKS_VARIANT:-standard} != ecs ]]; then
  # a re-run of the recipe with another variant leaves no ECS image default behind
  rm -f "$fragment"
  skip "variant ${EKS_VARIANT:-standard}"
fi
[[ $(pkg_manager) == dnf ]] || die "the ECS variant needs Amazon Linux 2023 (dnf): ecs-init, the ECS agent's package, is packaged there only"

pkg_install docker ecs-init
# Off until ecs-node.target starts them, as kubelet is on an EKS node: Docker must not start
# before eks-node-ecs has written its daemon.json, nor the agent before ecs.config, and
# neither where eks-node is switched off (eks-node.enable=0) or failed (eks-node-failed.target
# conflicts with ecs.service). disable works on the unit files, with systemd running or not;
# it fails on a unit that is not there, and a package without docker.socket needs none off.
for unit in docker.service docker.socket ecs.service; do
  [[ -e /usr/lib/systemd/system/$unit || -e /lib/systemd/system/$unit ]] || continue
  systemctl disable --quiet "$unit"
done

printf '%s\n' \
  '# Installed by the eks-node image build (the ecs variant): an ECS container instance.' \
  '# The cluster and the agent'"'"'s other keys come from user data ([settings.ecs]).' \
  '[settings]' \
  'node = "ecs"' | put 0644 "$fragment"
