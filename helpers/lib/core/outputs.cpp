// SPDX-License-Identifier: Apache-2.0
#include "core/outputs.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.hpp"

namespace eksnode::outputs {

namespace {

// One path component against one of a pattern's: a '*' stands for a
// non-empty run of characters that does not start with '.'.
bool component_matches(std::string_view pattern, std::string_view name) {
    const size_t star = pattern.find('*');
    if (star == std::string_view::npos) return pattern == name;
    const std::string_view before = pattern.substr(0, star), after = pattern.substr(star + 1);
    if (name.size() <= before.size() + after.size() || !name.starts_with(before) || !name.ends_with(after))
        return false;
    return name[before.size()] != '.';
}

std::vector<std::string_view> components(std::string_view p) {
    std::vector<std::string_view> out;
    for (size_t at = 1; at <= p.size();) {
        size_t slash = p.find('/', at);
        if (slash == std::string_view::npos) slash = p.size();
        out.push_back(p.substr(at, slash - at));
        at = slash + 1;
    }
    return out;
}

}  // namespace

bool Output::matches(std::string_view absolute) const {
    if (!is_pattern()) return absolute == path;
    if (!absolute.starts_with('/')) return false;
    const std::vector<std::string_view> want = components(path), have = components(absolute);
    if (want.size() != have.size()) return false;
    for (size_t i = 0; i < want.size(); ++i)
        if (!component_matches(want[i], have[i])) return false;
    return true;
}

std::string_view Output::directory() const {
    // the directory above the first '*': a pattern's files may sit in
    // directories of their own ("/etc/containerd/certs.d/*/hosts.toml")
    const size_t slash = path.rfind('/', path.find('*'));
    return slash == 0 ? std::string_view("/") : path.substr(0, slash);
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
    // every file under the fixed directory, as deep as the pattern goes
    const std::string_view dir = o.directory();
    const size_t depth = std::count(o.path.begin(), o.path.end(), '/') - std::count(dir.begin(), dir.end(), '/');
    std::vector<std::string> level{std::string(dir == "/" ? "" : dir)};
    for (size_t d = 0; d < depth; ++d) {
        std::vector<std::string> next;
        for (const std::string& parent : level)
            for (const auto& e : fs::directory_iterator(paths.of(parent.empty() ? "/" : parent), ec)) {
                std::string absolute = fmt::format("{}/{}", parent, e.path().filename().string());
                if (d + 1 < depth ? e.is_directory(ec) : e.is_regular_file(ec)) next.push_back(std::move(absolute));
            }
        level = std::move(next);
    }
    for (std::string& absolute : level)
        if (find(absolute) == &o) out.push_back(std::move(absolute));
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
