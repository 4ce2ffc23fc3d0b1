// SPDX-License-Identifier: Apache-2.0
// The CRI image service client's bytes: requests against protobuf encodings
// worked out by hand from api.proto's field numbers, answers decoded, gRPC
// framing and status, and the bounds on what containerd may send.
#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <string>

#include "cri/image_service.hpp"
#include "cri/protobuf.hpp"

using namespace eksnode;
using namespace std::string_literals;
namespace d = eksnode::cri::detail;

TEST_CASE("PullImageRequest encodes image.image, and auth only when there is one", "[cri]") {
    // field 1 (ImageSpec), LEN 9: field 1 (image), LEN 7, "busybox"
    CHECK(d::pull_request("busybox", {}) == "\x0a\x09\x0a\x07"s + "busybox");
    // + field 2 (AuthConfig), LEN 9: username (1) "AWS", password (2) "pw"
    CHECK(d::pull_request("busybox", {"AWS", "pw"}) ==
          "\x0a\x09\x0a\x07"s + "busybox" + "\x12\x09\x0a\x03"s + "AWS" + "\x12\x02"s + "pw");
    // a password alone (a registry token scheme with an empty user) keeps only it
    CHECK(d::pull_request("a", {"", "t"}) == "\x0a\x03\x0a\x01"s + "a" + "\x12\x03\x12\x01"s + "t");
}

TEST_CASE("lengths of 128 bytes and more take a two-byte varint", "[cri]") {
    const std::string image(200, 'a');
    // ImageSpec: 0a, 200 = 0xc8 0x01, the image: 203 bytes = 0xcb 0x01
    CHECK(d::pull_request(image, {}) == "\x0a\xcb\x01\x0a\xc8\x01"s + image);
}

TEST_CASE("ImageStatusRequest encodes image.image", "[cri]") {
    CHECK(d::status_request("x") == "\x0a\x03\x0a\x01"s + "x");
}

TEST_CASE("gRPC frames: a zero flag, a big-endian length, the message", "[cri]") {
    CHECK(d::frame("abc") == "\x00\x00\x00\x00\x03"s + "abc");
    CHECK(d::frame(std::string(0x0102, 'z')).substr(0, 5) == "\x00\x00\x00\x01\x02"s);
    CHECK(d::unframe("\x00\x00\x00\x00\x03"s + "abc") == "abc");
    CHECK(d::unframe("\x00\x00\x00\x00\x00"s).empty());
}

TEST_CASE("a unary answer is exactly one uncompressed frame within the cap", "[cri]") {
    CHECK_THROWS_WITH(d::unframe("\x00\x00\x00"s), Catch::Contains("no message"));
    CHECK_THROWS_WITH(d::unframe("\x01\x00\x00\x00\x01"s + "a"), Catch::Contains("compressed"));
    CHECK_THROWS_WITH(d::unframe("\x02\x00\x00\x00\x01"s + "a"), Catch::Contains("flag byte"));
    CHECK_THROWS_WITH(d::unframe("\x00\x00\x00\x00\x05"s + "ab"), Catch::Contains("cut short"));
    CHECK_THROWS_WITH(d::unframe("\x00\x00\x00\x00\x01"s + "ab"), Catch::Contains("more than one message"));
    CHECK_THROWS_WITH(d::unframe("\x00\x00\x00\x00\x05"s + "abcde", 4), Catch::Contains("at most 4"));
    // a length near 4 GiB is refused before anything is allocated for it
    CHECK_THROWS_AS(d::unframe("\x00\xff\xff\xff\xff"s + "a"), Error);
}

TEST_CASE("PullImageResponse: image_ref, whatever unknown fields surround it", "[cri]") {
    const std::string ref = "sha256:0123456789abcdef";
    CHECK(d::pull_response("\x0a\x17"s + ref) == ref);
    // varint field 5 (150), fixed64 field 2, fixed32 field 3, then the ref
    const std::string unknown = "\x28\x96\x01"s + "\x11"s + std::string(8, '\x7f') + "\x1d"s + std::string(4, '\x01');
    CHECK(d::pull_response(unknown + "\x0a\x17"s + ref) == ref);
    CHECK_THROWS_WITH(d::pull_response(""), Catch::Contains("without image_ref"));
    CHECK_THROWS_WITH(d::pull_response("\x0a\x03"s + "a b"), Catch::Contains("not printable"));
    CHECK_THROWS_WITH(d::pull_response("\x0a\x00"s), Catch::Contains("0 bytes"));
}

TEST_CASE("ImageStatusResponse: the image's id, or absent", "[cri]") {
    CHECK(d::status_response("") == std::nullopt);           // containerd: image nil
    CHECK(d::status_response("\x0a\x00"s) == std::nullopt);  // an Image without id
    CHECK(d::status_response("\x0a\x0c\x0a\x0a"s + "sha256:abc") == "sha256:abc");
    // repo_tags (2) before the id
    CHECK(d::status_response("\x0a\x0f\x12\x01x\x0a\x0a"s + "sha256:abc") == "sha256:abc");
}

TEST_CASE("the protobuf reader refuses what is not well-formed", "[cri]") {
    auto all = [](const std::string& m) {
        cri::protobuf::Reader r(m);
        while (r.next()) {
        }
    };
    CHECK_THROWS_WITH(all("\x0a\x05"s + "ab"), Catch::Contains("5 bytes, 2 are left"));
    CHECK_THROWS_WITH(all("\x0b"s), Catch::Contains("wire type 3"));  // a group
    CHECK_THROWS_WITH(all("\x02\x00"s), Catch::Contains("field number 0"));
    CHECK_THROWS_WITH(all(std::string(11, '\xff')), Catch::Contains("varint"));
    CHECK_THROWS_WITH(all("\x08"s), Catch::Contains("inside a varint"));
    CHECK_THROWS_WITH(all("\x09\x01"s), Catch::Contains("cut short"));  // fixed64 of 1 byte
    // ten bytes with a last byte of 1: bit 63, still 64 bits
    const std::string bits = "\x08"s + std::string(9, '\xff') + "\x01"s;
    cri::protobuf::Reader max(bits);
    CHECK(max.next()->integer == UINT64_MAX);
}

TEST_CASE("the gRPC status decides: OK, a CRI error with its exit code, or no gRPC", "[cri]") {
    using H = std::map<std::string, std::string>;
    const H grpc{{"content-type", "application/grpc"}};
    CHECK_NOTHROW(d::check_status(200, {{"content-type", "application/grpc"}, {"grpc-status", "0"}}));
    CHECK_NOTHROW(d::check_status(200, {{"content-type", "application/grpc+proto"}, {"grpc-status", "0"}}));
    CHECK_THROWS_WITH(d::check_status(404, grpc), Catch::Contains("HTTP status 404"));
    CHECK_THROWS_WITH(d::check_status(200, {{"grpc-status", "0"}}), Catch::Contains("content-type"));
    // no trailers: cut short, worth a retry
    try {
        d::check_status(200, grpc);
        FAIL("no grpc-status accepted");
    } catch (const TempError& e) {
        CHECK(e.exit_code() == EXIT_TEMPFAIL);
    }
    CHECK_THROWS_WITH(d::check_status(200, {{"content-type", "application/grpc"}, {"grpc-status", "x"}}),
                      Catch::Contains("not a number"));
    try {
        d::check_status(200, {{"content-type", "application/grpc"},
                              {"grpc-status", "5"},
                              {"grpc-message", "failed to resolve%3A not%20found%0A"}});
        FAIL("NotFound accepted");
    } catch (const cri::CallError& e) {
        CHECK(e.status() == 5);
        CHECK(e.exit_code() == EXIT_FAILURE_);
        CHECK(e.reason() == "NotFound (5): failed to resolve: not found?");
    }
    try {
        d::check_status(200, {{"content-type", "application/grpc"}, {"grpc-status", "14"}});
        FAIL("Unavailable accepted");
    } catch (const cri::CallError& e) {
        CHECK(e.exit_code() == EXIT_TEMPFAIL);
        CHECK(e.reason() == "Unavailable (14)");
    }
}

TEST_CASE("grpc-timeout: at most 8 digits and a unit", "[cri]") {
    using std::chrono::milliseconds;
    CHECK(d::grpc_timeout(milliseconds{1500}) == "1500m");
    CHECK(d::grpc_timeout(milliseconds{0}) == "1m");
    CHECK(d::grpc_timeout(milliseconds{99'999'999}) == "99999999m");
    CHECK(d::grpc_timeout(milliseconds{100'000'000}) == "100000S");
}

TEST_CASE("grpc-message: percent-decoded, one line, bounded", "[cri]") {
    CHECK(d::grpc_message("a%20b") == "a b");
    CHECK(d::grpc_message("%E2%9C%93") == "\xe2\x9c\x93");  // UTF-8 passes
    CHECK(d::grpc_message("100%") == "100%");               // a lone '%' stays
    CHECK(d::grpc_message("x%0d%0Ay") == "x??y");
    CHECK(d::grpc_message(std::string(2000, 'm')).size() == 512);
    CHECK(d::status_name(16) == "Unauthenticated");
    CHECK(d::status_name(99) == "code 99");
}
