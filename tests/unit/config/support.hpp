// SPDX-License-Identifier: Apache-2.0
// Helpers for the [config] tests: encoders for building user data, a real CA,
// and a complete NodeConfig to vary.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/jsonutil.hpp"

#include <nlohmann/json.hpp>

namespace eksnode::test {

// A real self-signed cluster CA (the one the conformance samples use).
extern const std::string ca_pem;
std::string ca_base64();  // base64 of ca_pem, the way NodeConfigs carry it

std::string base64(std::string_view bytes);
std::string gzip(std::string_view bytes);

// A NodeConfig with the four required cluster fields, then `extra` appended
// (YAML, indented as under "spec:").
std::string nodeconfig_yaml(std::string_view extra = "");
// The same NodeConfig as a document, to vary field by field.
nlohmann::ordered_json nodeconfig_document();

std::filesystem::path conformance_root();

// (source, TOML text) fragments merged as eks-node-config merges them,
// validating each, then the merged settings (validate_settings).
using Fragments = std::vector<std::pair<std::string, std::string>>;
json merged_settings(const Fragments& fragments, Origins& origins);
// The ConfigError merged_settings() throws (checked to be exit 6), or "accepted".
std::string settings_error(const Fragments& fragments);  // the conformance samples (tests/conformance)

// s with every `from` replaced by `to`
inline std::string replace_all(std::string s, std::string_view from, std::string_view to) {
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
        s.replace(at, from.size(), to);
    return s;
}

// The spec of a one-document NodeConfig whose spec holds `yaml`
json spec_of(std::string_view yaml);

// A spec that names a cluster and nothing else
inline json cluster_named(std::string_view name) { return {{"cluster", {{"name", name}}}}; }

}  // namespace eksnode::test
