// SPDX-License-Identifier: Apache-2.0
// JSON helpers shared by the config model and the renderers.
#pragma once

#include <initializer_list>
#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/ordered_index.hpp"

namespace eksnode {

// Objects keep keys in insertion order, so files read the way we wrote them
// (kind and apiVersion first) and user documents keep their own order: what
// nlohmann::ordered_json gives, byte for byte, but with hashed lookup
// (core/ordered_index.hpp; ordered_json's linear lookup made an object of n
// keys cost n^2 to parse and merge, issue 58).
using json = nlohmann::basic_json<ordered_index>;
// JSON pointer (e.g. "/spec/cluster/name") -> human label of the source that set it.
using Origins = std::map<std::string, std::string>;

// Deep merge: objects merge key by key (recursively); anything else in `src`
// (scalars, arrays, null) replaces what `dst` had.
void deep_merge(json& dst, const json& src);

// Serialises the way every JSON output of ours looks: 4-space indent, keys in
// the order the document holds them, trailing newline.
std::string dump_pretty(const json& j, int indent = 4);

// The value at keys below j (each step into an object), or nullptr where a
// key is missing or a value on the way is not an object.
const json* path_in(const json& j, std::initializer_list<const char*> keys);

// "spec.cluster.cidr" from "/spec/cluster/cidr" (the form users read in errors).
std::string dotted(std::string_view pointer);

}  // namespace eksnode
