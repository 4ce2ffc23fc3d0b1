// SPDX-License-Identifier: Apache-2.0
// eks-node-ecs: an ECS container instance's ecs.config and Docker's default runtime.
// See eks-node-ecs(8).
#include "render/render.hpp"
#include "steps/steps.hpp"

namespace eksnode::steps {

// No fixed consumers: the renderer asks for a try-restart of ecs.service or
// docker.service only when that one's file changed.
const StepSpec ecs_spec{"ecs", "render the ECS agent's and Docker's configuration"};

StepResult ecs(const StepOptions& opts) { return render::render_ecs(load_config_json(opts), opts.paths); }

}  // namespace eksnode::steps
