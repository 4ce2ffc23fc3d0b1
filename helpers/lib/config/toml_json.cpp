// TOML text into JSON values. Apart from convert.cpp (YAML and JSON) so that
// a step reading only TOML (eks-node-imds's [settings.imds],
// resolve/fragments.cpp) links toml++ and not libyaml.
#include <cmath>
#include <sstream>

#include <fmt/format.h>

#include "config/convert.hpp"
#include "config/text.hpp"
#include "core/error.hpp"

namespace eksnode {

namespace {

constexpr const char* no_json_form = "infinite and NaN numbers have no JSON form";

}  // namespace

toml::table parse_toml(std::string_view text, const std::string& source, const std::string& field) {
    try {
        return toml::parse(text);
    } catch (const toml::parse_error& e) {
        const auto& at = e.source().begin;
        throw ConfigError(source, field,
                          fmt::format("invalid TOML at line {}, column {}: {}", at.line, at.column, e.description()));
    }
}

json toml_to_json(const toml::node& node, const std::string& source, const std::string& path) {
    return node.visit([&](const auto& v) -> json {
        using T = std::decay_t<decltype(v)>;
        if constexpr (toml::is_table<T>) {
            json out = json::object();
            for (const auto& [key, child] : v)
                out[std::string(key.str())] = toml_to_json(child, source, text::child_path(path, key.str()));
            return out;
        } else if constexpr (toml::is_array<T>) {
            json out = json::array();
            for (size_t i = 0; i < v.size(); ++i)
                out.push_back(toml_to_json(v[i], source, text::element_path(path, i)));
            return out;
        } else if constexpr (toml::is_floating_point<T>) {
            if (!std::isfinite(v.get())) throw ConfigError(source, path, no_json_form);
            return v.get();
        } else if constexpr (toml::is_string<T> || toml::is_integer<T> || toml::is_boolean<T>) {
            return v.get();
        } else {  // date, time, date-time: their RFC 3339 text
            std::ostringstream out;
            out << v;
            return out.str();
        }
    });
}

}  // namespace eksnode
