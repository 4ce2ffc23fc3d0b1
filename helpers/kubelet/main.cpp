// eks-node-kubelet: kubelet's configuration, kubeconfig, flags and environment.
// See eks-node-kubelet(8).
#include "core/step.hpp"
#include "render/render.hpp"

int main(int argc, char** argv) {
    // kubelet.service reads these files only when it starts.
    const eksnode::StepSpec spec{"kubelet", "render kubelet configuration", {}, {"kubelet.service"}};
    return eksnode::run_step(argc, argv, spec, eksnode::render_step<eksnode::render_kubelet>);
}
