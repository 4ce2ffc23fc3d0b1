// SPDX-License-Identifier: Apache-2.0
// The step types by name only (core/step.hpp defines them), for headers that only declare
// steps: steps/entries.hpp, which a step program's main() includes alone.
#pragma once

namespace eksnode {

struct StepSpec;
struct StepOptions;
struct StepResult;
// A step's work, as main() and `eks-node render` run it
using StepEntry = StepResult (*)(const StepOptions&);

}  // namespace eksnode
