// The eks-node-config step as a library call, so `eks-node render` can run it
// in-process and the step binary stays a few lines.
#pragma once

#include "core/jsonutil.hpp"
#include "core/step.hpp"

namespace eksnode {

// Reads instance.json and user data (--user-data=FILE, else the copy
// eks-node-imds saved), resolves every source, writes config.json (0600: it
// may hold proxy credentials from instance.environment). Nothing is written
// unless the whole configuration is valid.
StepResult run_config_step(const StepOptions& opts);

// Just the resolution, for `eks-node config check|dump`.
json resolve_from_node(const StepOptions& opts);

}  // namespace eksnode
