// SPDX-License-Identifier: Apache-2.0
// Auto Scaling warm pools: what a target lifecycle state means for kubelet,
// and the poll schedule of eks-node-warm-pool. See eks-node-warm-pool(8).
#include <algorithm>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/text.hpp"
#include "imds/detail.hpp"
#include "imds/imds.hpp"
#include "imds/values.hpp"

namespace eksnode::imds {

bool holds_kubelet(const std::optional<std::string>& target_lifecycle_state) {
    // Auto Scaling names every warm pool state "Warmed:<state>"; a state it
    // adds later in the pool is held back too.
    return target_lifecycle_state && target_lifecycle_state->starts_with("Warmed:");
}

std::chrono::seconds warm_pool_next_poll(int failures) {
    std::chrono::seconds wait = warm_pool_poll_interval;
    for (int i = 0; i < failures && wait < warm_pool_max_backoff; ++i) wait *= 2;
    return std::min(wait, std::chrono::seconds(warm_pool_max_backoff));
}

std::optional<std::string> fetch_target_lifecycle_state(const ImdsOptions& opts) {
    const std::string path(detail::p::target_lifecycle_state);
    auto values = fetch_paths(opts, {path});
    auto it = values.find(path);
    if (it == values.end() || !it->second) return std::nullopt;
    std::string state(trim_line(*it->second));
    if (std::string problem = value::lifecycle_state(state); !problem.empty())
        throw ConfigError(fmt::format("IMDS {}", path), "", problem);
    return state;
}

}  // namespace eksnode::imds
