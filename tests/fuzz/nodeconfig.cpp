// SPDX-License-Identifier: Apache-2.0
// A NodeConfig stream, YAML or JSON, as user data or a MIME part carries it:
// the YAML reader and its go-yaml scalar typing, the JSON reader, the
// containerd TOML inside, every document's validation, and the fields it
// does not know (ignored as nodeadm ignores them, or refused with
// settings.strict), and instance.storage.volumes' checks across entries
// (storage::volumes_from_config(), what eks-node-config runs on the merge).
#include <algorithm>

#include "config/validate.hpp"
#include "core/jsonutil.hpp"
#include "core/log.hpp"
#include "fuzz.hpp"
#include "input/sources.hpp"
#include "storage/ebs.hpp"

namespace {

// A warning is one line, whatever key the document holds: the key is shown
// quoted when it is not a plain name (format/field_text.hpp key_in_path).
bool one_line(const std::string& s) {
    return std::none_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

// ... and its log line is one line to a viewer that breaks lines the Unicode
// way, in their order: no U+2028/U+2029 and no bidi control reaches it raw
// (core/text.hpp one_line; issue 58).
bool one_log_line(const std::string& warning) {
    const std::string line = eksnode::log::message_text(warning);
    if (!one_line(line)) return false;
    for (std::string_view c : {"\u2028", "\u2029", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067",
                               "\u2068", "\u2069", "\u200e", "\u200f", "\u061c"})
        if (line.find(c) != std::string::npos) return false;
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::refused_only_as<eksnode::ConfigError>([&] {
        const std::vector<eksnode::input::Fragment> fragments =
            eksnode::input::fragments_from_nodeconfig(fuzz::text(data, size), "fuzz");
        size_t unknown = 0;
        for (const eksnode::input::Fragment& f : fragments) {
            eksnode::config::validate_fragment(f);  // what is left holds no unknown field
            unknown += f.unknown.size();
            const eksnode::json config = {{"spec", f.spec}, {"settings", f.settings}};
            for (const eksnode::storage::Volume& v : eksnode::storage::volumes_from_config(
                     config, [](const std::string&) { return std::string("fuzz"); })) {
                // what becomes Where= and What= of mount units: normalised, absolute, never "/"
                if (v.targets.empty() || v.device.rfind("/dev/", 0) != 0)
                    fuzz::broken("a volume without device or target");
                for (const std::string& t : v.targets)
                    if (eksnode::storage::normalise_path(t) != t || t.empty()) fuzz::broken("a target not normalised");
            }
        }
        const std::vector<eksnode::input::Warning> warnings =
            eksnode::input::unknown_field_warnings(fragments, eksnode::json::object());
        if (warnings.size() != unknown) fuzz::broken("one warning per unknown field");
        for (const eksnode::input::Warning& w : warnings)
            if (!one_line(w.text())) fuzz::broken("a warning is one line");
            else if (!one_log_line(w.text())) fuzz::broken("a warning's log line is one line, in order");
        eksnode::dump_pretty(eksnode::input::warnings_json(warnings));  // config.json's strict UTF-8
        if (unknown == 0) return;
        try {
            eksnode::input::unknown_field_warnings(fragments, {{"strict", true}});
        } catch (const eksnode::ConfigError&) {
            return;
        }
        fuzz::broken("settings.strict refuses an unknown field");
    });
    return 0;
}
