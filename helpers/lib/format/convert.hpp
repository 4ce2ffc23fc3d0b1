// SPDX-License-Identifier: Apache-2.0
// Parsers that turn YAML, JSON and TOML text into JSON values (for the front
// ends in input/). Every error is a ConfigError naming the source and, where known,
// the field and the position in the text.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/jsonutil.hpp"
#include "format/limits.hpp"
#include "format/toml_json.hpp"

namespace eksnode::format {

// Every document of a YAML stream, read as nodeadm reads it: plain scalars
// are typed by go-yaml v2's YAML 1.1 rules (yes/no/on/off are booleans, 0755
// is octal; format/yaml_scalar.hpp), quoted and block scalars stay strings,
// "<<" merges mappings. Empty documents come back as null. Values and text
// are charged to `budget` (limits::document_values, document_bytes), or to
// one of the stream's own without it.
std::vector<json> yaml_documents(std::string_view text, const std::string& source);
std::vector<json> yaml_documents(std::string_view text, const std::string& source, ReadBudget& budget);

// True if `text` parses as YAML and its first document is a mapping.
bool is_yaml_mapping(std::string_view text);

// One JSON document, nested at most limits::nesting_depth deep, its values
// charged to `budget`.
json json_document(std::string_view text, const std::string& source, ReadBudget& budget);

// TOML: parse_toml and toml_to_json are in format/toml_json.hpp.

// A NodeConfig carries spec.containerd.config as TOML text (eks-node.toml may
// too); fragments hold it parsed, as an object, so it merges key by key.
// Replaces the string in `spec`; errors name spec.containerd.config. Its
// values are charged to `budget`, the source's, where there is one.
void parse_containerd_config(json& spec, const std::string& source, ReadBudget* budget = nullptr);

}  // namespace eksnode::format
