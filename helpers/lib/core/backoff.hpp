// SPDX-License-Identifier: Apache-2.0
// Retry delays shared by every client that retries (IMDS, the AWS APIs).
#pragma once

#include <chrono>

namespace eksnode {

// Exponential backoff with "full jitter": a delay drawn uniformly from
// [0, min(max_backoff, initial * 2^attempt)]. `attempt` counts failures so far
// minus one (0 before the first retry); `unit` is a random number in [0, 1).
// Full jitter spreads a fleet of nodes booting together (an Auto Scaling group
// scaling out) instead of having them retry in lockstep.
std::chrono::milliseconds backoff_delay(int attempt, std::chrono::milliseconds initial,
                                        std::chrono::milliseconds max_backoff, double unit);

}  // namespace eksnode
