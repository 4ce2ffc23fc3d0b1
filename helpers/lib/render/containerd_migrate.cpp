// SPDX-License-Identifier: Apache-2.0
// eks-node-containerd: a user's containerd configuration version 2 TOML on
// containerd 2 (version 3), and a version 2 or 3 one on containerd 2.3
// (version 4), moved into the newer version's places as `containerd config
// migrate` would, or refused where containerd removed a setting.
#include <algorithm>
#include <string>

#include <fmt/format.h>

#include "core/error.hpp"
#include "render/containerd.hpp"
#include "render/shared.hpp"

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

// containerd 2's split of the CRI plugin's schema 2 table (plugins/cri/cri.go,
// images/plugin.go, runtime/plugin.go: configMigration): image settings to
// io.containerd.cri.v1.images, the CRI server's own (streaming) settings stay
// in io.containerd.grpc.v1.cri, the rest is the runtime's,
// io.containerd.cri.v1.runtime.
void split_cri(json& plugins, bool cni_bin_dirs) {
    auto it = plugins.find(std::string(v2_cri));
    if (it == plugins.end()) return;
    if (!it->is_object())
        throw ConfigError("config.json", fmt::format("spec.containerd.config.plugins.\"{}\"", v2_cri),
                          "expected a table");
    json cri = std::move(*it);
    plugins.erase(it);
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
    if (!images.empty()) plugins[std::string(v3_images)] = std::move(images);
    if (!cri.empty()) plugins[std::string(v3_runtime)] = std::move(cri);
    if (!server.empty()) plugins[std::string(v2_cri)] = std::move(server);
}

// Whether a value is set, as containerd tells from the Go zero value its
// decoder leaves for a key not written: a 0, "" or false is not.
bool is_set(const json* v) {
    if (!v || v->is_null()) return false;
    if (v->is_number()) return *v != 0;
    if (v->is_string()) return !v->get_ref<const std::string&>().empty();
    if (v->is_boolean()) return v->get<bool>();
    return true;
}

const json* key_of(const json& doc, std::string_view table, std::string_view key) {
    auto t = doc.find(std::string(table));
    if (t == doc.end() || !t->is_object()) return nullptr;
    auto k = t->find(std::string(key));
    return k == t->end() ? nullptr : &*k;
}

// The legacy server keys containerd's Config still decodes in any version
// (cmd/containerd/server/config/config.go, GRPCConfig, TTRPCConfig, Debug,
// MetricsConfig; the tables' other keys, debug.level for one, stay where they
// are), each with the plugin that reads it from version 4 on.
struct Legacy {
    std::string_view table, key, plugin;
};
constexpr Legacy legacy_keys[] = {
    {"grpc", "address", v4_grpc},
    {"grpc", "uid", v4_grpc},
    {"grpc", "gid", v4_grpc},
    {"grpc", "max_recv_message_size", v4_grpc},
    {"grpc", "max_send_message_size", v4_grpc},
    {"grpc", "tcp_address", v4_grpc_tcp},
    {"grpc", "tcp_tls_ca", v4_grpc_tcp},
    {"grpc", "tcp_tls_cert", v4_grpc_tcp},
    {"grpc", "tcp_tls_key", v4_grpc_tcp},
    {"grpc", "tcp_tls_common_name", v4_grpc_tcp},
    {"ttrpc", "address", v4_ttrpc},
    {"ttrpc", "uid", v4_ttrpc},
    {"ttrpc", "gid", v4_ttrpc},
    {"debug", "address", v4_debug},
    {"debug", "uid", v4_debug},
    {"debug", "gid", v4_debug},
    {"metrics", "address", v4_metrics},
    {"metrics", "grpc_histogram", v4_grpc_prometheus},
};

// containerd 2.3's move of the server settings into their plugins
// (config.go serviceMigrate), on the user's document alone, as containerd
// migrates each file before merging it: a setting moves only where the
// document has no table of that plugin, whose values win; what does not move
// is dropped, as containerd never reads it again.
void migrate_service(json& user) {
    // containerd fails the whole file on a value of another type
    for (const Legacy& l : legacy_keys) {
        const json* v = key_of(user, l.table, l.key);
        if (!v) continue;
        const bool text = l.key.ends_with("address") || l.key.starts_with("tcp_tls");
        const bool flag = l.key == "grpc_histogram";
        if (text ? !v->is_string() : flag ? !v->is_boolean() : !v->is_number_integer())
            throw ConfigError("config.json", fmt::format("spec.containerd.config.{}.{}", l.table, l.key),
                              text   ? "expected a string"
                              : flag ? "expected true or false"
                                     : "expected an integer");
    }
    if (!user.contains("plugins")) user["plugins"] = json::object();
    json& plugins = user["plugins"];
    if (!plugins.is_object()) throw ConfigError("config.json", "spec.containerd.config.plugins", "expected a table");
    auto absent = [&](std::string_view id) { return !plugins.contains(std::string(id)); };
    auto value = [&](std::string_view table, std::string_view key) -> json {
        const json* v = key_of(user, table, key);
        return v ? *v : json(0);
    };
    auto set = [&](std::string_view table, std::string_view key) { return is_set(key_of(user, table, key)); };

    if (set("debug", "address") && absent(v4_debug))
        plugins[std::string(v4_debug)] = {
            {"address", value("debug", "address")}, {"uid", value("debug", "uid")}, {"gid", value("debug", "gid")}};

    // The grpc values are read once, for the grpc, grpc-tcp and ttrpc
    // plugins alike.
    const bool grpc_address = set("grpc", "address");
    const bool grpc_legacy = grpc_address || set("grpc", "uid") || set("grpc", "gid") ||
                             set("grpc", "max_recv_message_size") || set("grpc", "max_send_message_size");
    if (grpc_legacy && absent(v4_grpc)) {
        json g = json::object();
        // uid and gid go with an address even when 0: a version 3 file
        // cannot tell a 0 written from none.
        if (grpc_address)
            g = {{"address", value("grpc", "address")}, {"uid", value("grpc", "uid")}, {"gid", value("grpc", "gid")}};
        for (const char* k : {"uid", "gid"})
            if (!grpc_address && set("grpc", k)) g[k] = value("grpc", k);
        for (const char* k : {"max_recv_message_size", "max_send_message_size"})
            if (set("grpc", k)) g[k] = value("grpc", k);
        plugins[std::string(v4_grpc)] = std::move(g);
    }
    if (set("grpc", "tcp_address") && absent(v4_grpc_tcp)) {
        json t = {{"address", value("grpc", "tcp_address")}};
        for (const auto& [from, to] :
             {std::pair{"tcp_tls_ca", "tls_ca"}, std::pair{"tcp_tls_cert", "tls_cert"},
              std::pair{"tcp_tls_key", "tls_key"}, std::pair{"tcp_tls_common_name", "tls_common_name"},
              std::pair{"max_recv_message_size", "max_recv_message_size"},
              std::pair{"max_send_message_size", "max_send_message_size"}})
            if (set("grpc", from)) t[to] = value("grpc", from);
        plugins[std::string(v4_grpc_tcp)] = std::move(t);
    }
    if (absent(v4_ttrpc)) {
        // Before version 4 an unset ttrpc address is the grpc one's plus
        // ".ttrpc", with its owner; the ttrpc plugin's own default does not
        // follow the grpc address.
        json address = value("ttrpc", "address"), uid = value("ttrpc", "uid"), gid = value("ttrpc", "gid");
        if (!is_set(&address) && grpc_address) {
            address = value("grpc", "address").get<std::string>() + ".ttrpc";
            if (!is_set(&uid)) uid = value("grpc", "uid");
            if (!is_set(&gid)) gid = value("grpc", "gid");
        }
        if (is_set(&address) || is_set(&uid) || is_set(&gid)) {
            if (!is_set(&address)) address = "";
            plugins[std::string(v4_ttrpc)] = {{"address", address}, {"uid", uid}, {"gid", gid}};
        }
    }
    if (set("metrics", "grpc_histogram") && absent(v4_grpc_prometheus))
        plugins[std::string(v4_grpc_prometheus)] = {{"grpc_histogram", value("metrics", "grpc_histogram")}};
    if (set("metrics", "address") && absent(v4_metrics))
        plugins[std::string(v4_metrics)] = {{"address", value("metrics", "address")}};

    // `plugins` is not used below: erasing from `user` moves its members
    // (json keeps them in order, in a vector).
    if (plugins.empty()) user.erase("plugins");
    for (const Legacy& l : legacy_keys) {
        auto t = user.find(std::string(l.table));
        if (t == user.end() || !t->is_object()) continue;
        t->erase(std::string(l.key));
        if (t->empty()) user.erase(t);
    }
}

}  // namespace

// The user's schema 2 TOML in schema 3's places, as `containerd config
// migrate` (and containerd 2 when it loads a version 2 file) moves it: the CRI
// plugin split (split_cri). Merged into our schema 3 file, the user's values
// win over ours key by key, as in schema 3 TOML.
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
    split_cri(*plugins, cni_bin_dirs);
    return user;
}

// The user's TOML in schema 4's places, as containerd 2.3 loads a version 2
// or 3 file (config.go LoadConfigWithPlugins): for each version up to 4 its
// migration, then every plugin's. From 3 to 4 that is serviceMigrate, and the
// CRI plugins' version 2 split again (their configMigration stops only at
// version.ConfigVersion, 4 in 2.3): a no-op for a true version 3 file, whose
// io.containerd.grpc.v1.cri holds only the streaming server's keys.
json migrate_to_v4_snippet(json user, bool from_v2) {
    if (from_v2) user = migrate_v2_snippet(std::move(user), true);
    user.erase("version");
    if (user.contains("plugins") && user["plugins"].is_object()) split_cri(user["plugins"], true);
    migrate_service(user);
    return user;
}

std::vector<LegacyServerKey> legacy_server_keys(const json& doc) {
    std::vector<LegacyServerKey> out;
    for (const Legacy& l : legacy_keys)
        if (key_of(doc, l.table, l.key)) out.push_back({fmt::format("{}.{}", l.table, l.key), l.plugin});
    return out;
}

}  // namespace eksnode::render::detail
