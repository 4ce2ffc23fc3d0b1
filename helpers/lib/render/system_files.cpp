// SPDX-License-Identifier: Apache-2.0
// eks-node-system: spec.instance.environment as EnvironmentFile= data for
// every service, spec.instance.network as a systemd-resolved drop-in.
//
// nodeadm writes the same settings as systemd configuration instead:
//   default    -> DefaultEnvironment= in /etc/systemd/system.conf.d/environment.conf
//   kubelet    -> Environment= in /etc/systemd/system/kubelet.service.d/environment.conf
//   containerd -> the same for containerd.service
// followed by `systemctl daemon-reload`, and instance.network as
// /run/systemd/resolved.conf.d/40-eks.conf, followed by a restart of
// systemd-resolved. Here the environment is plain data under
// /run/eks-node/env/, which the static top-level drop-in
// service.d/10-eks-node-environment.conf has every service read at its start
// (default.env, then %N.env): no reload, and any unit can have a section.
#include "render/system_files.hpp"

#include <set>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/outputs.hpp"
#include "core/paths.hpp"
#include "core/syntax.hpp"
#include "format/checks.hpp"
#include "input/profiles.hpp"
#include "render/render.hpp"
#include "render/shared.hpp"

namespace eksnode::render {

namespace detail {

namespace {

constexpr std::string_view writer = "eks-node-system";

EnvMap section_vars(const json& vars, const std::string& field) {
    if (!vars.is_object()) throw ConfigError("config.json", field, "expected an object");
    EnvMap out;
    for (auto it = vars.begin(); it != vars.end(); ++it) {
        std::string var = fmt::format("{}.{}", field, it.key());
        if (!valid_environment_name(it.key()))
            throw ConfigError("config.json", var, "not a valid environment variable name");
        if (!it->is_string()) throw ConfigError("config.json", var, "expected a string");
        const std::string& value = it->get_ref<const std::string&>();
        // no environment can hold one: execve(2) would end the value there
        if (value.find('\0') != std::string::npos)
            throw ConfigError("config.json", var, "holds a NUL character, which no environment variable can");
        out[it.key()] = value;
    }
    return out;
}

}  // namespace

ServiceEnvironment service_environment(const json& cfg) {
    ServiceEnvironment env;
    const json* sections = non_empty_object(cfg, "/spec/instance/environment");
    if (!sections) return env;
    std::map<std::string, std::string> seen;  // unit -> key
    for (auto it = sections->begin(); it != sections->end(); ++it) {
        const std::string& key = it.key();
        const std::string field = fmt::format("spec.instance.environment.{}", key);
        if (std::string problem = format::check::service_section(key); !problem.empty())
            throw ConfigError("config.json", field, problem);
        if (key == "default") {
            env.defaults = section_vars(*it, field);
            continue;
        }
        EnvSection s{key, format::check::service_section_unit(key), section_vars(*it, field)};
        if (auto [at, fresh] = seen.emplace(s.unit, key); !fresh)
            throw ConfigError("config.json", field,
                              fmt::format("names the same unit as spec.instance.environment.{}", at->second));
        env.units.push_back(std::move(s));
    }
    return env;
}

std::string unit_env_path(std::string_view unit) { return fmt::format("{}/{}.env", path::env_dir, unit); }

std::optional<std::string> resolved_dropin(const json& cfg) {
    auto joined = [&](std::string_view pointer, std::string (*check)(std::string_view)) {
        std::string out;
        const json* list = find(cfg, pointer);
        if (!list) return out;
        if (!list->is_array()) throw ConfigError("config.json", dotted(pointer), "expected a list of strings");
        for (size_t i = 0; i < list->size(); ++i) {
            const json& v = (*list)[i];
            std::string field = fmt::format("{}[{}]", dotted(pointer), i);
            if (!v.is_string()) throw ConfigError("config.json", field, "expected a string");
            const std::string& s = v.get_ref<const std::string&>();
            if (std::string problem = check(s); !problem.empty()) throw ConfigError("config.json", field, problem);
            out.append(out.empty() ? "" : " ").append(s);
        }
        return out;
    };
    std::string dns = joined("/spec/instance/network/nameservers", format::check::ip_address);
    std::string domains = joined("/spec/instance/network/domains", format::check::domain_name);
    if (dns.empty() && domains.empty()) return std::nullopt;

    std::string out = generated_header(writer, "spec.instance.network");
    out += "[Resolve]\n";
    if (!dns.empty()) out += fmt::format("DNS={}\n", dns);
    if (!domains.empty()) out += fmt::format("Domains={}\n", domains);
    return out;
}

std::optional<std::string> sysctl_conf(const json& cfg) {
    const json* table = non_empty_object(cfg, "/settings/sysctls");
    if (!table) return std::nullopt;
    const json* origins = find(cfg, "/origins");
    std::string out = generated_header(writer, "settings.profile and settings.sysctls");
    out += "# Applied by systemd-sysctl before kubelet starts; /etc/sysctl.d/ may hide this file by its name.\n";
    // In name order (a JSON object's): one origin comment, then the value.
    for (auto it = table->begin(); it != table->end(); ++it) {
        const std::string field = fmt::format("settings.sysctls.{}", it.key());
        if (std::string problem = input::profiles::sysctl_name_problem(it.key()); !problem.empty())
            throw ConfigError("config.json", field, problem);
        std::string problem;
        std::string value = input::profiles::sysctl_value(*it, problem);
        if (!problem.empty()) throw ConfigError("config.json", field, problem);
        std::string origin = "configuration";
        if (origins && origins->is_object())
            if (auto o = origins->find("/settings/sysctls/" + it.key()); o != origins->end() && o->is_string())
                origin = o->get<std::string>();
        out += fmt::format("# {}\n{} = {}\n", syntax::comment(origin), it.key(), value);
    }
    return out;
}

}  // namespace detail

namespace {

using namespace detail;

bool last_changed(const StepResult& r) { return !r.outputs.empty() && r.outputs.back().second == WriteResult::written; }

// Every file's mode is the registry's (0600): the values are typically proxy
// URLs, which may carry credentials, and only PID 1 reads an EnvironmentFile=.
void render_environment(StepResult& r, const json& cfg, const Paths& paths) {
    const ServiceEnvironment env = service_environment(cfg);

    if (env.defaults.empty()) {
        withdraw(r, paths, path::default_env);
    } else {
        put(r, paths, path::default_env,
            environment_file(generated_header(writer, "spec.instance.environment.default"), env.defaults));
    }
    const bool defaults_changed = last_changed(r);

    // The units whose complete environment (default.env, then NAME.env) may
    // have changed: kubelet and containerd, which every node runs, and every
    // unit with a section now or a file from an earlier run.
    std::set<std::string> units = {"containerd", "kubelet"};
    std::set<std::string> own_changed;
    std::set<std::string> current;
    for (const EnvSection& s : env.units) {
        units.insert(s.unit);
        if (s.vars.empty()) continue;  // an empty section is no file: withdrawn below
        current.insert(unit_env_path(s.unit));
        put(r, paths, unit_env_path(s.unit),
            environment_file(generated_header(writer, fmt::format("spec.instance.environment.{}", s.key)), s.vars));
        if (last_changed(r)) own_changed.insert(s.unit);
    }
    // A section that is gone leaves a file behind: /run/eks-node/env/ is this
    // step's, so every NAME.env it did not write this time is withdrawn.
    for (const std::string& file : outputs::present(outputs::of(path::unit_env), paths)) {
        if (current.count(file)) continue;
        std::string unit = file.substr(path::env_dir.size() + 1);
        unit.resize(unit.size() - std::string_view(".env").size());
        units.insert(unit);
        withdraw(r, paths, file);
        if (last_changed(r)) own_changed.insert(unit);
    }

    for (const std::string& unit : units) {
        if (!defaults_changed && !own_changed.count(unit)) continue;
        r.restart(unit + ".service",
                  fmt::format("{} changed", defaults_changed ? std::string(path::default_env) : unit_env_path(unit)));
    }
}

void render_resolver(StepResult& r, const json& cfg, const Paths& paths) {
    // systemd-resolved (252) reads resolved.conf.d/ only when it starts.
    std::optional<std::string> dropin = resolved_dropin(cfg);
    if (dropin) {
        put(r, paths, path::resolved_dropin, *dropin);
    } else {
        withdraw(r, paths, path::resolved_dropin);
    }
    if (last_changed(r)) r.restart("systemd-resolved.service", fmt::format("{} changed", path::resolved_dropin));
}

// Written here; systemd-sysctl applies it (steps/system.cpp restarts it and
// waits, so the values are in effect before kubelet starts).
void render_sysctls(StepResult& r, const json& cfg, const Paths& paths) {
    std::optional<std::string> conf = sysctl_conf(cfg);
    if (conf) {
        put(r, paths, path::sysctl_conf, *conf);
    } else {
        withdraw(r, paths, path::sysctl_conf);
    }
}

}  // namespace

bool sysctls_changed(const StepResult& r) {
    for (const auto& [file, result] : r.outputs)
        if (file.string().ends_with(path::sysctl_conf) && result == WriteResult::written) return true;
    return false;
}

bool sets_dns(const json& cfg) { return resolved_dropin(cfg).has_value(); }

std::optional<std::string> system_due(const json& cfg, const Paths& paths) {
    try {
        const ServiceEnvironment env = service_environment(cfg);
        if (!env.defaults.empty()) return "spec.instance.environment.default sets variables";
        for (const EnvSection& s : env.units)
            if (!s.vars.empty()) return fmt::format("spec.instance.environment.{} sets variables", s.key);
        if (resolved_dropin(cfg)) return "spec.instance.network sets name servers or search domains";
        if (sysctl_conf(cfg)) return "settings.sysctls (or settings.profile) sets kernel parameters";
    } catch (const std::exception&) {
        return "the configuration's service environment, network or sysctls are refused: eks-node-system says why";
    }
    // a file from an earlier run (a re-run after a change): withdrawn by the step
    for (const outputs::Output* o : outputs::of_step("system")) {
        std::vector<std::string> present = outputs::present(*o, paths);
        if (!present.empty()) return fmt::format("{} is there from an earlier run", present.front());
    }
    return std::nullopt;
}

StepResult render_system(const json& cfg, const Paths& paths) {
    StepResult r;
    render_environment(r, cfg, paths);
    render_resolver(r, cfg, paths);
    render_sysctls(r, cfg, paths);
    return r;
}

}  // namespace eksnode::render
