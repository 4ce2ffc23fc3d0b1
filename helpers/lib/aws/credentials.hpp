// SPDX-License-Identifier: Apache-2.0
// Where the API credentials come from, in order: the environment
// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN: tests and odd
// setups), then the instance profile through IMDS
// (meta-data/iam/security-credentials/<role>), fetched again when they are
// within refresh_margin of their expiry. Never logged.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aws/endpoint.hpp"
#include "aws/sigv4.hpp"
#include "imds/imds.hpp"

namespace eksnode::aws {

// Instance profile credentials are renewed this long before they expire
// (EC2 rotates them about 5 minutes early as well).
inline constexpr std::chrono::minutes refresh_margin{5};

// Parses the instance profile document IMDS serves
// ({"Code": "Success", "AccessKeyId": ..., "SecretAccessKey": ..., "Token": ...,
// "Expiration": "2026-01-01T00:00:00Z"}). Throws Error naming the role, never
// echoing a value.
Credentials parse_instance_profile(std::string_view document, std::string_view role);

// "2026-01-01T00:00:00Z" -> time point; nullopt if malformed.
std::optional<std::chrono::system_clock::time_point> parse_iso8601(std::string_view s);

// Credentials from the environment, or nullopt when AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY are both unset. Throws ConfigError when only one is.
std::optional<Credentials> environment_credentials(Getenv getenv);

// IMDS GETs, a seam for tests: paths in, values out (404 = nullopt), and the
// paths `then` names from an answer fetched too, on the same session token
// (imds::fetch_paths): the role's document right after the listing names it.
using ImdsGet = std::function<std::map<std::string, std::optional<std::string>, std::less<>>(
    std::vector<std::string> paths, imds::FollowUp then)>;

// What eks-node-imds already learned from meta-data/iam/security-credentials/
// (instance.json "iamRole"): nothing (ask IMDS), no instance profile, or its role.
struct KnownProfile {
    bool known = false;
    std::optional<std::string> role;
    // Non-empty: IMDS is not asked for credentials at all, because of this
    // setting ("AWS_EC2_METADATA_DISABLED=true (environment)").
    std::string disabled_by;
};

class CredentialProvider {
public:
    CredentialProvider(Getenv getenv, ImdsGet imds, KnownProfile profile = {})
        : getenv_(getenv), imds_(std::move(imds)), profile_(std::move(profile)) {}

    // Current credentials; fetched on first use, renewed near expiry or
    // when `force_refresh` (the API said the token expired).
    const Credentials& get(bool force_refresh = false);

private:
    Credentials from_instance_profile();

    Getenv getenv_;
    ImdsGet imds_;
    KnownProfile profile_;
    std::optional<Credentials> current_;
};

}  // namespace eksnode::aws
