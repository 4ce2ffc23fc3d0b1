// SPDX-License-Identifier: Apache-2.0
// JSON into TOML text. Apart from toml_json.cpp (TOML into JSON) so that a
// binary reading TOML does not link the writer, and the reverse.
#include "format/toml_json.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <sstream>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/toml.hpp"

namespace eksnode::format {

namespace {

toml::table to_table(const json& obj, std::string_view what, const std::string& at);
toml::array to_array(const json& arr, std::string_view what, const std::string& at);

std::string child(const std::string& at, const std::string& key) {
    return at.empty() ? key : fmt::format("{}.{}", at, key);
}

// Hands the TOML value of `v` to `sink` (an insert into a table or an array).
template <typename Sink>
void convert(const json& v, std::string_view what, const std::string& at, Sink&& sink) {
    switch (v.type()) {
    case json::value_t::object: sink(to_table(v, what, at)); break;
    case json::value_t::array: sink(to_array(v, what, at)); break;
    case json::value_t::string: sink(v.get<std::string>()); break;
    case json::value_t::boolean: sink(v.get<bool>()); break;
    case json::value_t::number_integer: sink(v.get<int64_t>()); break;
    case json::value_t::number_unsigned: {
        auto u = v.get<uint64_t>();
        if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
            throw Error(fmt::format("{}: {}: {} does not fit a TOML integer", what, at, u));
        sink(static_cast<int64_t>(u));
        break;
    }
    case json::value_t::number_float: sink(v.get<double>()); break;
    default: throw Error(fmt::format("{}: {}: TOML has no null or binary values", what, at));
    }
}

toml::table to_table(const json& obj, std::string_view what, const std::string& at) {
    toml::table t;
    for (auto it = obj.begin(); it != obj.end(); ++it) {
        const std::string& key = it.key();
        // validation refuses them; this keeps a broken file from being written anyway
        if (!toml_writable_key(key))
            throw Error(
                fmt::format("{}: {}: a key with a control character or an apostrophe, which toml++ writes "
                            "unquoted",
                            what, child(at, json(key).dump(-1, ' ', false, json::error_handler_t::replace))));
        convert(*it, what, child(at, key), [&](auto&& x) { t.insert_or_assign(key, std::forward<decltype(x)>(x)); });
    }
    return t;
}

toml::array to_array(const json& arr, std::string_view what, const std::string& at) {
    toml::array a;
    const std::string element = fmt::format("{}[]", at);
    for (const json& e : arr) convert(e, what, element, [&](auto&& x) { a.push_back(std::forward<decltype(x)>(x)); });
    return a;
}

}  // namespace

std::string json_to_toml(const json& doc, std::string_view what) {
    std::ostringstream out;
    // format_flags::none: no indentation of sub-tables, basic "..." strings;
    // the same data always prints the same way.
    out << toml::toml_formatter(to_table(doc, what, ""), toml::format_flags::none);
    std::string s = out.str();
    if (!s.empty() && s.back() != '\n') s += '\n';
    return s;
}

}  // namespace eksnode::format
