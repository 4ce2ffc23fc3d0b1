// SPDX-License-Identifier: Apache-2.0
// eks-node-ca: the cluster CA kubelet trusts (authentication.x509.clientCAFile
// in its config, certificate-authority in its kubeconfig).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/log.hpp"
#include "render/render.hpp"
#include "render/shared.hpp"

namespace eksnode::render {

StepResult render_ca(const json& cfg, const Paths& paths) {
    using namespace render::detail;
    // eks-node-config already decoded and verified the certificate(s); nodeadm
    // writes whatever bytes it was given, also 0644.
    std::string pem = need_string(cfg, "/derived/caPEM");
    if (!pem.empty() && pem.back() != '\n') pem += '\n';
    // settings.trust refused by this node's store refuses the step before
    // its first write: no ca.crt of a run that then fails
    check_trust(cfg, paths);
    StepResult result;
    put(result, paths, path::ca_crt, pem);
    // the tool only on the node itself; a render into a tree says what it would run
    render_trust(result, cfg, paths, [&](const std::vector<std::string>& argv) {
        if (paths.is_host()) run_trust_update(argv);
        else log::debug("not the host: would run {}", fmt::format("{}", fmt::join(argv, " ")));
    });
    return result;
}

}  // namespace eksnode::render
