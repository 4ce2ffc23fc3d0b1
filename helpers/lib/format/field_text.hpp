// SPDX-License-Identifier: Apache-2.0
// Small text helpers shared by the configuration front ends (format/, input/ and config/).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/jsonutil.hpp"

namespace eksnode::format::text {

// JSON-quoted, as values appear in error messages; long values are cut short
// (a certificate or a whole document has no place in a one-line message).
std::string quote(std::string_view s);

// A value as error messages show it: scalars quoted or printed, containers named.
std::string describe(const json& value);

bool is_space(char c);
std::string_view trim(std::string_view s);
std::string_view trim_left(std::string_view s);
std::string lower(std::string_view s);

// Field paths as errors show them: "spec.kubelet" + "flags" -> "spec.kubelet.flags",
// then + 1 -> "spec.kubelet.flags[1]". An empty parent is the document root.
std::string child_path(std::string_view parent, std::string_view key);
std::string element_path(std::string_view parent, size_t index);

// A key as a field path shows it: as it is when it reads as a name
// (letters, digits, '_', '-', at most 64 bytes), else JSON-quoted and cut
// short, so that a path stays one short line whatever key the input holds.
std::string key_in_path(std::string_view key);

// The name of `known` nearest to `name` by edit distance (one insertion,
// deletion or substitution each, letter case ignored), the first of equals;
// "" when `known` is empty. Only a name's first 64 bytes are compared: what
// a longer key meant cannot be guessed any better, and a key of a megabyte
// must not cost megabytes of work per known name.
std::string nearest(std::string_view name, const std::vector<std::string>& known);
// The edit distance nearest() goes by, byte for byte (letter case counts).
size_t edit_distance(std::string_view a, std::string_view b);

// "user data" + "document 2" -> "user data (document 2)";
// "user data (MIME part 2, x)" + "document 2" -> "user data (MIME part 2, x, document 2)".
std::string qualify(const std::string& source, std::string_view detail);

// The source a JSON pointer below config.json's settings came from, as its
// "origins" record it: the key's own, else of any key below it, else
// config.json itself. For readers of the merged settings run by a step.
std::function<std::string(const std::string&)> origin_in_config(const json& cfg);

}  // namespace eksnode::format::text
