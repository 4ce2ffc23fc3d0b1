// SPDX-License-Identifier: Apache-2.0
// eks-node-containerd: containerd's config.toml and base runtime spec.
// See eks-node-containerd(8).
#include "core/systemd.hpp"
#include "render/render.hpp"
#include "resolve/resolve.hpp"
#include "steps/steps.hpp"

namespace eksnode::steps {

// containerd.service reads these files only when it starts.
const StepSpec containerd_spec{"containerd", "render containerd configuration", {"containerd.service"}};

StepResult containerd(const StepOptions& opts) {
    StepResult r = render::render_containerd(load_config_json(opts), opts.paths);
    // containerd down, with no start of its own queued, while kubelet's start
    // waits for this step: whoever stopped it (an administrator, a start that
    // failed), kubelet cannot run without it ("failed": containerd 1.6 and 1.7
    // exit 1 when stopped before their start is done). On a running node
    // (kubelet has no job) a stopped containerd stays stopped.
    if (sd::manages_host(opts.paths) && sd::has_job("kubelet.service")) {
        std::optional<std::string> state = sd::active_state("containerd.service");
        if (state && (*state == "deactivating" || *state == "failed" ||
                      (*state == "inactive" && !sd::has_job("containerd.service"))))
            r.start("containerd.service", "containerd is not running and kubelet's start waits for it");
    }
    return r;
}

// The same files from what the image fixes, written at image build so that
// containerd can start at boot before eks-node-config has run: the step
// renders the same bytes when user data changes nothing containerd reads, and
// then does not restart it (eks-node-generator(8), EARLY CONTAINERD).
StepResult containerd_image(const StepOptions& opts) {
    return render::render_containerd(resolve::resolve_image_config(opts.paths), opts.paths);
}

}  // namespace eksnode::steps
