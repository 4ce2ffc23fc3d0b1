// SPDX-License-Identifier: Apache-2.0
// settings.credentialProviders: kubelet image credential providers beside the
// ECR one (eks-node.toml(5), CREDENTIAL PROVIDERS). Each is a program in
// kubelet's --image-credential-provider-bin-dir, merged with the ECR provider
// into --image-credential-provider-config by eks-node-kubelet, and run the
// same way by eks-node-prepull (which reads that file). Read here once, for
// eks-node-config's validation and for the kubelet renderer.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/jsonutil.hpp"
#include "core/paths.hpp"

namespace eksnode::config::credential_providers {

// The provider eks-node defines itself: a table of the same name would replace it.
inline constexpr std::string_view builtin_name = "ecr-credential-provider";
// kubelet refuses a CredentialProviderConfig of more (cri/registry_credentials.hpp reads the same).
inline constexpr size_t max_providers = 63;  // the ECR provider is the 64th

// The CredentialProviderRequest/Response versions kubelet speaks (v1 from 1.27, GA).
inline constexpr std::string_view api_versions[] = {"credentialprovider.kubelet.k8s.io/v1",
                                                    "credentialprovider.kubelet.k8s.io/v1beta1",
                                                    "credentialprovider.kubelet.k8s.io/v1alpha1"};

struct Provider {
    std::string name;  // the program's file name in the bin directory
    std::vector<std::string> match_images;
    std::string default_cache_duration = "12h";  // a Go duration (ours are a subset); the ECR provider's
    std::string api_version;                     // "": the kubelet's (v1 from 1.27, else v1alpha1)
    std::vector<std::string> args;
    std::vector<std::pair<std::string, std::string>> env;  // NAME, value (may be a secret), in name order
    std::string source;                                    // where its table was set
};

// The providers of the merged settings.credentialProviders table (null: none),
// in name order. Throws ConfigError(origin(pointer),
// "settings.credentialProviders.NAME[.key]", problem): the ECR provider's
// name, no matchImages, a version the kubelet of `kubelet_v1` (1.27 or
// later) would not take, too many.
std::vector<Provider> read(const json& table, const std::function<std::string(const std::string&)>& origin);

// The providers of config.json, errors naming the sources in its origins.
std::vector<Provider> of_config(const json& cfg);

// The problem with the provider's program on the machine under `paths`
// (empty when it is an executable regular file in the bin directory).
std::string binary_problem(const Provider& p, const Paths& paths);

}  // namespace eksnode::config::credential_providers
