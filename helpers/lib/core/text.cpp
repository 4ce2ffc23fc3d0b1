// SPDX-License-Identifier: Apache-2.0
#include "core/text.hpp"

#include <algorithm>

#include "core/jsonutil.hpp"

namespace eksnode {

std::string hex_encode(std::string_view bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out(bytes.size() * 2, '0');
    for (size_t i = 0; i < bytes.size(); ++i) {
        auto b = static_cast<unsigned char>(bytes[i]);
        out[2 * i] = digits[b >> 4];
        out[2 * i + 1] = digits[b & 0xf];
    }
    return out;
}

// The lead byte gives the sequence's length and the range its second byte
// must fall in; that range is what rules out overlong forms (E0 80..9F,
// F0 80..8F), surrogates (ED A0..BF) and code points past U+10FFFF
// (F4 90..BF). C0, C1 and F5..FF never lead.
size_t utf8_length(std::string_view s) {
    auto c = static_cast<unsigned char>(s[0]);
    if (c < 0x80) return 1;
    size_t len = 0;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) len = 2;
    else if (c == 0xe0) len = 3, lo = 0xa0;
    else if (c == 0xed) len = 3, hi = 0x9f;
    else if (c >= 0xe1 && c <= 0xef) len = 3;
    else if (c == 0xf0) len = 4, lo = 0x90;
    else if (c >= 0xf1 && c <= 0xf3) len = 4;
    else if (c == 0xf4) len = 4, hi = 0x8f;
    else return 0;
    if (len > s.size()) return 0;
    auto second = static_cast<unsigned char>(s[1]);
    if (second < lo || second > hi) return 0;
    for (size_t k = 2; k < len; ++k)
        if ((static_cast<unsigned char>(s[k]) & 0xc0) != 0x80) return 0;
    return len;
}

bool is_utf8_text(std::string_view s) {
    for (size_t i = 0; i < s.size();) {
        if (s[i] == '\0') return false;
        size_t len = utf8_length(s.substr(i));
        if (len == 0) return false;
        i += len;
    }
    return true;
}

namespace {

// U+2028 and U+2029 end a line in viewers that follow Unicode's line
// breaking (JavaScript-based log viewers, some terminals' copy); the bidi
// controls (U+061C, U+200E, U+200F, U+202A..U+202E, U+2066..U+2069) reorder
// what follows them on the line. Either lets a value show as another line's
// text or hide its own, as a raw newline would: they are escaped with the
// other controls. `ch` is one whole UTF-8 character.
bool is_line_or_bidi_control(std::string_view ch) {
    if (ch == "\xd8\x9c") return true;  // U+061C ARABIC LETTER MARK
    if (ch.size() != 3 || static_cast<unsigned char>(ch[0]) != 0xe2) return false;
    const auto b1 = static_cast<unsigned char>(ch[1]), b2 = static_cast<unsigned char>(ch[2]);
    if (b1 == 0x80) return b2 == 0x8e || b2 == 0x8f || (b2 >= 0xa8 && b2 <= 0xae);  // U+200E/F, U+2028..U+202E
    if (b1 == 0x81) return b2 >= 0xa6 && b2 <= 0xa9;                                // U+2066..U+2069
    return false;
}

}  // namespace

std::string one_line(std::string_view s, std::size_t max_bytes) {
    static constexpr std::string_view ellipsis = "...";
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(std::min(s.size(), max_bytes));
    size_t cut = 0;
    for (size_t i = 0; i < s.size();) {
        size_t len = utf8_length(s.substr(i));
        auto c = static_cast<unsigned char>(s[i]);
        // C1 controls (U+0080..U+009F) are CSI and friends on some terminals
        bool c1 = len == 2 && c == 0xc2 && static_cast<unsigned char>(s[i + 1]) < 0xa0;
        if ((len == 1 && c >= 0x20 && c != 0x7f) || (len > 1 && !c1 && !is_line_or_bidi_control(s.substr(i, len)))) {
            out.append(s.data() + i, len);
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c == '\r') {
            out += "\\r";
        } else {
            // one escape per byte of what is shown escaped
            if (len == 0) len = 1;
            for (size_t k = 0; k < len; ++k) {
                auto b = static_cast<unsigned char>(s[i + k]);
                out += "\\x";
                out += digits[b >> 4];
                out += digits[b & 0xf];
            }
        }
        i += len;
        // the last place to cut with room for the ellipsis, should the rest not fit
        if (out.size() + ellipsis.size() <= max_bytes) cut = out.size();
        if (out.size() > max_bytes) {
            out.resize(cut);
            out += ellipsis;
            return out;
        }
    }
    return out;
}

std::string json_quoted(std::string_view s, std::size_t max_bytes, QuoteAs as) {
    bool cut = s.size() > max_bytes;
    json j = std::string(s.substr(0, cut ? max_bytes : s.size()));
    // replace: a value cut inside a UTF-8 sequence, or binary junk, still prints
    std::string out = j.dump(-1, ' ', as == QuoteAs::ascii, json::error_handler_t::replace);
    // JSON leaves DEL (0x7f) raw, but it is a control character all the
    // same: a terminal or journal reader would act on it in a one-line message
    for (std::size_t at = out.find('\x7f'); at != std::string::npos; at = out.find('\x7f', at))
        out.replace(at, 1, "\\u007f");
    if (cut) out.insert(out.size() - 1, "...");
    return out;
}

}  // namespace eksnode
