// SPDX-License-Identifier: Apache-2.0
// The token kubelet presents to an EKS API server, and the ExecCredential
// that carries it out of `eks-node get-token` (kubelet's exec credential
// plugin; eks-node-get-token(1)). Pure functions, no I/O.
//
// The token is "k8s-aws-v1." followed by the unpadded base64url of a SigV4
// presigned STS GetCallerIdentity GET URL whose signature covers the header
// x-k8s-aws-id (the cluster's name, or its id on an Outposts local cluster).
// The API server's authenticator (aws-iam-authenticator) decodes it, checks
// host, action and age, sends the GET to STS with that header set to its own
// cluster, and maps the identity STS answers to a Kubernetes user. What we
// checked against aws-iam-authenticator and the AWS CLI is listed with the
// function it came from in tests/data/get-token-compat.tsv.
//
// Owner area: helpers/lib/aws/.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "aws/sigv4.hpp"

namespace eksnode::aws {

inline constexpr std::string_view token_prefix = "k8s-aws-v1.";
// X-Amz-Expires of the presigned URL, as both AWS tools set it. STS does not
// act on it: a presigned GetCallerIdentity is accepted for 15 minutes after
// its X-Amz-Date, and the authenticator refuses a value over 900.
inline constexpr int presign_expires_seconds = 60;
// How long the API server accepts a token after it was signed.
inline constexpr std::chrono::minutes token_lifetime{15};
// The ExecCredential's expirationTimestamp is this much before the token or
// the credentials that signed it expire, whichever is first: kubelet asks for
// a new token once it passes, so this is the room left for the clocks of the
// node and the authenticator to differ and for a request in flight. The AWS
// CLI and aws-iam-authenticator use now + 14 minutes, the same margin.
inline constexpr std::chrono::minutes expiration_margin{1};
// Never sooner than this from now, even for credentials about to expire: an
// expirationTimestamp in the past would make kubelet run the plugin again
// before every request it makes.
inline constexpr std::chrono::seconds shortest_expiration{60};

inline constexpr std::string_view exec_v1beta1 = "client.authentication.k8s.io/v1beta1";
inline constexpr std::string_view exec_v1 = "client.authentication.k8s.io/v1";
inline constexpr std::string_view exec_v1alpha1 = "client.authentication.k8s.io/v1alpha1";

// "sts.us-west-2.amazonaws.com": the regional STS endpoint's host for a
// region and its partition's DNS suffix. Throws Error when either cannot be
// part of a host name.
std::string sts_host(std::string_view region, std::string_view domain);

// The presigned URL: GET https://HOST/?Action=GetCallerIdentity&Version=2011-06-15
// &X-Amz-...=, signed for `region`'s sts at `now` with x-k8s-aws-id: `cluster`.
std::string presigned_get_caller_identity(const Credentials& c, std::string_view region, std::string_view host,
                                          std::string_view cluster, std::chrono::system_clock::time_point now);

// RFC 4648 base64url without padding ('-' and '_', no '=').
std::string base64url(std::string_view bytes);
// "k8s-aws-v1." + base64url(url).
std::string token_from_url(std::string_view url);

// now + token_lifetime - expiration_margin, or credentials_expiry -
// expiration_margin when that is sooner, never sooner than now +
// shortest_expiration; whole seconds (the timestamp carries no fraction).
std::chrono::system_clock::time_point token_expiration(
    std::chrono::system_clock::time_point now, std::optional<std::chrono::system_clock::time_point> credentials_expiry);

// "2026-01-01T00:14:00Z" (RFC 3339, UTC, whole seconds), as the AWS CLI writes it.
std::string rfc3339(std::chrono::system_clock::time_point t);

// What KUBERNETES_EXEC_INFO (an ExecCredential kubelet passes the plugin)
// asks for: the apiVersion to answer in, and a warning to print, empty when
// there is none. Unset or empty: v1beta1 (kubelets before 1.20 set it only
// for v1alpha1), silently. v1 or v1beta1: itself. v1alpha1: itself, with a
// warning (Kubernetes 1.24 removed it). Not JSON, not an object, no
// apiVersion, or another one: v1beta1, with a warning, as the AWS CLI does
// (a client that asked for something else refuses the answer and says so).
// Never throws; the warning never quotes more than 64 bytes of the input.
struct ExecInfo {
    std::string api_version;
    std::string warning;
};
ExecInfo parse_exec_info(const char* value);

// {"kind":"ExecCredential","apiVersion":...,"spec":{},"status":
// {"expirationTimestamp":"...","token":"..."}} and a newline.
std::string exec_credential_json(std::string_view api_version, std::string_view token,
                                 std::chrono::system_clock::time_point expiration);

}  // namespace eksnode::aws
