// SPDX-License-Identifier: Apache-2.0
// eks-node-kubelet: kubelet's configuration, kubeconfig and flags.
// See eks-node-kubelet(8).
#include <fmt/format.h>

#include "core/error.hpp"
#include "core/log.hpp"
#include "render/render.hpp"
#include "steps/steps.hpp"

namespace eksnode::steps {

// kubelet.service reads these files only when it starts.
const StepSpec kubelet_spec{"kubelet", "render kubelet configuration", {"kubelet.service"}};

StepResult kubelet(const StepOptions& opts) {
    if (opts.args.empty()) return render::render_kubelet(load_config_json(opts), opts.paths);
    if (opts.args.size() != 1 || opts.args[0] != "harvest")
        throw UsageError(fmt::format("unexpected argument \"{}\" (only harvest)", opts.args[0]));
    // `harvest`: kubelet.service's ExecStartPre= (dropins/kubelet.service.d/
    // 10-eks-node.conf), so that an edit of AL2's kubelet-config.json followed
    // by `systemctl restart kubelet`, as AL2's guide has it, is in effect in
    // the kubelet that starts. The same render (it carries the edit into the
    // drop-in); kubelet is starting and reads the files now, so nothing is
    // restarted. Without config.json (eks-node disabled) there is nothing to do.
    std::error_code ec;
    if (!fs::exists(opts.config_file(), ec)) {
        log::info("{} does not exist: no kubelet configuration of eks-node's to carry edits into",
                  opts.config_file().string());
        return {};
    }
    StepResult r = render::render_kubelet(load_config_json(opts), opts.paths);
    if (r.changed()) log::info("kubelet starts on the files as rendered now");
    return {};
}

}  // namespace eksnode::steps
