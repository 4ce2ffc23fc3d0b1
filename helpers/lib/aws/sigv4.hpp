// SPDX-License-Identifier: Apache-2.0
// AWS Signature Version 4, header signing, on OpenSSL (HMAC-SHA256, SHA-256).
// Pure functions of their inputs, checked against the published AWS test
// suite (tests/data/sigv4/) and, request by request, by the fake endpoint's
// botocore verifier (tests/fake-aws/).
//
// Owner area: helpers/lib/aws/.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace eksnode::aws {

// Never logged, never part of an error message, never written to a file.
struct Credentials {
    std::string access_key_id;
    std::string secret_access_key;
    std::string session_token;  // empty for long-term keys
    std::optional<std::chrono::system_clock::time_point> expiration;
    std::string source;         // "environment", "instance profile eks-node-role (IMDS)"
};

// A request as it goes on the wire.
struct SignableRequest {
    std::string method;                                        // "POST"
    std::string path;                                          // as sent, percent-encoded: "/clusters/my-cluster"
    std::string query;                                         // as sent, without '?'
    std::vector<std::pair<std::string, std::string>> headers;  // Host among them
    std::string body;
};

struct SigningScope {
    std::string region;    // "us-west-2"
    std::string service;   // "ec2", "eks"
    std::string amz_date;  // "20150830T123600Z" (UTC)
};

// "20150830T123600Z"
std::string amz_date(std::chrono::system_clock::time_point t);

// RFC 3986 percent-encoding of everything but the unreserved characters
// (and '/', when `keep_slash`), upper-case hex, as SigV4 wants it.
std::string uri_encode(std::string_view s, bool keep_slash);

// The canonical request; `signed_headers` receives "host;x-amz-date".
// Every header of the request is signed.
std::string canonical_request(const SignableRequest& r, std::string* signed_headers = nullptr);
std::string string_to_sign(const SigningScope& scope, std::string_view canonical);
// Hex HMAC-SHA256 of the string to sign under the key derived from `secret`.
std::string signature(std::string_view secret, const SigningScope& scope, std::string_view string_to_sign);
// The Authorization header value for `r` as it stands.
std::string authorization(const Credentials& c, const SigningScope& scope, const SignableRequest& r);

// Adds X-Amz-Date, X-Amz-Security-Token (temporary credentials) and
// Authorization to `r`; every header present is signed.
void sign(SignableRequest& r, const Credentials& c, const SigningScope& scope);

// A GET to presign: the request travels as a URL whose query carries the
// signature (SigV4 query-string signing), for someone else to send.
struct PresignRequest {
    std::string host;                                          // "sts.us-west-2.amazonaws.com"
    std::string path = "/";                                    // as sent, percent-encoded
    std::vector<std::pair<std::string, std::string>> params;   // the operation's, raw, in this order
    std::vector<std::pair<std::string, std::string>> headers;  // signed besides Host ("x-k8s-aws-id")
    int expires_seconds = 60;                                  // X-Amz-Expires
};

// "https://HOST/PATH?PARAMS&X-Amz-Algorithm=...&X-Amz-Credential=...&X-Amz-Date=...
// &X-Amz-Expires=...&X-Amz-SignedHeaders=...[&X-Amz-Security-Token=...]&X-Amz-Signature=..."
// with the query in the order botocore's SigV4QueryAuth writes it (the
// operation's parameters, then the signing ones), so that the same credentials
// and time give the same URL byte for byte (tests/process/get_token.py holds
// it to botocore's). The payload is empty, hashed as such; the sender must
// send the signed headers with their values.
std::string presign_url(const PresignRequest& r, const Credentials& c, const SigningScope& scope);

}  // namespace eksnode::aws
