// SPDX-License-Identifier: Apache-2.0
// eks-node-containerd: a user's containerd configuration version 2 TOML on
// containerd 2 (version 3), moved into version 3's places as `containerd
// config migrate` would, or refused where containerd 2 removed a setting.
#include <algorithm>
#include <string>

#include <fmt/format.h>

#include "core/error.hpp"
#include "render/containerd.hpp"
#include "render/detail.hpp"

namespace eksnode::render::detail {

namespace {

std::string user_key(std::string_view plugin, std::string_view rest) {
    return fmt::format("spec.containerd.config.plugins.\"{}\".{}", plugin, rest);
}

// Settings containerd 2 removed: kept, containerd would refuse to start (or
// ignore them); migrated, they would mean something else. The user has to
// say what they want in schema 3 terms.
void refuse_removed(const json& cri) {
    static constexpr std::pair<std::string_view, std::string_view> removed[] = {
        {"/systemd_cgroup", "set SystemdCgroup in the runc runtime's options"},
        {"/containerd/default_runtime",
         "name a runtime in containerd.runtimes and set containerd.default_runtime_name"},
        {"/containerd/untrusted_workload_runtime",
         "define a runtime handler in containerd.runtimes and select it with a RuntimeClass"},
    };
    for (const auto& [pointer, instead] : removed) {
        if (!find(cri, pointer)) continue;
        std::string key(pointer.substr(1));
        std::replace(key.begin(), key.end(), '/', '.');
        throw ConfigError(
            "config.json", user_key(v2_cri, key),
            fmt::format("is a containerd configuration version 2 setting that containerd 2.0 removed: {}", instead));
    }
    const json* runtimes = find(cri, "/containerd/runtimes");
    if (!runtimes || !runtimes->is_object()) return;
    for (const auto& [name, rt] : runtimes->items()) {
        const json* type = rt.is_object() ? find(rt, "/runtime_type") : nullptr;
        if (type && (*type == "io.containerd.runtime.v1.linux" || *type == "io.containerd.runc.v1"))
            throw ConfigError("config.json", user_key(v2_cri, fmt::format("containerd.runtimes.{}.runtime_type", name)),
                              fmt::format("{} was removed in containerd 2.0: use io.containerd.runc.v2", type->dump()));
    }
}

// Moves `key` of `from` (if there) to `to[as]`.
void move_key(json& from, std::string_view key, json& to, std::string_view as) {
    auto it = from.find(std::string(key));
    if (it == from.end()) return;
    to[std::string(as)] = std::move(*it);
    from.erase(it);
}

}  // namespace

// The user's schema 2 TOML in schema 3's places, as `containerd config
// migrate` (and containerd 2 when it loads a version 2 file) splits the CRI
// plugin: image settings to io.containerd.cri.v1.images, the CRI server's
// own (streaming) settings stay in io.containerd.grpc.v1.cri, the rest is the
// runtime's, io.containerd.cri.v1.runtime. Merged into our schema 3 file,
// the user's values win over ours key by key, as in schema 3 TOML.
json migrate_v2_snippet(json user, bool cni_bin_dirs) {
    user.erase("version");
    json* plugins = user.contains("plugins") && user["plugins"].is_object() ? &user["plugins"] : nullptr;
    if (!plugins) return user;
    // Schema 1's short plugin name, which schema 2 already renamed.
    if (plugins->contains("cri")) {
        if (plugins->contains(v2_cri))
            throw ConfigError("config.json", "spec.containerd.config.plugins.cri",
                              fmt::format("configures the CRI plugin a second time, beside \"{}\"", v2_cri));
        (*plugins)[std::string(v2_cri)] = std::move((*plugins)["cri"]);
        plugins->erase("cri");
    }
    auto it = plugins->find(std::string(v2_cri));
    if (it == plugins->end()) return user;
    if (!it->is_object())
        throw ConfigError("config.json", fmt::format("spec.containerd.config.plugins.\"{}\"", v2_cri),
                          "expected a table");
    json cri = std::move(*it);
    plugins->erase(it);
    refuse_removed(cri);

    json images = json::object();
    json server = json::object();
    json pinned = json::object();
    move_key(cri, "sandbox_image", pinned, "sandbox");
    if (!pinned.empty()) images["pinned_images"] = std::move(pinned);
    for (const char* key : {"registry", "image_decryption", "max_concurrent_downloads", "image_pull_progress_timeout",
                            "image_pull_with_sync_fs", "stats_collect_period"})
        move_key(cri, key, images, key);
    for (const char* key : {"disable_tcp_service", "stream_server_address", "stream_server_port", "stream_idle_timeout",
                            "enable_tls_streaming", "x509_key_pair_streaming"})
        move_key(cri, key, server, key);
    if (cri.contains("containerd") && cri["containerd"].is_object()) {
        json& ctd = cri["containerd"];
        for (const char* key : {"snapshotter", "disable_snapshot_annotations", "discard_unpacked_layers"})
            move_key(ctd, key, images, key);
        // A runtime's sandbox_mode is its sandboxer in schema 3.
        if (json* runtimes = ctd.contains("runtimes") ? &ctd["runtimes"] : nullptr; runtimes && runtimes->is_object())
            for (auto& [name, rt] : runtimes->items()) {
                if (!rt.is_object() || !rt.contains("sandbox_mode") || rt.contains("sandboxer")) continue;
                rt["sandboxer"] = rt["sandbox_mode"];
                rt.erase("sandbox_mode");
            }
        if (ctd.empty()) cri.erase("containerd");
    }
    // The CNI binary directory is a list from containerd 2.1 on (containerd
    // 2.0 knows only bin_dir), in the key our file uses.
    if (cni_bin_dirs && cri.contains("cni") && cri["cni"].is_object() && cri["cni"].contains("bin_dir")) {
        json& cni = cri["cni"];
        if (!cni.contains("bin_dirs")) cni["bin_dirs"] = json::array({cni["bin_dir"]});
        cni.erase("bin_dir");
    }
    // What is left is the runtime plugin's.
    if (!images.empty()) (*plugins)[std::string(v3_images)] = std::move(images);
    if (!cri.empty()) (*plugins)[std::string(v3_runtime)] = std::move(cri);
    if (!server.empty()) (*plugins)[std::string(v2_cri)] = std::move(server);
    return user;
}

}  // namespace eksnode::render::detail
