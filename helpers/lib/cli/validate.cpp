// SPDX-License-Identifier: Apache-2.0
// eks-node validate: the node against what its steps should have left behind.
// The file checks run under --root anywhere; the kernel and systemd checks
// only on the host itself, under systemd.
#include <sys/stat.h>

#include <algorithm>

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "config/runtimes.hpp"
#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/outputs.hpp"
#include "core/text.hpp"
#include "core/toml.hpp"
#include "format/convert.hpp"
#include "render/render.hpp"

namespace eksnode::cli {

const char* const validate_help =
    "Usage: eks-node validate [--image] [--root=DIR] [--json]\n"
    "\n"
    "Checks the node against its resolved configuration, one line per check: every file the\n"
    "steps write is present, parseable (JSON, TOML, YAML, PEM, environment file) and has its\n"
    "mode; each containerd drop-in in /etc/containerd/config.d (a warning, not a failure, when\n"
    "containerd will not take it as meant); on the host also the kernel modules (overlay,\n"
    "br_netfilter), the sysctls kubelet needs, the instance-store mounts, eks-node.target,\n"
    "containerd (and that it started after config.toml was last written) and kubelet.\n"
    "\n"
    "With --image, for an image build: every program, file and unit that what eks-node renders\n"
    "and its units name is on the image, each program run with --version where it has one:\n"
    "kubelet, containerd, the runtime handlers' binaries, the kubeconfig's credential plugin, the\n"
    "image credential provider, the CNI plugins, the SOCI snapshotter and unpigz (from 0.10),\n"
    "mdadm and mkfs.xfs, the pause image's archive (or a pause image it can pull), the units\n"
    "eks-node's units want and require. Reads the image's configuration, no instance.\n"
    "\n"
    "@OPTIONS@\n"
    "\n"
    "Exit status: 0 when no check failed, 1 otherwise. See eks-node(1).\n";

namespace {

using Outcome = CheckResult::Outcome;

using outputs::Format;

// Throws with the parser's message when `text` is not `format`.
void parse_as(Format format, const std::string& text) {
    switch (format) {
        case Format::json: {
            json parsed = json::parse(text);
            break;
        }
        case Format::toml: {
            // through parse_toml, which refuses nesting that would overflow toml++'s stack
            toml::table parsed = format::parse_toml(text, "");
            break;
        }
        case Format::yaml: {
            if (!format::is_yaml_mapping(text)) throw Error("not a YAML mapping");
            break;
        }
        case Format::pem:
            if (text.find("-----BEGIN CERTIFICATE-----") == std::string::npos ||
                text.find("-----END CERTIFICATE-----") == std::string::npos)
                throw Error("no PEM certificate");
            break;
        case Format::env: {
            std::istringstream in(text);
            std::string line;
            for (int n = 1; std::getline(in, line); ++n) {
                std::string_view l = trim_line(line);
                if (l.empty() || l.starts_with('#')) continue;
                size_t eq = l.find('=');
                if (eq == 0 || eq == std::string_view::npos)
                    throw Error(fmt::format("line {}: not KEY=VALUE", n));
            }
            break;
        }
        case Format::text:
            break;
    }
}

CheckResult check_file(const Paths& paths, std::string_view p, mode_t mode, Format format, bool required) {
    CheckResult c{std::string(p), Outcome::ok, ""};
    fs::path f = paths.of(p);
    struct stat st{};
    if (lstat(f.c_str(), &st) != 0) {
        if (required) c.outcome = Outcome::failed, c.detail = "missing";
        else c.outcome = Outcome::skipped, c.detail = "not present (not wanted by this configuration)";
        return c;
    }
    if (!S_ISREG(st.st_mode)) return {c.name, Outcome::failed, "not a regular file"};
    if ((st.st_mode & 07777) != mode)
        return {c.name, Outcome::failed, fmt::format("mode {:04o}, want {:04o}", st.st_mode & 07777, mode)};
    try {
        parse_as(format, read_file(f));
    } catch (const std::exception& e) {
        return {c.name, Outcome::failed, fmt::format("cannot parse: {}", e.what())};
    }
    return c;
}

std::optional<std::string> read_trimmed(const fs::path& p) {
    try {
        auto t = read_file_if_exists(p);
        if (!t) return std::nullopt;
        return std::string(trim_line(*t));
    } catch (const Error&) {
        return std::nullopt;
    }
}

// What kubelet and the CNI need from the kernel: the image loads the modules
// (modules-load.d) and sets the sysctls (sysctl.d); packer/README.md.
std::vector<CheckResult> kernel_checks(const Paths& paths) {
    std::vector<CheckResult> out;
    for (const char* m : {"overlay", "br_netfilter"}) {
        std::string name = fmt::format("kernel module {}", m);
        // /sys/module/NAME exists for loaded modules and built-in ones alike
        if (fs::exists(paths.of(fmt::format("/sys/module/{}", m))))
            out.push_back({name, Outcome::ok, ""});
        else
            out.push_back({name, Outcome::failed, "not loaded"});
    }
    for (const char* s : {"net.bridge.bridge-nf-call-iptables", "net.bridge.bridge-nf-call-ip6tables",
                          "net.ipv4.ip_forward"}) {
        std::string file(s);
        std::replace(file.begin(), file.end(), '.', '/');
        auto v = read_trimmed(paths.of("/proc/sys/" + file));
        std::string name = fmt::format("sysctl {} = 1", s);
        if (!v) out.push_back({name, Outcome::failed, "absent"});
        else if (*v != "1") out.push_back({name, Outcome::failed, fmt::format("is {}", *v)});
        else out.push_back({name, Outcome::ok, ""});
    }
    return out;
}

// The newer mtime of containerd's two files, CLOCK_REALTIME microseconds; 0
// when neither exists (validate_files() reports them missing).
uint64_t containerd_files_written(const Paths& paths) {
    uint64_t newest = 0;
    for (std::string_view f : {path::containerd_config, path::base_runtime_spec}) {
        struct stat st {};
        if (::stat(paths.of(f).c_str(), &st) != 0) continue;
        newest = std::max<uint64_t>(newest, static_cast<uint64_t>(st.st_mtim.tv_sec) * 1000000u +
                                                static_cast<uint64_t>(st.st_mtim.tv_nsec) / 1000u);
    }
    return newest;
}

std::vector<CheckResult> systemd_checks(const Paths& paths) {
    std::vector<CheckResult> out;
    auto active = [&](const std::string& unit, const std::string& what) {
        sd::UnitStatus u = sd::unit_status(unit);
        if (u.active_state == "active") out.push_back({what, Outcome::ok, ""});
        else out.push_back({what, Outcome::failed, fmt::format("{} is {}", unit, step_state(u))});
    };
    int mounts = 0;
    for (const std::string& w : sd::unit_wants("eks-node.target"))
        if (w.ends_with(".mount")) ++mounts, active(w, fmt::format("mount {} active", w));
    if (!mounts) out.push_back({"mounts", Outcome::skipped, "eks-node.target wants no mount this boot"});
    active("eks-node.target", "eks-node.target active");
    active("containerd.service", "containerd active");
    sd::UnitStatus c = sd::unit_status("containerd.service");
    out.push_back(containerd_current(c.active_state, c.start_usec, containerd_files_written(paths)));
    active("kubelet.service", "kubelet active");
    return out;
}

// The drop-ins containerd imports over config.toml: not eks-node's files, so
// what is wrong with one is a warning (containerd, checked on the host, is
// the judge). Checked against config.json when it can be read, else as TOML.
std::vector<CheckResult> dropin_checks(const Paths& paths) {
    json cfg = json::object();
    try {
        if (auto text = read_file_if_exists(paths.of(path::config_json))) cfg = json::parse(*text);
    } catch (const std::exception&) {
        cfg = json::object();  // its own check above says what is wrong with it
    }
    std::vector<CheckResult> out;
    for (const render::ContainerdDropin& d : render::containerd_dropins(cfg, paths)) {
        std::string name = fmt::format("containerd drop-in {}", d.path);
        if (d.warnings.empty()) out.push_back({name, Outcome::ok, ""});
        for (const std::string& w : d.warnings) out.push_back({name, Outcome::warning, w});
    }
    return out;
}

// settings.runtimes: each handler's binary on the node, and on the host its
// kernel modules loaded (containerd started after them); under --root, that
// the kernel there has them.
std::vector<CheckResult> runtime_handler_checks(const Paths& paths, bool host) {
    std::vector<CheckResult> out;
    std::vector<config::runtimes::Handler> handlers;
    try {
        if (auto text = read_file_if_exists(paths.of(path::config_json)))
            handlers = config::runtimes::of_config(json::parse(*text));
    } catch (const std::exception& e) {
        out.push_back({"runtime handlers (settings.runtimes)", Outcome::failed, e.what()});
        return out;
    }
    for (const config::runtimes::Handler& h : handlers) {
        std::string name = fmt::format("runtime handler {}: {}", h.name, h.binary);
        std::string problem = config::runtimes::binary_problem(h, paths);
        out.push_back({name, problem.empty() ? Outcome::ok : Outcome::failed, problem});
        for (const std::string& m : h.kernel_modules) {
            std::string what = fmt::format("runtime handler {}: kernel module {}", h.name, m);
            if (host) {
                bool loaded = fs::exists(paths.of("/sys/module/" + config::runtimes::module_name(m)));
                out.push_back({what, loaded ? Outcome::ok : Outcome::failed, loaded ? "" : "not loaded"});
                continue;
            }
            config::runtimes::ModuleCheck c = config::runtimes::check_module(m, paths);
            if (!c.checked) out.push_back({what, Outcome::skipped, "no kernel release under the root"});
            else out.push_back({what, c.problem.empty() ? Outcome::ok : Outcome::failed, c.problem});
        }
    }
    return out;
}

}  // namespace

CheckResult containerd_current(const std::string& state, uint64_t start_usec, uint64_t written_usec) {
    const std::string name = "containerd runs on config.toml and the base runtime spec as written";
    if (state != "active") return {name, Outcome::skipped, fmt::format("containerd is {}", state)};
    if (!written_usec) return {name, Outcome::skipped, "neither file exists"};
    if (start_usec > written_usec) return {name, Outcome::ok, ""};
    return {name, Outcome::failed,
            fmt::format("containerd started {:.3f} s before they were last written: it runs on what they held "
                        "before; systemctl restart containerd",
                        static_cast<double>(written_usec - start_usec) / 1e6)};
}

std::vector<CheckResult> validate_files(const Paths& paths) {
    std::vector<CheckResult> out;
    // Every registered output (core/outputs.hpp): present unless optional, its
    // mode, parseable as its format. /etc/hosts is the system's file (its
    // mode is the administrator's, its format free): there is nothing of it
    // to check but our block, which eks-node-hosts itself refuses when broken.
    for (const outputs::Output& o : outputs::all) {
        if (o.block_only) continue;
        if (!o.is_pattern()) {
            out.push_back(check_file(paths, o.path, o.mode, o.format, !o.optional));
            continue;
        }
        // a family (a unit's environment): each file there, or one line saying there is none
        std::vector<std::string> files = outputs::present(o, paths);
        for (const std::string& f : files) out.push_back(check_file(paths, f, o.mode, o.format, true));
        if (files.empty())
            out.push_back({std::string(o.path), Outcome::skipped, "none present (not wanted by this configuration)"});
    }
    // kubelet authenticates with one of the two, whichever the configuration
    // chose, so the registry has both optional and the pair is checked here
    auto named = [&](std::string_view p) {
        return std::find_if(out.begin(), out.end(), [&](const CheckResult& c) { return c.name == p; });
    };
    auto k = named(path::kubeconfig), b = named(path::bootstrap_kubeconfig);
    if (k != out.end() && b != out.end() && k->outcome == Outcome::skipped && b->outcome == Outcome::skipped)
        *k = {std::string(path::kubeconfig), Outcome::failed, "missing (and no bootstrap-kubeconfig either)"};
    for (CheckResult& c : dropin_checks(paths)) out.push_back(std::move(c));
    return out;
}

int validate_cmd(const std::vector<std::string>& args) {
    const ParsedOptions parsed = parse_options("validate", args);
    if (!parsed.args.empty()) throw UsageError(fmt::format("validate: unexpected argument \"{}\"", parsed.args[0]));
    const Paths paths(parsed.value("--root").value_or("/"));
    const bool as_json = parsed.has("--json"), image = parsed.has("--image");
    std::vector<CheckResult> checks;
    if (image) {
        checks = validate_image(paths);
    } else {
        checks = validate_files(paths);
        // sd_booted(): the host runs systemd
        bool systemd = fs::exists("/run/systemd/system");
        std::string skip = !paths.is_host() ? "skipped (not the host)"
                           : !systemd       ? "skipped (not running under systemd)"
                                            : "";
        for (auto& c : runtime_handler_checks(paths, skip.empty())) checks.push_back(c);
        if (skip.empty()) {
            for (auto& c : kernel_checks(paths)) checks.push_back(c);
            for (auto& c : systemd_checks(paths)) checks.push_back(c);
        } else {
            for (const char* what :
                 {"kernel modules", "sysctls", "mounts", "eks-node.target, containerd, kubelet", "containerd's files"})
                checks.push_back({what, Outcome::skipped, skip});
        }
    }

    int failed = 0;
    int warned = 0;
    json out = json::array();
    for (const CheckResult& c : checks) {
        const char* word = "ok";
        const char* result = "ok";
        switch (c.outcome) {
        case Outcome::ok: break;
        case Outcome::failed: word = "FAIL", result = "failed"; break;
        case Outcome::skipped: word = "skip", result = "skipped"; break;
        case Outcome::warning: word = "warn", result = "warning"; break;
        }
        failed += c.outcome == Outcome::failed;
        warned += c.outcome == Outcome::warning;
        if (as_json) {
            json j = json::object();
            j["check"] = c.name;
            j["result"] = result;
            if (!c.detail.empty()) j["detail"] = c.detail;
            if (!c.path.empty()) j["path"] = c.path;
            out.push_back(j);
        } else {
            fmt::print("{:<5} {}{}{}\n", word, c.name, c.detail.empty() ? "" : ": ", c.detail);
        }
    }
    if (as_json)
        fmt::print("{}", dump_pretty(out, 2));
    else
        fmt::print("{} check{} failed{}\n", failed, failed == 1 ? "" : "s",
                   warned ? fmt::format(", {} warning{}", warned, warned == 1 ? "" : "s") : "");
    return failed ? EXIT_FAILURE_ : EXIT_OK;
}

}  // namespace eksnode::cli
