// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>

#include "core/jsonutil.hpp"
#include "core/text.hpp"

using namespace eksnode;

namespace {

// RFC 3629 read the slow way, by code point: the sequence's value, or
// nullopt for anything that is not exactly one well-formed character.
std::optional<uint32_t> decode_one(std::string_view s) {
    auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
    if (s.empty()) return std::nullopt;
    size_t len = b(0) < 0x80 ? 1 : (b(0) & 0xe0) == 0xc0 ? 2 : (b(0) & 0xf0) == 0xe0 ? 3 : (b(0) & 0xf8) == 0xf0 ? 4 : 0;
    if (len == 0 || s.size() != len) return std::nullopt;
    uint32_t cp = len == 1 ? b(0) : b(0) & (0x7f >> len);
    for (size_t i = 1; i < len; ++i) {
        if ((b(i) & 0xc0) != 0x80) return std::nullopt;
        cp = cp << 6 | (b(i) & 0x3f);
    }
    static constexpr uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < least[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return std::nullopt;
    return cp;
}

bool reference(std::string_view s) {
    auto cp = decode_one(s);
    return cp && *cp != 0;
}

}  // namespace

TEST_CASE("hex digits and percent-decoding", "[core][text]") {
    CHECK(hex_value('0') == 0);
    CHECK(hex_value('9') == 9);
    CHECK(hex_value('a') == 10);
    CHECK(hex_value('F') == 15);
    CHECK(hex_value('g') == -1);
    CHECK(hex_value('/') == -1);
    CHECK(percent_decode("a%2Fb%2fc") == "a/b/c");
    CHECK(percent_decode("100%") == "100%");   // no digits: stays
    CHECK(percent_decode("%4") == "%4");
    CHECK(percent_decode("%zz%41") == "%zzA");
}

TEST_CASE("hex_encode: two lowercase digits a byte", "[core][text]") {
    CHECK(hex_encode("").empty());
    CHECK(hex_encode(std::string("\x00\x0f\xa5\xff", 4)) == "000fa5ff");
    for (int b = 0; b < 256; ++b) {
        std::string h = hex_encode(std::string(1, static_cast<char>(b)));
        REQUIRE(h.size() == 2);
        CHECK(hex_value(h[0]) * 16 + hex_value(h[1]) == b);   // hex_value reads back what hex_encode wrote
    }
}

TEST_CASE("is_utf8_text agrees with RFC 3629 on every one- to three-byte sequence", "[core][text]") {
    size_t checked = 0;
    for (uint32_t a = 0; a < 256; ++a) {
        std::string one(1, static_cast<char>(a));
        REQUIRE(is_utf8_text(one) == reference(one));
        for (uint32_t b = 0; b < 256; ++b) {
            std::string two = one + static_cast<char>(b);
            // a valid first byte followed by a valid one, or one sequence
            bool two_ok = reference(two) || (reference(one) && reference(std::string(1, static_cast<char>(b))));
            REQUIRE(is_utf8_text(two) == two_ok);
            if (a < 0xe0 || a > 0xef) continue;   // three-byte leads only: 16 x 256 x 256
            for (uint32_t c = 0; c < 256; ++c) {
                std::string three = two + static_cast<char>(c);
                if (is_utf8_text(three) != reference(three)) FAIL("disagree on " << hex_encode(three));
                ++checked;
            }
        }
    }
    CHECK(checked == 16 * 256 * 256);
}

TEST_CASE("is_utf8_text: four-byte sequences, their edges", "[core][text]") {
    for (uint32_t a = 0xf0; a < 0x100; ++a)
        for (uint32_t b = 0; b < 256; ++b)
            for (uint32_t c : {0x80u, 0xbfu, 0x41u})
                for (uint32_t d : {0x80u, 0xbfu, 0xc0u}) {
                    std::string s{static_cast<char>(a), static_cast<char>(b), static_cast<char>(c), static_cast<char>(d)};
                    if (is_utf8_text(s) != reference(s)) FAIL("disagree on " << hex_encode(s));
                }
    CHECK(is_utf8_text("\xf4\x8f\xbf\xbf"));        // U+10FFFF
    CHECK_FALSE(is_utf8_text("\xf4\x90\x80\x80"));  // U+110000
    CHECK_FALSE(is_utf8_text("\xed\xa0\x80"));      // U+D800
    CHECK_FALSE(is_utf8_text("\xc0\x80"));          // overlong NUL
    CHECK_FALSE(is_utf8_text(std::string("a\0", 2)));
    CHECK(is_utf8_text(""));
}

TEST_CASE("is_utf8_text accepts only what the JSON writer accepts", "[core][text]") {
    for (std::string s : {"\xc3\xa9", "\xef\xbf\xbd", "\xf0\x90\x80\x80", "\xed\x9f\xbf", "\xee\x80\x80"}) {
        REQUIRE(is_utf8_text(s));
        CHECK_NOTHROW(json(s).dump());
    }
    for (std::string s : {"\xed\xa0\x80", "\xe0\x80\xaf", "\xf4\x90\x80\x80"}) {
        REQUIRE_FALSE(is_utf8_text(s));
        CHECK_THROWS(json(s).dump());
    }
}

TEST_CASE("json_quoted: escaped, replaced, cut", "[core][text]") {
    CHECK(json_quoted("plain", 10) == "\"plain\"");
    CHECK(json_quoted("a\"b\n", 10) == "\"a\\\"b\\n\"");
    CHECK(json_quoted("caf\xc3\xa9", 10) == "\"caf\xc3\xa9\"");
    CHECK(json_quoted("caf\xc3\xa9", 10, QuoteAs::ascii) == "\"caf\\u00e9\"");
    CHECK(json_quoted("a\177b", 10) == "\"a\\u007fb\"");     // DEL: a control character JSON leaves raw
    CHECK(json_quoted("a\xff", 10) == "\"a\xef\xbf\xbd\"");  // replaced by U+FFFD, never thrown
    CHECK(json_quoted("0123456789", 10) == "\"0123456789\"");
    CHECK(json_quoted("0123456789x", 10) == "\"0123456789...\"");
    CHECK(json_quoted("\xc3\xa9\xc3\xa9", 3, QuoteAs::ascii) == "\"\\u00e9\\ufffd...\"");  // cut inside a character
}

TEST_CASE("one_line: control characters escaped, one line, bounded with an ellipsis", "[core][text]") {
    CHECK(one_line("plain caf\xc3\xa9", 64) == "plain caf\xc3\xa9");
    // a newline cannot start a forged line; ESC cannot steer the terminal
    CHECK(one_line("a\nerror: forged\r\tb", 64) == "a\\nerror: forged\\r\\tb");
    CHECK(one_line("\x1b]0;title\x07\x1b[2J", 64) == "\\x1b]0;title\\x07\\x1b[2J");
    CHECK(one_line(std::string("nul\0del\x7f", 8), 64) == "nul\\x00del\\x7f");
    CHECK(one_line("csi\xc2\x9b"
                   "2J",
                   64) == "csi\\xc2\\x9b2J");               // C1 CSI, U+009B
    CHECK(one_line("bad\xff\xc3", 64) == "bad\\xff\\xc3");  // not UTF-8
    // line and paragraph separators and every bidi control, each byte escaped; their
    // neighbours (U+2027, U+2030, U+2065, U+206A, U+200D, U+061B) stay as they are
    for (std::string_view control : {"\u2028", "\u2029", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066",
                                     "\u2067", "\u2068", "\u2069", "\u200e", "\u200f", "\u061c"}) {
        std::string shown = one_line(std::string("a") + std::string(control) + "b", 64);
        CAPTURE(shown);
        CHECK(shown.size() == 2 + 4 * control.size());
        CHECK(shown.find(control) == std::string::npos);
        CHECK(shown.starts_with("a\\x"));
    }
    for (std::string_view kept : {"\u2027", "\u2030", "\u2065", "\u206a", "\u200d", "\u061b"})
        CHECK(one_line(kept, 64) == kept);
    CHECK(one_line("\u2028", 64) == "\\xe2\\x80\\xa8");
    // exactly the bound: whole; one byte more: cut, "..." included in the bound
    CHECK(one_line("0123456789", 10) == "0123456789");
    CHECK(one_line("0123456789x", 10) == "0123456...");
    // never cut inside a character or an escape
    CHECK(one_line("abcdef\xc3\xa9xyz", 9) == "abcdef...");
    CHECK(one_line("abcde\nxyzw", 9) == "abcde...");
    std::string big(300 * 1024, '\n');
    std::string line = one_line(big, 1024);
    CHECK(line.size() <= 1024);
    CHECK(line.ends_with("..."));
    CHECK(line.find('\n') == std::string::npos);
}
