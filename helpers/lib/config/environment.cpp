// SPDX-License-Identifier: Apache-2.0
#include "config/environment.hpp"

#include "format/checks.hpp"

namespace eksnode::config::environment {

std::map<std::string, Value> of_unit(const json& spec, std::string_view unit) {
    std::map<std::string, Value> out;
    const json* sections = path_in(spec, {"instance", "environment"});
    if (!sections || !sections->is_object()) return out;
    auto take = [&](const std::string& key, const json& section) {
        if (!section.is_object()) return;
        for (const auto& [name, value] : section.items())
            if (value.is_string()) out[name] = {value.get<std::string>(), "spec.instance.environment." + key};
    };
    // default first, the unit's own over it: the order the units read them
    if (auto d = sections->find("default"); d != sections->end()) take("default", *d);
    if (unit.empty()) return out;
    for (const auto& [key, section] : sections->items())
        if (key != "default" && format::check::service_section_unit(key) == unit) take(key, section);
    return out;
}

}  // namespace eksnode::config::environment
