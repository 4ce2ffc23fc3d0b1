// SPDX-License-Identifier: Apache-2.0
// eks-node-hosts: the Outposts API server's addresses in /etc/hosts.
// See eks-node-hosts(8).
#include "render/render.hpp"
#include "steps/steps.hpp"

namespace eksnode::steps {

const StepSpec hosts_spec{"hosts", "pin the Outposts API server in /etc/hosts"};

StepResult hosts(const StepOptions& opts) { return render::render_hosts(load_config_json(opts), opts.paths); }

}  // namespace eksnode::steps
