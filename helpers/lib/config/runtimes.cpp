// SPDX-License-Identifier: Apache-2.0
#include "config/runtimes.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/paths.hpp"
#include "core/syntax.hpp"
#include "core/text.hpp"
#include "format/field_text.hpp"
#include "input/settings.hpp"

namespace eksnode::config::runtimes {

using input::settings::expected;

std::vector<Handler> read(const json& table, const std::function<std::string(const std::string&)>& origin) {
    std::vector<Handler> out;
    std::string default_name;
    for (const input::settings::Entry& e :
         input::settings::entries(table, "runtimes", max_handlers, "runtime handlers", origin)) {
        const std::string& name = e.name;
        const json& body = e.body;
        const std::string& pointer = e.pointer;
        if (std::find(std::begin(builtin_names), std::end(builtin_names), name) != std::end(builtin_names))
            e.fail("",
                   "is a runtime handler eks-node defines itself (runc, or nvidia with NVIDIA's container "
                   "runtime installed): name yours differently, or set its options in containerd.config");
        if (!body.is_object()) e.fail("", expected("an object", body));
        Handler h;
        h.name = name;
        // The field types were checked with each fragment (schema.cpp); what
        // is checked here is what only the merged table can tell.
        if (const json* v = path_in(body, {"type"}); v && v->is_string()) h.type = v->get<std::string>();
        if (const json* v = path_in(body, {"binary"}); v && v->is_string()) h.binary = v->get<std::string>();
        if (const json* v = path_in(body, {"options"}); v && v->is_object()) h.options = *v;
        if (const json* v = path_in(body, {"privilegedWithoutHostDevices"}); v && v->is_boolean())
            h.privileged_without_host_devices = v->get<bool>();
        if (const json* v = path_in(body, {"podAnnotations"}); v && v->is_array())
            for (const json& a : *v)
                if (a.is_string()) h.pod_annotations.push_back(a.get<std::string>());
        if (const json* v = path_in(body, {"kernelModules"}); v && v->is_array())
            for (const json& m : *v)
                if (m.is_string()) h.kernel_modules.push_back(m.get<std::string>());
        if (const json* v = path_in(body, {"default"}); v && v->is_boolean()) h.is_default = v->get<bool>();
        h.binary_source = origin(pointer + "/binary");
        h.modules_source = origin(pointer + "/kernelModules");
        if (h.binary.empty())
            e.fail("binary", "is required: the OCI runtime (io.containerd.runc.v2) or the shim the handler runs");
        if (h.type != runc_v2 && !(h.type.starts_with("io.containerd.") && h.type.size() > 14))
            e.fail("type", fmt::format("{} is not a containerd runtime type ({}, or a shim's io.containerd.NAME.vN)",
                                       format::text::quote(h.type), runc_v2));
        if (h.type == runc_v2 && h.options.contains("BinaryName"))
            e.fail("options.BinaryName", "is what binary sets: set binary only");
        if (h.is_default) {
            if (!default_name.empty())
                e.fail("default", fmt::format("settings.runtimes.{} is the default already: at most one handler is",
                                              default_name));
            default_name = name;
        }
        out.push_back(std::move(h));
    }
    // in name order, whatever order the sources merged them in: the same
    // config.toml and RuntimeClasses every run
    std::sort(out.begin(), out.end(), [](const Handler& a, const Handler& b) { return a.name < b.name; });
    return out;
}

std::vector<Handler> of_config(const json& cfg) {
    const json* table = path_in(cfg, {"settings", "runtimes"});
    if (!table) return {};
    return read(*table, format::text::origin_in_config(cfg));
}

std::string module_name(std::string_view name) {
    std::string out(name);
    std::replace(out.begin(), out.end(), '-', '_');
    return out;
}

namespace {

// Whether `list` (modules.builtin or modules.dep: one module path a line,
// modules.dep's followed by ':') names the module.
bool lists_module(const std::string& list, const std::string& name) {
    std::istringstream in(list);
    for (std::string line; std::getline(in, line);) {
        line = line.substr(0, line.find(':'));
        size_t slash = line.rfind('/');
        std::string base = line.substr(slash == std::string::npos ? 0 : slash + 1);
        base = base.substr(0, base.find(".ko"));
        if (module_name(base) == name) return true;
    }
    return false;
}

}  // namespace

ModuleCheck check_module(std::string_view name, const Paths& paths) {
    ModuleCheck r;
    std::optional<std::string> release = read_file_if_exists(paths.of("/proc/sys/kernel/osrelease"));
    if (!release) return r;
    r.checked = true;
    const std::string kname = module_name(name);
    std::error_code ec;
    if (fs::exists(paths.of("/sys/module/" + kname), ec)) return r;
    while (!release->empty() && (release->back() == '\n' || release->back() == ' ')) release->pop_back();
    const std::string dir = "/lib/modules/" + *release;
    for (const char* list : {"/modules.builtin", "/modules.dep"}) {
        std::optional<std::string> text;
        try {
            text = read_file_if_exists(paths.of(dir + list));
        } catch (const std::exception&) {
            text.reset();
        }
        if (text && lists_module(*text, kname)) return r;
    }
    r.problem = fmt::format("{} is neither loaded nor built into kernel {}, nor in {}/modules.dep",
                            format::text::quote(name), *release, dir);
    return r;
}

bool module_loaded(std::string_view name, const Paths& paths) {
    const std::string kname = module_name(name);
    std::error_code ec;
    if (fs::exists(paths.of("/sys/module/" + kname), ec)) return true;
    std::optional<std::string> release = read_file_if_exists(paths.of("/proc/sys/kernel/osrelease"));
    if (!release) return false;
    while (!release->empty() && (release->back() == '\n' || release->back() == ' ')) release->pop_back();
    std::optional<std::string> builtin;
    try {
        builtin = read_file_if_exists(paths.of("/lib/modules/" + *release + "/modules.builtin"));
    } catch (const std::exception&) {
        builtin.reset();
    }
    return builtin && lists_module(*builtin, kname);
}

std::string binary_problem(const Handler& h, const Paths& paths) { return executable_problem(h.binary, paths); }

std::string executable_problem(std::string_view binary, const Paths& paths) {
    struct stat st {};
    const fs::path p = paths.of(binary);
    if (::stat(p.c_str(), &st) != 0) return fmt::format("{} does not exist on this node", binary);
    if (!S_ISREG(st.st_mode)) return fmt::format("{} is not a regular file", binary);
    if (::access(p.c_str(), X_OK) != 0 && (st.st_mode & 0111) == 0) return fmt::format("{} is not executable", binary);
    return {};
}

namespace {

// A label's name part, or a label value: at most 63 bytes of [-A-Za-z0-9_.],
// starting and ending with a letter or digit (Kubernetes' qualified name rules).
bool is_label_name(std::string_view s) {
    if (s.empty() || s.size() > 63 || !is_alnum(s.front()) || !is_alnum(s.back())) return false;
    return std::all_of(s.begin(), s.end(), [](char c) { return is_alnum(c) || c == '-' || c == '_' || c == '.'; });
}

// A label key's prefix: a DNS subdomain, lower case, at most 253 bytes.
bool is_dns_subdomain(std::string_view s) {
    if (s.empty() || s.size() > 253) return false;
    for (size_t start = 0;;) {
        size_t dot = s.find('.', start);
        std::string_view part = s.substr(start, dot == s.npos ? s.npos : dot - start);
        if (part.empty() || !is_lower_alnum(part.front()) || !is_lower_alnum(part.back())) return false;
        if (!std::all_of(part.begin(), part.end(), [](char c) { return is_lower_alnum(c) || c == '-'; })) return false;
        if (dot == s.npos) return true;
        start = dot + 1;
    }
}

// A plain YAML scalar that reads as a string, whether by YAML 1.1 or 1.2
// rules: a label key starting with a letter, but not a boolean or null word.
bool plain_yaml_string(std::string_view s) {
    static const char* const typed[] = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"};
    if (s.empty() || !((s.front() >= 'a' && s.front() <= 'z') || (s.front() >= 'A' && s.front() <= 'Z'))) return false;
    std::string lower(s);
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    return std::none_of(std::begin(typed), std::end(typed), [&](const char* w) { return lower == w; });
}

}  // namespace

std::string label_key_problem(std::string_view key) {
    size_t slash = key.find('/');
    std::string_view name = slash == key.npos ? key : key.substr(slash + 1);
    if (slash != key.npos && !is_dns_subdomain(key.substr(0, slash)))
        return "its prefix is not a DNS subdomain (lower-case letters, digits, '-' and '.', at most 253 bytes)";
    if (!is_label_name(name))
        return "not a label name (at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter "
               "or digit)";
    return {};
}

std::string label_value_problem(std::string_view value) {
    if (value.empty() || is_label_name(value)) return {};
    return "not a label value (empty, or at most 63 letters, digits, '-', '_' and '.', starting and ending with a "
           "letter or digit)";
}

std::string runtime_class_yaml(const Handler& h, const json& node_selector) {
    // The handler name is a DNS label and selector keys and values are
    // label-shaped (the CLI checks them): nothing needs YAML quoting but
    // keys YAML would type (null, yes, on...); values are quoted anyway so
    // that a value like "true" stays a string.
    std::string out = fmt::format(
        "apiVersion: node.k8s.io/v1\n"
        "kind: RuntimeClass\n"
        "metadata:\n"
        "  name: {}\n"
        "handler: {}\n",
        h.name, h.name);
    if (node_selector.is_object() && !node_selector.empty()) {
        out += "scheduling:\n  nodeSelector:\n";
        for (const auto& [k, v] : node_selector.items())
            out += fmt::format("    {}: {}\n",
                               plain_yaml_string(k) && label_key_problem(k).empty() ? k : syntax::yaml::string(k),
                               syntax::yaml::string(v.is_string() ? v.get<std::string>() : v.dump()));
    }
    return out;
}

}  // namespace eksnode::config::runtimes
