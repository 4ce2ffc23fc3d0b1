// SPDX-License-Identifier: Apache-2.0
// Retry delays shared by every client that retries (IMDS, the AWS APIs).
#pragma once

#include <chrono>
#include <optional>

namespace eksnode {

// Exponential backoff with "full jitter": a delay drawn uniformly from
// [0, min(max_backoff, initial * 2^attempt)]. `attempt` counts failures so far
// minus one (0 before the first retry); `unit` is a random number in [0, 1).
// Full jitter spreads a fleet of nodes booting together (an Auto Scaling group
// scaling out) instead of having them retry in lockstep.
std::chrono::milliseconds backoff_delay(int attempt, std::chrono::milliseconds initial,
                                        std::chrono::milliseconds max_backoff, double unit);

// A number in [0, 1) for backoff_delay's `unit`, from one generator per thread seeded by
// the clock, the pid and the thread: jitter needs no cryptographic randomness, and
// getrandom() (std::random_device) may block this early in boot, before the kernel's pool
// is ready. Nodes booting together differ in clock nanoseconds and pid.
double jitter_unit();

// When to start the next attempt after a failure at `now`, `delay` being the
// drawn backoff. A backoff that would end past the deadline is cut short so
// that one last attempt, given `last_attempt` to run, still fits: the budget
// is used, not forfeited (giving up a whole backoff early ended an 8 s AWS
// deadline at 2.4 s, a 120 s one at 118 s). nullopt when even that no longer
// fits: the caller gives up, at its deadline.
std::optional<std::chrono::steady_clock::time_point> next_attempt_at(std::chrono::steady_clock::time_point now,
                                                                     std::chrono::milliseconds delay,
                                                                     std::chrono::steady_clock::time_point deadline,
                                                                     std::chrono::milliseconds last_attempt);

}  // namespace eksnode
