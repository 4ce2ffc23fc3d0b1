// SPDX-License-Identifier: Apache-2.0
// eks-node-generator: what the kernel command line says (eks-node.enable=,
// eks-node.log-level=), and eks-node's settings from config.json or else the
// static fragments; whether eks-node is enabled and at which log level.
#include <cstdlib>

#include <fmt/format.h>

#include "config/merge.hpp"
#include "core/fsutil.hpp"
#include "generator/plan.hpp"
#include "input/fragments.hpp"
#include "input/sources.hpp"

namespace eksnode::generator::detail {

// ---- kernel command line -------------------------------------------------

namespace {

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

}  // namespace

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

std::string_view kernel_cmdline_source() {
    const char* virt = std::getenv("SYSTEMD_VIRTUALIZATION");
    return virt && std::string_view(virt).starts_with("container:") ? container_cmdline_path : cmdline_path;
}

CmdlineSettings parse_cmdline(std::string_view cmdline, GeneratorPlan& plan) {
    CmdlineSettings out;
    const std::string_view source = kernel_cmdline_source();
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
                warn(plan, fmt::format("{}: {}: not a boolean, ignoring", source, word));
                continue;
            }
            out.enable = Decision<bool>{on, std::string(source), why};
        } else if (same_key(key, "eks-node.log-level")) {
            Level l;
            if (!value || !log::parse_level(*value, l)) {
                warn(plan, fmt::format("{}: {}: not a log level (error, warning, notice, info, debug), ignoring",
                                       source, word));
                continue;
            }
            out.level = Decision<Level>{l, std::string(source), why};
        } else if (same_key(key.substr(0, 9), "eks-node.")) {
            // A typo (eks-node.enabled=0) must not pass silently.
            warn(plan, fmt::format("{}: {}: unknown eks-node switch, ignoring", source, word));
        }
    }
    return out;
}

std::vector<StaticFragment> static_fragments(const Paths& paths) {
    const std::string slot = std::string(input::user_data_slot) + ".toml";
    std::vector<StaticFragment> out;
    std::vector<input::FragmentFile> files;
    try {
        files = input::fragment_files(paths);
    } catch (const std::exception&) {
        return out;  // config::static_settings() refused the same names, and the generator ignored it
    }
    for (const input::FragmentFile& f : files) {
        if (f.name == slot) continue;  // config::static_settings() skips the user data slot too
        try {
            out.push_back({paths.on_node(f.path),
                           input::fragment_from_toml(input::read_fragment_file(f.path), f.path.string()).settings});
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

namespace {

// config::static_settings() gives values only; to name the file in SourcePath= this
// re-reads the few fragments and returns the last one (in merge order) that
// sets settings.<key>. Called only when a setting decided something.
// TODO(lead): drop this once config::static_settings() can return its Origins.
std::string static_origin(const Paths& paths, const char* key) { return last_setter(static_fragments(paths), {key}); }

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

}  // namespace

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
    warn(plan,
         fmt::format("{}: settings.logLevel: {} is not a log level (error, warning, notice, info, debug), ignoring",
                     e.source, e.value->dump()));
    return std::nullopt;
}

}  // namespace eksnode::generator::detail
