// SPDX-License-Identifier: Apache-2.0
// Merging fragments in order, recording where every value came from.
#pragma once

#include <vector>

#include "core/jsonutil.hpp"
#include "core/paths.hpp"
#include "input/sources.hpp"

namespace eksnode::config {

// Later wins; spec.kubelet.flags appends; objects (kubelet.config,
// containerd.config, containerd.baseRuntimeSpec, featureGates, environment)
// deep-merge; other lists replace. Records the source of every leaf in `origins`
// under its JSON pointer ("/spec/cluster/name").
void merge_fragment(json& spec, json& settings, const input::Fragment& f, Origins& origins);

// Only the static TOML fragments' settings (no user data), validated as
// eks-node-config validates them: what the generator may read before user
// data is known. With the model, not with the fragment files (input/fragments.hpp),
// so that fragments.cpp stays light for eks-node-imds.
json static_settings(const Paths& paths);

// The settings eks-node-config will merge when `user_data` (its fragments,
// validated) takes the user data's slot among the static fragments: an
// image's 10-*.toml yields to it, an admin's 90-*.toml beats it. For
// `eks-node bootstrap-sh`, which writes that slot and must refuse what
// eks-node-config would (settings.strict).
json settings_with_user_data(const Paths& paths, const std::vector<input::Fragment>& user_data);

}  // namespace eksnode::config
