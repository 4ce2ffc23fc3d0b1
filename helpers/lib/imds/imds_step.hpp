// The eks-node-imds step as a library call, so `eks-node render` runs it
// in-process and helpers/imds/main.cpp stays a few lines.
#pragma once

#include "core/step.hpp"

namespace eksnode {

// Reads [settings.imds] from the static configuration, fetches the instance
// facts and user data (--imds-endpoint=URL overrides the endpoints), then
// writes /run/eks-node/instance.json (0644) and the raw user data to
// /run/eks-node/user-data (0600: it may hold secrets); a user-data file left
// from an earlier run is removed when IMDS has none. Both under opts.paths.
// Throws TempError (exit 75) when IMDS stays unreachable until the deadline.
StepResult run_imds_step(const StepOptions& opts);

}  // namespace eksnode
