// SPDX-License-Identifier: Apache-2.0
#include "core/backoff.hpp"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <ctime>
#include <random>

#include <fmt/format.h>

#include "core/log.hpp"

namespace eksnode {

std::chrono::milliseconds backoff_delay(int attempt, std::chrono::milliseconds initial,
                                        std::chrono::milliseconds max_backoff, double unit) {
    if (initial.count() <= 0 || max_backoff.count() <= 0) return std::chrono::milliseconds{0};
    // initial * 2^attempt, doubling only up to the cap so no attempt count overflows.
    long long ceiling = initial.count();
    for (int i = 0; i < attempt && ceiling < max_backoff.count(); ++i) ceiling *= 2;
    ceiling = std::min<long long>(ceiling, max_backoff.count());
    unit = std::clamp(unit, 0.0, 1.0);
    // floor(unit * (ceiling + 1)) is uniform over 0..ceiling for unit in [0, 1).
    long long d = static_cast<long long>(unit * static_cast<double>(ceiling + 1));
    return std::chrono::milliseconds{std::min(d, ceiling)};
}

double jitter_unit() {
    thread_local std::minstd_rand rng = [] {
        timespec ts{};
        clock_gettime(CLOCK_REALTIME, &ts);
        const auto seed = static_cast<uint64_t>(ts.tv_nsec) ^ (static_cast<uint64_t>(ts.tv_sec) << 20) ^
                          (static_cast<uint64_t>(::getpid()) << 40) ^ static_cast<uint64_t>(pthread_self());
        // minstd_rand's state must not be 0 (mod 2^31-1); seed() maps 0 to 1 itself
        return std::minstd_rand(static_cast<std::minstd_rand::result_type>(seed ^ (seed >> 32)));
    }();
    return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

std::optional<std::chrono::steady_clock::time_point> next_attempt_at(std::chrono::steady_clock::time_point now,
                                                                     std::chrono::milliseconds delay,
                                                                     std::chrono::steady_clock::time_point deadline,
                                                                     std::chrono::milliseconds last_attempt) {
    const std::chrono::steady_clock::time_point last_start = deadline - last_attempt;
    if (now >= last_start) return std::nullopt;
    return std::min(now + delay, last_start);
}

std::optional<std::string> WaitNotice::due(Clock::time_point now, std::string_view what, std::string_view last) {
    if (now - start_ < quiet_for) return std::nullopt;
    if (any_said_ && now - said_ < repeat_every) return std::nullopt;
    any_said_ = true;
    said_ = now;
    auto secs = [this](Clock::time_point t) { return std::chrono::duration<double>(t - start_).count(); };
    return fmt::format("still waiting for {}: {:.1f} s so far, giving up at {:.1f} s (last: {})", what, secs(now),
                       secs(deadline_), last.empty() ? "no answer yet" : last);
}

void WaitNotice::retrying(Clock::time_point now, std::string_view what, std::string_view last) {
    if (std::optional<std::string> line = due(now, what, last)) log::progress(*line);
}

}  // namespace eksnode
