// SPDX-License-Identifier: Apache-2.0
// Merging fragments in order, recording which source set every value.
#include "config/merge.hpp"

#include <fmt/format.h>

#include "config/validate.hpp"
#include "core/fsutil.hpp"
#include "input/fragments.hpp"
#include "input/sources.hpp"

namespace eksnode::config {

namespace {

// kubelet parses flags with pflag, where a later flag overrides an earlier one
// and list flags (--node-labels) accumulate; so every source's flags are kept,
// in order (nodeadm/internal/api/merge.go does the same).
constexpr std::string_view appended_list = "/spec/kubelet/flags";

// RFC 6901: "~" -> "~0", "/" -> "~1" (kubelet.config keys such as "kubernetes.io/os").
std::string pointer_token(std::string_view key) {
    std::string out;
    for (char c : key) {
        if (c == '~')
            out += "~0";
        else if (c == '/')
            out += "~1";
        else
            out += c;
    }
    return out;
}

// Drops `pointer` and everything under it: a replaced value takes its origins along.
void forget(Origins& origins, const std::string& pointer) {
    auto it = origins.lower_bound(pointer);
    while (it != origins.end() && (it->first == pointer || it->first.rfind(pointer + "/", 0) == 0))
        it = origins.erase(it);
}

// Records `source` for every leaf of `value`: scalars, and empty objects and lists.
void record(Origins& origins, const json& value, const std::string& pointer, const std::string& source) {
    if (value.is_object() && !value.empty()) {
        for (const auto& [key, child] : value.items())
            record(origins, child, pointer + "/" + pointer_token(key), source);
    } else if (value.is_array() && !value.empty()) {
        for (size_t i = 0; i < value.size(); ++i) record(origins, value[i], fmt::format("{}/{}", pointer, i), source);
    } else {
        origins[pointer] = source;
    }
}

// Objects merge key by key at every depth. That includes containerd.config,
// which nodeadm cannot merge: when two sources set it, its merge.go replaces
// both with an empty string (a "TODO"), silently dropping the user's config.
void merge_value(json& dst, const json& src, const std::string& pointer, const std::string& source, Origins& origins) {
    if (pointer == appended_list && dst.is_array() && src.is_array()) {
        if (!src.empty()) origins.erase(pointer);  // no longer an empty leaf
        for (const json& element : src) {
            record(origins, element, fmt::format("{}/{}", pointer, dst.size()), source);
            dst.push_back(element);
        }
        return;
    }
    if (dst.is_object() && src.is_object()) {
        if (!src.empty()) origins.erase(pointer);  // no longer an empty leaf
        for (const auto& [key, child] : src.items()) {
            std::string child_pointer = pointer + "/" + pointer_token(key);
            auto existing = dst.find(key);
            if (existing == dst.end()) {
                record(origins, child, child_pointer, source);
                dst[key] = child;
            } else {
                merge_value(*existing, child, child_pointer, source, origins);
            }
        }
        return;
    }
    forget(origins, pointer);
    dst = src;
    record(origins, src, pointer, source);
}

}  // namespace

void merge_fragment(json& spec, json& settings, const input::Fragment& f, Origins& origins) {
    merge_value(spec, f.spec, "/spec", f.source, origins);
    merge_value(settings, f.settings, "/settings", f.source, origins);
}

json static_settings(const Paths& paths) {
    const std::string slot = std::string(input::user_data_slot) + ".toml";
    json spec = json::object(), settings = json::object();
    Origins origins;
    for (const input::FragmentFile& f : input::fragment_files(paths)) {
        if (f.name == slot || input::is_mask(f.path)) continue;
        input::Fragment frag = input::fragment_from_toml(input::read_fragment_file(f.path), f.path.string());
        validate_fragment(frag);
        merge_fragment(spec, settings, frag, origins);
    }
    validate_settings(settings, origins);  // what eks-node-config and eks-node-imds refuse, the generator ignores
    return settings;
}

json settings_with_user_data(const Paths& paths, const std::vector<input::Fragment>& user_data) {
    const std::string slot = std::string(input::user_data_slot) + ".toml";
    json spec = json::object(), settings = json::object();
    Origins origins;
    bool placed = false;
    auto place = [&] {
        for (const input::Fragment& f : user_data) merge_fragment(spec, settings, f, origins);
        placed = true;
    };
    for (const input::FragmentFile& f : input::fragment_files(paths)) {  // sorted by name
        if (!placed && f.name >= slot) place();
        // an admin's file in the slot hides the user data from eks-node-config
        if (f.name == slot || input::is_mask(f.path)) continue;
        input::Fragment frag = input::fragment_from_toml(input::read_fragment_file(f.path), f.path.string());
        validate_fragment(frag);
        merge_fragment(spec, settings, frag, origins);
    }
    if (!placed) place();
    return settings;
}

}  // namespace eksnode::config
