// eks-node-containerd: containerd's config.toml, base runtime spec and environment.
// See eks-node-containerd(8).
#include "core/step.hpp"
#include "render/render.hpp"

int main(int argc, char** argv) {
    // containerd.service reads these files only when it starts.
    const eksnode::StepSpec spec{"containerd", "render containerd configuration", {}, {"containerd.service"}};
    return eksnode::run_step(argc, argv, spec, eksnode::render_step<eksnode::render_containerd>);
}
