// SPDX-License-Identifier: Apache-2.0
// kubelet's token (aws/eks_token.hpp): the presigned URL against botocore's,
// the token's encoding, the ExecCredential, KUBERNETES_EXEC_INFO. The URLs
// below are what python3-botocore 1.29's SigV4QueryAuth presigns for the same
// inputs, the way the AWS CLI's get-token does (tests/process/get_token.py,
// botocore_url(), which also runs the comparison through the binary).
#include <catch2/catch.hpp>

#include "aws/credentials.hpp"
#include "aws/eks_token.hpp"
#include "core/error.hpp"
#include "core/jsonutil.hpp"

using namespace eksnode;
using namespace eksnode::aws;

namespace {

using Clock = std::chrono::system_clock;

Clock::time_point at(const char* iso) { return *parse_iso8601(iso); }

Credentials creds(bool session) {
    Credentials c;
    c.access_key_id = "AKIDGETTOKENTEST0001";
    c.secret_access_key = "Get/Token+Secret/Key/1234567890abcdefghij";
    if (session) c.session_token = "IQoJb3JpZ2luX2Vj/Session+Token/With=Padding==";
    return c;
}

std::string base64url_decode(std::string_view s) {
    std::string out;
    unsigned v = 0;
    int bits = 0;
    for (char c : s) {
        int d = c >= 'A' && c <= 'Z'   ? c - 'A'
                : c >= 'a' && c <= 'z' ? c - 'a' + 26
                : c >= '0' && c <= '9' ? c - '0' + 52
                : c == '-'             ? 62
                : c == '_'             ? 63
                                       : -1;
        REQUIRE(d >= 0);
        v = v << 6 | static_cast<unsigned>(d);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((v >> bits) & 0xff);
        }
    }
    return out;
}

}  // namespace

TEST_CASE("presigned GetCallerIdentity: botocore's URL, byte for byte", "[aws][get-token]") {
    CHECK(presigned_get_caller_identity(creds(true), "us-west-2", sts_host("us-west-2", "amazonaws.com"), "my-cluster",
                                        at("2026-01-01T00:00:00Z")) ==
          "https://sts.us-west-2.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15"
          "&X-Amz-Algorithm=AWS4-HMAC-SHA256"
          "&X-Amz-Credential=AKIDGETTOKENTEST0001%2F20260101%2Fus-west-2%2Fsts%2Faws4_request"
          "&X-Amz-Date=20260101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id"
          "&X-Amz-Security-Token=IQoJb3JpZ2luX2Vj%2FSession%2BToken%2FWith%3DPadding%3D%3D"
          "&X-Amz-Signature=4ea3046a5da3e065941275d7d96303abd7df57a59637623f900810ce8cdda82c");
    // a long-term key (no security token), China, an Outposts cluster id, the last second of a day
    CHECK(presigned_get_caller_identity(creds(false), "cn-north-1", sts_host("cn-north-1", "amazonaws.com.cn"),
                                        "8f0b2d9e-4c1a-4d6b-9e7f-0a1b2c3d4e5f", at("2025-12-31T23:59:59Z")) ==
          "https://sts.cn-north-1.amazonaws.com.cn/?Action=GetCallerIdentity&Version=2011-06-15"
          "&X-Amz-Algorithm=AWS4-HMAC-SHA256"
          "&X-Amz-Credential=AKIDGETTOKENTEST0001%2F20251231%2Fcn-north-1%2Fsts%2Faws4_request"
          "&X-Amz-Date=20251231T235959Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id"
          "&X-Amz-Signature=97ceef054ea5e1a3cf7ac674082d4203f9b827ba43653849c66bfeb0bb81a472");
}

TEST_CASE("presign: the cluster id is signed, so another one gives another signature", "[aws][get-token]") {
    const Clock::time_point t = at("2026-01-01T00:00:00Z");
    const std::string host = sts_host("us-west-2", "amazonaws.com");
    std::string a = presigned_get_caller_identity(creds(true), "us-west-2", host, "a", t);
    std::string b = presigned_get_caller_identity(creds(true), "us-west-2", host, "b", t);
    CHECK(a.substr(0, a.find("X-Amz-Signature")) == b.substr(0, b.find("X-Amz-Signature")));
    CHECK(a != b);
    // the generic presign: parameters in order, then the signing ones
    PresignRequest r;
    r.host = "example.amazonaws.com";
    r.params = {{"Z", "last?"}, {"A", "a b"}};
    std::string url = presign_url(r, creds(false), {"us-east-1", "service", "20150830T123600Z"});
    CHECK(url.starts_with("https://example.amazonaws.com/?Z=last%3F&A=a%20b&X-Amz-Algorithm=AWS4-HMAC-SHA256&"));
    CHECK(url.find("X-Amz-SignedHeaders=host&") != std::string::npos);
}

TEST_CASE("STS host names per partition suffix; nothing else forms one", "[aws][get-token]") {
    CHECK(sts_host("us-west-2", "amazonaws.com") == "sts.us-west-2.amazonaws.com");
    CHECK(sts_host("cn-northwest-1", "amazonaws.com.cn") == "sts.cn-northwest-1.amazonaws.com.cn");
    CHECK(sts_host("us-iso-east-1", "c2s.ic.gov") == "sts.us-iso-east-1.c2s.ic.gov");
    for (auto [region, domain] : {std::pair{"us-west-2/x", "amazonaws.com"},
                                  {"us.west", "amazonaws.com"},
                                  {"", "amazonaws.com"},
                                  {"us-west-2", "evil.com/"},
                                  {"us-west-2", ""},
                                  {"US-WEST-2", "amazonaws.com"},
                                  {"us-west-2", "amazonaws.com."}})
        CHECK_THROWS_AS(sts_host(region, domain), Error);
}

TEST_CASE("token: k8s-aws-v1. and unpadded base64url of the URL", "[aws][get-token]") {
    CHECK(base64url("").empty());
    CHECK(base64url("f") == "Zg");
    CHECK(base64url("fo") == "Zm8");
    CHECK(base64url("foo") == "Zm9v");
    CHECK(base64url("\xfb\xff\xbf") == "-_-_");  // the URL-safe alphabet, where base64 has + and /
    for (size_t n = 0; n < 70; ++n) {
        std::string bytes;
        for (size_t i = 0; i < n; ++i) bytes += static_cast<char>(i * 37 + n);
        CHECK(base64url_decode(base64url(bytes)) == bytes);
        CHECK(base64url(bytes).find('=') == std::string::npos);
    }
    std::string url = "https://sts.us-west-2.amazonaws.com/?Action=GetCallerIdentity";
    std::string token = token_from_url(url);
    CHECK(token.starts_with("k8s-aws-v1."));
    CHECK(base64url_decode(std::string_view(token).substr(11)) == url);
}

TEST_CASE("expirationTimestamp: 14 minutes ahead, sooner with credentials that expire sooner", "[aws][get-token]") {
    const Clock::time_point t = at("2026-01-01T00:00:00Z");
    CHECK(rfc3339(token_expiration(t, std::nullopt)) == "2026-01-01T00:14:00Z");  // as the AWS CLI
    CHECK(rfc3339(token_expiration(t, at("2026-01-01T06:00:00Z"))) == "2026-01-01T00:14:00Z");
    // the session the token was signed with ends first: a minute before it
    CHECK(rfc3339(token_expiration(t, at("2026-01-01T00:08:00Z"))) == "2026-01-01T00:07:00Z");
    // never sooner than a minute: kubelet would run the plugin before every request
    CHECK(rfc3339(token_expiration(t, at("2026-01-01T00:00:30Z"))) == "2026-01-01T00:01:00Z");
    CHECK(rfc3339(token_expiration(t, at("2025-01-01T00:00:00Z"))) == "2026-01-01T00:01:00Z");
    // whole seconds
    CHECK(rfc3339(token_expiration(t + std::chrono::milliseconds(999), std::nullopt)) == "2026-01-01T00:14:00Z");
}

TEST_CASE("KUBERNETES_EXEC_INFO: the apiVersion kubelet asks for", "[aws][get-token]") {
    CHECK(parse_exec_info(nullptr).api_version == "client.authentication.k8s.io/v1beta1");
    CHECK(parse_exec_info(nullptr).warning.empty());
    CHECK(parse_exec_info("").warning.empty());
    ExecInfo v1 = parse_exec_info(R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1",)"
                                  R"("spec":{"interactive":false}})");
    CHECK(v1.api_version == "client.authentication.k8s.io/v1");
    CHECK(v1.warning.empty());
    CHECK(parse_exec_info(R"({"apiVersion":"client.authentication.k8s.io/v1beta1","spec":{}})").warning.empty());
    ExecInfo alpha = parse_exec_info(R"({"apiVersion":"client.authentication.k8s.io/v1alpha1"})");
    CHECK(alpha.api_version == "client.authentication.k8s.io/v1alpha1");
    CHECK_THAT(alpha.warning, Catch::Contains("removed"));
    for (const char* bad : {"{", "[]", "null", R"({"apiVersion": 1})", R"({"kind":"ExecCredential"})",
                            R"({"apiVersion":"client.authentication.k8s.io/v2"})", "\xff\xfe"}) {
        INFO(bad);
        ExecInfo e = parse_exec_info(bad);
        CHECK(e.api_version == "client.authentication.k8s.io/v1beta1");
        CHECK_THAT(e.warning, Catch::Contains("KUBERNETES_EXEC_INFO"));
        CHECK(e.warning.find('\n') == std::string::npos);
    }
    // what the warning quotes of the input is short and escaped
    std::string huge = R"({"apiVersion":")" + std::string(5000, 'x') + "\\n\"}";
    CHECK(parse_exec_info(huge.c_str()).warning.size() < 200);
    std::string too_big(300 * 1024, ' ');
    CHECK_THAT(parse_exec_info(too_big.c_str()).warning, Catch::Contains("KiB"));
}

TEST_CASE("ExecCredential: the AWS CLI's document", "[aws][get-token]") {
    std::string out =
        exec_credential_json("client.authentication.k8s.io/v1", "k8s-aws-v1.abc", at("2026-01-01T00:14:00Z"));
    CHECK(out == R"({"kind": "ExecCredential", "apiVersion": "client.authentication.k8s.io/v1", "spec": {}, )"
                 R"("status": {"expirationTimestamp": "2026-01-01T00:14:00Z", "token": "k8s-aws-v1.abc"}})"
                 "\n");
    json doc = json::parse(out);
    CHECK(doc["status"]["token"] == "k8s-aws-v1.abc");
}
