// SPDX-License-Identifier: Apache-2.0
// Registry credentials as kubelet gets them (KEP-2133, kubelet credential
// providers): the CredentialProviderConfig eks-node-kubelet renders names
// plugins and the images each one serves (matchImages); for an image that
// matches, kubelet runs the plugin with a CredentialProviderRequest on stdin
// and reads a CredentialProviderResponse from its stdout. Doing the same
// here means a pre-pulled image gets the credentials kubelet's own pull of
// it would (ECR's above all), and nothing new to configure.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/jsonutil.hpp"
#include "cri/image_service.hpp"
#include "format/checks.hpp"

namespace eksnode::cri {

struct Provider {
    std::string name;  // the plugin's file name in the bin directory
    std::vector<std::string> match_images;
    std::string api_version;  // credentialprovider.kubelet.k8s.io/v1 (or v1beta1, v1alpha1)
    std::vector<std::string> args;
    std::vector<std::pair<std::string, std::string>> env;  // NAME, value
};

// kubelet.config.k8s.io CredentialProviderConfig (JSON, as eks-node renders
// it) read from `text`; `source` names it in errors. Throws ConfigError
// (exit 6) for a document kubelet would refuse too: a provider without a
// name or matchImages, a name with a '/', more than 64 providers, a
// matchImages pattern kubelet's URL check refuses; or beyond ours: a pattern
// format::check::match_image() refuses (longer than max_pattern_bytes, a
// malformed glob that would never match, ...: tests/data/match-images.tsv).
std::vector<Provider> parse_provider_config(std::string_view text, const std::string& source);

// Whether `image` matches a matchImages pattern by kubelet's rules
// (pkg/credentialprovider URLsMatch): both read as URLs without a scheme;
// the same number of host labels, each matched by the pattern's label as a
// glob (`*`, `?`, `[...]` within the label: "*.dkr.ecr.*.amazonaws.com");
// the same port (none = none); the image's path starting with the pattern's.
// The image is taken as the registry names it: "busybox" is
// "docker.io/library/busybox".
bool image_matches(std::string_view pattern, std::string_view image);

// The longest matchImages pattern parse_provider_config accepts: a host name
// (253) with a port and a path prefix. The matcher is linear in it; the cap
// keeps what a provider config can make it do small and stated.
inline constexpr size_t max_pattern_bytes = format::check::max_match_image_bytes;

namespace detail {
// One host label against one label of a pattern (Go's path.Match); `steps`
// grows by the elements compared, at most (pattern + 1) * (label + 1).
bool glob(std::string_view pattern, std::string_view label, size_t& steps);
}  // namespace detail

// The image as kubelet hands it to a credential provider and to its key
// matching: with the registry host made explicit (docker.io/library/...).
std::string normalized_image(std::string_view image);

// A CredentialProviderResponse (`out`, the plugin's stdout) for `image`,
// asked with `api_version`: the credentials of the auth entry whose key
// matches the image most specifically (the longest matching key), an empty
// Auth when none does. Throws Error for anything that is not such a
// response: wrong kind or apiVersion, an entry that is not
// {username, password} strings.
Auth parse_provider_response(std::string_view out, std::string_view api_version, std::string_view image);

// The result of asking for an image's credentials.
struct Lookup {
    Auth auth;                          // empty: anonymous
    std::string provider;               // the plugin that answered; "" when no provider matches
    std::vector<std::string> problems;  // plugins that matched and failed, in words
};

// NAME, value: a variable of a plugin's environment.
using EnvVars = std::vector<std::pair<std::string, std::string>>;

// Runs the first matching provider's plugin (then the next matching one if
// it fails) from `bin_dir`, as kubelet does: argv from args; the environment
// kubelet's plugin would get, that is this process's, then `service_env`
// (what kubelet's unit adds to it), then the provider's env, each later one
// winning; the request on stdin; within `timeout`, at most 1 MiB of output.
// Never throws for a plugin's sake: a failed plugin is a problem and the pull
// goes on anonymously (containerd's own error then says what the registry
// wanted).
Lookup lookup(const std::vector<Provider>& providers, const std::string& bin_dir, std::string_view image,
              std::chrono::milliseconds timeout, const EnvVars& service_env = {});

}  // namespace eksnode::cri
