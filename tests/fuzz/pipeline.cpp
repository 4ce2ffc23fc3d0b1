// SPDX-License-Identifier: Apache-2.0
// The whole of eks-node-config's reading of user data, as
// tests/unit/config/test_bad_input.cpp runs it: fragments, each validated,
// merged in order, their unknown NodeConfig fields (warnings, or with
// settings.strict an error), the merged whole checked, and written out as JSON.
#include "config/merge.hpp"
#include "config/validate.hpp"
#include "fuzz.hpp"
#include "input/sources.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::refused_only_as<eksnode::ConfigError>([&] {
        eksnode::json spec = eksnode::json::object(), settings = eksnode::json::object();
        eksnode::Origins origins;
        const std::vector<eksnode::input::Fragment> fragments =
            eksnode::input::fragments_from_user_data(fuzz::text(data, size));
        for (const eksnode::input::Fragment& f : fragments) {
            eksnode::config::validate_fragment(f);
            eksnode::config::merge_fragment(spec, settings, f, origins);
        }
        // the NodeConfig parts' unknown fields: warnings, or settings.strict's error
        const std::vector<eksnode::input::Warning> warnings =
            eksnode::input::unknown_field_warnings(fragments, settings);
        eksnode::config::validate_merged(spec, settings, origins);
        // config.json is written with strict UTF-8 (core/jsonutil.cpp).
        eksnode::dump_pretty(eksnode::json{
            {"spec", spec}, {"settings", settings}, {"warnings", eksnode::input::warnings_json(warnings)}});
    });
    return 0;
}
