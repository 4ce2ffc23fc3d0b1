// SPDX-License-Identifier: Apache-2.0
// The environment-file and YAML writers of core/syntax.hpp (env::assignment,
// yaml::string) with a comment() line after each: what they accept reads
// back as itself, through systemd's EnvironmentFile= reader
// (tests/unit/systemd_model.hpp) and libyaml as eks-node reads YAML
// (format::yaml_documents), and the comment takes no line after it.
#include <fuzzer/FuzzedDataProvider.h>

#include <string>

#include "../unit/systemd_model.hpp"
#include "core/syntax.hpp"
#include "core/text.hpp"
#include "format/convert.hpp"
#include "fuzz.hpp"

namespace syntax = eksnode::syntax;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    const std::string value = in.ConsumeRandomLengthString(256);
    const std::string note = in.ConsumeRandomLengthString(64);

    try {
        std::string file = "# " + syntax::comment(note) + "\n" + syntax::env::assignment("NAME", value) + "# " +
                           syntax::comment(note) + "\nNEXT=1\n";
        auto vars = systemd_model::env_file(file);
        if (vars.size() != 2 || vars[0].first != "NAME" || vars[1].first != "NEXT" || vars[1].second != "1")
            fuzz::broken("an environment value or comment took a line");
        if (vars[0].second.value_or("") != value) fuzz::broken("an environment value read back differently");
    } catch (const syntax::Unwritable&) {
        if (eksnode::is_utf8_text(value)) fuzz::broken("an environment value refused that systemd takes");
    }

    try {
        std::string doc = "# " + syntax::comment(note) + "\nkey: " + syntax::yaml::string(value) + "\n# " +
                          syntax::comment(note) + "\nnext: 1\n";
        std::vector<eksnode::json> back = eksnode::format::yaml_documents(doc, "fuzz");
        if (back.size() != 1 || back[0] != eksnode::json{{"key", value}, {"next", 1}}) {
            std::fprintf(stderr, "%s\n", doc.c_str());
            fuzz::broken("a YAML string read back differently");
        }
    } catch (const syntax::Unwritable&) {
        // only bytes that are not UTF-8 (a NUL is, and is escaped)
        for (size_t i = 0; i < value.size();) {
            size_t len = eksnode::utf8_length(value.substr(i));
            if (len == 0) return 0;
            i += len;
        }
        fuzz::broken("a YAML string refused that is UTF-8");
    } catch (const eksnode::ConfigError& e) {
        std::fprintf(stderr, "%s\n", e.what());
        fuzz::broken("a written YAML string does not parse");
    }
    return 0;
}
