// SPDX-License-Identifier: Apache-2.0
// eks-node-system's documents, each a pure function of config.json. Internal
// to helpers/lib/render/ and its tests; render_system() writes them.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/jsonutil.hpp"

namespace eksnode::render::detail {

using EnvMap = std::map<std::string, std::string>;

// One section of spec.instance.environment other than "default".
struct EnvSection {
    std::string key;   // as config.json has it: "kubelet.service", "bar@1"
    std::string unit;  // without ".service": its file NAME.env, its unit NAME.service
    EnvMap vars;       // may be empty: the section then writes no file
};

struct ServiceEnvironment {
    EnvMap defaults;                // spec.instance.environment.default
    std::vector<EnvSection> units;  // every other section, by key
};

// spec.instance.environment, checked again as a last line of defence (a
// config.json not written by eks-node-config): section names as
// format::check::service_section, two sections for one unit, variable names
// systemd accepts, string values without NUL. Throws ConfigError naming the field.
ServiceEnvironment service_environment(const json& cfg);

// /run/eks-node/env/NAME.env of a unit ("kubelet" -> ".../kubelet.env").
std::string unit_env_path(std::string_view unit);

// The systemd-resolved drop-in for spec.instance.network ([Resolve], DNS= and
// Domains=, each only when it has values, space-separated as nodeadm writes
// them); nullopt when neither nameservers nor domains are set. Each value is
// checked again as an IP address or a domain name (ConfigError): a line
// break in one would add settings of its own.
std::optional<std::string> resolved_dropin(const json& cfg);

// The sysctl.d file of settings.sysctls, each value under a comment naming its
// origin (config.json "origins"); nullopt when there is none.
std::optional<std::string> sysctl_conf(const json& cfg);

}  // namespace eksnode::render::detail
