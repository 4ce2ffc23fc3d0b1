// SPDX-License-Identifier: Apache-2.0
// spec.instance.environment as a unit sees it. eks-node-system writes the
// `default` section to default.env and each service's own section to
// UNIT.env, and every service reads them in that order (render/system_files.cpp),
// so a unit's variables are default's with its own section's over them. One
// function answers that for every consumer: eks-node-prepull (the credential
// plugins' environment), pre-flight and eks-node-config's AWS client (their
// proxies), eks-node-ecs (ecs.config). One table names the proxy variables.
#pragma once

#include <array>
#include <map>
#include <string>
#include <string_view>

#include "core/jsonutil.hpp"

namespace eksnode::config::environment {

// A proxy variable in both spellings; `go`: read by Go's net/http (kubelet,
// containerd, the ECS agent, nodeadm). ALL_PROXY is curl's alone.
struct ProxyName {
    std::string_view upper, lower;
    bool go;
};
inline constexpr ProxyName http_proxy{"HTTP_PROXY", "http_proxy", true};
inline constexpr ProxyName https_proxy{"HTTPS_PROXY", "https_proxy", true};
inline constexpr ProxyName no_proxy{"NO_PROXY", "no_proxy", true};
inline constexpr ProxyName all_proxy{"ALL_PROXY", "all_proxy", false};
inline constexpr std::array proxy_names{http_proxy, https_proxy, no_proxy, all_proxy};

struct Value {
    std::string value;
    std::string origin;  // "spec.instance.environment.default", "spec.instance.environment.kubelet"
};

// The variables `unit` ("kubelet", "ecs": a service's name without
// ".service") gets from spec.instance.environment, by name. "" (or a unit
// without a section): the default section's alone, as eks-node's own steps'
// clients take it. A value that is not a string is skipped (validation names it).
std::map<std::string, Value> of_unit(const json& spec, std::string_view unit);

}  // namespace eksnode::config::environment
