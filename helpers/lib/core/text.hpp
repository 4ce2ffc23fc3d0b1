// Small text helpers shared across areas.
#pragma once

#include <string>
#include <string_view>

namespace eksnode {

// Strips the spaces, tabs and line ends around a one-line value read from a
// file or an HTTP answer ("v1.29.0\n", "i-0abc\r\n"). Other control characters
// stay, so callers that refuse them still see them.
constexpr std::string_view trim_line(std::string_view s) {
    auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!s.empty() && blank(s.front())) s.remove_prefix(1);
    while (!s.empty() && blank(s.back())) s.remove_suffix(1);
    return s;
}

// The value of a hexadecimal digit, -1 for anything else.
constexpr int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// %XX escapes decoded (RFC 3986); a '%' not followed by two hex digits stays.
inline std::string percent_decode(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
            out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

}  // namespace eksnode
