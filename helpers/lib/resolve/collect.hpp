// SPDX-License-Identifier: Apache-2.0
// The resolver's sources, shared by resolve.cpp (config.json) and check.cpp
// (`eks-node config check`): internal to resolve/.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/jsonutil.hpp"
#include "core/paths.hpp"
#include "input/sources.hpp"
#include "resolve/resolve.hpp"

namespace eksnode::resolve::detail {

// What fills the user data slot when no admin's file takes it.
using SlotFill = std::function<void(std::vector<input::Fragment>&)>;

// The fragments of every source, in merge order: TOML files sorted by name,
// with user data in its slot (unless an admin hid or masked that slot), and
// nodeadm's drop-ins right after it.
std::vector<input::Fragment> collect_fragments(const Paths& paths, const SlotFill& user_data);
// ... with the user data of `in`, if any
std::vector<input::Fragment> collect_fragments(const ResolveInput& in);

// spec.cluster.KEY is a non-empty string
bool cluster_has(const json& spec, const char* key);
// Who set the setting at `pointer`, or "the default"
std::string setting_source(const Origins& origins, const char* pointer);

}  // namespace eksnode::resolve::detail
