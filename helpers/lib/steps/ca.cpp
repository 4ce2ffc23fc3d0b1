// SPDX-License-Identifier: Apache-2.0
// eks-node-ca: /etc/kubernetes/pki/ca.crt from the resolved configuration.
// See eks-node-ca(8).
#include "render/render.hpp"
#include "steps/steps.hpp"

namespace eksnode::steps {

// kubelet.service reads these files only when it starts.
const StepSpec ca_spec{"ca", "render the cluster CA certificate", {"kubelet.service"}};

StepResult ca(const StepOptions& opts) { return render::render_ca(load_config_json(opts), opts.paths); }

}  // namespace eksnode::steps
