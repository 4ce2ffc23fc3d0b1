// SPDX-License-Identifier: Apache-2.0
// eks-node-generator: settings.runtimes' kernel modules, loaded by
// modprobe@ before containerd (or docker on an ECS node) starts.
#include <fmt/format.h>

#include "config/runtimes.hpp"
#include "generator/plan.hpp"

namespace eksnode::generator {

namespace detail {

namespace {

const std::string runtime_modules_dropin = "containerd.service.d/50-eks-node-runtime-modules.conf";
const std::string runtime_modules_docker_dropin = "docker.service.d/50-eks-node-runtime-modules.conf";

}  // namespace

// ---- runtime handlers: their kernel modules, loaded before containerd ------

// settings.runtimes.*.kernelModules, each loaded by systemd's own
// modprobe@.service instance, which containerd wants and is ordered after: a
// start (or restart) of containerd first loads them, whether it starts at
// boot on the image's handlers or is restarted by eks-node-containerd on
// handlers user data added (eks-node-config reloads systemd first, so the
// restart job pulls them in). No shell, no step of ours loads a module (the
// steps' sandbox forbids it); systemd-modules-load would load them only at
// its own start, early at boot, before user data is known.
//
// On an ECS container instance Docker runs the tasks, on its default runtime:
// the same lines go into a docker.service drop-in, so that the modules are in
// before dockerd (and whatever containerd it runs) starts.
void add_runtime_modules(GeneratorPlan& plan, const Settings& s, const Paths& paths, bool ecs) {
    const json* table = member(&s.settings, "runtimes");
    if (!table) return;
    std::vector<StaticFragment> fragments;
    if (!s.from_config_json) fragments = static_fragments(paths);
    std::vector<config::runtimes::Handler> handlers;
    try {
        handlers = config::runtimes::read(*table, [&](const std::string&) {
            return s.from_config_json ? std::string(path::config_json) : last_setter(fragments, {"runtimes"});
        });
    } catch (const std::exception& e) {
        // eks-node-config refuses the same table with exit 6, and
        // eks-node-containerd renders no config.toml naming these handlers.
        warn(plan, fmt::format("{}, ignoring every runtime handler's kernel modules", e.what()));
        return;
    }
    std::string lines, first_source;
    std::vector<std::string> seen;
    for (const config::runtimes::Handler& h : handlers) {
        if (h.kernel_modules.empty()) continue;
        // Where the modules were set, as for a hook's command: the same
        // drop-in from the static fragments at boot and from config.json
        // after, so that writing config.json calls for no daemon-reload.
        std::string source;
        if (s.from_config_json) {
            const json* origin = member(member(&s.config, "origins"),
                                        fmt::format("/settings/runtimes/{}/kernelModules/0", h.name).c_str());
            std::string o = origin && origin->is_string() ? origin->get<std::string>() : std::string();
            source = o.starts_with('/') ? o : std::string(path::config_json);
        } else {
            source = last_setter(fragments, {"runtimes", h.name, "kernelModules"});
        }
        if (first_source.empty()) first_source = source;
        lines += fmt::format("# settings.runtimes.{}.kernelModules, in {}\n", h.name, comment(source));
        for (const std::string& m : h.kernel_modules) {
            const std::string unit = fmt::format("modprobe@{}.service", config::runtimes::module_name(m));
            if (std::find(seen.begin(), seen.end(), unit) != seen.end()) continue;
            seen.push_back(unit);
            lines += fmt::format("Wants={}\nAfter={}\n", unit, unit);
        }
    }
    if (seen.empty()) return;
    // The same lines for each service that runs the handlers; only the
    // header (who starts after them, who refuses a missing module) differs.
    auto dropin = [&](const std::string& path, std::string_view header, std::string_view service) {
        add_file(plan, path, fmt::format("#\n{}\n[Unit]\nSourcePath={}\n{}", header, source_path(first_source), lines));
        plan.messages.push_back(
            {Level::debug, fmt::format("settings.runtimes: {} starts after {}", service, fmt::join(seen, ", "))});
    };
    dropin(runtime_modules_dropin,
           "# The kernel modules of containerd's runtime handlers, loaded by systemd's\n"
           "# modprobe@.service before containerd starts (eks-node-containerd(8), KERNEL\n"
           "# MODULES). modprobe@ ignores a failure: eks-node-containerd refuses a module\n"
           "# this kernel does not have, before config.toml names its handler.\n",
           "containerd");
    if (ecs)
        dropin(runtime_modules_docker_dropin,
               "# The kernel modules of the runtime handlers, loaded by systemd's\n"
               "# modprobe@.service before Docker starts (eks-node-ecs(8), KERNEL MODULES).\n"
               "# modprobe@ ignores a failure: eks-node-ecs refuses a module this kernel\n"
               "# does not have, before daemon.json names its runtime.\n",
               "docker");
}

}  // namespace detail

std::string runtime_modules_dropin_path() { return detail::runtime_modules_dropin; }

}  // namespace eksnode::generator
