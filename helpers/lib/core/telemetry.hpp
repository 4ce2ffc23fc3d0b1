// SPDX-License-Identifier: Apache-2.0
// What one run of a step asked of the network: requests to IMDS and to each
// AWS API, and how many of them repeated one that had failed. The clients
// count (imds/client.cpp, aws/api.cpp); the step runner puts the counts on
// the run's last journal entry (EKS_NODE_CALLS=, core/step.cpp), where
// `eks-node status` and eks-node-telemetry(8) read them back.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/jsonutil.hpp"

namespace eksnode::telemetry {

// The journal field the counts travel in, as JSON: {"imds":{"requests":4,"retries":1}}.
inline constexpr std::string_view calls_field = "EKS_NODE_CALLS";

struct Calls {
    std::string api;        // "imds", or the AWS service: "ec2", "eks"
    unsigned requests = 0;  // HTTP exchanges made, retries included: answered or failed,
                            // not a race's loser dropped unanswered (imds/client.cpp)
    unsigned retries = 0;   // of them, those that repeated a failed one
    bool operator==(const Calls&) const = default;
};

// One request made; `retry` when it repeats a failed one.
void count_request(std::string_view api, bool retry);
// Adds `c` to the entry of its API in `into` (appended when it has none):
// this process's counts, and a node's sum over its steps (`eks-node status`).
void add(std::vector<Calls>& into, const Calls& c);
// This process's counts, by API in the order first used.
const std::vector<Calls>& calls();
// Forgets the counts (tests).
void reset();

// {"imds":{"requests":4,"retries":1},...}: the field's value.
json to_json(const std::vector<Calls>& calls);
// What a field read back may hold: a step uses three or four APIs and writes
// a few hundred bytes. Anything larger is not a step's (status and telemetry
// would otherwise spend minutes on a forged megabyte of names).
inline constexpr std::size_t max_field_bytes = 64 * 1024;
inline constexpr std::size_t max_apis = 64;

// The field's value read back. nullopt when it is not that shape or over the
// bounds above: the step's entry is matched by uid 0 and the run's
// invocation (sd::run_field), and a cut or forged value is still ignored
// rather than trusted.
std::optional<std::vector<Calls>> from_json(std::string_view text);

}  // namespace eksnode::telemetry
