#include "config/text.hpp"

#include <algorithm>

namespace eksnode::text {

namespace {
constexpr size_t quoted_max = 80;
}

std::string quote(std::string_view s) {
    bool cut = s.size() > quoted_max;
    json j = std::string(s.substr(0, cut ? quoted_max : s.size()));
    // replace: a value cut inside a UTF-8 sequence, or binary junk, still prints
    std::string out = j.dump(-1, ' ', false, json::error_handler_t::replace);
    if (cut) out.insert(out.size() - 1, "...");
    return out;
}

std::string describe(const json& value) {
    if (value.is_string()) return quote(value.get_ref<const std::string&>());
    if (value.is_object()) return "an object";
    if (value.is_array()) return "a list";
    return value.dump();
}

bool is_text(std::string_view s) {
    // Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing past
    // U+10FFFF, exactly what JSON may carry; a looser check here would let
    // text through that the JSON writer refuses later, in another step.
    auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
    for (size_t i = 0; i < s.size();) {
        unsigned char c = byte(i);
        if (c == 0) return false;
        if (c < 0x80) {
            ++i;
            continue;
        }
        size_t len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
        if (len == 0 || i + len > s.size()) return false;
        for (size_t k = 1; k < len; ++k)
            if ((byte(i + k) & 0xc0) != 0x80) return false;
        unsigned char second = byte(i + 1);
        if ((c == 0xe0 && second < 0xa0) ||   // overlong 3-byte form
            (c == 0xed && second >= 0xa0) ||  // UTF-16 surrogate
            (c == 0xf0 && second < 0x90) ||   // overlong 4-byte form
            (c == 0xf4 && second >= 0x90))    // beyond U+10FFFF
            return false;
        i += len;
    }
    return true;
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

}  // namespace eksnode::text
