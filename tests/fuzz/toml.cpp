// SPDX-License-Identifier: Apache-2.0
// One eks-node TOML document: user data, a MIME part of
// application/vnd.eks-node+toml, or an admin's /etc/eks-node/node.toml.d/
// file; toml++, the TOML-to-JSON mapping and the fragment's validation.
#include "config/validate.hpp"
#include "fuzz.hpp"
#include "input/sources.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::refused_only_as<eksnode::ConfigError>([&] {
        eksnode::config::validate_fragment(
            eksnode::input::fragment_from_toml(fuzz::text(data, size), "/etc/eks-node/node.toml.d/90-fuzz.toml"));
    });
    return 0;
}
