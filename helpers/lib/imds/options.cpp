// SPDX-License-Identifier: Apache-2.0
// ImdsOptions from [settings.imds] and --imds-endpoint.

#include <fmt/format.h>

#include "core/error.hpp"
#include "imds/imds.hpp"
#include "input/settings.hpp"

namespace eksnode::imds {

namespace {

// eks-node-imds reads the static fragments merged, with no record of which
// file set which key (resolve/fragments.cpp, static_settings_table()).
constexpr std::string_view settings_source = "static configuration (node.toml.d)";

}  // namespace

ImdsOptions imds_options(const json& merged, const std::string& endpoint_override) {
    ImdsOptions o;
    json table;
    if (merged.is_object())
        if (auto it = merged.find("imds"); it != merged.end()) table = *it;
    // The reader eks-node-config validates with (input/settings.hpp): one
    // grammar, so what passes here cannot fail there, nor the reverse.
    input::settings::ImdsSettings s =
        input::settings::read_imds(table, std::string(settings_source), input::settings::Table::merged);
    if (s.deadline) o.deadline = *s.deadline;
    if (s.request_timeout) o.request_timeout = *s.request_timeout;
    // An explicit endpoint is the only one; the mode picks among the
    // link-local pair otherwise.
    if (s.endpoint) o.endpoints = {*s.endpoint};
    else if (s.endpoint_mode == input::settings::EndpointMode::ipv4) o.endpoints = {std::string(imds_ipv4_endpoint)};
    else if (s.endpoint_mode == input::settings::EndpointMode::ipv6) o.endpoints = {std::string(imds_ipv6_endpoint)};

    if (!endpoint_override.empty()) {
        std::string problem;
        std::optional<std::string> e = input::settings::imds_endpoint(endpoint_override, problem);
        if (!e) throw UsageError(fmt::format("--imds-endpoint={}: {}", endpoint_override, problem));
        o.endpoints = {*e};
    }
    return o;
}

}  // namespace eksnode::imds
