// SPDX-License-Identifier: Apache-2.0
// eks-node-containerd: containerd's config.toml and base runtime spec.
// See eks-node-containerd(8).
#include "render/render.hpp"
#include "resolve/resolve.hpp"
#include "steps/steps.hpp"

namespace eksnode::steps {

// containerd.service reads these files only when it starts.
const StepSpec containerd_spec{"containerd", "render containerd configuration", {"containerd.service"}};

StepResult containerd(const StepOptions& opts) { return render::render_containerd(load_config_json(opts), opts.paths); }

// The same files from what the image fixes, written at image build so that
// containerd can start at boot before eks-node-config has run: the step
// renders the same bytes when user data changes nothing containerd reads, and
// then does not restart it (eks-node-generator(8), EARLY CONTAINERD).
StepResult containerd_image(const StepOptions& opts) {
    return render::render_containerd(resolve::resolve_image_config(opts.paths), opts.paths);
}

}  // namespace eksnode::steps
