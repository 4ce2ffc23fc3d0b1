// SPDX-License-Identifier: Apache-2.0
// eks-node-system's decisions that are not files, exposed for its tests. The
// step itself is declared in steps.hpp with the others.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "steps/steps.hpp"

namespace eksnode::steps::detail {

inline constexpr std::string_view resolved_unit = "systemd-resolved.service";
inline constexpr std::string_view sysctl_unit = "systemd-sysctl.service";

// Why the DNS settings of spec.instance.network are not in effect, given the
// ActiveState of systemd-resolved.service (nullopt: no such unit), or "" when
// resolved runs (active, activating, reloading) and will read them.
std::string resolver_problem(const std::optional<std::string>& state);

}  // namespace eksnode::steps::detail
