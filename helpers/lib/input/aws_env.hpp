// SPDX-License-Identifier: Apache-2.0
// The AWS SDKs' documented environment variables that eks-node-config's own
// AWS client honours (AWS SDKs and Tools reference guide: "Retry behavior",
// "Amazon EC2 instance metadata", "IMDS credential provider"): one reader and
// one grammar, called by validation (spec.instance.environment.default, with
// the origin of each value) and by aws/api.cpp (the process environment, then
// that section), so that what validation passes the client cannot refuse.
//
//   AWS_MAX_ATTEMPTS                   total attempts of one API request, the first included
//   AWS_RETRY_MODE                     standard, adaptive or legacy: checked, the same for us
//   AWS_METADATA_SERVICE_TIMEOUT       seconds for one IMDS request of the credential fetch
//   AWS_METADATA_SERVICE_NUM_ATTEMPTS  attempts of one IMDS request of the credential fetch
//   AWS_EC2_METADATA_DISABLED          true: no instance-profile credentials from IMDS
//
// An empty value is unset, as the SDKs read it. A value the SDKs would not
// accept is refused (exit 6) rather than ignored: the same value in the
// node's environment breaks every SDK-based tool on the node, and a typo
// such as AWS_EC2_METADATA_DISABLED=1 (false to the SDKs) must not pass as
// what it seems to say. What each means for eks-node: eks-node-config(8).
#pragma once

#include <array>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace eksnode::input::aws_env {

enum class RetryMode { standard, adaptive, legacy };

struct Values {
    std::optional<int> max_attempts;
    std::optional<RetryMode> retry_mode;
    std::optional<std::chrono::milliseconds> metadata_timeout;
    std::optional<int> metadata_attempts;
    std::optional<bool> metadata_disabled;
};

inline constexpr std::array<std::string_view, 5> names = {
    "AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE", "AWS_METADATA_SERVICE_TIMEOUT", "AWS_METADATA_SERVICE_NUM_ATTEMPTS",
    "AWS_EC2_METADATA_DISABLED"};

// Reads `value` of the variable `name` (one of `names`; others are ignored)
// into `out`; an empty value leaves it unset. Throws ConfigError(source,
// field, problem) for a value the SDKs would refuse.
void read(std::string_view name, std::string_view value, Values& out, const std::string& source,
          const std::string& field);

std::string_view mode_name(RetryMode m);

}  // namespace eksnode::input::aws_env
