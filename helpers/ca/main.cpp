// eks-node-ca: /etc/kubernetes/pki/ca.crt from the resolved configuration.
// See eks-node-ca(8).
#include "core/step.hpp"
#include "render/render.hpp"

int main(int argc, char** argv) {
    // kubelet.service reads these files only when it starts.
    const eksnode::StepSpec spec{"ca", "render the cluster CA certificate", {}, {"kubelet.service"}};
    return eksnode::run_step(argc, argv, spec, eksnode::render_step<eksnode::render_ca>);
}
