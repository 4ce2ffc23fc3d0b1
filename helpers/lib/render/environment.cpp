// SPDX-License-Identifier: Apache-2.0
#include "render/environment.hpp"

#include <map>
#include <string>

#include <fmt/format.h>

#include "core/error.hpp"
#include "render/detail.hpp"

namespace eksnode::render::detail {

namespace {

// nodeadm writes the same maps as systemd configuration instead:
//   default    -> DefaultEnvironment= in /etc/systemd/system.conf.d/environment.conf
//   kubelet    -> Environment= in /etc/systemd/system/kubelet.service.d/environment.conf
//   containerd -> Environment= in /etc/systemd/system/containerd.service.d/environment.conf
// followed by `systemctl daemon-reload`. Plain EnvironmentFile= data under
// /run/eks-node/env/, loaded by static drop-ins, needs no reload, so a
// re-render takes effect on the next service restart.
using EnvMap = std::map<std::string, std::string>;

// Adds (or overrides with) the variables of spec.instance.environment.<key>.
void add_vars(EnvMap& out, const json& cfg, std::string_view key) {
    std::string pointer = fmt::format("/spec/instance/environment/{}", key);
    const json* vars = non_empty_object(cfg, pointer);
    if (!vars) return;
    for (auto it = vars->begin(); it != vars->end(); ++it) {
        std::string field = fmt::format("spec.instance.environment.{}.{}", key, it.key());
        if (!valid_environment_name(it.key()))
            throw ConfigError("config.json", field, "not a valid environment variable name");
        if (!it->is_string()) throw ConfigError("config.json", field, "expected a string");
        out[it.key()] = it->get<std::string>();
    }
}

void write_env(StepResult& result, const Paths& paths, std::string_view file, std::string_view writer,
               std::string_view from, const EnvMap& vars) {
    if (vars.empty()) {
        withdraw(result, paths, file);
        return;
    }
    // 0600 (core/outputs.hpp), not the 0644 of nodeadm's drop-ins: these values
    // are typically proxy URLs, which may carry credentials (config.json is
    // 0600 for the same reason), and only PID 1 reads an EnvironmentFile=.
    put(result, paths, file, environment_file(generated_header(writer, from), vars));
}

}  // namespace

void render_service_environment(StepResult& result, const json& cfg, const Paths& paths, Service service) {
    const std::string_view name = service == Service::kubelet ? "kubelet" : "containerd";
    const std::string_view file = service == Service::kubelet ? path::kubelet_service_env : path::containerd_service_env;

    // Both steps write default.env, byte for byte the same: whichever runs
    // first (or alone, on a re-run) leaves it current.
    EnvMap defaults;
    add_vars(defaults, cfg, "default");
    write_env(result, paths, path::default_env, "eks-node-kubelet and eks-node-containerd",
              "spec.instance.environment.default", defaults);

    // The service file repeats the defaults under its own values (as systemd's
    // Environment= overrides DefaultEnvironment=), so each service's complete
    // environment lives in one file this step owns: a change to a default is
    // then seen as a change of the service's own output, and restarts it.
    EnvMap own = defaults;
    add_vars(own, cfg, name);
    write_env(result, paths, file, fmt::format("eks-node-{}", name),
              fmt::format("spec.instance.environment.default and .{}", name), own);
}

}  // namespace eksnode::render::detail
