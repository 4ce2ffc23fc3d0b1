// SPDX-License-Identifier: Apache-2.0
// eks-node-ca: the cluster CA kubelet trusts (authentication.x509.clientCAFile
// in its config, certificate-authority in its kubeconfig).
#include "render/detail.hpp"
#include "render/render.hpp"

namespace eksnode::render {

StepResult render_ca(const json& cfg, const Paths& paths) {
    using namespace render::detail;
    // eks-node-config already decoded and verified the certificate(s); nodeadm
    // writes whatever bytes it was given, also 0644.
    std::string pem = need_string(cfg, "/derived/caPEM");
    if (!pem.empty() && pem.back() != '\n') pem += '\n';
    StepResult result;
    put(result, paths, path::ca_crt, pem);
    return result;
}

}  // namespace eksnode::render
