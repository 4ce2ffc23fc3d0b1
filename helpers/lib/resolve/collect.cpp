// SPDX-License-Identifier: Apache-2.0
// The resolver's sources (resolve/collect.hpp): every configuration fragment in
// merge order, and what the resolver and `eks-node config check` read of them.
#include "resolve/collect.hpp"

#include <algorithm>

#include "core/log.hpp"
#include "input/fragments.hpp"
#include "input/sources.hpp"

namespace eksnode::resolve::detail {

namespace {

const std::string user_data_name = std::string(input::user_data_slot) + ".toml";

// The user data slot: user data itself, or the admin's file of that name
// (a mask hides user data).
void user_data_fragments(const SlotFill& user_data, const input::FragmentFile& slot,
                         std::vector<input::Fragment>& out) {
    if (!slot.path.empty() && input::is_mask(slot.path)) {
        log::info("user data masked by {}, ignoring it", slot.path.string());
    } else if (!slot.path.empty()) {
        log::info("user data replaced by {}", slot.path.string());
        out.push_back(input::fragment_from_toml(input::read_fragment_file(slot.path), slot.path.string()));
    } else {
        user_data(out);
    }
}

// nodeadm's /etc/eks/nodeadm.d/ NodeConfig files, after user data as nodeadm
// merges them. Each is capped like user data: a file there is input we did
// not write either.
void nodeadm_fragments(const Paths& paths, std::vector<input::Fragment>& out) {
    for (const fs::path& p : input::nodeadm_dropins(paths)) {
        const std::string source = p.string();
        log::info("NodeConfig drop-in {}", source);
        for (input::Fragment& frag : input::fragments_from_nodeconfig(input::read_user_data_file(source), source))
            out.push_back(std::move(frag));
    }
}

}  // namespace

// The fragments of every source, in merge order: TOML files sorted by name,
// with user data in its slot (unless an admin hid or masked that slot), and
// nodeadm's drop-ins right after it.
std::vector<input::Fragment> collect_fragments(const Paths& paths, const SlotFill& user_data) {
    std::vector<input::FragmentFile> files = input::fragment_files(paths);
    bool slot_taken =
        std::any_of(files.begin(), files.end(), [](const input::FragmentFile& f) { return f.name == user_data_name; });
    if (!slot_taken) {
        files.push_back({user_data_name, {}});
        std::stable_sort(files.begin(), files.end(), [](auto& a, auto& b) { return a.name < b.name; });
    }

    std::vector<input::Fragment> out;
    for (const input::FragmentFile& f : files) {
        bool is_slot = f.name == user_data_name;
        if (is_slot) {
            user_data_fragments(user_data, f, out);
            nodeadm_fragments(paths, out);
        } else if (!input::is_mask(f.path)) {
            out.push_back(input::fragment_from_toml(input::read_fragment_file(f.path), f.path.string()));
        }
    }
    return out;
}

std::vector<input::Fragment> collect_fragments(const ResolveInput& in) {
    return collect_fragments(in.paths, [&](std::vector<input::Fragment>& out) {
        if (!in.user_data) return;
        for (input::Fragment& frag : input::fragments_from_user_data(*in.user_data, in.user_data_label))
            out.push_back(std::move(frag));
    });
}

bool cluster_has(const json& spec, const char* key) {
    const json* cluster = spec.contains("cluster") ? &spec["cluster"] : nullptr;
    return cluster && cluster->contains(key) && (*cluster)[key].is_string() &&
           !(*cluster)[key].get<std::string>().empty();
}

std::string setting_source(const Origins& origins, const char* pointer) {
    auto it = origins.find(pointer);
    return it != origins.end() ? it->second : "the default";
}

}  // namespace eksnode::resolve::detail
