// SPDX-License-Identifier: Apache-2.0
// eks-node-generator's decisions. The table below is the contract; it is
// repeated in eks-node-generator(8).
//
// Enabled? The first of these that says:
//   1. eks-node.enable=BOOL on the kernel command line, the last valid one
//      (BOOL: 1 yes y true t on | 0 no n false f off; a bare eks-node.enable is 1)
//   2. settings.enable in /run/eks-node/config.json, if that file exists
//      (eks-node-config wrote it from user data and the static fragments)
//   3. else settings.enable in the static fragments: node.toml.d/*.toml in
//      /usr/lib/eks-node, /run/eks-node, /etc/eks-node (user data aside)
//   4. else enabled
// Log level? The same order: eks-node.log-level=LEVEL (error warning notice
// info debug), settings.logLevel in config.json, else in the static
// fragments; else none is set and the steps log at info.
//
//   decision                      writes (relative to the normal generator directory)
//   in the initrd                 nothing (/etc/initrd-release exists; steps run after switch-root)
//   enabled                       multi-user.target.wants/eks-node.target -> UNITDIR/eks-node.target
//   enabled, settings.node =      multi-user.target.wants/ecs-node.target -> UNITDIR/ecs-node.target, and
//   "ecs" (config.json, else      NAME.service.d/50-ecs-node.conf (an always-false condition) for each EKS
//   the static fragments)         step (decide_ecs(), add_ecs()); of the decisions below only the instance
//                                 store, under ecs-node.target, with /var/lib/docker for /var/lib/kubelet
//                                 and docker.service for kubelet.service (no pods or SOCI binds); and the
//                                 runtime handlers' modules (add_runtime_modules()) go to docker.service too
//   disabled                      eks-node-.service.d/50-disabled.conf: an always-false condition,
//                                 so every eks-node-*.service is skipped (not failed)
//   log level set                 eks-node-.service.d/50-log-level.conf: Environment=EKS_NODE_LOG_LEVEL=
//   enabled, and config.json has  eks-node.target.wants/eks-node-hosts.service -> UNITDIR/eks-node-hosts.service
//   spec.cluster.enableOutpost    kubelet.service.d/50-eks-node-hosts.conf: Wants=, After=
//   = true (Outposts)             eks-node-hosts.service (kubelet fails closed without it)
//   enabled, and config.json has  eks-node.target.wants/eks-node-instance-store.service -> UNITDIR/...
//   spec.instance.localStorage.   kubelet.service.d/50-eks-node-instance-store.conf: Wants=, After= the step
//   strategy, and /sys/block has  RAID0, RAID10: MOUNTPATH/0 (/dev/md/eks-node, xfs) and the bind mounts
//   instance-store disks          /var/lib/kubelet, and unless disabledMounts says so /var/lib/containerd,
//                                 /var/log/pods, /var/lib/soci-snapshotter (from MOUNTPATH/0/NAME);
//                                 Mount: MOUNTPATH/1..N, disk i by serial (/dev/disk/by-id/nvme-...), xfs.
//                                 Each as NAME.mount + eks-node.target.wants/NAME.mount -> ../NAME.mount,
//                                 and CONSUMER.service.d/50-eks-node-instance-store.conf: RequiresMountsFor=
//                                 for the services using them (kubelet, eks-node-kubelet, containerd,
//                                 soci-snapshotter). RAID10 with < 4 disks: only the step and the
//                                 kubelet drop-in (the step fails with exit 6, kubelet never starts).
//                                 No disks: nothing (logged at info).
//   enabled, and config.json has  containerd.service.d/50-eks-node-soci.conf: Requires=, After=
//   derived.sociSnapshotter =     soci-snapshotter.service (containerd's CRI pulls through it), and,
//   true (FastImagePull)          if /etc/eks/pause.tar exists, eks-node-pause-image.service (wanted by
//                                 containerd and kubelet) checking that archive and importing the
//                                 cached pause image into the snapshotter (pod sandboxes unpack there)
//   enabled, and /etc/containerd/ containerd.service.d/50-eks-node-after-render.conf: After=eks-node-containerd,
//   config.toml is missing, or    and the same for eks-node-ca and eks-node-kubelet (they run while containerd
//   not rendered by eks-node      starts). Else containerd starts at boot in parallel with the steps, on the
//                                 file eks-node rendered; eks-node-containerd restarts it if its render differs
//
// Bad input never fails the boot. It is skipped with a warning "…, ignoring":
//   a malformed or unknown eks-node.* switch         -> that switch is ignored
//   config.json unreadable, not JSON, not schema 1   -> the static fragments decide; no optional steps
//   a bad value in config.json's settings            -> that setting is not set
//   a bad static fragment (config::static_settings throws,   -> no static settings (so: enabled)
//     also for a file name with a control character)
//   a value a unit-file writer refuses (core/syntax.hpp)     -> that hook is not generated; a mount's
//                                                               path: no mount units, only the step;
//                                                               a source path it refuses -> SourcePath=config.json
//   a bad spec.instance.localStorage in config.json  -> no instance-store units
//   /sys/block cannot be listed                      -> no instance-store units
// Only a wrong number of arguments is an error (exit 1), as for systemd's generators.
#include "generator/generator.hpp"

#include <fcntl.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <system_error>

#include <fmt/format.h>

#include "config/fragments.hpp"
#include "config/hooks.hpp"
#include "config/runtimes.hpp"
#include "config/sources.hpp"
#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/syntax.hpp"
#include "generator/generator_config.hpp"
#include "storage/storage.hpp"

namespace eksnode::generator {

namespace {

using Level = log::Level;

constexpr std::string_view header = "# Automatically generated by eks-node-generator\n";
// Where eks-node.target and the step units are installed (meson's unitdir):
// .wants/ links point there, as systemd's own generators link to their units.
constexpr std::string_view unitdir = EKS_NODE_UNITDIR;
// Where eks-node-hook is installed (meson's helperdir): a hook's ExecStart=.
constexpr std::string_view hook_runner = EKS_NODE_HELPERDIR "/eks-node-hook";
// What eks-node-pause-image.service runs: the check of the archive, then containerd's importer.
constexpr std::string_view cli_program = "/usr/bin/eks-node";
constexpr std::string_view ctr_program = "/usr/bin/ctr";
constexpr std::string_view cmdline_path = "/proc/cmdline";

void warn(GeneratorPlan& plan, std::string text) { plan.messages.push_back({Level::warning, std::move(text)}); }

// A decided value, the input that decided it (for SourcePath=) and why, in words.
template <typename T>
struct Decision {
    T value;
    std::string source;
    std::string why;
};

// ---- kernel command line -------------------------------------------------

// systemd's parse_boolean().
bool parse_boolean(std::string_view s, bool& out) {
    std::string v(s);
    for (char& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (const char* t : {"1", "yes", "y", "true", "t", "on"})
        if (v == t) return out = true, true;
    for (const char* f : {"0", "no", "n", "false", "f", "off"})
        if (v == f) return out = false, true;
    return false;
}

// Words as systemd splits /proc/cmdline: at whitespace, quotes group and are removed.
std::vector<std::string> split_cmdline(std::string_view s) {
    std::vector<std::string> words;
    std::string word;
    bool in_word = false;
    char quote = 0;
    for (char c : s) {
        if (quote) {
            if (c == quote) quote = 0;
            else word += c;
        } else if (c == '"' || c == '\'') {
            quote = c;
            in_word = true;
        } else if (std::isspace(static_cast<unsigned char>(c))) {
            if (in_word) words.push_back(std::move(word));
            word.clear();
            in_word = false;
        } else {
            word += c;
            in_word = true;
        }
    }
    if (in_word) words.push_back(std::move(word));
    return words;
}

// As systemd's proc_cmdline_key_streq(): '-' and '_' are the same in keys.
bool same_key(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        char x = a[i] == '_' ? '-' : a[i], y = b[i] == '_' ? '-' : b[i];
        if (x != y) return false;
    }
    return true;
}

std::string_view level_name(Level l) {
    switch (l) {
    case Level::error: return "error";
    case Level::warning: return "warning";
    case Level::notice: return "notice";
    case Level::info: return "info";
    case Level::debug: return "debug";
    }
    return "info";
}

struct CmdlineSettings {
    std::optional<Decision<bool>> enable;
    std::optional<Decision<Level>> level;
};

CmdlineSettings parse_cmdline(std::string_view cmdline, GeneratorPlan& plan) {
    CmdlineSettings out;
    for (const std::string& word : split_cmdline(cmdline)) {
        std::string_view w = word;
        size_t eq = w.find('=');
        std::string_view key = w.substr(0, eq);
        std::optional<std::string_view> value;
        if (eq != std::string_view::npos) value = w.substr(eq + 1);
        std::string why = fmt::format("{} on the kernel command line", word);

        if (same_key(key, "eks-node.enable")) {
            bool on = true;  // a bare boolean switch means yes, as systemd's do
            if (value && !parse_boolean(*value, on)) {
                warn(plan, fmt::format("{}: {}: not a boolean, ignoring", cmdline_path, word));
                continue;
            }
            out.enable = Decision<bool>{on, std::string(cmdline_path), why};
        } else if (same_key(key, "eks-node.log-level")) {
            Level l;
            if (!value || !log::parse_level(*value, l)) {
                warn(plan, fmt::format("{}: {}: not a log level (error, warning, notice, info, debug), ignoring",
                                       cmdline_path, word));
                continue;
            }
            out.level = Decision<Level>{l, std::string(cmdline_path), why};
        } else if (same_key(key.substr(0, 9), "eks-node.")) {
            // A typo (eks-node.enabled=0) must not pass silently.
            warn(plan, fmt::format("{}: {}: unknown eks-node switch, ignoring", cmdline_path, word));
        }
    }
    return out;
}

// ---- settings: config.json, or else the static fragments -----------------

const json* member(const json* j, const char* key) {
    if (!j || !j->is_object()) return nullptr;
    auto it = j->find(key);
    return it == j->end() ? nullptr : &*it;
}

// The path as seen on the node (SourcePath= and messages never show the test root).
std::string node_path(const Paths& paths, const fs::path& p) {
    if (paths.is_host()) return p.string();
    return (fs::path("/") / p.lexically_relative(paths.root())).string();
}

// The [settings] table of each static fragment, in merge order, by the
// fragment's path on the node: read once by whoever needs several origins.
struct StaticFragment {
    std::string path;
    json settings;
};
std::vector<StaticFragment> static_fragments(const Paths& paths) {
    const std::string slot = std::string(config::user_data_slot) + ".toml";
    std::vector<StaticFragment> out;
    std::vector<config::FragmentFile> files;
    try {
        files = config::fragment_files(paths);
    } catch (const std::exception&) {
        return out;  // config::static_settings() refused the same names, and the generator ignored it
    }
    for (const config::FragmentFile& f : files) {
        if (f.name == slot) continue;  // config::static_settings() skips the user data slot too
        try {
            out.push_back(
                {node_path(paths, f.path), config::fragment_from_toml(read_file(f.path), f.path.string()).settings});
        } catch (const std::exception&) {
            // config::static_settings() already parsed it; a race with an edit only costs the name.
        }
    }
    return out;
}

// The last fragment that sets settings.<keys...> ("hooks", NAME, "command").
std::string last_setter(const std::vector<StaticFragment>& fragments, const std::vector<std::string>& keys) {
    std::string found = "/etc/eks-node/node.toml.d";
    for (const StaticFragment& f : fragments) {
        const json* v = &f.settings;
        for (const std::string& k : keys) v = member(v, k.c_str());
        if (v) found = f.path;
    }
    return found;
}

// config::static_settings() gives values only; to name the file in SourcePath= this
// re-reads the few fragments and returns the last one (in merge order) that
// sets settings.<key>. Called only when a setting decided something.
// TODO(lead): drop this once config::static_settings() can return its Origins.
std::string static_origin(const Paths& paths, const char* key) { return last_setter(static_fragments(paths), {key}); }

// Where eks-node's settings come from when the command line is silent.
struct Settings {
    json config;               // config.json, or null when absent or ignored
    json settings = json::object();
    bool from_config_json = false;
};

json read_config_json(const Paths& paths, GeneratorPlan& plan) {
    std::optional<std::string> text;
    try {
        text = read_file_if_exists(paths.of(path::config_json));
    } catch (const std::exception&) {
        warn(plan, fmt::format("{}: cannot be read, ignoring it", path::config_json));
        return nullptr;
    }
    if (!text) return nullptr;
    json cfg = json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (cfg.is_discarded()) {
        warn(plan, fmt::format("{}: not valid JSON, ignoring it", path::config_json));
        return nullptr;
    }
    const json* version = member(&cfg, "schemaVersion");
    if (!version || *version != 1) {
        warn(plan, fmt::format("{}: not a config.json of schemaVersion 1, ignoring it", path::config_json));
        return nullptr;
    }
    return cfg;
}

Settings load_settings(const Paths& paths, ConfigJson use, GeneratorPlan& plan) {
    Settings s;
    if (use == ConfigJson::read) s.config = read_config_json(paths, plan);
    if (!s.config.is_null()) {
        s.from_config_json = true;
        const json* settings = member(&s.config, "settings");
        if (settings && settings->is_object()) s.settings = *settings;
        else if (settings) warn(plan, fmt::format("{}: settings: not an object, ignoring it", path::config_json));
        return s;
    }
    try {
        s.settings = config::static_settings(paths);
    } catch (const std::exception& e) {
        warn(plan, fmt::format("{}, ignoring the static settings", e.what()));
    }
    return s;
}

struct Setting {
    const json* value = nullptr;
    std::string source;  // for SourcePath=
    std::string where;   // "in /etc/eks-node/node.toml.d/10-x.toml"
};

Setting find_setting(const Settings& s, const Paths& paths, const char* key) {
    Setting out;
    out.value = member(&s.settings, key);
    if (!out.value) return out;
    if (s.from_config_json) {
        out.source = std::string(path::config_json);
        out.where = "in " + out.source;
        const json* origin = member(member(&s.config, "origins"), (std::string("/settings/") + key).c_str());
        if (origin && origin->is_string()) out.where += fmt::format(", set by {}", origin->get<std::string>());
    } else {
        out.source = static_origin(paths, key);
        out.where = "in " + out.source;
    }
    return out;
}

Decision<bool> decide_enable(const CmdlineSettings& cl, const Settings& s, const Paths& paths, GeneratorPlan& plan) {
    if (cl.enable) return *cl.enable;
    Setting e = find_setting(s, paths, "enable");
    if (e.value) {
        if (e.value->is_boolean())
            return {e.value->get<bool>(), e.source, fmt::format("settings.enable = {} {}", e.value->dump(), e.where)};
        warn(plan, fmt::format("{}: settings.enable: {} is not a boolean, ignoring", e.source, e.value->dump()));
    }
    return {true, {}, "default"};
}

std::optional<Decision<Level>> decide_level(const CmdlineSettings& cl, const Settings& s, const Paths& paths,
                                            GeneratorPlan& plan) {
    if (cl.level) return cl.level;
    Setting e = find_setting(s, paths, "logLevel");
    if (!e.value) return std::nullopt;
    Level l;
    if (e.value->is_string() && log::parse_level(e.value->get<std::string>(), l))
        return Decision<Level>{l, e.source, fmt::format("settings.logLevel = {} {}", e.value->dump(), e.where)};
    warn(plan, fmt::format("{}: settings.logLevel: {} is not a log level (error, warning, notice, info, debug), ignoring",
                           e.source, e.value->dump()));
    return std::nullopt;
}

// ---- output ----------------------------------------------------------------

// Every value below reaches a unit file through core/syntax.hpp's writers:
// comment() for the words of a comment, unit::value() and unit::path() for
// settings. A file name, path or description can then add no line to a
// drop-in (issue 34): input they cannot write is refused where it enters
// (eks-node-config, exit 6) and ignored here with a warning.

// SourcePath= for `source`: config.json, the kernel command line or a
// fragment. A path systemd could not take back as written (an origin in a
// config.json from before eks-node-config refused such names) names
// config.json instead, where the value was read.
std::string source_path(std::string_view source) {
    if (syntax::unit::path_problem(source).empty()) return syntax::unit::path(source);
    return syntax::unit::path(path::config_json);
}

using syntax::comment;

void add_file(GeneratorPlan& plan, const std::string& rel, std::string_view body) {
    plan.files[rel] = {GeneratedFile::Kind::file, std::string(header) + std::string(body)};
}

void add_wants(GeneratorPlan& plan, std::string_view target, std::string_view unit) {
    plan.files[fmt::format("{}.wants/{}", target, unit)] = {GeneratedFile::Kind::symlink,
                                                            fmt::format("{}/{}", unitdir, unit)};
}

void add_disabled(GeneratorPlan& plan, const Decision<bool>& d) {
    std::string override_hint = d.source == cmdline_path
        ? "Boot without it to run the steps."
        : "eks-node.enable=1 on the kernel command line overrides it.";
    add_file(plan, "eks-node-.service.d/50-disabled.conf",
             fmt::format("#\n"
                         "# eks-node is disabled by {}.\n"
                         "# {}\n"
                         "#\n"
                         "# Nothing pulls in eks-node.target, and this drop-in skips every\n"
                         "# eks-node-*.service: a unit whose condition fails is skipped, not failed,\n"
                         "# so kubelet.service and containerd.service, which Require= eks-node\n"
                         "# steps, still start, on configuration eks-node did not write.\n"
                         "#\n"
                         "# The two conditions together are always false. On a plain boot\n"
                         "# `systemctl status` shows the first as unmet, which says how to enable\n"
                         "# eks-node; the second keeps the steps skipped when a later\n"
                         "# eks-node.enable=0 on the command line overrode an earlier =1.\n"
                         "\n"
                         "[Unit]\n"
                         "Documentation=man:eks-node-generator(8)\n"
                         "SourcePath={}\n"
                         "ConditionKernelCommandLine=eks-node.enable=1\n"
                         "ConditionKernelCommandLine=!eks-node.enable=1\n",
                         comment(d.why), override_hint, source_path(d.source)));
}

void add_log_level(GeneratorPlan& plan, const Decision<Level>& d) {
    add_file(plan, "eks-node-.service.d/50-log-level.conf",
             fmt::format("#\n"
                         "# Every eks-node step logs at {} ({}).\n"
                         "\n"
                         "[Unit]\n"
                         "SourcePath={}\n"
                         "\n"
                         "[Service]\n"
                         "Environment=EKS_NODE_LOG_LEVEL={}\n",
                         level_name(d.value), comment(d.why), source_path(d.source), level_name(d.value)));
}

void add_optional(GeneratorPlan& plan, const OptionalUnit& u) {
    add_wants(plan, "eks-node.target", u.unit);
    std::string_view stem = std::string_view(u.unit).substr(0, u.unit.rfind('.'));
    for (const std::string& r : u.required_by) {
        add_file(plan, fmt::format("{}.d/50-{}.conf", r, stem),
                 fmt::format("#\n"
                             "# {}, so eks-node.target wants {}\n"
                             "# and {} waits for it. Wants=, not Requires=: a failure stops it through\n"
                             "# eks-node-failed.target (fail closed) and a re-run restarts it only if a file changed.\n"
                             "\n"
                             "[Unit]\n"
                             "Documentation=man:eks-node-generator(8)\n"
                             "SourcePath={}\n"
                             "Wants={}\n"
                             "After={}\n",
                             comment(u.reason), u.unit, r, source_path(u.source), u.unit, u.unit));
    }
}

}  // namespace

std::string hook_dropin(std::string_view name) { return config::hooks::unit_name(name) + ".d/50-hook.conf"; }
std::string hook_command_file(std::string_view name) { return config::hooks::unit_name(name) + ".d/hook.json"; }

const std::string runtime_modules_dropin = "containerd.service.d/50-eks-node-runtime-modules.conf";
const std::string runtime_modules_docker_dropin = "docker.service.d/50-eks-node-runtime-modules.conf";

std::string read_kernel_cmdline(const Paths& paths) { return read_file(paths.of(cmdline_path)); }

std::vector<OptionalUnit> wanted_optional_units(const Paths& paths, const json* config,
                                                std::vector<std::string>& warnings) {
    (void)paths;  // for optional units decided by the hardware
    std::vector<OptionalUnit> out;
    const json* outpost = member(member(member(config, "spec"), "cluster"), "enableOutpost");
    if (outpost && !outpost->is_boolean())
        warnings.push_back(fmt::format("{}: spec.cluster.enableOutpost: {} is not a boolean, ignoring",
                                       path::config_json, outpost->dump()));
    else if (outpost && outpost->get<bool>())
        out.push_back({"eks-node-hosts.service", "spec.cluster.enableOutpost = true (Outposts)",
                       std::string(path::config_json), {"kubelet.service"}});
    // Images to pull after kubelet started: wanted by the target only, and
    // required by nothing, so that a failed pull never holds kubelet back
    // (the unit orders itself after kubelet and the target).
    const json* images = member(member(member(config, "settings"), "prePull"), "images");
    if (images && !images->is_array())
        warnings.push_back(fmt::format("{}: settings.prePull.images: not a list, ignoring", path::config_json));
    else if (images && !images->empty())
        out.push_back(
            {"eks-node-prepull.service",
             fmt::format("settings.prePull.images lists {} image{}", images->size(), images->size() == 1 ? "" : "s"),
             std::string(path::config_json),
             {}});
    // A pause image the image build did not cache (settings.containerd.pauseSource
    // regional-ecr, the packer variable cache_pause_image = false; a sandboxImage of a
    // registry): containerd would pull it at the first pod sandbox without credentials, which
    // ECR refuses. Pulled before kubelet with the credentials kubelet's image credential
    // provider gives, as AL2's sandbox-image.service and nodeadm (before AMIs cached it) did;
    // kubelet waits for it, and a failure holds kubelet back (eks-node-prepull(8)).
    const json* sandbox = member(member(config, "derived"), "sandboxImage");
    if (sandbox && !sandbox->is_string())
        warnings.push_back(fmt::format("{}: derived.sandboxImage: not a string, ignoring", path::config_json));
    else if (sandbox && !sandbox->get_ref<const std::string&>().starts_with("localhost/"))
        out.push_back(
            {"eks-node-sandbox-image.service",
             fmt::format("derived.sandboxImage {} is not cached in the image", sandbox->get_ref<const std::string&>()),
             std::string(path::config_json),
             {"kubelet.service"}});
    // Instance store needs more than a .wants/ link (mount units, drop-ins
    // naming paths): add_instance_store() below.
    return out;
}

namespace {

constexpr std::string_view instance_store_unit = "eks-node-instance-store.service";

std::string mount_unit_body(const storage::Mount& m, const std::string& reason) {
    std::string deps;
    if (m.bind) {
        deps = fmt::format(
            "# the directory it binds is on the array\n"
            "RequiresMountsFor={}\n"
            "# nothing may write to {} before it is in place\n"
            "Before={}\n",
            syntax::unit::paths({m.what}), comment(m.where), fmt::join(m.before, " "));
    }
    return fmt::format(
        "#\n"
        "# {}: {}.\n"
        "\n"
        "[Unit]\n"
        "Description=EKS node: {}\n"
        "Documentation=man:eks-node-instance-store(8)\n"
        "SourcePath={}\n"
        "# mounted late, after the step (which follows the network): the default\n"
        "# Before=local-fs.target would be an ordering cycle\n"
        "DefaultDependencies=no\n"
        "Conflicts=umount.target\n"
        "Before=umount.target\n"
        "# the filesystem{} exists only once the step has run\n"
        "Requires={}\n"
        "After={}\n"
        "{}"
        "\n"
        "[Mount]\n"
        "What={}\n"
        "Where={}\n"
        "Type={}\n"
        "Options={}\n",
        // a disk's serial, from the hardware, is in the description: shown escaped
        comment(reason), comment(m.description), syntax::unit::value(comment(m.description)),
        source_path(path::config_json), m.bind ? " (and the copied contents)" : "", instance_store_unit,
        instance_store_unit, deps, syntax::unit::path(m.what), syntax::unit::path(m.where), m.bind ? "none" : "xfs",
        m.bind ? "bind" : "defaults,noatime");
}

// spec.instance.localStorage: the step, the mounts it prepares, and the
// services that must not start without them. Everything lands in the plan,
// so eks-node-config's before/after comparison (plan_from_disk()) sees it.
void add_instance_store(GeneratorPlan& plan, const Paths& paths, const json* config) {
    if (!config) return;
    std::optional<storage::Settings> settings;
    try {
        settings = storage::settings_from_config(*config, path::config_json);
    } catch (const std::exception& e) {
        warn(plan, fmt::format("{}, ignoring", e.what()));
        return;
    }
    if (!settings) return;
    const std::string reason = fmt::format("spec.instance.localStorage.strategy = \"{}\"",
                                           storage::strategy_name(settings->strategy));
    storage::Discovery found;
    try {
        found = storage::discover(paths, settings->mount_path);
    } catch (const std::exception& e) {
        warn(plan, fmt::format("{}, ignoring {}", e.what(), reason));
        return;
    }
    for (const auto& s : found.skipped)
        plan.messages.push_back({Level::info, fmt::format("/dev/{}: {}, leaving it alone", s.name, s.why)});
    if (found.disks.empty()) {
        plan.messages.push_back({Level::info, fmt::format("{}, but no {} disks: nothing to set up", reason,
                                                          storage::instance_store_model)});
        return;
    }
    // The node's own target, and the service its disks hold back: kubelet,
    // or Docker on an ECS container instance.
    const bool ecs = settings->node == storage::Node::ecs;
    const std::string target = ecs ? "ecs-node.target" : "eks-node.target";
    const std::string primary(storage::primary_consumer(settings->node));
    add_wants(plan, target, instance_store_unit);
    std::optional<storage::Layout> layout;
    try {
        layout = storage::plan_layout(*settings, found.disks, path::config_json);
    } catch (const std::exception& e) {
        // The step fails on it with exit 6 and the same words; kubelet (Docker) waits for it.
        warn(plan, fmt::format("{}; only eks-node-instance-store is pulled in, to fail", e.what()));
    }
    // The paths the mount units would name, checked before any is written: a
    // half-written set of units must not be. (The step checks mountPath the
    // same way, with exit 6, and What= is udev's escaped by-id name.)
    for (const storage::Mount& m : layout ? layout->mounts : std::vector<storage::Mount>{}) {
        std::string problem = syntax::unit::path_problem(m.what);
        if (problem.empty()) problem = syntax::unit::path_problem(m.where);
        if (problem.empty()) continue;
        warn(plan, fmt::format("{}: a mount unit cannot name {} or {}: {}; only eks-node-instance-store is pulled "
                               "in",
                               reason, m.what, m.where, problem));
        layout.reset();
        break;
    }
    plan.messages.push_back({Level::debug, fmt::format("{}: pulling in {} ({} disks)", reason, instance_store_unit,
                                                       found.disks.size())});

    // consumer unit -> the paths it needs mounted
    std::map<std::string, std::vector<std::string>> needs;
    needs[primary];
    if (layout) {
        for (const storage::Mount& m : layout->mounts) {
            std::string name = storage::escape_path(m.where) + ".mount";
            add_file(plan, name, mount_unit_body(m, reason));
            plan.files[target + ".wants/" + name] = {GeneratedFile::Kind::symlink, "../" + name};
            if (m.bind)
                for (const std::string& c : m.before) needs[c].push_back(m.where);
            else if (layout->strategy == storage::Strategy::mount) needs[primary].push_back(m.where);
        }
    }
    for (const auto& [unit, where] : needs) {
        const bool is_primary = unit == primary;
        std::string condition = is_primary ? fmt::format("after {} succeeded", instance_store_unit) : std::string();
        if (!where.empty())
            condition += fmt::format("{}{} mounted", is_primary ? "\n# and with " : "with ",
                                     comment(fmt::format("{}", fmt::join(where, " "))));
        std::string body = fmt::format(
            "#\n"
            "# {} ({} instance-store disks),\n"
            "# so {} starts only {} (fail closed).\n"
            "\n"
            "[Unit]\n"
            "Documentation=man:eks-node-instance-store(8)\n"
            "SourcePath={}\n",
            comment(reason), found.disks.size(), unit, condition, source_path(path::config_json));
        if (is_primary && !ecs)
            body += fmt::format(
                "# Wants=, not Requires=: a failed step holds kubelet back through its\n"
                "# OnFailure=eks-node-failed.target, without restarting kubelet on a re-run\n"
                "Wants={}\nAfter={}\n",
                instance_store_unit, instance_store_unit);
        else if (is_primary)
            body += fmt::format(
                "# Wants=, not Requires=: a failed step holds the ECS agent back through its\n"
                "# OnFailure=eks-node-failed.target (and Docker through the mounts, which\n"
                "# Require= the step), without restarting Docker on a re-run\n"
                "Wants={}\nAfter={}\n",
                instance_store_unit, instance_store_unit);
        if (!where.empty()) body += fmt::format("RequiresMountsFor={}\n", syntax::unit::paths(where));
        add_file(plan, unit + ".d/50-eks-node-instance-store.conf", body);
    }
}

// ---- swap: settings.swap's file, enabled by systemd -------------------------

constexpr std::string_view swap_step_unit = "eks-node-swap.service";

// derived.swap (eks-node-swap(8)): a .swap unit for the file, as systemd's
// fstab-generator writes one for a swap line, so systemd does the swapon,
// shows it (systemctl status, swap.target) and switches it off at shutdown;
// kubelet ordered after it. The file is made by eks-node-swap, which runs on
// every boot (eks-node.target) and also removes a file no longer wanted, so
// nothing but the unit and the orderings is generated here. Only from
// config.json: the unit appears with eks-node-config's daemon-reload.
void add_swap(GeneratorPlan& plan, const json* config) {
    const json* swap = config ? path_in(*config, {"derived", "swap"}) : nullptr;
    if (!swap || !swap->is_object()) return;
    const json* file = path_in(*swap, {"file"});
    if (!file || !file->is_string() || !file->get_ref<const std::string&>().starts_with('/')) {
        warn(plan, fmt::format("{}: derived.swap.file: not an absolute path, ignoring", path::config_json));
        return;
    }
    const std::string& where = file->get_ref<const std::string&>();
    if (std::string problem = syntax::unit::path_problem(where); !problem.empty()) {
        warn(plan, fmt::format("{}: derived.swap.file: {}, ignoring", path::config_json, problem));
        return;
    }
    const std::string name = storage::escape_path(where) + ".swap";
    add_file(plan, name,
             fmt::format("#\n"
                         "# settings.swap: the swap file eks-node-swap made.\n"
                         "\n"
                         "[Unit]\n"
                         "Description=EKS node: swap file {}\n"
                         "Documentation=man:eks-node-swap(8)\n"
                         "SourcePath={}\n"
                         "# the file exists, whole and mkswap'ed, only once the step has run\n"
                         "Requires={}\n"
                         "After={}\n"
                         "# the file's directory: the root file system, or the instance-store mount\n"
                         "RequiresMountsFor={}\n"
                         "\n"
                         "[Swap]\n"
                         "What={}\n",
                         comment(where), source_path(path::config_json), swap_step_unit, swap_step_unit,
                         syntax::unit::paths({fs::path(where).parent_path().string()}), syntax::unit::path(where)));
    plan.files["eks-node.target.wants/" + name] = {GeneratedFile::Kind::symlink, "../" + name};
    add_file(plan, "kubelet.service.d/50-eks-node-swap.conf",
             fmt::format("#\n"
                         "# settings.swap: kubelet (failSwapOn false, memorySwap as set) starts with\n"
                         "# the swap file on, as its swap behaviour is measured against it.\n"
                         "\n"
                         "[Unit]\n"
                         "Documentation=man:eks-node-swap(8)\n"
                         "SourcePath={}\n"
                         "Wants={}\n"
                         "After={}\n",
                         source_path(path::config_json), name, name));
    if (where != path::swap_file)
        add_file(plan, std::string(swap_step_unit) + ".d/50-eks-node-instance-store.conf",
                 fmt::format("#\n"
                             "# settings.swap.location = instance-store: the step makes the file on the\n"
                             "# instance-store mount, after eks-node-instance-store mounted it.\n"
                             "\n"
                             "[Unit]\n"
                             "Documentation=man:eks-node-swap(8)\n"
                             "SourcePath={}\n"
                             "RequiresMountsFor={}\n",
                             source_path(path::config_json),
                             syntax::unit::paths({fs::path(where).parent_path().string()})));
    plan.messages.push_back({Level::debug, fmt::format("settings.swap: {} enables {}", name, where)});
}

// ---- containerd: at boot, or after eks-node-containerd -----------------------

// The first line of each config.toml eks-node-containerd renders, whether at
// boot or at image build (render/detail.cpp, generated_header()).
constexpr std::string_view rendered_mark = "# Generated by eks-node-containerd from ";

// containerd.service is not ordered after eks-node-containerd: it starts at
// boot, in parallel with the steps, on the config.toml it finds, and the
// step restarts it only when its render differs. That pays off when the file
// is eks-node's (an image build's `eks-node render --image`, or the last
// boot's render). Any other file would always be replaced, so containerd is
// then ordered after the step and starts once, on the rendered file.
void add_containerd_order(GeneratorPlan& plan, const Paths& paths) {
    std::string why;
    // O_NONBLOCK: a FIFO there must not hold the boot in the generator.
    Fd f{::open(paths.of(path::containerd_config).c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK)};
    if (f.fd < 0) {
        why = errno == ENOENT ? "does not exist" : fmt::format("cannot be opened ({})", std::strerror(errno));
    } else {
        try {
            if (read_at_most(f.fd, rendered_mark.size()) == rendered_mark) {
                plan.messages.push_back({Level::debug, fmt::format("containerd starts at boot on {}, rendered by "
                                                                   "eks-node; eks-node-containerd restarts it only "
                                                                   "if its render differs",
                                                                   path::containerd_config)});
                return;
            }
            why = "was not rendered by eks-node";
        } catch (const std::system_error& e) {
            why = fmt::format("cannot be read ({})", std::strerror(e.code().value()));
        }
    }
    // One drop-in per unit, the same ordering; `note` says why for that unit.
    auto after_render = [&](const std::string& unit, std::string_view note) {
        add_file(plan, unit + ".d/50-eks-node-after-render.conf",
                 fmt::format("#\n"
                             "# {} {}{}\n"
                             "[Unit]\n"
                             "Documentation=man:eks-node-generator(8)\n"
                             "SourcePath={}\n"
                             "After=eks-node-containerd.service\n",
                             path::containerd_config, syntax::comment(why), note,
                             source_path(path::containerd_config)));
    };
    after_render("containerd.service",
                 ".\n"
                 "# So containerd starts after eks-node-containerd has rendered it, not at\n"
                 "# boot in parallel with the steps: started on another file, it would\n"
                 "# always be restarted. `eks-node render --image` writes the file at image\n"
                 "# build; a boot after one that rendered it starts containerd early.\n");
    // containerd's start then follows eks-node-containerd on the chain: give
    // that step the CPUs, and run these two (which kubelet waits for anyway)
    // while containerd starts.
    for (const char* step : {"eks-node-ca.service", "eks-node-kubelet.service"})
        after_render(step,
                     ", so containerd starts after\n"
                     "# eks-node-containerd: this step, which neither reads nor writes what\n"
                     "# containerd does, runs while containerd starts, not beside\n"
                     "# eks-node-containerd, which is then on kubelet's critical path.\n");
    plan.messages.push_back(
        {Level::info, fmt::format("{} {}: containerd starts after eks-node-containerd", path::containerd_config, why)});
}

// ---- FastImagePull: containerd over the SOCI snapshotter ----------------------

constexpr std::string_view soci_unit = "soci-snapshotter.service";

// containerd's CRI pulls and unpacks through the snapshotter's socket, which
// the snapshotter only serves while it runs: containerd requires it and starts
// after it is ready (Type=notify). 0.4.1 cannot be socket-activated (it binds
// its socket itself), so there is no .socket unit to order against instead.
// A pod sandbox unpacks its image in the CRI's snapshotter, and the cached
// pause image was unpacked for overlayfs when the image was built, its layers
// then discarded: the pause image's archive (packer/provisioners/80-pause-image.sh)
// is imported into the snapshotter each time containerd starts, which is
// quick and idempotent, and needs no registry (as nodeadm does).
//
// In a unit of its own, not an ExecStartPost= of containerd's: a bad archive
// (one cut short at image build, issue 33) then fails that unit, named, and
// containerd keeps running for everything else; an ExecStartPost= failure
// failed containerd.service itself, which restarted into the same failure.
// The archive is checked by content first (eks-node check-archive), so ctr
// never unpacks a half of it.
constexpr std::string_view pause_image_unit = "eks-node-pause-image.service";

void add_soci(GeneratorPlan& plan, const Paths& paths, const json* config) {
    const json* on = member(member(config, "derived"), "sociSnapshotter");
    if (!on || !on->is_boolean() || !on->get<bool>()) return;
    std::error_code ec;
    const bool archive = fs::exists(paths.of(path::pause_archive), ec);
    // ctr imports through containerd's transfer service from 1.7 on, which
    // unpacks for no platform unless told one; --local (1.7+) unpacks for
    // the machine's own, as the import at image build did.
    const json* version = member(member(config, "machine"), "containerdVersion");
    int major = 0, minor = 0;
    if (version && version->is_string())
        std::sscanf(version->get_ref<const std::string&>().c_str(), "%d.%d", &major, &minor);
    const bool local = major > 1 || (major == 1 && minor >= 7);
    add_file(plan, "containerd.service.d/50-eks-node-soci.conf",
             fmt::format("#\n"
                         "# derived.sociSnapshotter = true (spec.featureGates.FastImagePull): containerd's\n"
                         "# CRI pulls and unpacks images through the SOCI snapshotter.\n"
                         "[Unit]\n"
                         "Documentation=man:eks-node-containerd(8)\n"
                         "SourcePath={}\n"
                         "# its proxy plugin \"soci\" and kubelet's image service are the snapshotter's socket\n"
                         "Requires={}\n"
                         "After={}\n"
                         "{}",
                         source_path(path::config_json), soci_unit, soci_unit,
                         archive ? fmt::format("# the cached pause image is imported into it by {}\n", pause_image_unit)
                                 : fmt::format("# no {}: no cached pause image to import into the snapshotter\n",
                                               path::pause_archive)));
    if (archive) {
        add_file(plan, std::string(pause_image_unit),
                 fmt::format("#\n"
                             "# derived.sociSnapshotter = true (spec.featureGates.FastImagePull): pod sandboxes\n"
                             "# unpack their image in the SOCI snapshotter, so the cached pause image goes there.\n"
                             "[Unit]\n"
                             "Description=EKS node: import the cached pause image into the SOCI snapshotter\n"
                             "Documentation=man:eks-node-containerd(8)\n"
                             "SourcePath={}\n"
                             "# imported through containerd; again whenever containerd (re)starts\n"
                             "Requires=containerd.service\n"
                             "After=containerd.service\n"
                             "PartOf=containerd.service\n"
                             "# kubelet's first pod sandbox unpacks it; a failure here is this unit's, and\n"
                             "# containerd keeps serving everything else\n"
                             "Before=kubelet.service\n"
                             "\n"
                             "[Service]\n"
                             "Type=oneshot\n"
                             "RemainAfterExit=yes\n"
                             "TimeoutStartSec=120s\n"
                             "StandardOutput=journal+console\n"
                             "# whole, every blob's digest as its index says, before ctr unpacks any of it\n"
                             "ExecStartPre={} check-archive {}\n"
                             "ExecStart={} --namespace k8s.io images import{} --snapshotter soci {}\n",
                             source_path(path::config_json), cli_program, path::pause_archive, ctr_program,
                             local ? " --local" : "", path::pause_archive));
        for (std::string_view wanted_by : {"containerd.service", "kubelet.service"})
            plan.files[fmt::format("{}.wants/{}", wanted_by, pause_image_unit)] = {
                GeneratedFile::Kind::symlink, fmt::format("../{}", pause_image_unit)};
    }
    plan.messages.push_back(
        {Level::debug,
         fmt::format("derived.sociSnapshotter: containerd requires {}{}", soci_unit,
                     archive ? fmt::format(", {} imports the pause image into it", pause_image_unit) : std::string())});
}

// ---- hooks: settings.hooks, each its own unit -------------------------------

constexpr std::string_view joined_unit = "eks-node-joined.service";

// What each stage's drop-in says about order, with the reason for each line.
std::string_view stage_order(config::hooks::Stage stage) {
    using config::hooks::Stage;
    switch (stage) {
    case Stage::before_containerd:
        return "# stage = \"before-containerd\": containerd starts after it, and so does\n"
               "# everything waiting for containerd (kubelet). Not after eks-node-config:\n"
               "# containerd starts at boot, in parallel with the steps\n"
               "Before=containerd.service kubelet.service\n";
    case Stage::before_kubelet:
        return "# stage = \"before-kubelet\": after the steps have written the node's files and\n"
               "# containerd runs on them, so the command sees the node as kubelet will\n"
               "After=eks-node-config.service eks-node-system.service eks-node-ca.service\n"
               "After=eks-node-kubelet.service eks-node-containerd.service containerd.service\n"
               "After=eks-node-hosts.service eks-node-instance-store.service eks-node-cloud-init.service\n"
               "# kubelet waits for it\n"
               "Before=kubelet.service\n";
    case Stage::after_join:
        return "# stage = \"after-join\": once kubelet answers its health check, as far as the\n"
               "# node can tell it joined (eks-node-joined(8)); not run if it never does\n"
               "Requires=eks-node-joined.service\n"
               "After=eks-node-joined.service kubelet.service\n"
               "# after the target, so that neither it nor multi-user.target waits for the hook\n"
               "After=eks-node.target\n";
    }
    return {};
}

void add_hook(GeneratorPlan& plan, const config::hooks::Hook& h, const std::string& source, const std::string& where) {
    using config::hooks::Stage;
    const std::string unit = config::hooks::unit_name(h.name);
    std::string failure = !h.essential ? "# essential = false: a failure is logged, and the join goes on\n"
                          : h.stage == Stage::after_join
                              ? "# essential: a failure stops kubelet (eks-node-failed.target), as a failed\n"
                                "# step before the join would have held it back\n"
                                "OnFailure=eks-node-failed.target\n"
                              : "# essential: a failure holds kubelet back (eks-node-failed.target)\n"
                                "OnFailure=eks-node-failed.target\n";
    std::string description = h.description.empty() ? fmt::format("EKS node hook {}", h.name)
                                                    : fmt::format("EKS node hook {}: {}", h.name, h.description);
    add_file(plan, hook_dropin(h.name),
             fmt::format("#\n"
                         "# settings.hooks.{} {}.\n"
                         "# eks-node-hook reads its command and environment from hook.json beside this\n"
                         "# file (0600: systemd would show them to every user) and runs it, no shell.\n"
                         "\n"
                         "[Unit]\n"
                         "Description={}\n"
                         "SourcePath={}\n"
                         "{}"
                         "{}"
                         "\n"
                         "[Service]\n"
                         "TimeoutStartSec={}\n"
                         "ExecStart={}\n",
                         h.name, comment(where), syntax::unit::value(description), source_path(source),
                         stage_order(h.stage), failure,
                         h.timeout.count() % 1000 ? fmt::format("{}ms", h.timeout.count())
                                                  : fmt::format("{}s", h.timeout.count() / 1000),
                         config::hooks::exec_line({std::string(hook_runner), h.name})));
    // After the drop-in, which a writer may refuse: no link to a hook without one.
    // A template instance's .wants/ link points at the template, as systemctl enable makes it.
    plan.files["eks-node.target.wants/" + unit] = {GeneratedFile::Kind::symlink,
                                                   fmt::format("{}/eks-node-hook@.service", unitdir)};
    if (h.stage == Stage::after_join) add_wants(plan, "eks-node.target", joined_unit);
    plan.files[hook_command_file(h.name)] = {GeneratedFile::Kind::file, config::hooks::command_file_text(h), 0600};
}

void add_hooks(GeneratorPlan& plan, const Settings& s, const Paths& paths) {
    const json* table = member(&s.settings, "hooks");
    if (!table) return;
    // Static hooks name their fragments: those are read once, for every hook.
    std::vector<StaticFragment> fragments;
    if (!s.from_config_json) fragments = static_fragments(paths);
    std::string table_source = s.from_config_json ? std::string(path::config_json) : last_setter(fragments, {"hooks"});
    std::vector<config::hooks::Hook> hooks;
    try {
        hooks = config::hooks::read(*table, [&](const std::string&) { return table_source; });
    } catch (const std::exception& e) {
        // eks-node-config refuses the same table with exit 6 (or, for a static
        // fragment, `eks-node config check` says so): no hook runs half declared.
        warn(plan, fmt::format("{}, ignoring every hook", e.what()));
        return;
    }
    for (const config::hooks::Hook& h : hooks) {
        // SourcePath= is where the hook's command was declared, whether the
        // generator reads it from config.json (its origins) or, at boot, from
        // the static fragments: so a hook of the image or an admin generates
        // the same drop-in both times, and writing config.json does not call
        // for a daemon-reload (nor restart containerd for a before-containerd
        // hook). A hook from user data is only ever read from config.json.
        std::string source, where;
        if (s.from_config_json) {
            const json* origin =
                member(member(&s.config, "origins"), fmt::format("/settings/hooks/{}/command/0", h.name).c_str());
            std::string o = origin && origin->is_string() ? origin->get<std::string>() : std::string();
            if (o.starts_with('/')) {
                source = o;
                where = "in " + o;
            } else {
                source = std::string(path::config_json);
                where = o.empty() ? "in " + source : fmt::format("in {}, set by {}", source, o);
            }
        } else {
            source = last_setter(fragments, {"hooks", h.name, "command"});
            where = "in " + source;
        }
        try {
            add_hook(plan, h, source, where);
        } catch (const syntax::Unwritable& e) {
            // eks-node-config refuses what the writers cannot write; this is a config.json from before.
            warn(plan, fmt::format("settings.hooks.{}: {}, ignoring the hook", h.name, e.what()));
            continue;
        }
        plan.messages.push_back(
            {Level::debug, fmt::format("settings.hooks.{} ({}): pulling in {}", h.name,
                                       config::hooks::stage_name(h.stage), config::hooks::unit_name(h.name))});
    }
}

// ---- runtime handlers: their kernel modules, loaded before containerd ------

// settings.runtimes.*.kernelModules, each loaded by systemd's own
// modprobe@.service instance, which containerd wants and is ordered after: a
// start (or restart) of containerd first loads them, whether it starts at
// boot on the image's handlers or is restarted by eks-node-containerd on
// handlers user data added (eks-node-config reloads systemd first, so the
// restart job pulls them in). No shell, no step of ours loads a module (the
// steps' sandbox forbids it); systemd-modules-load would load them only at
// its own start, early at boot, before user data is known.
//
// On an ECS container instance Docker runs the tasks, on its default runtime:
// the same lines go into a docker.service drop-in, so that the modules are in
// before dockerd (and whatever containerd it runs) starts.
void add_runtime_modules(GeneratorPlan& plan, const Settings& s, const Paths& paths, bool ecs) {
    const json* table = member(&s.settings, "runtimes");
    if (!table) return;
    std::vector<StaticFragment> fragments;
    if (!s.from_config_json) fragments = static_fragments(paths);
    std::vector<config::runtimes::Handler> handlers;
    try {
        handlers = config::runtimes::read(*table, [&](const std::string&) {
            return s.from_config_json ? std::string(path::config_json) : last_setter(fragments, {"runtimes"});
        });
    } catch (const std::exception& e) {
        // eks-node-config refuses the same table with exit 6, and
        // eks-node-containerd renders no config.toml naming these handlers.
        warn(plan, fmt::format("{}, ignoring every runtime handler's kernel modules", e.what()));
        return;
    }
    std::string lines, first_source;
    std::vector<std::string> seen;
    for (const config::runtimes::Handler& h : handlers) {
        if (h.kernel_modules.empty()) continue;
        // Where the modules were set, as for a hook's command: the same
        // drop-in from the static fragments at boot and from config.json
        // after, so that writing config.json calls for no daemon-reload.
        std::string source;
        if (s.from_config_json) {
            const json* origin = member(member(&s.config, "origins"),
                                        fmt::format("/settings/runtimes/{}/kernelModules/0", h.name).c_str());
            std::string o = origin && origin->is_string() ? origin->get<std::string>() : std::string();
            source = o.starts_with('/') ? o : std::string(path::config_json);
        } else {
            source = last_setter(fragments, {"runtimes", h.name, "kernelModules"});
        }
        if (first_source.empty()) first_source = source;
        lines += fmt::format("# settings.runtimes.{}.kernelModules, in {}\n", h.name, comment(source));
        for (const std::string& m : h.kernel_modules) {
            const std::string unit = fmt::format("modprobe@{}.service", config::runtimes::module_name(m));
            if (std::find(seen.begin(), seen.end(), unit) != seen.end()) continue;
            seen.push_back(unit);
            lines += fmt::format("Wants={}\nAfter={}\n", unit, unit);
        }
    }
    if (seen.empty()) return;
    // The same lines for each service that runs the handlers; only the
    // header (who starts after them, who refuses a missing module) differs.
    auto dropin = [&](const std::string& path, std::string_view header, std::string_view service) {
        add_file(plan, path, fmt::format("#\n{}\n[Unit]\nSourcePath={}\n{}", header, source_path(first_source), lines));
        plan.messages.push_back(
            {Level::debug, fmt::format("settings.runtimes: {} starts after {}", service, fmt::join(seen, ", "))});
    };
    dropin(runtime_modules_dropin,
           "# The kernel modules of containerd's runtime handlers, loaded by systemd's\n"
           "# modprobe@.service before containerd starts (eks-node-containerd(8), KERNEL\n"
           "# MODULES). modprobe@ ignores a failure: eks-node-containerd refuses a module\n"
           "# this kernel does not have, before config.toml names its handler.\n",
           "containerd");
    if (ecs)
        dropin(runtime_modules_docker_dropin,
               "# The kernel modules of the runtime handlers, loaded by systemd's\n"
               "# modprobe@.service before Docker starts (eks-node-ecs(8), KERNEL MODULES).\n"
               "# modprobe@ ignores a failure: eks-node-ecs refuses a module this kernel\n"
               "# does not have, before daemon.json names its runtime.\n",
               "docker");
}

// ---- ECS: settings.node = "ecs" ---------------------------------------------

// settings.node: true for "ecs". eks-node-config refuses it in user data, so
// config.json and the static fragments agree on it: the boot's plan and the
// one after eks-node-config are the same, and no daemon-reload ever swaps
// one target for the other.
std::optional<Decision<bool>> decide_ecs(const Settings& s, const Paths& paths, GeneratorPlan& plan) {
    Setting e = find_setting(s, paths, "node");
    if (!e.value) return std::nullopt;
    if (*e.value == "ecs" || *e.value == "eks")
        return Decision<bool>{*e.value == "ecs", e.source,
                              fmt::format("settings.node = {} {}", e.value->dump(), e.where)};
    warn(plan, fmt::format("{}: settings.node: {} is not one of eks, ecs, ignoring", e.source, e.value->dump()));
    return std::nullopt;
}

// The steps only an EKS node runs (generator.hpp). Units outside eks-node still pull some in
// (containerd.service, which Docker starts, wants eks-node-containerd; an
// enabled kubelet.service wants eks-node-kubelet): on an ECS node they are
// skipped, not failed, so that no EKS step fails for want of a cluster and
// sends the node to eks-node-failed.target.
void add_ecs(GeneratorPlan& plan, const Decision<bool>& d) {
    add_wants(plan, "multi-user.target", "ecs-node.target");
    for (std::string_view unit : eks_only_steps)
        add_file(plan, fmt::format("{}.d/50-ecs-node.conf", unit),
                 fmt::format("#\n"
                             "# An ECS container instance: {}.\n"
                             "# ecs-node.target runs instead of eks-node.target, and this EKS step is\n"
                             "# skipped (not failed) should another unit pull it in.\n"
                             "#\n"
                             "# The two conditions together are always false; `systemctl status` shows\n"
                             "# the first as unmet.\n"
                             "\n"
                             "[Unit]\n"
                             "Documentation=man:eks-node-generator(8)\n"
                             "SourcePath={}\n"
                             "ConditionEnvironment=EKS_NODE_EKS_STEPS_ON_ECS_NODE\n"
                             "ConditionEnvironment=!EKS_NODE_EKS_STEPS_ON_ECS_NODE\n",
                             comment(d.why), source_path(d.source)));
}

}  // namespace

std::string runtime_modules_dropin_path() { return runtime_modules_dropin; }

GeneratorPlan plan_units(const Paths& paths, std::string_view cmdline, ConfigJson use) {
    GeneratorPlan plan;
    // As systemd's in_initrd(): should an initrd builder copy every generator,
    // the node must still be configured after switch-root, never before.
    std::error_code ec;
    if (fs::exists(paths.of("/etc/initrd-release"), ec)) {
        plan.messages.push_back({Level::debug, "in the initrd, nothing to do"});
        return plan;
    }
    CmdlineSettings cl = parse_cmdline(cmdline, plan);
    Settings s = load_settings(paths, use, plan);

    if (auto level = decide_level(cl, s, paths, plan)) {
        plan.log_level = level->value;
        add_log_level(plan, *level);
        plan.messages.push_back({Level::debug, fmt::format("steps log at {} ({})", level_name(level->value), level->why)});
    }

    Decision<bool> enable = decide_enable(cl, s, paths, plan);
    if (!enable.value) {
        add_disabled(plan, enable);
        plan.messages.push_back({Level::info, fmt::format("eks-node disabled by {}, its steps will be skipped", enable.why)});
        return plan;
    }
    if (std::optional<Decision<bool>> ecs = decide_ecs(s, paths, plan); ecs && ecs->value) {
        add_ecs(plan, *ecs);
        plan.messages.push_back({Level::info, fmt::format("an ECS container instance ({}), pulling in "
                                                          "ecs-node.target; the EKS steps will be skipped",
                                                          ecs->why)});
        // What an ECS node shares with an EKS one: the instance-store disks
        // (Docker's state on them) and the runtimes' kernel modules.
        add_instance_store(plan, paths, s.config.is_null() ? nullptr : &s.config);
        add_runtime_modules(plan, s, paths, /*ecs=*/true);
        return plan;
    }
    add_wants(plan, "multi-user.target", "eks-node.target");
    plan.messages.push_back({Level::debug, fmt::format("eks-node enabled ({}), pulling in eks-node.target", enable.why)});

    std::vector<std::string> warnings;
    for (const OptionalUnit& u : wanted_optional_units(paths, s.config.is_null() ? nullptr : &s.config, warnings)) {
        add_optional(plan, u);
        plan.messages.push_back({Level::debug, fmt::format("{}: pulling in {}", u.reason, u.unit)});
    }
    for (std::string& w : warnings) warn(plan, std::move(w));
    add_instance_store(plan, paths, s.config.is_null() ? nullptr : &s.config);
    add_swap(plan, s.config.is_null() ? nullptr : &s.config);
    add_hooks(plan, s, paths);
    add_soci(plan, paths, s.config.is_null() ? nullptr : &s.config);
    add_runtime_modules(plan, s, paths, /*ecs=*/false);
    add_containerd_order(plan, paths);
    return plan;
}

GeneratorPlan plan_from_disk(const Paths& paths) {
    std::string cmdline;
    try {
        cmdline = read_kernel_cmdline(paths);
    } catch (const std::exception&) {
        // The generator goes on without it too.
    }
    return plan_units(paths, cmdline, ConfigJson::read);
}

std::vector<GeneratedProgram> generated_programs() {
    return {{std::string(cli_program), std::string(pause_image_unit)},
            {std::string(ctr_program), std::string(pause_image_unit)},
            {std::string(hook_runner), "eks-node-hook@NAME.service (settings.hooks)"}};
}

}  // namespace eksnode::generator
