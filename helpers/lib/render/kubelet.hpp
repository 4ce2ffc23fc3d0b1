// SPDX-License-Identifier: Apache-2.0
// The kubelet step's documents, each a pure function of config.json. Internal
// to helpers/lib/render/ and its tests; render_kubelet() writes them.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/jsonutil.hpp"
#include "core/paths.hpp"
#include "render/render.hpp"

namespace eksnode::render::detail {

// Where kubelet finds ecr-credential-provider: a flag value, not an output
// (the outputs' paths are in core/paths.hpp, their modes in core/outputs.hpp).
inline constexpr std::string_view credential_provider_bin_dir = path::credential_provider_bin_dir;

// settings.kubelet.configMode = "replace": spec.kubelet.config is the whole
// KubeletConfiguration, eks-node's values only filling the keys it must own.
bool kubelet_replaces_config(const json& cfg);
// Whether this kubelet reads drop-ins from --config-dir (nodeadm: >= 1.29),
// so the user's kubelet.config goes to a drop-in instead of into config.json
// (never in replace mode: the user's configuration is config.json).
bool kubelet_uses_dropin(const json& cfg);
// spec.kubelet.config when it goes to a drop-in (set, and the kubelet reads
// drop-ins); nullptr when there is no drop-in to write.
const json* user_dropin_config(const json& cfg);

// /etc/kubernetes/kubelet/config.json: nodeadm's defaults, the derived values
// and the version toggles; for kubelets without drop-ins, spec.kubelet.config
// deep-merged over it. In replace mode: spec.kubelet.config, with the keys
// eks-node must own filled where it has none.
json kubelet_config(const json& cfg);

// config.json.d/40-user.conf: kind and apiVersion (a drop-in must name them to
// count as a KubeletConfiguration), then the user's keys, which may override them.
json kubelet_user_dropin(const json& user_config);

// Every kubelet flag, "--name=value": nodeadm's set for this node sorted by
// name, then spec.kubelet.flags verbatim, so the user's come last and win.
std::vector<std::string> kubelet_flags(const json& cfg);

// /etc/eks/kubelet/environment: the flags in NODEADM_KUBELET_ARGS (the name the
// AL2023 kubelet.service expands in ExecStart=) plus the variables nodeadm sets.
std::string kubelet_environment(const json& cfg);

// The kubeconfig kubelet authenticates with: the API server at `server`, the cluster CA,
// and `plugin` (kubelet_credential_plugin()) for its token.
std::string kubeconfig_yaml(std::string_view server, const CredentialPlugin& plugin);

// settings.staticPods.NAME's file: /etc/kubernetes/static-pods/NAME.yaml.
std::string static_pod_file(std::string_view name);

// /etc/eks/image-credential-provider/config.json for this kubelet version.
json credential_provider_config(const json& cfg);

}  // namespace eksnode::render::detail
