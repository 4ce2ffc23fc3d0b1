// SPDX-License-Identifier: Apache-2.0
#include "aws/eks_token.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/jsonutil.hpp"
#include "core/text.hpp"

namespace eksnode::aws {

namespace {

using WallClock = std::chrono::system_clock;

bool host_label_chars(std::string_view s) {
    return !s.empty() && s.front() != '.' && s.front() != '-' && s.back() != '.' &&
           std::all_of(s.begin(), s.end(), [](unsigned char c) {
               return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
           });
}

// KUBERNETES_EXEC_INFO is a few hundred bytes (an ExecCredential with its
// spec, the cluster's CA at most when provideClusterInfo is set); a value far
// beyond that is not kubelet's.
constexpr size_t exec_info_cap = 256 * 1024;

}  // namespace

std::string sts_host(std::string_view region, std::string_view domain) {
    // Both become a host name the token names: nothing else may pass.
    if (!host_label_chars(region) || region.find('.') != std::string_view::npos || !host_label_chars(domain))
        throw Error(fmt::format("region {} or domain {} cannot form the STS endpoint's name", json_quoted(region, 64),
                                json_quoted(domain, 64)));
    return fmt::format("sts.{}.{}", region, domain);
}

std::string presigned_get_caller_identity(const Credentials& c, std::string_view region, std::string_view host,
                                          std::string_view cluster, WallClock::time_point now) {
    PresignRequest r;
    r.host = std::string(host);
    r.params = {{"Action", "GetCallerIdentity"}, {"Version", "2011-06-15"}};
    r.headers = {{"x-k8s-aws-id", std::string(cluster)}};
    r.expires_seconds = presign_expires_seconds;
    return presign_url(r, c, {std::string(region), "sts", amz_date(now)});
}

std::string base64url(std::string_view bytes) {
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    out.reserve((bytes.size() * 4 + 2) / 3);
    size_t i = 0;
    auto byte = [&](size_t at) { return static_cast<unsigned>(static_cast<unsigned char>(bytes[at])); };
    for (; i + 3 <= bytes.size(); i += 3) {
        const unsigned v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
        for (int shift : {18, 12, 6, 0}) out += alphabet[(v >> shift) & 63];
    }
    if (const size_t rest = bytes.size() - i; rest > 0) {
        const unsigned v = byte(i) << 16 | (rest == 2 ? byte(i + 1) << 8 : 0);
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        if (rest == 2) out += alphabet[(v >> 6) & 63];
    }
    return out;
}

std::string token_from_url(std::string_view url) { return std::string(token_prefix) + base64url(url); }

WallClock::time_point token_expiration(WallClock::time_point now,
                                       std::optional<WallClock::time_point> credentials_expiry) {
    WallClock::time_point at = now + token_lifetime - expiration_margin;
    // Temporary credentials that expire first take the token with them: STS
    // refuses a request signed with an expired session.
    if (credentials_expiry) at = std::min(at, *credentials_expiry - expiration_margin);
    at = std::max(at, now + shortest_expiration);
    return std::chrono::floor<std::chrono::seconds>(at);
}

std::string rfc3339(WallClock::time_point t) {
    std::time_t tt = WallClock::to_time_t(std::chrono::floor<std::chrono::seconds>(t));
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

ExecInfo parse_exec_info(const char* value) {
    if (!value || !*value) return {std::string(exec_v1beta1), {}};
    const std::string_view text(value);
    auto fallback = [](std::string why) {
        return ExecInfo{std::string(exec_v1beta1),
                        fmt::format("KUBERNETES_EXEC_INFO {}; answering in {}", why, exec_v1beta1)};
    };
    if (text.size() > exec_info_cap) return fallback(fmt::format("is over {} KiB", exec_info_cap / 1024));
    const json info = json::parse(text, nullptr, false);
    if (info.is_discarded() || !info.is_object()) return fallback("is not a JSON object");
    auto it = info.find("apiVersion");
    if (it == info.end() || !it->is_string()) return fallback("names no apiVersion");
    const std::string& version = it->get_ref<const std::string&>();
    if (version == exec_v1 || version == exec_v1beta1) return {version, {}};
    if (version == exec_v1alpha1)
        return {version, fmt::format("KUBERNETES_EXEC_INFO asks for {}, which Kubernetes 1.24 removed; the "
                                     "kubeconfig's exec apiVersion should be {}",
                                     exec_v1alpha1, exec_v1beta1)};
    return fallback(fmt::format("asks for apiVersion {}, which eks-node does not know", json_quoted(version, 64)));
}

std::string exec_credential_json(std::string_view api_version, std::string_view token,
                                 WallClock::time_point expiration) {
    // Written by hand in the AWS CLI's key order (nlohmann's object sorts
    // keys); the strings through the JSON writer.
    return fmt::format(R"({{"kind": "ExecCredential", "apiVersion": {}, "spec": {{}}, "status": )"
                       R"({{"expirationTimestamp": "{}", "token": {}}}}})"
                       "\n",
                       json(std::string(api_version)).dump(), rfc3339(expiration), json(std::string(token)).dump());
}

}  // namespace eksnode::aws
