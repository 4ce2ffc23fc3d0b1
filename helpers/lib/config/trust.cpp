// SPDX-License-Identifier: Apache-2.0
#include "config/trust.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.hpp"
#include "format/certificate.hpp"
#include "format/checks.hpp"
#include "format/field_text.hpp"
#include "input/settings.hpp"

namespace eksnode::config::trust {

using input::settings::expected;

std::vector<Bundle> read(const json& table, const std::function<std::string(const std::string&)>& origin) {
    std::vector<Bundle> out;
    for (const input::settings::Entry& e : input::settings::entries(table, "trust", max_bundles, "bundles", origin)) {
        const std::string& name = e.name;
        const json& body = e.body;
        const std::string& field = e.field;
        const std::string& pointer = e.pointer;
        // the name is a file name in the store's directories
        if (std::string p = format::check::runtime_handler_name(name); !p.empty()) e.fail("", p);
        if (!body.is_object()) e.fail("", expected("an object", body));
        Bundle b;
        b.name = name;
        b.source = origin(pointer);
        for (const auto& [key, value] : body.items()) {
            if (key == "certificates") {
                if (!value.is_string()) e.fail(key, expected("a string", value));
                // the cluster CA's check: strict DER of every certificate, normalized PEM out
                b.pem = format::certificate_authority_pem(value.get<std::string>(), origin(pointer + "/" + key),
                                                          field + "." + key);
            } else if (key == "trusted") {
                if (!value.is_boolean()) e.fail(key, expected("a boolean", value));
                b.trusted = value.get<bool>();
            } else {
                input::settings::unknown_field(origin(pointer + "/" + key), field + "." + key, "certificates, trusted");
            }
        }
        if (b.pem.empty()) e.fail("certificates", "is required: the PEM (or base64) certificates of the bundle");
        out.push_back(std::move(b));
    }
    std::sort(out.begin(), out.end(), [](const Bundle& a, const Bundle& b) { return a.name < b.name; });
    return out;
}

std::vector<Bundle> of_config(const json& cfg) {
    const json* table = path_in(cfg, {"settings", "trust"});
    if (!table) return {};
    return read(*table, format::text::origin_in_config(cfg));
}

}  // namespace eksnode::config::trust
