// Fragment files and the settings steps read before user data is known. Kept
// apart from resolve.cpp on purpose: eks-node-imds links only this (toml++),
// not the whole config model with its YAML and OpenSSL dependencies, which
// cost it more start-up time and memory than its own work.
#include <map>
#include <system_error>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "resolve/resolve.hpp"

namespace eksnode {

namespace {

constexpr std::string_view fragment_subdir = "node.toml.d";

bool is_fragment_name(const std::string& name) {
    return name.size() > 5 && name.ends_with(".toml") && name.front() != '.';
}

// Scalars and arrays of them: all a settings table holds.
json to_json(const toml::node& n) {
    if (auto v = n.as_string()) return v->get();
    if (auto v = n.as_integer()) return v->get();
    if (auto v = n.as_floating_point()) return v->get();
    if (auto v = n.as_boolean()) return v->get();
    if (auto a = n.as_array()) {
        json out = json::array();
        for (const toml::node& e : *a) out.push_back(to_json(e));
        return out;
    }
    if (auto t = n.as_table()) {
        json out = json::object();
        for (auto&& [k, v] : *t) out[std::string(k.str())] = to_json(v);
        return out;
    }
    // Dates and times: no settings value is one; the reader rejects a
    // non-string, non-number value by type, naming the field.
    return json::object({{"TOML date or time", n.type() == toml::node_type::date ? "date" : "time"}});
}

}  // namespace

bool is_mask(const fs::path& p) {
    std::error_code ec;
    if (fs::is_symlink(p, ec)) return fs::read_symlink(p, ec) == "/dev/null";
    return fs::is_regular_file(p, ec) && fs::file_size(p, ec) == 0;
}

std::vector<FragmentFile> fragment_files(const Paths& paths) {
    // Later directories override earlier ones name by name.
    std::map<std::string, fs::path> by_name;
    for (std::string_view dir : config_dirs) {
        fs::path d = paths.of(dir) / fragment_subdir;
        std::error_code ec;
        for (fs::directory_iterator it(d, ec), end; !ec && it != end; it.increment(ec)) {
            std::string name = it->path().filename().string();
            if (is_fragment_name(name)) by_name[name] = it->path();
        }
    }
    std::vector<FragmentFile> out;
    out.reserve(by_name.size());
    for (auto& [name, p] : by_name) out.push_back({name, p});  // std::map: sorted by name
    return out;
}

json static_settings_table(const Paths& paths, std::string_view table) {
    const std::string slot = std::string(user_data_slot) + ".toml";
    json merged = json::object();
    for (const FragmentFile& f : fragment_files(paths)) {
        if (f.name == slot || is_mask(f.path)) continue;
        toml::table doc;
        try {
            doc = toml::parse(read_file(f.path), f.path.string());
        } catch (const toml::parse_error& e) {
            throw ConfigError(f.path.string(), "",
                              fmt::format("TOML syntax, line {}: {}", e.source().begin.line, e.description()));
        }
        const toml::node* section = doc.at_path(fmt::format("settings.{}", table)).node();
        if (!section) continue;
        if (!section->is_table())
            throw ConfigError(f.path.string(), fmt::format("settings.{}", table), "must be a table");
        // Later fragments win key by key, as in the full merge.
        for (auto&& [k, v] : *section->as_table()) merged[std::string(k.str())] = to_json(v);
    }
    return merged;
}

}  // namespace eksnode
