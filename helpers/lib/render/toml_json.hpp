// containerd configuration is TOML; config.json carries the user's part as the
// JSON object of the parsed TOML. The renderer builds and merges in JSON and
// emits TOML once, here.
#pragma once

#include <string>
#include <string_view>

#include "core/jsonutil.hpp"

namespace eksnode::render_detail {

// `doc` (a JSON object) as a TOML document: keys sorted, every table under its
// full dotted header, no indentation, so equal data always gives equal bytes.
// Throws Error naming `what` and the key for values TOML cannot hold (null,
// integers beyond int64).
std::string to_toml(const json& doc, std::string_view what);

}  // namespace eksnode::render_detail
