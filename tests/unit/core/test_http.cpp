// SPDX-License-Identifier: Apache-2.0
// The IMDS client's HTTP/1.1: endpoints, requests, and the response parser
// fed byte sequences directly, split every way a socket may split them.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "core/error.hpp"
#include "core/http.hpp"
#include "imds/imds.hpp"

using namespace eksnode;
using namespace eksnode::imds;
using namespace eksnode::http;
using Result = ResponseParser::Result;

namespace {

struct Parsed {
    Result result;
    int status;
    std::string body;
    std::string problem;
    bool too_big;
};

// Feeds `pieces` one after another, then the close if `close` is set.
Parsed parse(const std::vector<std::string_view>& pieces, bool close = false, size_t cap = 1024,
             size_t header_cap = 16 * 1024) {
    ResponseParser p(cap, header_cap);
    Result r = Result::more;
    for (std::string_view piece : pieces) r = p.feed(piece);
    if (close) r = p.eof();
    return {r, p.status(), p.body(), p.problem(), p.too_big()};
}

// The same response cut at every possible point, and fed one byte at a
// time: each must parse exactly as the whole does.
void check_every_split(std::string_view wire, bool close, const Parsed& want) {
    for (size_t cut = 0; cut <= wire.size(); ++cut) {
        INFO("cut at " << cut);
        Parsed got = parse({wire.substr(0, cut), wire.substr(cut)}, close);
        CHECK(got.result == want.result);
        CHECK(got.status == want.status);
        CHECK(got.body == want.body);
    }
    ResponseParser p(1024);
    Result r = Result::more;
    for (char c : wire) r = p.feed(std::string_view(&c, 1));
    if (close) r = p.eof();
    CHECK(r == want.result);
    CHECK(p.body() == want.body);
}

uint16_t port_of(const HttpEndpoint& ep) {
    if (ep.address.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&ep.address)->sin_port);
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&ep.address)->sin6_port);
}

std::string endpoint_problem(std::string_view url) {
    std::string problem;
    return parse_endpoint(url, problem) ? std::string("(accepted)") : problem;
}

}  // namespace

TEST_CASE("http: a Content-Length answer, whole and split anywhere", "[imds][http]") {
    const std::string_view wire =
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 19\r\n"
        "Server: EC2ws\r\n\r\ni-1234567890abcdef0";
    Parsed whole = parse({wire});
    CHECK(whole.result == Result::done);
    CHECK(whole.status == 200);
    CHECK(whole.body == "i-1234567890abcdef0");
    check_every_split(wire, false, whole);
}

TEST_CASE("http: chunked transfer coding with extensions and trailers", "[imds][http]") {
    const std::string_view wire =
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        "7;n=0\r\ni-12345\r\n"
        "C\r\n67890abcdef0\r\n"
        "00000 ; last\r\nX-Trailer: 1\r\n\r\n";
    Parsed whole = parse({wire});
    CHECK(whole.result == Result::done);
    CHECK(whole.body == "i-1234567890abcdef0");
    check_every_split(wire, false, whole);

    // Chunked wins over a Content-Length (RFC 9112 6.3).
    CHECK(parse({"HTTP/1.1 200 OK\r\nContent-Length: 99\r\ntransfer-encoding: Chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"})
              .body == "ok");
    // Empty body: the last chunk at once.
    CHECK(parse({"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"}).result == Result::done);
}

TEST_CASE("http: chunked framing errors", "[imds][http]") {
    const std::string head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    CHECK_THAT(parse({head + "2\r\nokX\r\n0\r\n\r\n"}).problem, Catch::Contains("longer than its size"));
    CHECK_THAT(parse({head + "zz\r\nok\r\n"}).problem, Catch::Contains("bad chunk-size line"));
    CHECK_THAT(parse({head + "2 x\r\nok\r\n"}).problem, Catch::Contains("bad chunk-size line"));
    CHECK_THAT(parse({head + "-2\r\nok\r\n"}).problem, Catch::Contains("bad chunk-size line"));
    // A size that would overflow is over the cap long before.
    Parsed huge = parse({head + "ffffffffffffffffffff\r\n"});
    CHECK(huge.result == Result::error);
    CHECK(huge.too_big);
    CHECK_THAT(parse({"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"}).problem,
               Catch::Contains("unsupported Transfer-Encoding"));
    CHECK_THAT(parse({"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"}).problem,
               Catch::Contains("unsupported Transfer-Encoding"));
}

TEST_CASE("http: header lines split across reads", "[imds][http]") {
    Parsed p = parse({"HTTP/1.", "1 200 O", "K\r\nConte", "nt-Len", "gth:", " 5\r", "\n", "\r", "\nhel", "lo"});
    CHECK(p.result == Result::done);
    CHECK(p.body == "hello");
    // Nothing is complete until the last byte of the body.
    CHECK(parse({"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhell"}).result == Result::more);
    CHECK(parse({"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"}).result == Result::more);
}

TEST_CASE("http: no Content-Length: the body ends at the close", "[imds][http]") {
    const std::string_view wire = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nline 1\nline 2\n";
    Parsed open = parse({wire});
    CHECK(open.result == Result::more);
    Parsed closed = parse({wire}, true);
    CHECK(closed.result == Result::done);
    CHECK(closed.body == "line 1\nline 2\n");
    check_every_split(wire, true, closed);
    // Over the cap before the close: refused as soon as it is.
    Parsed big = parse({"HTTP/1.1 200 OK\r\n\r\n", std::string(1025, 'x')});
    CHECK(big.result == Result::error);
    CHECK(big.too_big);
}

TEST_CASE("http: a close before the end is a truncated answer", "[imds][http]") {
    Parsed nothing = parse({}, true);
    CHECK(nothing.result == Result::error);
    CHECK_THAT(nothing.problem, Catch::Contains("without an answer"));
    CHECK_THAT(parse({"HTTP/1.1 200 OK\r\nContent-"}, true).problem, Catch::Contains("middle of the response headers"));
    CHECK_THAT(parse({"HTTP/1.1 2"}, true).problem, Catch::Contains("middle of the response headers"));
    Parsed cut = parse({"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"}, true);
    CHECK(cut.result == Result::error);
    CHECK_FALSE(cut.too_big);
    CHECK_THAT(cut.problem, Catch::Contains("cut short: 3 of 10 bytes"));
    CHECK_THAT(parse({"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"}, true).problem,
               Catch::Contains("chunked answer was cut short"));
    // Missing only the last chunk, or the end of the trailers, is still cut short.
    CHECK(parse({"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n"}, true).result == Result::error);
    CHECK(parse({"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: 1\r\n"}, true).result == Result::error);
    // Once complete, a close changes nothing and later bytes are ignored.
    ResponseParser p(1024);
    CHECK(p.feed("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA") == Result::done);
    CHECK(p.eof() == Result::done);
    CHECK(p.body() == "ok");
}

TEST_CASE("http: garbage status lines", "[imds][http]") {
    for (const char* line : {"SSH-2.0-OpenSSH_9.2p1", "HTTP/2 200", "HTTP/2.0 200 OK", "HTTP/1.1 20 OK",
                             "HTTP/1.1 2000 OK", "HTTP/1.1 200OK", "http/1.1 200 OK", "HTTP/1.1  200 OK",
                             "HTTP/1.1 099 Odd", "HTTP/1.1 abc OK", "", " HTTP/1.1 200 OK", "HTTP/1.1 200 OK\rX"}) {
        INFO(line);
        Parsed p = parse({std::string(line) + "\r\nContent-Length: 0\r\n\r\n"});
        CHECK(p.result == Result::error);
        CHECK_FALSE(p.too_big);
    }
    // Not HTTP at all, long and without a line end: refused at the cap, not buffered forever.
    Parsed flood = parse({std::string(20'000, 'A')});
    CHECK(flood.result == Result::error);
    // The tolerated forms: no reason phrase, HTTP/1.0, bare LF line ends.
    CHECK(parse({"HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok"}).body == "ok");
    CHECK(parse({"HTTP/1.1 200 \r\nContent-Length: 2\r\n\r\nok"}).body == "ok");
    CHECK(parse({"HTTP/1.0 404 Not Found\nContent-Length: 2\n\nno"}).status == 404);
}

TEST_CASE("http: header fields", "[imds][http]") {
    SECTION("oversized header sections are refused, but not as a too-big body") {
        std::string wire = "HTTP/1.1 200 OK\r\n";
        for (int i = 0; i < 100; ++i) wire += "X-Filler-" + std::to_string(i) + ": " + std::string(100, 'f') + "\r\n";
        Parsed p = parse({wire}, false, 1024, 4096);
        CHECK(p.result == Result::error);
        CHECK_FALSE(p.too_big);
        CHECK_THAT(p.problem, Catch::Contains("response headers longer than 4096 bytes"));
        // The same one line at a time.
        ResponseParser q(1024, 4096);
        Result r = Result::more;
        for (size_t i = 0; i < wire.size() && r == Result::more; i += 50)
            r = q.feed(std::string_view(wire).substr(i, 50));
        CHECK(r == Result::error);
    }
    SECTION("malformed fields") {
        for (const char* field : {"Content-Length : 2", "No colon here", ": empty name", "Bad Name: x"}) {
            INFO(field);
            CHECK(parse({std::string("HTTP/1.1 200 OK\r\n") + field + "\r\n\r\nok"}).result == Result::error);
        }
        const char nul[] = "HTTP/1.1 200 OK\r\nX-Nul: a\0b\r\n\r\n";
        CHECK_THAT(parse({std::string_view(nul, sizeof nul - 1)}).problem, Catch::Contains("NUL"));
        CHECK_THAT(parse({"HTTP/1.1 200 OK\r\n continued\r\n\r\n"}).problem, Catch::Contains("continuation line"));
    }
    SECTION("obs-fold continues the field before it") {
        CHECK(parse({"HTTP/1.1 200 OK\r\nX-Folded: a\r\n\t b\r\nContent-Length:\r\n 2\r\n\r\nok"}).body == "ok");
    }
    SECTION("Content-Length values") {
        CHECK(parse({"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok"}).body == "ok");
        CHECK(parse({"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok"}).body == "ok");
        CHECK_THAT(parse({"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok"}).problem,
                   Catch::Contains("conflicting Content-Length"));
        for (const char* bad : {"-1", "+2", "0x10", "2 2", "abc", "99999999999999999999999"}) {
            INFO(bad);
            CHECK_THAT(parse({std::string("HTTP/1.1 200 OK\r\nContent-Length: ") + bad + "\r\n\r\nok"}).problem,
                       Catch::Contains("bad Content-Length"));
        }
        Parsed big = parse({"HTTP/1.1 200 OK\r\nContent-Length: 1025\r\n\r\n"});
        CHECK(big.result == Result::error);  // refused before the body arrives
        CHECK(big.too_big);
        CHECK(parse({"HTTP/1.1 200 OK\r\nContent-Length: 1024\r\n\r\n", std::string(1024, 'x')}).result ==
              Result::done);
    }
}

TEST_CASE("http: interim answers and answers without a body", "[imds][http]") {
    Parsed p =
        parse({"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n"
               "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"});
    CHECK(p.status == 200);
    CHECK(p.body == "ok");
    CHECK(parse({"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n"}).result == Result::error);
    // 204 and 304 have no body whatever the headers say.
    Parsed none = parse({"HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n"});
    CHECK(none.result == Result::done);
    CHECK(none.body.empty());
    CHECK(parse({"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"}).result == Result::done);
}

TEST_CASE("http: endpoints are IP literals with an optional port and path", "[imds][http]") {
    std::string problem;
    auto v4 = parse_endpoint("http://169.254.169.254", problem);
    REQUIRE(v4);
    CHECK(v4->address.ss_family == AF_INET);
    CHECK(port_of(*v4) == 80);
    CHECK(v4->host == "169.254.169.254");
    CHECK(v4->base_path.empty());

    auto v6 = parse_endpoint("http://[fd00:ec2::254]", problem);
    REQUIRE(v6);
    CHECK(v6->address.ss_family == AF_INET6);
    CHECK(v6->address_size == sizeof(sockaddr_in6));
    CHECK(port_of(*v6) == 80);
    CHECK(v6->host == "[fd00:ec2::254]");

    auto loop6 = parse_endpoint("http://[::1]:8080/", problem);
    REQUIRE(loop6);
    CHECK(port_of(*loop6) == 8080);
    CHECK(loop6->host == "[::1]:8080");

    auto prefixed = parse_endpoint("http://127.0.0.1:9/imds/v2//", problem);
    REQUIRE(prefixed);
    CHECK(prefixed->base_path == "/imds/v2");
    CHECK(prefixed->host == "127.0.0.1:9");

    CHECK_THAT(endpoint_problem("http://localhost:8080"), Catch::Contains("names the host \"localhost\""));
    CHECK_THAT(endpoint_problem("http://instance-data.ec2.internal"), Catch::Contains("instead of an IP address"));
    CHECK_THAT(endpoint_problem("http://169.254.169"), Catch::Contains("instead of an IP address"));
    CHECK_THAT(endpoint_problem("http://::1"), Catch::Contains("without brackets"));
    CHECK_THAT(endpoint_problem("http://[::1"), Catch::Contains("without ']'"));
    CHECK_THAT(endpoint_problem("http://[::1]80"), Catch::Contains(":PORT"));
    CHECK_THAT(endpoint_problem("http://[fe80::1%eth0]"), Catch::Contains("not an IPv6 address"));
    CHECK_THAT(endpoint_problem("http://[169.254.169.254]"), Catch::Contains("not an IPv6 address"));
    for (const char* port : {"0", "65536", "", "http", "+80", "-1"}) {
        INFO(port);
        CHECK_THAT(endpoint_problem(std::string("http://127.0.0.1:") + port), Catch::Contains("bad port"));
    }
    CHECK_THAT(endpoint_problem("http://:80"), Catch::Contains("names no host"));
    CHECK_THAT(endpoint_problem("https://169.254.169.254"), Catch::Contains("http://"));
}

TEST_CASE("http: a host name in the settings or on the command line is refused, naming it", "[imds][http]") {
    try {
        imds_options(json::parse(R"({"imds":{"endpoint":"http://instance-data:80"}})"), "");
        FAIL("a host name was accepted");
    } catch (const ConfigError& e) {
        CHECK(e.field() == "settings.imds.endpoint");
        CHECK_THAT(e.what(), Catch::Contains("instead of an IP address"));
    }
    try {
        imds_options(json::object(), "http://localhost:1234");
        FAIL("a host name was accepted");
    } catch (const UsageError& e) {
        CHECK_THAT(e.what(), Catch::Contains("--imds-endpoint=http://localhost:1234"));
        CHECK_THAT(e.what(), Catch::Contains("instead of an IP address"));
    }
}

TEST_CASE("http: requests", "[imds][http]") {
    std::string problem;
    auto ep = parse_endpoint("http://[::1]:8080/base", problem);
    REQUIRE(ep);
    CHECK(format_request("GET", *ep, "/latest/meta-data/mac", "eks-node/1 (imds)",
                         {{"X-aws-ec2-metadata-token", "AQAE=="}}) ==
          "GET /base/latest/meta-data/mac HTTP/1.1\r\nHost: [::1]:8080\r\nUser-Agent: eks-node/1 (imds)\r\n"
          "X-aws-ec2-metadata-token: AQAE==\r\nConnection: close\r\n\r\n");
    auto v4 = parse_endpoint("http://169.254.169.254", problem);
    REQUIRE(v4);
    CHECK(format_request("PUT", *v4, "/latest/api/token", "ua", {{"X-aws-ec2-metadata-token-ttl-seconds", "21600"}}) ==
          "PUT /latest/api/token HTTP/1.1\r\nHost: 169.254.169.254\r\nUser-Agent: ua\r\n"
          "X-aws-ec2-metadata-token-ttl-seconds: 21600\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
}
