// SPDX-License-Identifier: Apache-2.0
// Raw EC2 user data, all the way to fragments: base64 and gzip layers, MIME
// multipart (headers, parameters, transfer encodings, nesting), and each
// part's front end (NodeConfig YAML/JSON, eks-node TOML, bootstrap.sh
// scripts). Also the shim's reading, which keeps everything but the scripts,
// and cloud_init_parts(), which tells apart what cloud-init will run.
#include "fuzz.hpp"
#include "input/bootstrap_sh.hpp"
#include "input/sources.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view raw = fuzz::text(data, size);
    fuzz::refused_only_as<eksnode::ConfigError>([&] { eksnode::input::fragments_from_user_data(raw); });
    fuzz::refused_only_as<eksnode::ConfigError>(
        [&] { eksnode::input::bootstrap_sh::fragments_from_user_data_without_scripts(raw, "user data"); });
    fuzz::refused_only_as<eksnode::ConfigError>([&] { eksnode::input::cloud_init_parts(raw); });
    return 0;
}
