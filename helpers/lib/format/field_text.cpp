// SPDX-License-Identifier: Apache-2.0
#include "format/field_text.hpp"

#include <algorithm>
#include <cstdint>

#include "core/paths.hpp"
#include "core/text.hpp"

namespace eksnode::format::text {

namespace {
constexpr size_t quoted_max = 80;
constexpr size_t name_max = 64;
}  // namespace

std::string quote(std::string_view s) { return json_quoted(s, quoted_max); }

std::string describe(const json& value) {
    if (value.is_string()) return quote(value.get_ref<const std::string&>());
    if (value.is_object()) return "an object";
    if (value.is_array()) return "a list";
    return value.dump();
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

std::string_view trim_left(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    return s;
}

std::string_view trim(std::string_view s) {
    s = trim_left(s);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c); });
    return out;
}

std::string child_path(std::string_view parent, std::string_view key) {
    if (parent.empty()) return std::string(key);
    return std::string(parent) + "." + std::string(key);
}

std::string element_path(std::string_view parent, size_t index) {
    return std::string(parent) + "[" + std::to_string(index) + "]";
}

std::string key_in_path(std::string_view key) {
    bool plain = !key.empty() && key.size() <= name_max && std::all_of(key.begin(), key.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
    return plain ? std::string(key) : quote(key);
}

size_t edit_distance(std::string_view a, std::string_view b) {
    // Levenshtein, one row at a time: row[j] is the distance between the
    // first i bytes of a and the first j of b
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diagonal = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            size_t above = row[j];
            row[j] = std::min({above + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

std::string nearest(std::string_view name, const std::vector<std::string>& known) {
    const std::string a = lower(name.substr(0, name_max));
    std::string best;
    size_t best_distance = SIZE_MAX;
    for (const std::string& candidate : known) {
        const size_t d = edit_distance(a, lower(candidate));
        if (d < best_distance) {
            best_distance = d;
            best = candidate;
        }
    }
    return best;
}

std::string qualify(const std::string& source, std::string_view detail) {
    if (!source.empty() && source.back() == ')')
        return source.substr(0, source.size() - 1) + ", " + std::string(detail) + ")";
    return source + " (" + std::string(detail) + ")";
}

std::function<std::string(const std::string&)> origin_in_config(const json& cfg) {
    const json* origins = path_in(cfg, {"origins"});
    return [origins](const std::string& pointer) {
        if (origins && origins->is_object()) {
            if (auto it = origins->find(pointer); it != origins->end() && it->is_string())
                return it->get<std::string>();
            for (const auto& [p, source] : origins->items())
                if (p.starts_with(pointer + "/") && source.is_string()) return source.get<std::string>();
            // a table set whole: the source of the nearest parent recorded
            for (std::string up = pointer; up.rfind('/') != 0 && up.rfind('/') != std::string::npos;) {
                up.resize(up.rfind('/'));
                if (auto it = origins->find(up); it != origins->end() && it->is_string()) return it->get<std::string>();
            }
        }
        return std::string(path::config_json);
    };
}

}  // namespace eksnode::format::text
