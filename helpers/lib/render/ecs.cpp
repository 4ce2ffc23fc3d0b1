// SPDX-License-Identifier: Apache-2.0
// eks-node-ecs: an ECS container instance's /etc/ecs/ecs.config, and Docker's
// default runtime in /etc/docker/daemon.json (eks-node-ecs(8)).
#include <fmt/format.h>

#include "config/settings.hpp"
#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/log.hpp"
#include "render/detail.hpp"
#include "render/render.hpp"

namespace eksnode::render {

namespace {

using namespace render::detail;

// runc's shim runs an OCI runtime binary, which is what Docker's runtimes
// are; any other type names a containerd shim, which Docker cannot run.
constexpr std::string_view oci_type = "io.containerd.runc.v2";

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

std::string ecs_config_text(const json& cfg) {
    std::string out = generated_header("eks-node-ecs", "settings.ecs") +
                      "# Read by the ECS agent at its start; restart ecs.service after a change.\n";
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
        auto ms = config::settings::parse_duration(*v, problem);
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
    const json* runtimes = find(cfg, "/settings/runtimes");
    if (!runtimes || !runtimes->is_object()) return std::nullopt;
    for (const auto& [name, h] : runtimes->items()) {
        if (!h.is_object() || h.value("default", false) != true) continue;
        const std::string at = "/settings/runtimes/" + name;
        const std::string field = "settings.runtimes." + name;
        const std::string type = h.value("type", std::string(oci_type));
        if (type != oci_type)
            throw ConfigError(origin(cfg, at + "/type"), field + ".type",
                              fmt::format("\"{}\" is a containerd shim, and Docker's default runtime must be an OCI "
                                          "runtime ({}): an ECS node cannot make it the default",
                                          type, oci_type));
        auto binary = h.find("binary");
        if (binary == h.end() || !binary->is_string())
            throw ConfigError(origin(cfg, at + "/default"), field + ".binary",
                              "required: Docker's default runtime is run by its path");
        const std::string path = binary->get<std::string>();
        std::error_code ec;
        // Checked before daemon.json names it: dockerd would start, then fail every container.
        if (!fs::exists(paths.of(path), ec))
            throw ConfigError(origin(cfg, at + "/binary"), field + ".binary",
                              fmt::format("{} does not exist (handler {})", path, name));
        return DockerRuntime{name, path};
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
