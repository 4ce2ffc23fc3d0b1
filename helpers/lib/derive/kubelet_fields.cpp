// SPDX-License-Identifier: Apache-2.0
#include "derive/kubelet_fields.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "format/field_text.hpp"

namespace eksnode::derive {

namespace {

using tables::KubeletField;

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool has(const KubeletField& f, int minor) {
    return f.first_minor <= minor && (f.last_minor == 0 || minor <= f.last_minor);
}

// What a walk of one spec.kubelet.config needs at every level.
struct Walk {
    std::span<const KubeletField> table;
    tables::KubeletMinors minors;
    std::optional<int> minor = {};  // the node's, nullopt when not known
    std::string version = {};       // as messages show it: "1.33" (the node's minor)
    int at = 0;                     // the minor the table is read at: the node's, within the table's
    bool beyond = false;            // the node's minor is outside the table's
    std::vector<KubeletFieldProblem> out = {};

    const KubeletField* row(std::string_view path) const {
        auto it = std::lower_bound(table.begin(), table.end(), path,
                                   [](const KubeletField& f, std::string_view p) { return f.path < p; });
        return it != table.end() && it->path == path ? &*it : nullptr;
    }

    // Whether the table has fields below `prefix` ("authentication.").
    bool has_below(std::string_view prefix) const {
        auto it = std::lower_bound(table.begin(), table.end(), prefix,
                                   [](const KubeletField& f, std::string_view p) { return f.path < p; });
        return it != table.end() && it->path.starts_with(prefix);
    }

    // The names at the level `prefix` ("" for the top, "authentication.")
    // that the kubelet has (with no minor: any of the table's).
    std::vector<std::string> names_at(std::string_view prefix) const {
        std::vector<std::string> out;
        for (const KubeletField& f : table) {
            if (!f.path.starts_with(prefix)) continue;
            std::string_view rest = f.path.substr(prefix.size());
            if (rest.find_first_of(".[") != std::string_view::npos) continue;
            if (!minor || has(f, at)) out.emplace_back(rest);
        }
        return out;
    }

    // A name near enough to `key` to be what was meant: one edit in three
    // (two at least), letter case aside; "" when none is that near.
    std::string near_name(std::string_view key, std::string_view prefix) const {
        std::string best = format::text::nearest(key, names_at(prefix));
        if (best.empty()) return best;
        const size_t d = format::text::edit_distance(lower(key), lower(best));
        return d <= std::max<size_t>(2, key.size() / 3) ? best : std::string();
    }

    void add(std::string field, std::string pointer, std::string nearest, std::string problem, bool note = false) {
        out.push_back({std::move(field), std::move(pointer), std::move(nearest), std::move(problem), note});
    }

    void unknown(const std::string& key, const std::string& field, const std::string& pointer,
                 std::string_view prefix) {
        std::string nearest = near_name(key, prefix);
        std::string problem =
            minor ? fmt::format("not a field of kubelet {}", version)
                  : fmt::format("not a field of any kubelet from 1.{} to 1.{}", minors.oldest, minors.newest);
        if (!nearest.empty()) problem += fmt::format(": did you mean {}?", nearest);
        if (beyond)
            problem += fmt::format(" (eks-node's table of kubelet's fields goes from 1.{} to 1.{})", minors.oldest,
                                   minors.newest);
        add(field, pointer, std::move(nearest), std::move(problem));
    }

    // `f` is in the table but not at the minor read.
    void elsewhere(const KubeletField& f, const std::string& field, const std::string& pointer) {
        if (f.first_minor > at)
            add(field, pointer, "",
                fmt::format("a kubelet 1.{} field; this node's kubelet is {}", f.first_minor, version));
        else
            add(field, pointer, "",
                fmt::format("removed from kubelet after 1.{}; this node's kubelet is {}", f.last_minor, version));
    }

    // With no kubelet known: a field some of the table's minors lack.
    void note_span(const KubeletField& f, const std::string& field, const std::string& pointer) {
        std::string problem;
        if (f.first_minor > minors.oldest)
            problem =
                fmt::format("a kubelet 1.{} field: a node whose kubelet is older does not know it", f.first_minor);
        if (f.last_minor != 0)
            problem += fmt::format("{}removed from kubelet after 1.{}: a node whose kubelet is newer does not know it",
                                   problem.empty() ? "" : "; ", f.last_minor);
        if (!problem.empty()) add(field, pointer, "", std::move(problem), true);
    }

    void object(const json& value, const std::string& prefix, const std::string& field, const std::string& pointer) {
        for (const auto& [key, child] : value.items()) {
            const std::string path = prefix + key;
            const std::string child_field = format::text::child_path(field, key);
            const std::string child_pointer = (json::json_pointer(pointer) / key).to_string();
            const KubeletField* f = row(path);
            if (!f) {
                unknown(key, child_field, child_pointer, prefix);
                continue;
            }
            if (!minor) note_span(*f, child_field, child_pointer);
            else if (!has(*f, at)) {
                elsewhere(*f, child_field, child_pointer);
                continue;  // what is below a field the kubelet lacks says nothing more
            }
            below(child, path, child_field, child_pointer);
        }
    }

    // The fields of a struct-typed field, or of each element of a list of
    // structs, when the table goes below `path`; a map's keys are the user's.
    void below(const json& value, const std::string& path, const std::string& field, const std::string& pointer) {
        if (value.is_object() && has_below(path + ".")) {
            object(value, path + ".", field, pointer);
        } else if (value.is_array() && has_below(path + "[].")) {
            for (size_t i = 0; i < value.size(); ++i)
                if (value[i].is_object())
                    object(value[i], path + "[].", format::text::element_path(field, i),
                           fmt::format("{}/{}", pointer, i));
        }
    }
};

}  // namespace

std::optional<int> kubelet_minor(std::string_view version) {
    if (version.starts_with('v') || version.starts_with('V')) version.remove_prefix(1);
    if (!version.starts_with("1.")) return std::nullopt;
    version.remove_prefix(2);
    int minor = 0;
    size_t digits = 0;
    for (; digits < version.size() && digits < 4 && version[digits] >= '0' && version[digits] <= '9'; ++digits)
        minor = minor * 10 + (version[digits] - '0');
    if (digits == 0 ||
        (digits < version.size() && version[digits] != '.' && version[digits] != '-' && version[digits] != '+'))
        return std::nullopt;
    return minor;
}

std::vector<KubeletFieldProblem> kubelet_field_problems(const json& kubelet_config,
                                                        const std::optional<std::string>& version,
                                                        std::span<const tables::KubeletField> table,
                                                        tables::KubeletMinors minors) {
    Walk w{table, minors};
    if (version) w.minor = kubelet_minor(*version);
    if (w.minor) {
        w.version = fmt::format("1.{}", *w.minor);
        w.at = std::clamp<int>(*w.minor, minors.oldest, minors.newest);
        w.beyond = *w.minor != w.at;
    }
    if (kubelet_config.is_object()) w.object(kubelet_config, "", "spec.kubelet.config", "/spec/kubelet/config");
    return std::move(w.out);
}

}  // namespace eksnode::derive
