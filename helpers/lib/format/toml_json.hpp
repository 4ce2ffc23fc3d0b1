// SPDX-License-Identifier: Apache-2.0
// TOML and JSON, both ways: the one home for the conversion. Two object files
// behind this header, so a binary links only the direction it calls:
//   format/toml_json.cpp  TOML text -> JSON (node.toml.d fragments, eks-node.toml,
//                         spec.containerd.config); eks-node-imds links it and
//                         must not pull in the YAML reader with it
//   format/json_toml.cpp  JSON -> TOML text (containerd's config.toml, the
//                         CLI's bootstrap-sh slot and redacted fragments)
#pragma once

#include <string>
#include <string_view>

#include "core/jsonutil.hpp"
#include "core/toml.hpp"

namespace eksnode::format {

struct ReadBudget;  // format/limits.hpp

// A TOML document, nested at most limits::nesting_depth deep (each part of a
// dotted key or table header a level). `field` is where the text sits inside
// a larger document (e.g. "spec.containerd.config"), empty for a whole file.
// Errors are ConfigErrors naming the source, the field and the position.
toml::table parse_toml(std::string_view text, const std::string& source, const std::string& field = "");

// TOML as JSON: tables become objects, arrays lists, dates and times their
// RFC 3339 text. `path` is the node's field path, for errors. A node nested
// deeper than limits::nesting_depth below `node` is an error. With `budget`,
// each value (table, array, scalar) is charged to it, and more than
// limits::document_values in the source is an error, as for YAML and JSON.
json toml_to_json(const toml::node& node, const std::string& source, const std::string& path,
                  ReadBudget* budget = nullptr);

// `doc` (a JSON object) as a TOML document: keys sorted, every table under its
// full dotted header, no indentation, so equal data always gives equal bytes.
// Throws Error naming `what` and the key for values TOML cannot hold (null,
// integers beyond int64).
std::string json_to_toml(const json& doc, std::string_view what);

// Whether json_to_toml can write `key`: toml++ 3.3's writer leaves a key bare
// when it holds a newline, a tab or an apostrophe and is otherwise bare, text
// no TOML reader takes (containerd's neither). Keys with those, or any other
// control character, are refused where they enter and never written.
// Inline: validation asks it without linking the writer.
inline bool toml_writable_key(std::string_view key) {
    for (char c : key)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == '\'') return false;
    return true;
}

}  // namespace eksnode::format
