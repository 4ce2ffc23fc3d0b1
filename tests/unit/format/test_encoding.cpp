// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include <zlib.h>

#include "config/support.hpp"
#include "core/error.hpp"
#include "core/text.hpp"
#include "format/encoding.hpp"
#include "format/field_text.hpp"
#include "format/limits.hpp"
#include "input/sources.hpp"

using namespace eksnode;
using namespace eksnode::format;
using namespace eksnode::input;

namespace {

// gzip of `size` zero bytes, compressed in a stream so the input never exists in memory.
std::string gzip_of_zeros(size_t size) {
    z_stream zs{};
    deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 9, Z_DEFAULT_STRATEGY);
    std::string zeros(1 << 20, '\0'), out, chunk(1 << 16, '\0');
    for (size_t fed = 0; fed < size; fed += zeros.size()) {
        bool last = fed + zeros.size() >= size;
        zs.next_in = reinterpret_cast<Bytef*>(zeros.data());
        zs.avail_in = static_cast<uInt>(std::min(zeros.size(), size - fed));
        do {
            zs.next_out = reinterpret_cast<Bytef*>(chunk.data());
            zs.avail_out = static_cast<uInt>(chunk.size());
            deflate(&zs, last ? Z_FINISH : Z_NO_FLUSH);
            out.append(chunk.data(), chunk.size() - zs.avail_out);
        } while (zs.avail_out == 0);
    }
    deflateEnd(&zs);
    return out;
}

std::string encoding_problem(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const ConfigError& e) {
        return e.problem();
    }
    return "(no error)";
}

}  // namespace

TEST_CASE("base64 decoding tolerates line breaks and missing padding", "[config][encoding]") {
    struct Case {
        std::string in, out;
    };
    auto c = GENERATE(values<Case>({
        {"aGVsbG8=", "hello"},
        {"aGVsbG8", "hello"},       // padding left off
        {"aGVs\nbG8=\n", "hello"},  // wrapped, as base64(1) writes it
        {"  aGVs\r\n bG8=\t", "hello"},
        {"aGk=", "hi"},
        {"aGk", "hi"},
        {"AAEC", std::string("\x00\x01\x02", 3)},
    }));
    CHECK(base64_decode(c.in, "t") == c.out);
}

TEST_CASE("base64 decoding reports what is wrong", "[config][encoding]") {
    struct Case {
        std::string in, problem;
    };
    auto c = GENERATE(values<Case>({
        {"aGVsb", "invalid base64: 5 characters do not form whole groups (truncated?)"},
        {"aGVsbG8==", "invalid base64: 9 characters do not form whole groups (truncated?)"},
        {"aGVs*G8=", "invalid base64: unexpected \"*\" at offset 4"},
        {"aGk=aGk=", "invalid base64: data after '=' padding at offset 4"},
        {"aGk\x01", "invalid base64: unexpected byte 0x01 at offset 3"},
    }));
    CHECK(encoding_problem([&] { base64_decode(c.in, "t"); }) == c.problem);
}

TEST_CASE("base64 encoding follows RFC 4648 and round-trips every byte", "[config][encoding]") {
    // RFC 4648 section 10
    CHECK(base64_encode("").empty());
    CHECK(base64_encode("f") == "Zg==");
    CHECK(base64_encode("fo") == "Zm8=");
    CHECK(base64_encode("foo") == "Zm9v");
    CHECK(base64_encode("foob") == "Zm9vYg==");
    CHECK(base64_encode("fooba") == "Zm9vYmE=");
    CHECK(base64_encode("foobar") == "Zm9vYmFy");
    CHECK(base64_encode(std::string("\xfb\xff\x00", 3)) == "+/8A");
    std::string every;
    for (int i = 0; i < 256; ++i) every += static_cast<char>(i);
    for (size_t n : {254u, 255u, 256u})
        CHECK(base64_decode(base64_encode(every.substr(0, n)), "t") == every.substr(0, n));
}

TEST_CASE("only text made of the base64 alphabet looks like base64", "[config][encoding]") {
    CHECK(looks_like_base64("aGVsbG8="));
    CHECK(looks_like_base64("aGVs\nbG8=\n"));
    CHECK(looks_like_base64("aGVsb"));  // not decodable, but nothing else either: base64 reports the error
    CHECK_FALSE(looks_like_base64(""));
    CHECK_FALSE(looks_like_base64(" \n"));
    CHECK_FALSE(looks_like_base64("enable=true"));  // TOML: '=' inside
    CHECK_FALSE(looks_like_base64("apiVersion: node.eks.aws/v1alpha1"));
    CHECK_FALSE(looks_like_base64("{}"));
    CHECK_FALSE(looks_like_base64("#!/bin/bash"));
    CHECK_FALSE(looks_like_base64("aGk==="));
}

TEST_CASE("gunzip decodes one or several members", "[config][encoding]") {
    CHECK(gunzip(test::gzip("hello"), "t") == "hello");
    CHECK(gunzip(test::gzip(""), "t").empty());
    CHECK(gunzip(test::gzip("one ") + test::gzip("two"), "t") == "one two");  // RFC 1952: a series of members
}

TEST_CASE("gunzip rejects truncated and corrupt data", "[config][encoding]") {
    std::string gz = test::gzip("some configuration text that compresses");
    CHECK(encoding_problem([&] { gunzip(gz.substr(0, gz.size() - 6), "t"); }) == "truncated gzip data");
    std::string corrupt = gz;
    corrupt[12] = static_cast<char>(corrupt[12] ^ 0xff);
    CHECK_THAT(encoding_problem([&] { gunzip(corrupt, "t"); }), Catch::StartsWith("corrupt gzip data: "));
    CHECK_THAT(encoding_problem([&] { gunzip(gz + "junk", "t"); }), Catch::StartsWith("corrupt gzip data: "));
}

TEST_CASE("a gzip bomb is refused quickly, without inflating it", "[config][encoding]") {
    std::string bomb = gzip_of_zeros(100u << 20);
    REQUIRE(bomb.size() < format::limits::user_data_bytes);  // the raw cap does not catch it: the inflate cap must
    // No clock (it fails under load): the message says where inflating stopped.
    try {
        fragments_from_user_data(bomb);
        FAIL("a 100 MB gzip bomb was accepted");
    } catch (const ConfigError& e) {
        CHECK(e.source() == "user data");
        CHECK_THAT(e.problem(), Catch::StartsWith("gzip data expands beyond the 4 MiB limit"));
    }
}

TEST_CASE("encoding layers peel in any order, up to the limit", "[config][encoding]") {
    std::string toml = "[cluster]\nname = \"layers\"\n";
    for (const std::string& wrapped :
         {test::base64(toml), test::gzip(toml), test::base64(test::gzip(toml)),
          test::gzip(test::base64(test::gzip(toml))), test::base64(test::base64(test::base64(test::base64(toml))))}) {
        auto fragments = fragments_from_user_data(wrapped);
        REQUIRE(fragments.size() == 1);
        CHECK(fragments[0].spec["cluster"]["name"] == "layers");
    }
    std::string five = test::gzip(test::base64(test::gzip(test::base64(test::gzip(toml)))));
    CHECK(encoding_problem([&] { fragments_from_user_data(five); }) == "more than 4 nested base64/gzip layers");
}

TEST_CASE("user data beyond 1 MiB is refused before decoding", "[config][encoding]") {
    std::string big(format::limits::user_data_bytes + 1, '#');
    CHECK_THAT(encoding_problem([&] { fragments_from_user_data(big); }), Catch::Contains("beyond the 1 MiB limit"));
}

TEST_CASE("binary data that is no known encoding is an error", "[config][encoding]") {
    CHECK(encoding_problem([&] { fragments_from_user_data(std::string("\x00\x01\x02\xff", 4)); }) ==
          "binary data that is neither gzip, base64 nor UTF-8 text");
    // base64 of junk: decodes, then is binary
    CHECK(encoding_problem([&] { fragments_from_user_data(test::base64(std::string("\xff\xfe\x00junk", 7))); }) ==
          "binary data that is neither gzip, base64 nor UTF-8 text");
}

TEST_CASE("text is strict UTF-8: what JSON can carry", "[config][encoding]") {
    CHECK(is_utf8_text("plain ascii"));
    CHECK(
        is_utf8_text("\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf"));  // é, €, an emoji, U+10FFFF
    CHECK_FALSE(is_utf8_text(std::string("a\0b", 3)));
    CHECK_FALSE(is_utf8_text("\xc0\xaf"));          // overlong '/'
    CHECK_FALSE(is_utf8_text("\xc1\xbf"));          // overlong
    CHECK_FALSE(is_utf8_text("\xe0\x80\xaf"));      // overlong 3-byte '/'
    CHECK_FALSE(is_utf8_text("\xed\xa0\x80"));      // surrogate U+D800
    CHECK_FALSE(is_utf8_text("\xf0\x80\x80\xaf"));  // overlong 4-byte
    CHECK_FALSE(is_utf8_text("\xf4\x90\x80\x80"));  // U+110000
    CHECK_FALSE(is_utf8_text("\xf5\x80\x80\x80"));
    CHECK_FALSE(is_utf8_text("\xe2\x82"));  // cut short
    CHECK_FALSE(is_utf8_text("\x80"));      // a continuation byte alone
    // every string is_utf8_text accepts, JSON's strict writer accepts too
    for (const char* s : {"\xc3\xa9", "\xef\xbf\xbd", "\xf0\x90\x80\x80"}) {
        REQUIRE(is_utf8_text(s));
        CHECK_NOTHROW(json(s).dump());
    }
}
