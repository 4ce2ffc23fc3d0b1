// SPDX-License-Identifier: Apache-2.0
// Workload profiles and settings.sysctls. Every value below has its reason in
// eks-node.toml(5), WORKLOAD PROFILES; a change here changes that page too
// (tests/unit/input/test_profiles.cpp holds them together).
#include "input/profiles.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>

#include <fmt/format.h>

#include "core/error.hpp"
#include "format/field_text.hpp"

namespace eksnode::input::profiles {

namespace {

// The highest pid_max a 64-bit kernel accepts (PID_MAX_LIMIT, 2^22), which
// systemd's own 50-pid-max.conf sets where it is installed: a node that runs
// thousands of containers' processes should not run out of PIDs before it
// runs out of memory, and PIDs are reused later.
constexpr int64_t pid_max = 4194304;

json high_density() {
    return {
        {"spec", {{"kubelet", {{"config", {{"podPidsLimit", 4096}}}}}}},
        {"settings",
         {
             {"sysctls",
              {
                  {"fs.inotify.max_user_instances", 8192},
                  {"fs.inotify.max_user_watches", 524288},
                  {"kernel.pid_max", pid_max},
              }},
             {"maxPods", {{"reservedMemoryPercent", 50}}},
         }},
    };
}

json accelerated() {
    return {
        {"spec", {{"kubelet", {{"config", {{"podPidsLimit", 16384}}}}}}},
        {"settings",
         {
             {"sysctls",
              {
                  {"kernel.pid_max", pid_max},
                  {"vm.max_map_count", 262144},
              }},
         }},
    };
}

json batch() {
    return {
        {"spec", {{"kubelet", {{"config", {{"podPidsLimit", 8192}}}}}}},
        {"settings",
         {
             {"sysctls",
              {
                  {"fs.inotify.max_user_instances", 8192},
                  {"kernel.pid_max", pid_max},
              }},
         }},
    };
}

// The pointer token of a key, as merge.cpp records origins (RFC 6901).
std::string token(std::string_view key) {
    std::string out;
    for (char c : key) {
        if (c == '~') out += "~0";
        else if (c == '/') out += "~1";
        else out += c;
    }
    return out;
}

// Fills in `dst` what `src` has and `dst` lacks, at every depth; a value any
// source set (a scalar, or an object where the profile has a scalar) stays.
void lay_under(json& dst, const json& src, const std::string& pointer, const std::string& origin, Origins& origins) {
    for (const auto& [key, value] : src.items()) {
        const std::string child = pointer + "/" + token(key);
        auto it = dst.find(key);
        if (it == dst.end() || it->is_null()) {
            dst[key] = value;
            if (value.is_object()) {
                json& placed = dst[key];
                placed = json::object();
                lay_under(placed, value, child, origin, origins);
            } else {
                origins[child] = origin;
            }
        } else if (it->is_object() && value.is_object()) {
            lay_under(*it, value, child, origin, origins);
        }
    }
}

constexpr std::array<std::string_view, 8> sysctl_roots = {"abi", "debug", "dev", "fs", "kernel", "net", "user", "vm"};

}  // namespace

json values(std::string_view name) {
    if (name == "default") return {{"spec", json::object()}, {"settings", json::object()}};
    if (name == "high-density") return high_density();
    if (name == "accelerated") return accelerated();
    if (name == "batch") return batch();
    throw std::out_of_range(fmt::format("no workload profile {}", name));
}

void apply(json& spec, json& settings, Origins& origins) {
    auto it = settings.find("profile");
    if (it == settings.end() || !it->is_string()) return;
    const std::string name = it->get<std::string>();
    auto from = origins.find("/settings/profile");
    const std::string origin = fmt::format("profile {} (settings.profile, {})", name,
                                           from != origins.end() ? from->second : std::string("configuration"));
    json v = values(name);
    lay_under(spec, v["spec"], "/spec", origin, origins);
    lay_under(settings, v["settings"], "/settings", origin, origins);
}

std::string sysctl_name_problem(std::string_view name) {
    constexpr std::string_view form =
        "must be a dotted kernel parameter name such as kernel.pid_max (letters, digits, '_' and '-' between dots)";
    if (name.empty() || name.size() > 255) return std::string(form);
    size_t first_dot = name.find('.');
    if (first_dot == std::string_view::npos) return std::string(form);
    if (std::find(sysctl_roots.begin(), sysctl_roots.end(), name.substr(0, first_dot)) == sysctl_roots.end())
        return fmt::format("{}; its first part must be one of {}", form, fmt::join(sysctl_roots, ", "));
    char prev = '.';
    for (char c : name) {
        bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
        if (c == '.' && prev == '.') return std::string(form);
        if (c != '.' && !word) return std::string(form);
        prev = c;
    }
    if (prev == '.') return std::string(form);
    return "";
}

std::string sysctl_value(const json& value, std::string& problem) {
    if (value.is_number_integer()) return value.dump();
    if (!value.is_string()) {
        problem = fmt::format("expected a string or an integer, got {}", format::text::describe(value));
        return "";
    }
    const std::string& s = value.get_ref<const std::string&>();
    // One line of sysctl.d(5): systemd-sysctl strips the ends, so a value
    // that starts or ends with a blank would not be the value written here.
    bool fits =
        !s.empty() && s.size() <= 4096 && s.front() != ' ' && s.front() != '\t' && s.back() != ' ' && s.back() != '\t';
    for (char c : s)
        if (static_cast<unsigned char>(c) < 0x20 ? c != '\t' : c == 0x7f) fits = false;
    if (!fits) {
        problem = fmt::format(
            "{} is not a sysctl value: one line of printable text, not empty, without blanks at "
            "its ends, at most 4096 bytes",
            format::text::describe(value));
        return "";
    }
    return s;
}

void read_sysctls(const json& table, const std::string& source) {
    if (table.is_null()) return;
    if (!table.is_object())
        throw ConfigError(source, "settings.sysctls",
                          fmt::format("expected an object, got {}", format::text::describe(table)));
    for (const auto& [name, value] : table.items()) {
        const std::string field = format::text::child_path("settings.sysctls", name);
        if (std::string problem = sysctl_name_problem(name); !problem.empty())
            throw ConfigError(source, field, problem);
        std::string problem;
        sysctl_value(value, problem);
        if (!problem.empty()) throw ConfigError(source, field, problem);
    }
}

}  // namespace eksnode::input::profiles
