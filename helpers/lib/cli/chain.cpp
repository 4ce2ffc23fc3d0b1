// SPDX-License-Identifier: Apache-2.0
#include "cli/chain.hpp"

#include "steps/steps.hpp"

namespace eksnode::cli {

namespace {

constexpr ChainStep steps_in_order[] = {
    {"imds", steps::imds},
    {"config", steps::config},
    {"system", steps::system},
    {"ca", steps::ca, NodeKinds::eks},
    {"kubelet", steps::kubelet, NodeKinds::eks},
    {"containerd", steps::containerd, NodeKinds::eks},
    {"hosts", steps::hosts, NodeKinds::eks},
    {"ecs", steps::ecs, NodeKinds::ecs},
};

}  // namespace

std::span<const ChainStep> chain_steps() { return steps_in_order; }

}  // namespace eksnode::cli
