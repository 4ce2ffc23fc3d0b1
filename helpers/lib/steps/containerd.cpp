// SPDX-License-Identifier: Apache-2.0
// eks-node-containerd: containerd's config.toml and base runtime spec.
// See eks-node-containerd(8).
#include "render/render.hpp"
#include "steps/steps.hpp"

namespace eksnode::steps {

// containerd.service reads these files only when it starts.
const StepSpec containerd_spec{"containerd", "render containerd configuration", {"containerd.service"}};

StepResult containerd(const StepOptions& opts) { return render::render_containerd(load_config_json(opts), opts.paths); }

}  // namespace eksnode::steps
