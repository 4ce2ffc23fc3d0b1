// SPDX-License-Identifier: Apache-2.0
// A NodeConfig stream, YAML or JSON, as user data or a MIME part carries it:
// the YAML reader and its go-yaml scalar typing, the JSON reader, the
// containerd TOML inside, and every document's validation.
#include "config/sources.hpp"
#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::refused_only_as<eksnode::ConfigError>([&] {
        for (const eksnode::config::Fragment& f :
             eksnode::config::fragments_from_nodeconfig(fuzz::text(data, size), "fuzz"))
            eksnode::config::validate_fragment(f);
    });
    return 0;
}
