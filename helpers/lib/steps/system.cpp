// SPDX-License-Identifier: Apache-2.0
// eks-node-system: spec.instance.environment and spec.instance.network applied
// to the operating system (every service's environment, systemd-resolved).
// See eks-node-system(8).
#include "steps/system.hpp"

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/paths.hpp"
#include "core/systemd.hpp"
#include "render/render.hpp"

namespace eksnode::steps {

// No fixed consumers: which units read its files depends on the configuration
// (render_system() names them in the result, the runner try-restarts them).
const StepSpec system_spec{"system", "apply the service environment and DNS settings"};

namespace detail {

std::string resolver_problem(const std::optional<std::string>& state) {
    if (state && (*state == "active" || *state == "activating" || *state == "reloading")) return "";
    return fmt::format(
        "spec.instance.network sets DNS servers or search domains, but {} is {}, so nothing on this node applies "
        "them (they are written to {}): enable systemd-resolved, or leave spec.instance.network out",
        resolved_unit, state ? *state : "not installed", path::resolved_dropin);
}

}  // namespace detail

namespace {

// Fail closed, as nodeadm does (its restart of systemd-resolved fails): a
// node that joins with the DNS servers the user asked for not in effect
// resolves differently from what was configured, and nobody would find out
// before a lookup goes wrong; the boot stops here with one line saying why.
void require_resolver(const json& cfg, const Paths& paths) {
    if (!render::sets_dns(cfg)) return;
    if (!sd::manages_host(paths)) {
        log::debug("not a systemd service on the host: whether {} runs is not checked", detail::resolved_unit);
        return;
    }
    if (std::string problem = detail::resolver_problem(sd::active_state(detail::resolved_unit)); !problem.empty())
        throw Error(problem);
}

// systemd's own mechanism applies the kernel parameters: systemd-sysctl reads
// every sysctl.d file in order, ours last (core/paths.hpp says why).
// Restarted and waited for here, not with the
// other restarts after the step: kubelet, ordered after this step, must find
// the values in effect. Only when the file changed: a re-run with the same
// values rewrites nothing the kernel holds.
void apply_sysctls(const StepResult& r, const Paths& paths) {
    if (!render::sysctls_changed(r)) return;
    if (!sd::manages_host(paths)) {
        log::debug("not a systemd service on the host: {} is not restarted", detail::sysctl_unit);
        return;
    }
    sd::restart_unit_and_wait(detail::sysctl_unit, std::chrono::seconds(20));
    log::info("{} applied by {}", path::sysctl_conf, detail::sysctl_unit);
}

}  // namespace

StepResult system(const StepOptions& opts) {
    json cfg = load_config_json(opts);
    StepResult r = render::render_system(cfg, opts.paths);
    require_resolver(cfg, opts.paths);
    apply_sysctls(r, opts.paths);
    return r;
}

}  // namespace eksnode::steps
