// SPDX-License-Identifier: Apache-2.0
// eks-node-ecs: an ECS container instance's /etc/ecs/ecs.config, and Docker's
// default runtime in /etc/docker/daemon.json (eks-node-ecs(8)).
#include <map>

#include <fmt/format.h>

#include "config/environment.hpp"
#include "config/runtimes.hpp"
#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/log.hpp"
#include "format/checks.hpp"
#include "input/settings.hpp"
#include "render/render.hpp"
#include "render/shared.hpp"

namespace eksnode::render {

namespace {

using namespace render::detail;

// runc's shim runs an OCI runtime binary, which is what Docker's runtimes
// are; any other type names a containerd shim, which Docker cannot run.
constexpr std::string_view oci_type = config::runtimes::runc_v2;

std::string origin(const json& cfg, const std::string& pointer) {
    const json* o = find(cfg, "/origins");
    if (o && o->is_object())
        if (auto it = o->find(pointer); it != o->end() && it->is_string()) return it->get<std::string>();
    return "config.json";
}

// The agent reads ecs.config as KEY=VALUE lines taken literally (docker's
// --env-file rules): no quoting, so values are written bare, as the ECS
// documentation shows them. eks-node-config's checks keep every value free
// of control characters; this check makes a broken hand-off an error rather
// than a second line.
void line(std::string& out, std::string_view key, const std::string& value) {
    for (char c : value)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
            throw ConfigError("config.json", fmt::format("settings.ecs ({})", key), "holds a control character");
    out += fmt::format("{}={}\n", key, value);
}

// The proxy variables of ecs.service: its own section of
// spec.instance.environment over the default one, as eks-node-system's
// drop-ins give them to the unit (render_system). ecs-init passes ecs.config,
// not its own environment, to the agent's container: AWS's proxy guide for
// ECS container instances sets them in both places, and so does this.
void proxy_lines(std::string& out, const json& cfg) {
    const json* spec = find(cfg, "/spec");
    if (!spec) return;
    const std::map<std::string, config::environment::Value> vars = config::environment::of_unit(*spec, "ecs");
    std::string lines;
    // Go's variables (the agent is Go), upper case spellings first
    for (bool upper : {true, false})
        for (const config::environment::ProxyName& p : config::environment::proxy_names)
            if (auto v = vars.find(std::string(upper ? p.upper : p.lower)); p.go && v != vars.end())
                line(lines, v->first, v->second.value);
    if (lines.empty()) return;
    out += "# The proxy of ecs.service (spec.instance.environment), for the agent's container\n" + lines;
}

std::string ecs_config_text(const json& cfg) {
    std::string out = generated_header("eks-node-ecs", "settings.ecs") +
                      "# Read by the ECS agent at its start; restart ecs.service after a change.\n";
    proxy_lines(out, cfg);
    const json* ecs = find(cfg, "/settings/ecs");
    if (!ecs || !ecs->is_object()) return out;
    if (auto v = ecs->find("cluster"); v != ecs->end()) line(out, "ECS_CLUSTER", v->get<std::string>());
    if (auto v = ecs->find("attributes"); v != ecs->end() && !v->empty())
        line(out, "ECS_INSTANCE_ATTRIBUTES", v->dump());  // nlohmann sorts keys: the same bytes each run
    if (auto v = ecs->find("enableGpuSupport"); v != ecs->end())
        line(out, "ECS_ENABLE_GPU_SUPPORT", v->get<bool>() ? "true" : "false");
    if (auto v = ecs->find("enableTaskIamRole"); v != ecs->end())
        line(out, "ECS_ENABLE_TASK_IAM_ROLE", v->get<bool>() ? "true" : "false");
    if (auto v = ecs->find("availableLoggingDrivers"); v != ecs->end())
        line(out, "ECS_AVAILABLE_LOGGING_DRIVERS", v->dump());
    if (auto v = ecs->find("containerStopTimeout"); v != ecs->end()) {
        std::string problem;
        auto ms = input::settings::parse_duration(*v, problem);
        if (!ms) throw ConfigError("config.json", "settings.ecs.containerStopTimeout", problem);
        // a Go duration, as the agent parses it
        line(out, "ECS_CONTAINER_STOP_TIMEOUT",
             ms->count() % 1000 ? fmt::format("{}ms", ms->count()) : fmt::format("{}s", ms->count() / 1000));
    }
    if (auto v = ecs->find("reservedMemory"); v != ecs->end())
        line(out, "ECS_RESERVED_MEMORY", std::to_string(v->get<int64_t>()));
    if (auto v = ecs->find("imagePullBehavior"); v != ecs->end())
        line(out, "ECS_IMAGE_PULL_BEHAVIOR", v->get<std::string>());
    return out;
}

}  // namespace

std::optional<DockerRuntime> docker_default_runtime(const json& cfg, const Paths& paths) {
    // The handlers as eks-node-containerd reads them (config::runtimes), and
    // the same checks of the node, for the one Docker runs.
    for (const config::runtimes::Handler& h : config::runtimes::of_config(cfg)) {
        if (!h.is_default) continue;
        const std::string field = "settings.runtimes." + h.name;
        if (h.type != oci_type)
            throw ConfigError(origin(cfg, "/settings/runtimes/" + h.name + "/type"), field + ".type",
                              fmt::format("\"{}\" is a containerd shim, and Docker's default runtime must be an OCI "
                                          "runtime ({}): an ECS node cannot make it the default",
                                          h.type, oci_type));
        // Checked before daemon.json names it: dockerd would start, then fail every container.
        if (std::string problem = config::runtimes::binary_problem(h, paths); !problem.empty())
            throw ConfigError(h.binary_source, field + ".binary", fmt::format("{} (handler {})", problem, h.name));
        for (const std::string& m : h.kernel_modules)
            if (config::runtimes::ModuleCheck c = config::runtimes::check_module(m, paths); !c.problem.empty())
                throw ConfigError(h.modules_source, field + ".kernelModules", c.problem);
        return DockerRuntime{h.name, h.binary, h.kernel_modules};
    }
    return std::nullopt;
}

StepResult render_ecs(const json& cfg, const Paths& paths) {
    StepResult result;
    // Checked first: a bad handler writes nothing, and neither the agent nor
    // dockerd starts on a half-made instance.
    std::optional<DockerRuntime> runtime = docker_default_runtime(cfg, paths);

    StepResult ecs;
    put(ecs, paths, path::ecs_config, ecs_config_text(cfg));
    if (ecs.changed()) result.restart("ecs.service", fmt::format("{} changed", path::ecs_config));
    result.merge(ecs);

    // daemon.json belongs to the image or the admin; eks-node owns two keys
    // of it, default-runtime and runtimes, and keeps the others as they are.
    const fs::path file = paths.of(path::docker_daemon_json);
    std::optional<std::string> current = read_file_if_exists(file);
    if (!current && !runtime) return result;  // nothing to say, no file to make
    json daemon = json::object();
    if (current) {
        daemon = json::parse(*current, nullptr, /*allow_exceptions=*/false);
        if (!daemon.is_object())
            throw ConfigError(std::string(path::docker_daemon_json), "(the file)",
                              "not a JSON object: eks-node-ecs sets default-runtime and runtimes in it");
    }
    json updated = daemon;
    updated.erase("default-runtime");
    updated.erase("runtimes");
    if (runtime) {
        updated["default-runtime"] = runtime->name;
        updated["runtimes"] = {{runtime->name, {{"path", runtime->binary}}}};
        log::info("Docker's default runtime: {} ({})", runtime->name, runtime->binary);
        // A module not in the kernel yet (one that user data declared, after
        // Docker started): Docker's restart pulls in the modprobe@ instances
        // its drop-in names, as containerd's does (render_containerd). Only
        // on a machine with a sysfs, not a render into a test tree.
        if (std::error_code ec; fs::is_directory(paths.of("/sys/module"), ec))
            for (const std::string& m : runtime->kernel_modules)
                if (!config::runtimes::module_loaded(m, paths))
                    result.restart("docker.service", fmt::format("settings.runtimes.{}: kernel module {} is not loaded",
                                                                 runtime->name, m));
    }
    if (current && updated == daemon) {
        result.add(file, WriteResult::unchanged);
        return result;
    }
    StepResult docker;
    put(docker, paths, path::docker_daemon_json, updated.dump(2) + "\n");
    if (docker.changed()) result.restart("docker.service", fmt::format("{} changed", path::docker_daemon_json));
    result.merge(docker);
    return result;
}

}  // namespace eksnode::render
