// SPDX-License-Identifier: Apache-2.0
// eks-node-kubelet: kubelet's configuration, kubeconfig and flags.
// See eks-node-kubelet(8).
#include "render/render.hpp"
#include "steps/steps.hpp"

namespace eksnode::steps {

// kubelet.service reads these files only when it starts.
const StepSpec kubelet_spec{"kubelet", "render kubelet configuration", {"kubelet.service"}};

StepResult kubelet(const StepOptions& opts) { return render::render_kubelet(load_config_json(opts), opts.paths); }

}  // namespace eksnode::steps
