// SPDX-License-Identifier: Apache-2.0
#include "config/text.hpp"

#include <algorithm>

#include "core/text.hpp"

namespace eksnode::config::text {

namespace {
constexpr size_t quoted_max = 80;
}

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

std::string qualify(const std::string& source, std::string_view detail) {
    if (!source.empty() && source.back() == ')')
        return source.substr(0, source.size() - 1) + ", " + std::string(detail) + ")";
    return source + " (" + std::string(detail) + ")";
}

}  // namespace eksnode::config::text
