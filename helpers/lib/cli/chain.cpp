// SPDX-License-Identifier: Apache-2.0
#include "cli/chain.hpp"

#include "steps/steps.hpp"

namespace eksnode::cli {

namespace {

constexpr ChainStep steps_in_order[] = {
    {"imds", steps::imds},       {"config", steps::config},         {"system", steps::system}, {"ca", steps::ca},
    {"kubelet", steps::kubelet}, {"containerd", steps::containerd}, {"hosts", steps::hosts},
};

}  // namespace

std::span<const ChainStep> chain_steps() { return steps_in_order; }

}  // namespace eksnode::cli
