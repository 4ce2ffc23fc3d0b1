// SPDX-License-Identifier: Apache-2.0
#include "core/outputs.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.hpp"

namespace eksnode::outputs {

const Output* find(std::string_view path) {
    for (const Output& o : all)
        if (o.path == path) return &o;
    return nullptr;
}

const Output& of(std::string_view path) {
    if (const Output* o = find(path)) return *o;
    throw Error(fmt::format("{}: not in the output registry (core/outputs.hpp)", path));
}

std::vector<const Output*> of_step(std::string_view step) {
    std::vector<const Output*> out;
    for (const Output& o : all)
        if (o.written_by(step)) out.push_back(&o);
    return out;
}

std::vector<std::string_view> steps() {
    std::vector<std::string_view> out;
    auto note = [&](std::string_view s) {
        if (!s.empty() && std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
    };
    for (const Output& o : all) note(o.step), note(o.also_step);
    return out;
}

std::string_view format_name(Format format) {
    switch (format) {
        case Format::json: return "json";
        case Format::toml: return "toml";
        case Format::yaml: return "yaml";
        case Format::pem: return "pem";
        case Format::env: return "env";
        case Format::text: return "text";
    }
    return "?";
}

}  // namespace eksnode::outputs
