// SPDX-License-Identifier: Apache-2.0
// Building blocks of derive(), exposed for unit tests and the operator CLI.
// Not a stable interface: helpers call derive() and read config.json.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "derive/derive.hpp"

namespace eksnode::derive::detail {

// --- machine facts -----------------------------------------------------------

// Number of CPUs in a kernel CPU list ("0-3,5,7-8\n" -> 7); nullopt if malformed.
std::optional<int> parse_cpu_list(std::string_view text);
// MemTotal of /proc/meminfo in MiB; nullopt if absent or malformed.
std::optional<long> parse_meminfo_total_mib(std::string_view text);
// First version number in free text, normalised to "MAJOR.MINOR.PATCH":
// "Kubernetes v1.29.0-eks-5e0fdde" -> "1.29.0", "v1.30" -> "1.30.0",
// "containerd github.com/containerd/containerd/v2 v2.0.5 abc" -> "2.0.5".
// A number counts only as a whole whitespace-separated word (an optional
// leading 'v', then digits and dots, then an optional "-..." or "+..." suffix),
// so a module path such as ".../containerd/v2" is never taken for a version.
std::optional<std::string> parse_version(std::string_view text);
// Runs `argv` (looked up in PATH, no shell) with stdin and stderr on
// /dev/null and returns its stdout if it exits 0 within `timeout`; a program
// still running then is killed. nullopt on any failure.
std::optional<std::string> capture_stdout(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);

// --- max pods expressions ----------------------------------------------------

// Values of the expression's variables; nullopt when unknown (an instance type
// without ENI data).
struct ExpressionVariables {
    std::optional<long> default_enis, ips_per_eni, max_pods;
};
struct ExpressionResult {
    std::optional<long> value;        // nullopt: the result depends on an unknown variable
    std::string unknown_variable;     // the first unknown variable the result needed
};
// Parses, type-checks and evaluates; throws ConfigError (field
// spec.kubelet.maxPodsExpression) for any syntax, type or arithmetic error.
// The value is not range-checked.
ExpressionResult evaluate_expression(std::string_view expr, const ExpressionVariables& vars,
                                     const std::string& source);
// The expression as max pods: its value checked to be in 1..max_pods_limit
// (ConfigError naming `source` and the field otherwise), or a result without
// value when it needs a variable `vars` does not bind.
ExpressionResult max_pods_from_expression(std::string_view expr, const ExpressionVariables& vars,
                                          const std::string& source);

// --- networking --------------------------------------------------------------

enum class IpFamily { ipv4, ipv6 };
// Family of a CIDR; throws like cluster_dns_from_cidr.
IpFamily cidr_family(std::string_view cidr);
// Host of an URL without port, user info or IPv6 brackets:
// "https://ABC.gr7.us-west-2.eks.amazonaws.com:443/x" -> "ABC.gr7.us-west-2.eks.amazonaws.com".
// Empty when there is none.
std::string url_host(std::string_view url);

// --- sandbox image -----------------------------------------------------------

struct SandboxImageChoice {
    std::string image;
    std::string account;
    std::string registry_region;   // differs from the node's region for a partition fallback
    bool fallback = false;         // the region has no registry of its own
    bool fips = false;             // the ecr-fips host is used
};
SandboxImageChoice choose_sandbox_image(std::string_view region, std::string_view dns_suffix, bool fips);
// "<account>.dkr.ecr[-fips].<region>.<suffix>/eks/pause:<tag>"
std::string pause_image(std::string_view account, std::string_view registry_region, std::string_view dns_suffix,
                        bool fips, std::string_view tag);

}  // namespace eksnode::derive::detail
