#include "cli/chain.hpp"

#include <fmt/format.h>

#include "core/fsutil.hpp"
#include "core/jsonutil.hpp"
#include "imds/imds_step.hpp"
#include "render/render.hpp"
#include "resolve/config_step.hpp"

namespace eksnode {

namespace {

json load_config(const StepOptions& opts) { return json::parse(read_file(opts.config_file())); }

template <StepResult (*Render)(const json&, const Paths&)>
StepResult render_step(const StepOptions& opts) {
    return Render(load_config(opts), opts.paths);
}

constexpr ChainStep steps[] = {
    {"imds", run_imds_step},
    {"config", run_config_step},
    {"ca", render_step<render_ca>},
    {"kubelet", render_step<render_kubelet>},
    {"containerd", render_step<render_containerd>},
    {"hosts", render_step<render_hosts>},
};

}  // namespace

std::span<const ChainStep> chain_steps() { return steps; }

}  // namespace eksnode
