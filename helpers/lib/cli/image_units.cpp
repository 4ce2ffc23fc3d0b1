// SPDX-License-Identifier: Apache-2.0
#include "cli/image_units.hpp"

#include <algorithm>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "core/fsutil.hpp"
#include "core/syntax.hpp"

namespace eksnode::cli {

namespace {

std::vector<std::string> candidates(const std::string& name) {
    std::vector<std::string> c{name};
    size_t at = name.find('@'), dot = name.rfind('.');
    if (at != std::string::npos && dot != std::string::npos && dot > at + 1)
        c.push_back(name.substr(0, at + 1) + name.substr(dot));
    return c;
}

std::vector<std::string> dropin_dirs(const std::string& name) {
    std::vector<std::string> d;
    size_t dot = name.rfind('.');
    if (dot == std::string::npos) return d;
    const std::string type = name.substr(dot + 1), stem = name.substr(0, dot);
    d.push_back(type + ".d");
    for (size_t dash = stem.find('-'); dash != std::string::npos; dash = stem.find('-', dash + 1))
        d.push_back(stem.substr(0, dash + 1) + "." + type + ".d");
    for (const std::string& c : candidates(name)) d.push_back(c + ".d");
    return d;
}

}  // namespace

void read_unit_text(const std::string& text, UnitFile& u) {
    static constexpr std::string_view dep_keys[] = {"Wants",   "Requires",  "Requisite",
                                                    "BindsTo", "OnFailure", "Upholds"};
    static constexpr std::string_view exec_keys[] = {"ExecStart",    "ExecStartPre", "ExecStartPost", "ExecStop",
                                                     "ExecStopPost", "ExecReload",   "ExecCondition"};
    for (const syntax::unit::Setting& s : syntax::unit::read(text)) {
        if (s.section == "Unit" && is_one_of(s.key, dep_keys)) {
            std::istringstream words(s.value);
            for (std::string w; words >> w;) u.deps[s.key].push_back(w);
        } else if (s.section == "Service" && is_one_of(s.key, exec_keys)) {
            // the first word, less systemd's prefixes (-@:+!|)
            std::string_view v = s.value;
            while (!v.empty() && std::string_view("-@:+!|").find(v.front()) != std::string_view::npos)
                v.remove_prefix(1);
            std::string program(v.substr(0, v.find_first_of(" \t")));
            if (!program.empty()) {
                u.execs.emplace_back(s.key, program);
            } else if (s.value.empty()) {
                // "ExecStart=" alone: the commands set before are gone (a drop-in replacing one)
                std::erase_if(u.execs, [&](const auto& e) { return e.first == s.key; });
            }
        }
    }
}

std::string Units::find(const std::string& name) const {
    for (const std::string& candidate : candidates(name))
        for (std::string_view dir : unit_dirs) {
            std::string node = fmt::format("{}/{}", dir, candidate);
            std::error_code ec;
            fs::path file = paths_.of(node);
            if (!fs::exists(fs::symlink_status(file, ec))) continue;
            if (fs::is_symlink(file, ec)) {
                fs::path target = fs::read_symlink(file, ec);
                if (target == "/dev/null") return "masked";
            }
            if (fs::exists(file, ec)) return node;
        }
    return "";
}

UnitFile Units::read(const std::string& name, const std::string& file) const {
    UnitFile u;
    if (auto text = read_file_if_exists(paths_.of(file))) read_unit_text(*text, u);
    // NAME.wants/ and NAME.requires/ (and the template's): each link's name is a
    // Wants= or Requires= of the unit, as systemd reads them; eks-node's targets
    // want their steps this way (units/meson.build)
    for (const auto& [suffix, key] : {std::pair{".wants", "Wants"}, std::pair{".requires", "Requires"}})
        for (const std::string& c : candidates(name))
            for (std::string_view dir : unit_dirs) {
                std::error_code ec;
                std::vector<std::string> links;
                for (const auto& e : fs::directory_iterator(paths_.of(fmt::format("{}/{}{}", dir, c, suffix)), ec))
                    links.push_back(e.path().filename().string());
                std::sort(links.begin(), links.end());
                for (std::string& l : links) u.deps[key].push_back(std::move(l));
            }
    for (const std::string& d : dropin_dirs(name))
        for (std::string_view dir : unit_dirs) {
            std::error_code ec;
            std::vector<std::string> confs;
            for (const auto& e : fs::directory_iterator(paths_.of(fmt::format("{}/{}", dir, d)), ec))
                if (e.path().extension() == ".conf") confs.push_back(e.path().string());
            std::sort(confs.begin(), confs.end());
            for (const std::string& c : confs)
                if (auto text = read_file_if_exists(c)) read_unit_text(*text, u);
        }
    return u;
}

std::vector<std::string> Units::ours() const {
    std::set<std::string> names;
    for (std::string_view dir : unit_dirs) {
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(paths_.of(dir), ec)) {
            std::string n = e.path().filename().string();
            if ((n.starts_with("eks-node") || n == "ecs-node.target") &&
                (n.ends_with(".service") || n.ends_with(".target")) && !e.is_directory(ec))
                names.insert(n);
        }
    }
    return {names.begin(), names.end()};
}

}  // namespace eksnode::cli
