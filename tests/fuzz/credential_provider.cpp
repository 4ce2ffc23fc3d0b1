// SPDX-License-Identifier: Apache-2.0
// What a credential provider plugin prints, and the config naming the plugins
// (cri/registry_credentials.cpp): a third-party program's output, and a file on the
// node. Input: a matchImages pattern line, an image line, then the document,
// read as a CredentialProviderResponse and as a CredentialProviderConfig.
// Refusals: Error (ConfigError for the config). Properties: matching never
// throws; an image matches the pattern that is itself (made explicit), when it
// holds no glob class or escape.
#include <string>

#include "cri/registry_credentials.hpp"
#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    namespace cri = eksnode::cri;
    std::string_view in = fuzz::text(data, size);
    auto line = [&] {
        std::string_view l = in.substr(0, in.find('\n'));
        in.remove_prefix(std::min(in.size(), l.size() + 1));
        return std::string(l);
    };
    const std::string pattern = line(), image = line();
    const bool matched = cri::image_matches(pattern, image);
    (void)matched;
    const std::string explicit_image = cri::normalized_image(image);
    if (image.find_first_of("[\\") == std::string::npos && explicit_image.find("://") == std::string::npos &&
        !cri::image_matches(explicit_image, image))
        fuzz::broken("an image does not match itself");
    fuzz::refused_only_as<eksnode::Error>([&] {
        cri::Auth a = cri::parse_provider_response(in, "credentialprovider.kubelet.k8s.io/v1", image);
        (void)a;
    });
    fuzz::refused_only_as<eksnode::ConfigError>([&] {
        for (const cri::Provider& p : cri::parse_provider_config(in, "config.json"))
            if (p.name.empty() || p.name.find('/') != std::string::npos || p.match_images.empty())
                fuzz::broken("a provider kubelet refuses was accepted");
    });
    return 0;
}
