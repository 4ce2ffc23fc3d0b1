// SPDX-License-Identifier: Apache-2.0
// The boot chain in unit order, for in-process runs (`eks-node render`).
// The units under units/ express the same order for systemd.
#pragma once

#include <span>
#include <string_view>

#include "core/step.hpp"

namespace eksnode::cli {

struct ChainStep {
    std::string_view name;
    StepResult (*run)(const StepOptions&);
};

std::span<const ChainStep> chain_steps();

}  // namespace eksnode::cli
