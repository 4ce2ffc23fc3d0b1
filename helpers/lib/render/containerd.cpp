// SPDX-License-Identifier: Apache-2.0
// eks-node-containerd: config.toml and the base OCI runtime spec, equivalent to
// nodeadm/internal/containerd (config.template.toml for schema 2,
// config2.template.toml for schema 3, base-runtime-spec.json, nvidia.go).
#include "render/containerd.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <system_error>

#include <fmt/format.h>

#include "config/registries.hpp"
#include "config/runtimes.hpp"
#include "config/toml_json.hpp"
#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/log.hpp"
#include "core/paths.hpp"
#include "core/syntax.hpp"
#include "derive/derive.hpp"
#include "render/detail.hpp"
#include "render/render.hpp"

namespace eksnode::render {

namespace detail {

namespace {

constexpr std::string_view containerd_socket = "/run/containerd/containerd.sock";
constexpr std::string_view v2_cri = "io.containerd.grpc.v1.cri";
constexpr std::string_view v3_images = "io.containerd.cri.v1.images";
constexpr std::string_view v3_runtime = "io.containerd.cri.v1.runtime";

struct Runtime {
    std::string_view name;
    std::string_view binary;
};

// The built-in runtime handler, chosen by what the image installed, as
// nodeadm does: NVIDIA's runc wrapper (which hands containers the GPUs they
// ask for, and is plain runc to those that ask for none) when the image has
// it, plain runc otherwise. Never a handler whose binary is missing:
// containerd would fail every container with it. Neuron, as in nodeadm,
// needs no handler: runc plus its device plugin.
Runtime builtin_runtime(const json& cfg) {
    if (flag(cfg, "/machine/nvidiaContainerRuntime")) return {"nvidia", path::nvidia_container_runtime};
    return {"runc", "/usr/sbin/runc"};
}

json runtime_handler(const Runtime& rt) {
    json h = json::object();
    h["runtime_type"] = "io.containerd.runc.v2";
    h["base_runtime_spec"] = path::base_runtime_spec;
    h["options"] = {{"BinaryName", rt.binary}, {"SystemdCgroup", true}};
    return h;
}

// A handler of settings.runtimes as containerd's CRI runtime table (the same
// keys in schema 2 and 3). For runc's shim the binary is the OCI runtime it
// runs (BinaryName), cgroups through systemd as for runc; another type's
// binary is its shim (runtime_path), whose options are its own. Every
// handler starts from the same base runtime spec as runc's.
json runtime_handler(const config::runtimes::Handler& h) {
    json t = json::object();
    t["runtime_type"] = h.type;
    t["base_runtime_spec"] = path::base_runtime_spec;
    json options = json::object();
    if (h.type == config::runtimes::runc_v2) {
        options["BinaryName"] = h.binary;
        options["SystemdCgroup"] = true;
    } else {
        t["runtime_path"] = h.binary;
    }
    deep_merge(options, h.options);
    if (!options.empty()) t["options"] = std::move(options);
    if (h.privileged_without_host_devices) t["privileged_without_host_devices"] = true;
    if (!h.pod_annotations.empty()) t["pod_annotations"] = h.pod_annotations;
    return t;
}

// containerd's runtimes table and default runtime: the built-in handler and
// settings.runtimes; the default is the handler marked so, else the built-in.
void add_runtimes(const json& cfg, json& ctd) {
    const Runtime rt = builtin_runtime(cfg);
    std::string default_name(rt.name);
    json runtimes = json::object();
    runtimes[std::string(rt.name)] = runtime_handler(rt);
    for (const config::runtimes::Handler& h : config::runtimes::of_config(cfg)) {
        runtimes[h.name] = runtime_handler(h);
        if (h.is_default) default_name = h.name;
    }
    ctd["default_runtime_name"] = default_name;
    ctd["runtimes"] = std::move(runtimes);
}

// The schema the user's TOML is written for, if it tells: its `version`, else
// the CRI plugins it configures (containerd 2's exist only in schema 3;
// nodeadm looks for the same names).
std::optional<int> user_schema(const json& user) {
    if (user.contains("version")) {
        const json& v = user["version"];
        if (v != 2 && v != 3)
            throw ConfigError(
                "config.json", "spec.containerd.config.version",
                fmt::format("{} is not a containerd configuration version eks-node writes (2 or 3)", v.dump()));
        return v.get<int>();
    }
    const json* plugins = user.contains("plugins") ? &user["plugins"] : nullptr;
    if (!plugins || !plugins->is_object()) return std::nullopt;
    if (plugins->contains(v3_images) || plugins->contains(v3_runtime)) return 3;
    if (plugins->contains(v2_cri) || plugins->contains("cri")) return 2;
    return std::nullopt;
}

json top_level(int version) {
    json c = json::object();
    c["version"] = version;
    c["imports"] = json::array({containerd_imports});
    c["root"] = "/var/lib/containerd";
    c["state"] = "/run/containerd";
    c["grpc"] = {{"address", containerd_socket}};
    return c;
}

void add_soci(json& c, json& snapshotter_owner) {
    snapshotter_owner["snapshotter"] = "soci";
    // SOCI needs the image annotations containerd strips by default.
    snapshotter_owner["disable_snapshot_annotations"] = false;
    json soci = json::object();
    soci["type"] = "snapshot";
    soci["address"] = path::soci_socket;
    soci["exports"] = {{"root", "/var/lib/soci-snapshotter-grpc"}};
    c["proxy_plugins"] = {{"soci", std::move(soci)}};
}

// The CRI's registry table: config_path (hosts.toml, render_registries()),
// and settings.registries' static credentials as registry.configs.HOST.auth,
// which the CRI image service uses for a pull whose request brings none (the
// sandbox image, eks-node-prepull without a matching provider, kubelet
// without one). Deprecated in containerd 2 and read until 2.3
// (tests/data/registries-compat.tsv); config.toml is 0600 and redacted.
json registry_table(const json& cfg) {
    json registry = {{"config_path", "/etc/containerd/certs.d:/etc/docker/certs.d"}};
    for (const config::registries::Registry& r : config::registries::of_config(cfg))
        if (!r.username.empty())
            registry["configs"][r.host]["auth"] = {{"username", r.username}, {"password", r.password}};
    return registry;
}

json schema2_config(const json& cfg) {
    json cri = json::object();
    cri["sandbox_image"] = need_string(cfg, "/derived/sandboxImage");
    // CDI lets device plugins hand devices over by name; on by default from 1.32.
    cri["enable_cdi"] = kubelet_at_least(cfg, "1.32");
    json ctd = json::object();
    ctd["default_runtime_name"] = "";  // add_runtimes(): first, where containerd's own dump has it
    // Keep the unpacked layers only, not the compressed blobs as well.
    ctd["discard_unpacked_layers"] = true;
    add_runtimes(cfg, ctd);
    cri["containerd"] = std::move(ctd);
    cri["registry"] = registry_table(cfg);
    cri["cni"] = {{"bin_dir", "/opt/cni/bin"}, {"conf_dir", "/etc/cni/net.d"}};

    json c = top_level(2);
    if (use_soci_snapshotter(cfg)) add_soci(c, cri["containerd"]);
    c["plugins"] = {{v2_cri, std::move(cri)}};
    return c;
}

json schema3_config(const json& cfg) {
    json images = json::object();
    images["discard_unpacked_layers"] = true;
    images["pinned_images"] = {{"sandbox", need_string(cfg, "/derived/sandboxImage")}};
    images["registry"] = registry_table(cfg);

    json runtime = json::object();
    runtime["enable_cdi"] = kubelet_at_least(cfg, "1.32");
    json ctd = json::object();
    add_runtimes(cfg, ctd);
    runtime["containerd"] = std::move(ctd);
    // containerd 2.1 made the CNI binary directory a list (bin_dirs) and
    // keeps reading bin_dir, deprecated; 2.0 knows only bin_dir (nodeadm's
    // template writes that for both).
    if (containerd_at_least(cfg, "2.1"))
        runtime["cni"] = {{"bin_dirs", json::array({"/opt/cni/bin"})}, {"conf_dir", "/etc/cni/net.d"}};
    else runtime["cni"] = {{"bin_dir", "/opt/cni/bin"}, {"conf_dir", "/etc/cni/net.d"}};

    json c = top_level(3);
    if (use_soci_snapshotter(cfg)) add_soci(c, images);
    json plugins = json::object();
    plugins[v3_images] = std::move(images);
    plugins[v3_runtime] = std::move(runtime);
    c["plugins"] = std::move(plugins);
    return c;
}

// --- a schema 2 snippet on containerd 2 ---------------------------------------------

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

json mount(std::string_view destination, std::string_view type, std::string_view source, json options) {
    json m = json::object();
    m["destination"] = destination;
    m["options"] = std::move(options);
    m["source"] = source;
    m["type"] = type;
    return m;
}

// containerd's default Linux spec (`ctr oci spec`) with nodeadm's changes: no
// inheritable capabilities, and RLIMIT_NOFILE raised to 65536/1048576.
json default_base_runtime_spec() {
    const json caps = json::array({"CAP_AUDIT_WRITE", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID",
                                   "CAP_KILL", "CAP_MKNOD", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SETFCAP",
                                   "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT"});
    json lnx = json::object();
    lnx["maskedPaths"] =
        json::array({"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                     "/proc/sched_debug", "/proc/scsi", "/proc/timer_list", "/proc/timer_stats", "/sys/firmware"});
    lnx["namespaces"] = json::array();
    for (const char* ns : {"ipc", "mount", "network", "pid", "uts"}) lnx["namespaces"].push_back({{"type", ns}});
    lnx["readonlyPaths"] = json::array({"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"});
    lnx["resources"] = {{"devices", json::array({{{"access", "rwm"}, {"allow", false}}})}};

    json mounts = json::array({
        mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
        mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
        mount("/dev/pts", "devpts", "devpts",
              {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
        mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}),
        mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
    });

    json process = json::object();
    process["capabilities"] = {{"bounding", caps}, {"effective", caps}, {"permitted", caps}};
    process["cwd"] = "/";
    process["noNewPrivileges"] = true;
    json nofile = json::object();
    nofile["type"] = "RLIMIT_NOFILE";
    nofile["soft"] = 65536;
    nofile["hard"] = 1048576;
    process["rlimits"] = json::array({std::move(nofile)});
    process["user"] = {{"gid", 0}, {"uid", 0}};

    json spec = json::object();
    spec["linux"] = std::move(lnx);
    spec["mounts"] = std::move(mounts);
    spec["ociVersion"] = "1.1.0";
    spec["process"] = std::move(process);
    spec["root"] = {{"path", "rootfs"}};
    return spec;
}

// The user's containerd.config may list imports of its own: they join ours
// (a TOML array would replace it in the merge), so config.d is always read.
void keep_dropin_import(json& c) {
    json& imports = c["imports"];
    if (!imports.is_array())
        throw ConfigError("config.json", "spec.containerd.config.imports",
                          fmt::format("{} is not a list of file paths", imports.dump()));
    json out = json::array({containerd_imports});
    for (const json& i : imports)
        if (i != containerd_imports) out.push_back(i);
    imports = std::move(out);
}

// --- the drop-ins containerd imports -----------------------------------------------

struct DropinText {
    std::optional<std::string> text;  // nullopt: not read (`problem` says why)
    std::string problem;
    std::string fingerprint;
};

// A drop-in's bytes, without waiting on a FIFO or reading past the check's
// limit: it is no file of ours, and a render step must not hang on one.
DropinText read_dropin(const fs::path& p) {
    DropinText r;
    Fd f{::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK)};
    if (f.fd < 0) {
        r.problem = fmt::format("cannot be opened ({}): not checked", std::strerror(errno));
        return r;
    }
    struct stat st {};
    if (::fstat(f.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        r.problem = "not a regular file: containerd will not start while it is there";
        return r;
    }
    if (static_cast<uint64_t>(st.st_size) > dropin_check_bytes) {
        r.problem = fmt::format("{} bytes, more than eks-node checks ({} MiB): not checked", st.st_size,
                                dropin_check_bytes >> 20);
        r.fingerprint = fmt::format("{}-bytes", st.st_size);
        return r;
    }
    std::string text;
    try {
        text = read_at_most(f.fd, static_cast<size_t>(st.st_size) + 1);
    } catch (const std::system_error& e) {
        r.problem = fmt::format("cannot be read ({})", std::strerror(e.code().value()));
        return r;
    }
    const size_t have = text.size();
    if (have > dropin_check_bytes) {  // grew while being read
        r.problem = fmt::format("more than eks-node checks ({} MiB): not checked", dropin_check_bytes >> 20);
        r.fingerprint = "growing";
        return r;
    }
    r.fingerprint = fnv1a64_hex(text);
    r.text = std::move(text);
    return r;
}

// containerd 1.x merges an imported file plugin by plugin: a [plugins."ID"]
// (or [proxy_plugins.NAME]) table replaces config.toml's table of that name
// whole. containerd 2 merges them key by key (containerd#9982).
void check_replaced_tables(const toml::table& dropin, const json& ours, std::vector<std::string>& warnings) {
    for (const char* section : {"plugins", "proxy_plugins"}) {
        const toml::table* theirs = dropin[section].as_table();
        auto mine = ours.find(section);
        if (!theirs || mine == ours.end() || !mine->is_object()) continue;
        for (const auto& [key, value] : *theirs) {
            auto it = mine->find(std::string(key.str()));
            if (it == mine->end() || !value.is_table()) continue;
            std::vector<std::string> lost;
            for (auto k = it->begin(); k != it->end(); ++k) lost.push_back(k.key());
            std::sort(lost.begin(), lost.end());
            warnings.push_back(fmt::format(
                "[{}.\"{}\"] replaces config.toml's whole table of that name (containerd 1.x imports merge table "
                "by table, not key by key): eks-node's {} there no longer apply; set single keys in "
                "spec.containerd.config (eks-node merges those key by key) instead",
                section, key.str(), fmt::join(lost, ", ")));
        }
    }
}

ContainerdDropin check_dropin(const std::string& node_path, const fs::path& file, const json* ours,
                              bool containerd_1x) {
    ContainerdDropin d{node_path, "", {}};
    DropinText read = read_dropin(file);
    d.fingerprint = read.fingerprint;
    if (!read.text) {
        d.warnings.push_back(read.problem);
        return d;
    }
    toml::table doc;
    try {
        doc = config::parse_toml(*read.text, node_path);
    } catch (const ConfigError& e) {
        d.warnings.push_back(fmt::format("{}: containerd will not start while it is there", e.problem()));
        return d;
    }
    if (!ours) return d;
    const int64_t version = doc["version"].value_or(int64_t{0});
    const int64_t our_version = ours->value("version", 0);
    if (version > our_version)
        d.warnings.push_back(
            fmt::format("version {} is newer than config.toml's {}: containerd will not start "
                        "while it is there",
                        version, our_version));
    if (containerd_1x) check_replaced_tables(doc, *ours, d.warnings);
    return d;
}

// The drop-ins over `ours` (config.toml as data; nullptr when it cannot be
// rendered: the files are then checked on their own).
std::vector<ContainerdDropin> dropins_over(const json* ours, bool containerd_1x, const Paths& paths) {
    std::vector<ContainerdDropin> out;
    const std::string dir(path::containerd_dropin_dir);
    std::error_code ec;
    fs::directory_iterator it(paths.of(dir), ec);
    if (ec) {
        if (ec != std::errc::no_such_file_or_directory && ec != std::errc::not_a_directory)
            out.push_back({dir, "", {fmt::format("cannot be listed ({}): its files are not checked", ec.message())}});
        return out;
    }
    // containerd's glob *.toml; Go's filepath.Glob sorts what matches
    std::vector<std::string> names;
    for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
        std::string name = it->path().filename().string();
        if (name.ends_with(".toml")) names.push_back(std::move(name));
    }
    std::sort(names.begin(), names.end());
    for (const std::string& name : names)
        out.push_back(check_dropin(dir + "/" + name, paths.of(dir + "/" + name), ours, containerd_1x));
    return out;
}

// Replaces `from` by `to` in every string value under `v`; whether any was.
bool replace_in_strings(json& v, std::string_view from, std::string_view to) {
    bool any = false;
    if (v.is_string()) {
        std::string& s = v.get_ref<std::string&>();
        for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
            s.replace(at, from.size(), to);
            any = true;
        }
    } else if (v.is_structured()) {
        for (json& child : v) any |= replace_in_strings(child, from, to);
    }
    return any;
}

}  // namespace

ConfigSchema containerd_schema(const json& cfg) {
    const json* user = non_empty_object(cfg, "/spec/containerd/config");
    const std::optional<int> wanted = user ? user_schema(*user) : std::nullopt;
    if (!containerd_at_least(cfg, "2.0")) {
        if (wanted == 3)
            throw ConfigError("config.json", "spec.containerd.config",
                              fmt::format("is written for containerd 2 (configuration version 3), but containerd {} "
                                          "reads version 2",
                                          need_string(cfg, "/machine/containerdVersion")));
        return ConfigSchema::v2;
    }
    // containerd 2 reads schema 3; a user's schema 2 TOML is moved into its
    // schema 3 places (migrate_v2_snippet) and merged into ours.
    return ConfigSchema::v3;
}

json containerd_config(const json& cfg) {
    const ConfigSchema schema = containerd_schema(cfg);
    json c = schema == ConfigSchema::v2 ? schema2_config(cfg) : schema3_config(cfg);
    // Merged here rather than through containerd's `imports`, which replaces
    // whole tables instead of merging them.
    if (const json* user = non_empty_object(cfg, "/spec/containerd/config")) {
        if (schema == ConfigSchema::v3 && user_schema(*user) == 2)
            deep_merge(c, migrate_v2_snippet(*user, containerd_at_least(cfg, "2.1")));
        else deep_merge(c, *user);
        keep_dropin_import(c);
        // AWS told AL2 users to start from AL2's own containerd template,
        // whose sandbox_image is the placeholder bootstrap.sh replaced with
        // the pause image; so is it here, wherever it appears. None of our
        // defaults carries it: what matches came from the user.
        const std::string& image = need_string(cfg, "/derived/sandboxImage");
        if (replace_in_strings(c, sandbox_image_placeholder, image))
            log::info("spec.containerd.config: {} replaced by {}, as bootstrap.sh did", sandbox_image_placeholder,
                      image);
    }
    return c;
}

std::string fnv1a64_hex(std::string_view bytes) {
    uint64_t h = 0xcbf29ce484222325u;
    for (unsigned char c : bytes) {
        h ^= c;
        h *= 0x100000001b3u;
    }
    return fmt::format("{:016x}", h);
}

bool use_soci_snapshotter(const json& cfg) {
    // eks-node-config decided (derive.cpp, derive_soci_snapshotter): the gate,
    // the machine's size, the snapshotter installed.
    return flag(cfg, "/derived/sociSnapshotter");
}

// Releases before 0.10 (Debian's 0.4.1, tested in the VM): no parallel pull
// mode; a "containerd" content store they connect to when they start (10 s
// without containerd's socket and they exit, while containerd starts after
// the snapshotter); and the CRI image service they proxy for their keychain is
// CRI v1alpha2 only, which kubelet 1.26+ does not speak. An unknown release
// (no version recorded) is taken as current.
bool soci_before_0_10(const json& cfg) {
    const json* v = find(cfg, "/machine/sociSnapshotterVersion");
    const std::string version = v && v->is_string() ? v->get<std::string>() : std::string();
    return !version.empty() && derive::compare_versions(version, "0.10") < 0;
}

namespace {

// The SOCI snapshotter's config.toml as data, for the release of machine.sociSnapshotterVersion.
json soci_config_document(const json& cfg) {
    json soci = json::object();
    soci["debug"] = false;
    if (soci_before_0_10(cfg)) {
        // Its own content store (SOCI indexes and zTOCs), so that it starts
        // before containerd; layers are pulled lazily where the registry has a
        // SOCI index, else as containerd would. No keychain: kubelet's image
        // requests cannot pass through it (CRI v1alpha2 only).
        soci["content_store"] = {{"type", "soci"}};
        return soci;
    }
    // The snapshotter learns registry credentials from the CRI image requests
    // that pass through it on their way to containerd (kubelet's
    // imageServiceEndpoint is its socket).
    soci["cri_keychain"] = {{"enable_keychain", true}, {"image_service_path", containerd_socket}};
    soci["content_store"] = {{"type", "containerd"}};
    json pull = json::object();
    pull["enable"] = true;
    pull["concurrent_download_chunk_size"] = "16mb";
    pull["discard_unpacked_layers"] = true;
    pull["max_concurrent_downloads"] = -1;
    pull["max_concurrent_downloads_per_image"] = 20;
    pull["max_concurrent_unpacks"] = -1;
    pull["max_concurrent_unpacks_per_image"] = 12;
    // unpigz decompresses gzip layers on several cores.
    pull["decompress_streams"] = {{"gzip", {{"path", "/usr/bin/unpigz"}, {"args", json::array({"-d", "-c"})}}}};
    soci["pull_modes"] = {{"parallel_pull_unpack", std::move(pull)}};
    return soci;
}

}  // namespace

std::string soci_snapshotter_config(const json& cfg) {
    std::string out = generated_header("eks-node-containerd", "spec.featureGates.FastImagePull");
    if (soci_before_0_10(cfg))
        out += fmt::format(
            "# soci-snapshotter {} (before 0.10): no parallel pull mode, its own content store, no credential proxy\n",
            syntax::comment(need_string(cfg, "/machine/sociSnapshotterVersion")));
    return out.append(config::json_to_toml(soci_config_document(cfg), path::soci_config));
}

json base_runtime_spec(const json& cfg) {
    json spec = default_base_runtime_spec();
    if (const json* user = non_empty_object(cfg, "/spec/containerd/baseRuntimeSpec")) deep_merge(spec, *user);
    return spec;
}

}  // namespace detail

namespace {

using detail::find;

// The runtimes table of a rendered config.toml (schema 2 or 3), or nullptr.
const json* rendered_runtimes(const json& c) {
    for (const char* pointer : {"/plugins/io.containerd.grpc.v1.cri/containerd/runtimes",
                                "/plugins/io.containerd.cri.v1.runtime/containerd/runtimes"}) {
        const json* t = find(c, pointer);
        if (t && t->is_object()) return t;
    }
    return nullptr;
}

}  // namespace

std::vector<NamedProgram> containerd_programs(const json& cfg) {
    std::vector<NamedProgram> out;
    const json rendered = detail::containerd_config(cfg);
    const json* runtimes = rendered_runtimes(rendered);
    if (!runtimes) return out;
    for (const auto& [name, rt] : runtimes->items()) {
        if (!rt.is_object()) continue;
        // runc's shim runs the OCI runtime its options name (BinaryName; none: "runc" in
        // the shim's PATH); another shim is a program of its own (runtime_path)
        const json* binary = find(rt, "/options/BinaryName");
        const json* shim = find(rt, "/runtime_path");
        if (binary && binary->is_string() && !binary->get<std::string>().empty())
            out.push_back({binary->get<std::string>(), fmt::format("runtime handler {} (BinaryName)", name), true});
        if (shim && shim->is_string() && !shim->get<std::string>().empty())
            out.push_back({shim->get<std::string>(), fmt::format("runtime handler {} (runtime_path)", name), false});
    }
    return out;
}

std::vector<std::string> containerd_cni_dirs(const json& cfg) {
    std::vector<std::string> out;
    const json rendered = detail::containerd_config(cfg);
    for (const char* pointer :
         {"/plugins/io.containerd.grpc.v1.cri/cni", "/plugins/io.containerd.cri.v1.runtime/cni"}) {
        const json* cni = find(rendered, pointer);
        if (!cni || !cni->is_object()) continue;
        if (const json* d = find(*cni, "/bin_dir"); d && d->is_string()) out.push_back(d->get<std::string>());
        if (const json* ds = find(*cni, "/bin_dirs"); ds && ds->is_array())
            for (const json& d : *ds)
                if (d.is_string()) out.push_back(d.get<std::string>());
    }
    return out;
}

std::vector<std::string> soci_snapshotter_programs(const json& cfg) {
    std::vector<std::string> out;
    const json soci = detail::soci_config_document(cfg);
    const json* modes = find(soci, "/pull_modes");
    if (!modes || !modes->is_object()) return out;
    for (const auto& [mode, m] : modes->items()) {
        const json* streams = find(m, "/decompress_streams");
        if (!streams || !streams->is_object()) continue;
        for (const auto& [format, d] : streams->items())
            if (const json* p = find(d, "/path"); p && p->is_string()) out.push_back(p->get<std::string>());
    }
    return out;
}

std::vector<ContainerdDropin> containerd_dropins(const json& cfg, const Paths& paths) {
    std::optional<json> ours;
    try {
        ours = detail::containerd_config(cfg);
    } catch (const Error&) {
        ours.reset();  // config.json is broken: its own checks say so
    }
    return detail::dropins_over(ours ? &*ours : nullptr, ours && !detail::containerd_at_least(cfg, "2.0"), paths);
}

void check_runtime_handlers(const json& cfg, const Paths& paths) {
    for (const config::runtimes::Handler& h : config::runtimes::of_config(cfg)) {
        // Fail closed: containerd never starts on a config.toml that points a
        // handler at nothing (every pod of its RuntimeClass would fail to
        // start, on a node that looks ready).
        if (std::string problem = config::runtimes::binary_problem(h, paths); !problem.empty())
            throw ConfigError(h.binary_source, fmt::format("settings.runtimes.{}.binary", h.name), problem);
        for (const std::string& m : h.kernel_modules) {
            config::runtimes::ModuleCheck c = config::runtimes::check_module(m, paths);
            if (!c.problem.empty())
                throw ConfigError(h.modules_source, fmt::format("settings.runtimes.{}.kernelModules", h.name),
                                  c.problem);
        }
    }
}

StepResult render_containerd(const json& cfg, const Paths& paths) {
    using namespace render::detail;
    StepResult r;
    check_runtime_handlers(cfg, paths);
    // A handler's module not in the kernel yet: one that user data declared,
    // after containerd started at boot. containerd's restart pulls in the
    // modprobe@ instances its drop-in names (eks-node-config reloaded systemd
    // with it) and starts after them; without a restart nothing loads the
    // module (for a new handler, config.toml changes too: one restart). Only
    // on a machine with a sysfs (not a render into a test tree).
    if (std::error_code ec; fs::is_directory(paths.of("/sys/module"), ec))
        for (const config::runtimes::Handler& h : config::runtimes::of_config(cfg))
            for (const std::string& m : h.kernel_modules)
                if (!config::runtimes::module_loaded(m, paths))
                    r.restart("containerd.service",
                              fmt::format("settings.runtimes.{}: kernel module {} is not loaded", h.name, m));
    const json rendered = containerd_config(cfg);
    if (flag(cfg, "/machine/nvidiaGpu") && !flag(cfg, "/machine/nvidiaContainerRuntime"))
        log::emit(log::Level::notice,
                  fmt::format("NVIDIA GPU present, but {} is not installed: the default runtime stays runc and "
                              "containers get no GPU (an image with NVIDIA's container toolkit, such as the nvidia "
                              "variant, configures it)",
                              path::nvidia_container_runtime));
    // The drop-ins are containerd's to load; named here, with what will go
    // wrong with them, and listed in config.toml's header with their
    // fingerprints, so that a re-run after one changed (the bootstrap.sh shim
    // re-runs this step) changes config.toml and restarts containerd.
    std::string listed;
    for (const ContainerdDropin& d : dropins_over(&rendered, !containerd_at_least(cfg, "2.0"), paths)) {
        const bool file = d.path != path::containerd_dropin_dir;  // else the directory could not be listed
        if (file) log::info("containerd imports {}", d.path);
        for (const std::string& w : d.warnings) log::warning("{}: {}", d.path, w);
        // a file name is containerd's to load; here it is only named, in a comment
        if (file)
            listed += fmt::format("#   {} {}\n", syntax::comment(d.path),
                                  d.fingerprint.empty() ? "unreadable" : d.fingerprint);
    }
    std::string toml = generated_header("eks-node-containerd", path::config_json);
    toml += fmt::format("# containerd loads {} over this file (imports), in name order; {}\n", containerd_imports,
                        listed.empty() ? "none when rendered" : "when rendered:");
    toml += listed;
    toml.append(config::json_to_toml(rendered, path::containerd_config));
    put(r, paths, path::containerd_config, toml);
    put(r, paths, path::base_runtime_spec, dump_pretty(base_runtime_spec(cfg)));
    // Written only while in use and never removed: the SOCI package may ship
    // its own, and containerd does not talk to the snapshotter without the
    // proxy plugin above.
    if (use_soci_snapshotter(cfg)) put(r, paths, path::soci_config, soci_snapshotter_config(cfg));
    render_registries(r, cfg, paths);
    return r;
}

}  // namespace eksnode::render
