// SPDX-License-Identifier: Apache-2.0
#include "core/text.hpp"

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

bool is_utf8_text(std::string_view s) {
    for (size_t i = 0; i < s.size();) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c == 0) return false;
        if (c < 0x80) {
            ++i;
            continue;
        }
        // The lead byte gives the sequence's length and the range its second
        // byte must fall in; that range is what rules out overlong forms
        // (E0 80..9F, F0 80..8F), surrogates (ED A0..BF) and code points past
        // U+10FFFF (F4 90..BF). C0, C1 and F5..FF never lead.
        size_t len = 0;
        unsigned char lo = 0x80, hi = 0xbf;
        if (c >= 0xc2 && c <= 0xdf) len = 2;
        else if (c == 0xe0) len = 3, lo = 0xa0;
        else if (c == 0xed) len = 3, hi = 0x9f;
        else if (c >= 0xe1 && c <= 0xef) len = 3;
        else if (c == 0xf0) len = 4, lo = 0x90;
        else if (c >= 0xf1 && c <= 0xf3) len = 4;
        else if (c == 0xf4) len = 4, hi = 0x8f;
        else return false;
        if (i + len > s.size()) return false;
        auto second = static_cast<unsigned char>(s[i + 1]);
        if (second < lo || second > hi) return false;
        for (size_t k = 2; k < len; ++k)
            if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
        i += len;
    }
    return true;
}

std::string json_quoted(std::string_view s, std::size_t max_bytes, QuoteAs as) {
    bool cut = s.size() > max_bytes;
    json j = std::string(s.substr(0, cut ? max_bytes : s.size()));
    // replace: a value cut inside a UTF-8 sequence, or binary junk, still prints
    std::string out = j.dump(-1, ' ', as == QuoteAs::ascii, json::error_handler_t::replace);
    if (cut) out.insert(out.size() - 1, "...");
    return out;
}

}  // namespace eksnode
