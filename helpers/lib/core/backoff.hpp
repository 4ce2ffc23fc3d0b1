// SPDX-License-Identifier: Apache-2.0
// Retry delays shared by every client that retries (IMDS, the AWS APIs).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

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

// Says that a retrying wait goes on, so that a hang shows where people look
// (`journalctl -fu eks-node-config` on a node, the terminal of `eks-node
// render`), which the retries' own lines at debug level never reached. Quiet
// for the first quiet_for: a retry or two then is the normal cost of a
// network coming up. Then one line at the first retry past it, and again at
// most every repeat_every, each naming what is waited for, how long so far,
// when the wait gives up and the last failure. One per wait (one per IMDS
// fetch, per AWS session), not per request, so parallel retries say it once.
class WaitNotice {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::chrono::seconds quiet_for{2}, repeat_every{10};

    WaitNotice() = default;
    WaitNotice(Clock::time_point start, Clock::time_point deadline) : start_(start), deadline_(deadline) {}

    // At a retry at `now`: the line to log, or nullopt when none is due.
    // "still waiting for WHAT: 4.2 s so far, giving up at 120.0 s (last: LAST)"
    std::optional<std::string> due(Clock::time_point now, std::string_view what, std::string_view last);
    // The same, logged as a warning when due.
    void retrying(Clock::time_point now, std::string_view what, std::string_view last);

private:
    Clock::time_point start_{}, deadline_{};
    Clock::time_point said_{};  // when the last line was due; start_ before any
    bool any_said_ = false;
};

}  // namespace eksnode
