// SPDX-License-Identifier: Apache-2.0
// Small text helpers shared across areas: the one home for hexadecimal,
// percent-decoding, UTF-8 validation and quoting a value into a message.
#pragma once

#include <cstddef>
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

// An ASCII decimal digit, in any locale (std::isdigit's answer depends on it, and a
// negative char is undefined behaviour there).
constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }
// ASCII letters and digits, for the same reasons (names in Kubernetes', DNS's and AWS's rules)
constexpr bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
constexpr bool is_lower_alnum(char c) { return is_lower(c) || is_digit(c); }
constexpr bool is_alnum(char c) { return is_lower_alnum(c) || (c >= 'A' && c <= 'Z'); }

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

// `bytes` as lowercase hexadecimal, two digits a byte (SigV4's hashes and
// signatures, systemd's invocation ids).
std::string hex_encode(std::string_view bytes);

// The length of the valid UTF-8 sequence that `s` (not empty) starts with,
// 0 when it starts with none (RFC 3629: no overlong forms, no surrogates,
// nothing past U+10FFFF).
std::size_t utf8_length(std::string_view s);

// Strict UTF-8 (RFC 3629: no overlong forms, no UTF-16 surrogates, nothing
// past U+10FFFF) without NUL bytes: what a text document must be and exactly
// what JSON can carry. A looser check would let text through that the JSON
// writer refuses later, in another step.
bool is_utf8_text(std::string_view s);

// `s` JSON-quoted for a one-line message: control characters escaped, bytes
// that are not UTF-8 replaced by U+FFFD (never thrown), and cut after
// `max_bytes` with "..." inside the closing quote. `ascii`: everything past
// U+007F escaped too, for logs that must stay 7-bit.
enum class QuoteAs { utf8, ascii };
std::string json_quoted(std::string_view s, std::size_t max_bytes, QuoteAs as = QuoteAs::utf8);

// `s` made safe to print as one line of a log or a terminal: control
// characters (C0, DEL, C1), the Unicode line and paragraph separators
// (U+2028, U+2029), the bidi controls (U+061C, U+200E, U+200F,
// U+202A..U+202E, U+2066..U+2069) and bytes that are not UTF-8 shown as C
// escapes ("\n", "\t", "\x1b", "\xe2\x80\xa8"), so a value cannot start a
// line of its own, reorder the line or steer the terminal; cut at a character boundary so that the result, with the
// "..." that marks the cut, is at most `max_bytes` bytes (at least 3).
std::string one_line(std::string_view s, std::size_t max_bytes);

}  // namespace eksnode
