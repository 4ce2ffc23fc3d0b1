#include "cli/chain.hpp"

#include "core/jsonutil.hpp"
#include "imds/imds_step.hpp"
#include "render/render.hpp"
#include "resolve/config_step.hpp"

namespace eksnode {

namespace {

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
