// SPDX-License-Identifier: Apache-2.0
// eks-node-containerd: config.toml, equivalent to nodeadm/internal/containerd
// (config.template.toml for schema 2, config2.template.toml for schema 3,
// nvidia.go; schema 4, for containerd 2.3, which nodeadm does not write, is
// schema 3 with the server's settings in their plugins), and the step's
// render. By decision, beside it: a user's older schema TOML on a newer
// containerd (containerd_migrate.cpp), the drop-ins
// containerd imports (containerd_dropins.cpp), the SOCI snapshotter
// (containerd_soci.cpp), the base OCI runtime spec (containerd_spec.cpp).
#include "render/containerd.hpp"

#include <algorithm>
#include <optional>
#include <system_error>

#include <fmt/format.h>

#include "config/registries.hpp"
#include "config/runtimes.hpp"
#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/log.hpp"
#include "core/paths.hpp"
#include "core/syntax.hpp"
#include "format/toml_json.hpp"
#include "render/render.hpp"
#include "render/shared.hpp"

namespace eksnode::render {

namespace detail {

namespace {

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
        if (v != 2 && v != 3 && v != 4)
            throw ConfigError(
                "config.json", "spec.containerd.config.version",
                fmt::format("{} is not a containerd configuration version eks-node writes (2, 3 or 4)", v.dump()));
        return v.get<int>();
    }
    const json* plugins = user.contains("plugins") ? &user["plugins"] : nullptr;
    if (!plugins || !plugins->is_object()) return std::nullopt;
    if (plugins->contains(v3_images) || plugins->contains(v3_runtime)) return 3;
    if (plugins->contains(v2_cri) || plugins->contains("cri")) return 2;
    return std::nullopt;
}

// Version 4's socket is its grpc plugin's (added by schema3_config); the
// ttrpc socket, derived from it before version 4, is then the ttrpc plugin's
// default, the same path (plugins/server/ttrpc/plugin.go).
json top_level(int version) {
    json c = json::object();
    c["version"] = version;
    c["imports"] = json::array({containerd_imports});
    c["root"] = "/var/lib/containerd";
    c["state"] = "/run/containerd";
    if (version < 4) c["grpc"] = {{"address", containerd_socket}};
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
// without one). Deprecated in containerd 2, still read by 2.3, whose
// deprecation notice moved its removal to 2.4
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

// Schema 3, and schema 4, which moved nothing of the CRI's.
json schema3_config(const json& cfg, int version) {
    json images = json::object();
    images["discard_unpacked_layers"] = true;
    images["pinned_images"] = {{"sandbox", need_string(cfg, "/derived/sandboxImage")}};
    images["registry"] = registry_table(cfg);

    json runtime = json::object();
    // containerd 2.3 still reads it, and warns of its removal when false.
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

    json c = top_level(version);
    if (use_soci_snapshotter(cfg)) add_soci(c, images);
    json plugins = json::object();
    plugins[v3_images] = std::move(images);
    plugins[v3_runtime] = std::move(runtime);
    if (version >= 4) plugins[v4_grpc] = {{"address", containerd_socket}};
    c["plugins"] = std::move(plugins);
    return c;
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

// containerd 2.3 migrates the top-level server settings of a version 2 or 3
// file only: in a version 4 one it decodes and never reads them, so the
// socket or debug address written there would silently not be the one used.
void refuse_unread_server_keys(const json& user) {
    const std::vector<LegacyServerKey> keys = legacy_server_keys(user);
    if (keys.empty()) return;
    throw ConfigError("config.json", "spec.containerd.config." + keys.front().key,
                      fmt::format("containerd 2.3 does not read it in a version 4 configuration: set it in "
                                  "plugins.\"{}\" (or write the TOML as version 3, which eks-node moves there)",
                                  keys.front().plugin));
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
    // Before 2.3 containerd refuses to start on a version 4 file
    // (ValidateVersion: "expected containerd config version equal to or less
    // than `3`, got `4`", what containerd 2.1.9 says), and its settings in
    // the server plugins' tables would go unread there.
    if (wanted == 4 && !containerd_at_least(cfg, "2.3"))
        throw ConfigError("config.json", "spec.containerd.config.version",
                          fmt::format("4 is containerd 2.3's configuration version, but containerd {} reads up to "
                                      "version {} and would not start on it",
                                      need_string(cfg, "/machine/containerdVersion"),
                                      containerd_at_least(cfg, "2.0") ? 3 : 2));
    if (!containerd_at_least(cfg, "2.0")) {
        if (wanted == 3)
            throw ConfigError("config.json", "spec.containerd.config",
                              fmt::format("is written for containerd 2 (configuration version 3), but containerd {} "
                                          "reads version 2",
                                          need_string(cfg, "/machine/containerdVersion")));
        return ConfigSchema::v2;
    }
    // containerd 2 reads schema 3 (2.3: 4); a user's older schema TOML is
    // moved into the newer one's places (containerd_migrate.cpp) and merged
    // into ours.
    return containerd_at_least(cfg, "2.3") ? ConfigSchema::v4 : ConfigSchema::v3;
}

json containerd_config(const json& cfg) {
    const ConfigSchema schema = containerd_schema(cfg);
    json c = schema == ConfigSchema::v2 ? schema2_config(cfg) : schema3_config(cfg, schema == ConfigSchema::v4 ? 4 : 3);
    // Merged here rather than through containerd's `imports`, which replaces
    // whole tables instead of merging them.
    if (const json* user = non_empty_object(cfg, "/spec/containerd/config")) {
        const std::optional<int> wanted = user_schema(*user);
        if (schema == ConfigSchema::v4 && wanted != 4) {
            deep_merge(c, migrate_to_v4_snippet(*user, wanted == 2));
        } else if (schema == ConfigSchema::v4) {
            refuse_unread_server_keys(*user);
            deep_merge(c, *user);
        } else if (schema == ConfigSchema::v3 && wanted == 2) {
            deep_merge(c, migrate_v2_snippet(*user, containerd_at_least(cfg, "2.1")));
        } else {
            deep_merge(c, *user);
        }
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

namespace {

// What containerd reads when it starts, as this step writes it: config.toml
// (with the drop-ins it imports named in its header) and the base runtime
// spec; and whether a handler's kernel module is still to be loaded (only a
// restart pulls in the modprobe@ instances). render_containerd() writes them;
// eks-node-config compares them with the files containerd started on.
struct StartInputs {
    std::string config_toml;
    std::string base_runtime_spec;
    std::vector<std::string> modules_missing;  // "settings.runtimes.NAME: kernel module M is not loaded"
};

StartInputs start_inputs(const json& cfg, const Paths& paths) {
    using namespace render::detail;
    StartInputs in;
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
                    in.modules_missing.push_back(
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
    in.config_toml = generated_header("eks-node-containerd", path::config_json);
    in.config_toml += fmt::format("# containerd loads {} over this file (imports), in name order; {}\n",
                                  containerd_imports, listed.empty() ? "none when rendered" : "when rendered:");
    in.config_toml += listed;
    in.config_toml.append(format::json_to_toml(rendered, path::containerd_config));
    in.base_runtime_spec = dump_pretty(base_runtime_spec(cfg));
    return in;
}

}  // namespace

ContainerdWork containerd_work(const json& cfg, const Paths& paths) {
    // Quiet: eks-node-containerd logs the same lines when it renders.
    const log::Level was = log::level();
    log::set_level(log::Level::error);
    ContainerdWork work;
    try {
        const StepResult r = render_containerd(cfg, paths, true);
        auto changes = [&](std::string_view file) -> std::optional<std::string> {
            for (const auto& [p, w] : r.outputs)
                if (w == WriteResult::written && p == paths.of(file)) return fmt::format("{} changes", file);
            return std::nullopt;
        };
        // what containerd reads at its start: a restart's reasons, in this order
        if (!r.restarts.empty()) work.restart = r.restarts.front().why;
        else if (auto c = changes(path::containerd_config)) work.restart = c;
        else work.restart = changes(path::base_runtime_spec);
        work.due = work.restart;
        // else any other file (the SOCI configuration, a registry's), named as on the node
        for (const auto& [p, w] : r.outputs)
            if (!work.due && w == WriteResult::written) work.due = fmt::format("{} changes", paths.on_node(p));
    } catch (const std::exception&) {
        // eks-node-containerd refuses the same input, naming the field: nothing
        // to restart for, and its run is due to say so
        work = {.due = "the configuration of containerd is refused: eks-node-containerd says why", .restart = {}};
    }
    log::set_level(was);
    return work;
}

StepResult render_containerd(const json& cfg, const Paths& paths, bool dry_run) {
    using namespace render::detail;
    StepResult r;
    r.dry_run = dry_run;
    check_runtime_handlers(cfg, paths);
    // before config.toml is written: a refusal leaves nothing half-written
    check_registries(cfg);
    const StartInputs in = start_inputs(cfg, paths);
    for (const std::string& why : in.modules_missing) r.restart("containerd.service", why);
    put(r, paths, path::containerd_config, in.config_toml);
    put(r, paths, path::base_runtime_spec, in.base_runtime_spec);
    // Written only while in use and never removed: the SOCI package may ship
    // its own, and containerd does not talk to the snapshotter without the
    // proxy plugin above.
    if (use_soci_snapshotter(cfg)) put(r, paths, path::soci_config, soci_snapshotter_config(cfg));
    render_registries(r, cfg, paths);
    return r;
}

}  // namespace eksnode::render
