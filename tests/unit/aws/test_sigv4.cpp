// SPDX-License-Identifier: Apache-2.0
// SigV4 against the published AWS test suite (tests/data/sigv4/ORIGIN.md):
// each case's canonical request, string to sign and Authorization header.
#include <catch2/catch.hpp>

#include "aws/sigv4.hpp"
#include "core/crypto.hpp"
#include "core/fsutil.hpp"
#include "core/jsonutil.hpp"
#include "fixtures.hpp"

using namespace eksnode;
using namespace eksnode::aws;

namespace {

// "METHOD URI HTTP/1.1\nName:value\n...\n\nbody" as the suite's .req files hold it.
SignableRequest parse_req(const std::string& req) {
    SignableRequest r;
    size_t blank = req.find("\n\n");
    std::string head = req.substr(0, blank);
    if (blank != std::string::npos) r.body = req.substr(blank + 2);
    size_t eol = head.find('\n');
    std::string line = head.substr(0, eol);
    r.method = line.substr(0, line.find(' '));
    std::string uri = line.substr(line.find(' ') + 1);
    uri = uri.substr(0, uri.rfind(" HTTP/1.1"));
    size_t q = uri.find('?');
    r.path = uri.substr(0, q);
    if (q != std::string::npos) r.query = uri.substr(q + 1);
    while (eol != std::string::npos) {
        size_t next = head.find('\n', eol + 1);
        std::string h = head.substr(eol + 1, next == std::string::npos ? std::string::npos : next - eol - 1);
        size_t colon = h.find(':');
        r.headers.emplace_back(h.substr(0, colon), h.substr(colon + 1));
        eol = next;
    }
    return r;
}

}  // namespace

TEST_CASE("SigV4 reproduces every vendored case of the AWS test suite", "[aws][sigv4]") {
    json v = json::parse(read_file(test::source_path("tests/data/sigv4/vectors.json")));
    const json& cfg = v["config"];
    Credentials creds{cfg["accessKeyId"], cfg["secretAccessKey"], "", std::nullopt, "test"};
    SigningScope scope{cfg["region"], cfg["service"], cfg["date"]};
    REQUIRE(v["cases"].size() == 24);
    for (const json& c : v["cases"]) {
        DYNAMIC_SECTION(c["name"].get<std::string>()) {
            SignableRequest r = parse_req(c["req"]);
            std::string creq = canonical_request(r);
            CHECK(creq == c["creq"].get<std::string>());
            std::string sts = string_to_sign(scope, creq);
            CHECK(sts == c["sts"].get<std::string>());
            CHECK(authorization(creds, scope, r) == c["authz"].get<std::string>());
        }
    }
}

TEST_CASE("SigV4 sign() adds the date, the session token and the Authorization header", "[aws][sigv4]") {
    SignableRequest r{"POST", "/", "", {{"Host", "example.amazonaws.com"}}, ""};
    Credentials creds{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "TOKEN123", std::nullopt, "test"};
    sign(r, creds, {"us-east-1", "service", "20150830T123600Z"});
    REQUIRE(r.headers.size() == 4);
    CHECK(r.headers[1] == std::pair<std::string, std::string>{"X-Amz-Date", "20150830T123600Z"});
    CHECK(r.headers[2] == std::pair<std::string, std::string>{"X-Amz-Security-Token", "TOKEN123"});
    CHECK(r.headers[3].first == "Authorization");
    CHECK_THAT(r.headers[3].second, Catch::Contains("SignedHeaders=host;x-amz-date;x-amz-security-token,"));
    // The signature changes with the secret: a wrong key cannot pass.
    SignableRequest other{"POST", "/", "", {{"Host", "example.amazonaws.com"}}, ""};
    creds.secret_access_key = "another";
    sign(other, creds, {"us-east-1", "service", "20150830T123600Z"});
    CHECK(other.headers[3].second != r.headers[3].second);
}

TEST_CASE("SigV4 helpers: date format, hashing, encoding", "[aws][sigv4]") {
    CHECK(amz_date(std::chrono::system_clock::from_time_t(1440938160)) == "20150830T123600Z");
    CHECK(crypto::sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(uri_encode("a b/c~d*", false) == "a%20b%2Fc~d%2A");
    CHECK(uri_encode("/clusters/my cluster", true) == "/clusters/my%20cluster");
}
