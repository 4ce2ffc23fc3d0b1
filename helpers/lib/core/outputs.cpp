// SPDX-License-Identifier: Apache-2.0
#include "core/outputs.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.hpp"

namespace eksnode::outputs {

bool Output::matches(std::string_view absolute) const {
    if (!is_pattern()) return absolute == path;
    const size_t star = path.find('*');
    const std::string_view before = path.substr(0, star), after = path.substr(star + 1);
    if (absolute.size() <= before.size() + after.size() || !absolute.starts_with(before) || !absolute.ends_with(after))
        return false;
    std::string_view name = absolute.substr(before.size(), absolute.size() - before.size() - after.size());
    return name.find('/') == std::string_view::npos && name.front() != '.';
}

const Output* find(std::string_view path) {
    for (const Output& o : all)
        if (o.path == path) return &o;
    for (const Output& o : all)
        if (o.is_pattern() && o.matches(path)) return &o;
    return nullptr;
}

std::vector<std::string> present(const Output& o, const Paths& paths) {
    std::vector<std::string> out;
    std::error_code ec;
    if (!o.is_pattern()) {
        if (fs::exists(paths.of(o.path), ec)) out.emplace_back(o.path);
        return out;
    }
    const std::string_view dir = o.path.substr(0, o.path.rfind('/'));
    for (const auto& e : fs::directory_iterator(paths.of(dir), ec)) {
        std::string absolute = fmt::format("{}/{}", dir, e.path().filename().string());
        if (e.is_regular_file(ec) && find(absolute) == &o) out.push_back(std::move(absolute));
    }
    std::sort(out.begin(), out.end());
    return out;
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
    for (const Output& o : all) note(o.step);
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
