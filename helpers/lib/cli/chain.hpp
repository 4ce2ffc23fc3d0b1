// SPDX-License-Identifier: Apache-2.0
// The boot chain in unit order, for in-process runs (`eks-node render`):
// the rows of units/steps.tsv with a chain place (core/units.hpp), each with
// its step's function. The units under units/ express the same order for systemd.
#pragma once

#include <span>
#include <string_view>

#include "core/step.hpp"
#include "core/units.hpp"

namespace eksnode::cli {

// Which node runs a step: eks-node.target's, ecs-node.target's, or both
// (the instance facts, the configuration, the service environment).
using NodeKinds = units::Kinds;

struct ChainStep {
    std::string_view name;
    StepResult (*run)(const StepOptions&);
    NodeKinds kinds = NodeKinds::both;
};

std::span<const ChainStep> chain_steps();

}  // namespace eksnode::cli
