// Small text helpers shared across areas.
#pragma once

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

}  // namespace eksnode
