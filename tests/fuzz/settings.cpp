// SPDX-License-Identifier: Apache-2.0
// eks-node.toml's [settings] table (the input is its body): the schema's
// checks (format/checks.cpp), the merged checks, and what the steps then read
// from validated settings: the IMDS options (imds/options.cpp) and the AWS
// API deadlines (aws/api.cpp), both through input/settings.hpp, which must
// accept whatever validation accepted.
#include <string>

#include "config/merge.hpp"
#include "config/validate.hpp"
#include "fuzz.hpp"
#include "imds/imds.hpp"
#include "input/settings.hpp"
#include "input/sources.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string text = "[settings]\n";
    text += fuzz::text(data, size);
    fuzz::refused_only_as<eksnode::ConfigError>([&] {
        eksnode::input::Fragment f = eksnode::input::fragment_from_toml(text, "/etc/eks-node/node.toml.d/90-fuzz.toml");
        eksnode::config::validate_fragment(f);
        eksnode::json spec = {{"cluster", {{"name", "fuzz"}}}}, settings = eksnode::json::object();
        eksnode::Origins origins;
        eksnode::config::merge_fragment(spec, settings, f, origins);
        eksnode::config::validate_merged(spec, settings, origins,
                                         eksnode::config::Requirements{.cluster_coordinates = false});
        try {
            eksnode::imds::imds_options(settings, "");
            eksnode::input::settings::read_aws(settings.contains("aws") ? settings["aws"] : eksnode::json(), "fuzz");
        } catch (const eksnode::ConfigError&) {
            fuzz::broken("a step's reader refuses validated settings");
        }
    });
    return 0;
}
