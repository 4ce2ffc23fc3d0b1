// SPDX-License-Identifier: Apache-2.0
// settings.trust: certificate bundles added to (or, trusted = false, taken
// out of) the system trust store (eks-node.toml(5), TRUST), each certificate
// checked as the cluster CA is. Read here once, for eks-node-config's
// validation and for eks-node-ca, which writes them the distribution's way.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/jsonutil.hpp"

namespace eksnode::config::trust {

inline constexpr size_t max_bundles = 64;

struct Bundle {
    std::string name;  // a DNS label: the file eks-node-NAME.pem
    std::string pem;   // normalized (certificate_authority_pem)
    bool trusted = true;
    std::string source;
};

// The bundles of the merged settings.trust table (null: none), in name
// order. Throws ConfigError(origin(pointer), "settings.trust.NAME[.key]",
// problem): no certificates, one that is not a certificate, too many.
std::vector<Bundle> read(const json& table, const std::function<std::string(const std::string&)>& origin);

// The bundles of config.json, errors naming the sources in its origins.
std::vector<Bundle> of_config(const json& cfg);

}  // namespace eksnode::config::trust
