// SPDX-License-Identifier: Apache-2.0
#include "cli/cli.hpp"

#include <sys/resource.h>
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/chain.hpp"
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "cli/redact.hpp"
#include "config/runtimes.hpp"
#include "config/validate.hpp"
#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/log.hpp"
#include "core/outputs.hpp"
#include "core/step.hpp"
#include "core/text.hpp"
#include "core/version.hpp"
#include "derive/derive.hpp"
#include "format/field_text.hpp"
#include "imds/imds.hpp"
#include "input/sources.hpp"
#include "render/render.hpp"
#include "resolve/resolve.hpp"
#include "steps/steps.hpp"

namespace eksnode::cli {

namespace {

// `eks-node --help`: the commands come from the table (commands_help()).
constexpr std::string_view usage_head =
    "Usage: eks-node COMMAND [OPTIONS]\n"
    "\n"
    "Commands:\n";
constexpr std::string_view usage_tail =
    "\n"
    "An option's value follows \"=\" or a space: --root=DIR or --root DIR.\n"
    "\"eks-node COMMAND --help\" describes each command. See eks-node(1).\n";

constexpr const char* render_help =
    "Usage: eks-node render --root=DIR [--imds-endpoint=URL] [--user-data=FILE] [--log-level=LEVEL]\n"
    "       eks-node render --root=DIR --instance-type=TYPE --region=REGION [--user-data=FILE] [INSTANCE...]\n"
    "       eks-node render --image [--root=DIR] [--log-level=LEVEL]\n"
    "\n"
    "Runs every step of the boot chain in-process (imds, config, system, ca, kubelet, containerd, hosts),\n"
    "reading and writing under DIR only, and prints each step's timing.\n"
    "\n"
    "With --image, for an image build: writes containerd's config.toml and base runtime spec from what\n"
    "the image fixes (node.toml.d, nodeadm.d, this machine; no user data, no network), so that containerd\n"
    "starts at boot in parallel with eks-node's steps. Needs settings.containerd.sandboxImage (a cached\n"
    "pause image); writes to the host unless --root is given.\n"
    "\n"
    "Offline, with --instance-type and --region: no IMDS and no AWS API. The instance is made up\n"
    "from the flags (INSTANCE: the offline options below, each with a default); what a node would\n"
    "ask EKS DescribeCluster for (endpoint, CA, service CIDR) must be in the user data. Needs no root.\n"
    "\n"
    "@OPTIONS@\n";

constexpr const char* config_help =
    "Usage: eks-node config check [--json] [--strict] [--root=DIR] [SOURCE...]\n"
    "       eks-node config dump [--origins] [--show-secrets] [--root=DIR]\n"
    "\n"
    "check validates configuration sources: files as user data (NodeConfig, MIME, TOML, AL2\n"
    "bootstrap.sh scripts; - for standard input), else this node's; every error, then exit 0 or 6.\n"
    "Cluster fields EKS DescribeCluster fills at boot are a note, not an error. With --root=DIR,\n"
    "the sources take the user data's place among DIR's node.toml.d and nodeadm.d files.\n"
    "\n"
    "dump prints config.json (resolving it if absent); --origins adds where each value came from\n"
    "and the NodeConfig fields ignored (warnings); secrets are masked as collect-logs masks them\n"
    "(environment values, URL credentials) unless --show-secrets.\n"
    "\n"
    "@OPTIONS@\n";

constexpr const char* runtime_class_help =
    "Usage: eks-node runtime-class [NAME...] [--node-selector=KEY=VALUE...] [--root=DIR]\n"
    "\n"
    "Prints a RuntimeClass (node.k8s.io/v1) for each runtime handler of settings.runtimes (or each\n"
    "NAME), as YAML documents for `kubectl apply -f -`: its name and handler are the handler's name.\n"
    "Reads config.json (resolving the configuration if absent); exit 6 for a NAME not configured.\n"
    "\n"
    "@OPTIONS@\n";

// `eks-node COMMAND --help`: the arguments before "--" ask for help.
bool wants_help(const std::vector<std::string>& args) {
    auto end = std::find(args.begin(), args.end(), "--");
    return std::any_of(args.begin(), end, [](const std::string& a) { return a == "--help" || a == "-h"; });
}

// What the steps check against the node (its programs, containerd's
// version, its trust store) and refuse with exit 6 before writing anything.
void node_checks(const json& cfg, const Paths& paths) {
    render::check_runtime_handlers(cfg, paths);
    render::check_credential_providers(cfg, paths);
    render::check_registries(cfg);
    render::check_trust(cfg, paths);
}

// `kubelet_fields`: of the warnings, those of kubelet.config keys the
// kubelet does not know (passed through, not ignored).
std::string valid_line(std::string_view what, size_t warnings, size_t kubelet_fields = 0) {
    const size_t ignored = warnings - kubelet_fields;
    std::string line = fmt::format("configuration valid{}", what);
    if (ignored > 0)
        line += fmt::format(
            "; {} NodeConfig field{} ignored, as nodeadm ignores {} (see the warning{} above; settings.strict = "
            "true refuses {})",
            ignored, ignored == 1 ? "" : "s", ignored == 1 ? "it" : "them", ignored == 1 ? "" : "s",
            ignored == 1 ? "it" : "them");
    if (kubelet_fields > 0)
        line += fmt::format(
            "; {} kubelet.config field{} the kubelet does not know, passed to it all the same (see the "
            "warning{} above; settings.strict = true refuses {})",
            kubelet_fields, kubelet_fields == 1 ? "" : "s", kubelet_fields == 1 ? "" : "s",
            kubelet_fields == 1 ? "it" : "them");
    return line + "\n";
}

size_t kubelet_field_count(const std::vector<input::Warning>& warnings) {
    return std::count_if(warnings.begin(), warnings.end(),
                         [](const input::Warning& w) { return w.kind == input::Warning::Kind::kubelet_field; });
}

// The error lines of `config check`, each as the step would log it.
void log_errors(const config::ConfigErrors& errors) {
    for (const ConfigError& e : errors) log::emit(log::Level::error, e.what(), {}, log::id::config_invalid);
}

json errors_json(const config::ConfigErrors& errors) {
    json out = json::array();
    for (const ConfigError& e : errors)
        out.push_back({{"source", e.source()}, {"field", e.field()}, {"problem", e.problem()}});
    return out;
}

struct CheckFlags {
    bool json = false, strict = false;
};

// `config check --json`: one object, whatever the outcome (the exit status
// says it too).
void print_check_json(const json& sources, const config::ConfigErrors& errors, const json& warnings,
                      const std::vector<std::string>& notes, const std::vector<std::string>& scripts) {
    json out = {{"valid", errors.empty()}, {"sources", sources}, {"errors", errors_json(errors)},
                {"warnings", warnings},    {"notes", notes},     {"cloudInitParts", scripts}};
    fmt::print("{}\n", dump_pretty(out, 2));
}

// `config check` of this node (or --root=DIR's): the whole resolution, AWS
// lookups included, as eks-node-config makes it.
int config_check_node(const StepOptions& opts, CheckFlags flags) {
    config::ConfigErrors errors;
    json warnings = json::array();
    try {
        json cfg = resolve::resolve_from_node(opts);
        // on the node: what the configuration names must be there too
        node_checks(cfg, opts.paths);
        if (cfg.contains("warnings")) warnings = cfg["warnings"];
    } catch (const ConfigError& e) {
        errors.push_back(e);
    }
    if (flags.strict) {
        for (const json& w : warnings)
            errors.emplace_back(
                w.value("source", ""), w.value("field", ""),
                input::warning_kind(w) == input::Warning::Kind::kubelet_field
                    ? fmt::format("{}; --strict, as settings.strict = true, refuses a field the node's kubelet does "
                                  "not know",
                                  w.value("message", ""))
                    : fmt::format("unknown field (nearest known field: {}), refused by --strict as "
                                  "settings.strict = true refuses it",
                                  w.value("nearest", "")));
        warnings = json::array();
    }
    const int code = errors.empty() ? EXIT_OK : EXIT_CONFIG;
    if (flags.json) {
        print_check_json(json::array({"this node"}), errors, warnings, {}, {});
        return code;
    }
    if (!errors.empty()) {
        log_errors(errors);
        return code;
    }
    fmt::print("{}",
               valid_line("", warnings.size(), input::warning_count(warnings, input::Warning::Kind::kubelet_field)));
    return code;
}

// `config check` with explicit sources: each file is user data as it would be
// given to an instance (NodeConfig YAML/JSON, MIME, TOML, base64/gzip).
// "configuration valid", and how many NodeConfig fields it ignored (each
// logged above, on stderr, as the step logs it): a check that passes with
// warnings still exits 0, as the node would still join.
int config_check_sources(const std::vector<std::string>& sources, const Paths& node, CheckFlags flags) {
    resolve::CheckInput in;
    in.paths = node;
    // with --root=DIR, the user data takes its slot among DIR's fragments, as
    // on that node; without, the sources alone (this is not the node)
    in.root_fragments = !node.is_host();
    in.strict = flags.strict;
    // with --root=DIR, that node's kubelet, which its kubelet.config is checked against
    std::optional<derive::MachineFacts> machine;
    if (!node.is_host()) {
        machine = derive::read_machine_facts(node);
        in.kubelet_version = resolve::checked_kubelet_version(*machine);
    }
    config::ConfigErrors unread;
    for (const std::string& s : sources) {
        const bool stdin_ = s == "-";
        try {
            in.user_data.push_back({stdin_ ? "standard input" : s,
                                    input::read_user_data_file(stdin_ ? "/dev/stdin" : s),
                                    !stdin_ && s.ends_with(".toml")});
        } catch (const ConfigError& e) {
            unread.push_back(e);
        }
    }
    resolve::CheckResult r = resolve::check_sources(in, std::move(unread));
    // With --root=DIR, what depends on the node too, as its steps would
    // refuse it: containerd's version, the trust store. Without it they
    // cannot be known here (this is not the node), and are not checked.
    if (r.errors.empty() && !node.is_host()) {
        json cfg = {{"spec", r.spec}, {"settings", r.settings}, {"machine", derive::machine_json(*machine)}};
        json o = json::object();
        for (const auto& [k, v] : r.origins) o[k] = v;
        cfg["origins"] = std::move(o);
        try {
            node_checks(cfg, node);
        } catch (const ConfigError& e) {
            r.errors.push_back(e);
        }
    }
    const int code = r.errors.empty() ? EXIT_OK : EXIT_CONFIG;
    if (flags.json) {
        print_check_json(sources, r.errors, input::warnings_json(r.warnings), r.notes, r.scripts);
        return code;
    }
    // in the order eks-node-config logs them: the warnings (an ignored
    // "nmae" explains a missing name), then the errors
    resolve::log_warnings(r.warnings);
    if (!r.errors.empty()) {
        log_errors(r.errors);
        if (r.errors.size() > 1) log::error("{} errors: the configuration is not valid", r.errors.size());
        return code;
    }
    fmt::print("{}", valid_line(fmt::format(" ({} source{})", sources.size(), sources.size() == 1 ? "" : "s"),
                                r.warnings.size(), kubelet_field_count(r.warnings)));
    for (const std::string& n : r.notes) fmt::print("note: {}\n", n);
    for (const std::string& p : r.scripts) fmt::print("cloud-init runs {}: kubelet would start after it\n", p);
    return code;
}

int config_cmd(const std::vector<std::string>& args) {
    if (args.empty()) throw UsageError("config: expected \"check\" or \"dump\"");
    if (args[0] != "check" && args[0] != "dump") {
        const std::string near = near_name(args[0], {"check", "dump"});
        throw UsageError(fmt::format("config: unknown subcommand {}{}", format::text::quote(args[0]),
                                     near.empty() ? "" : fmt::format(" (did you mean \"{}\"?)", near)));
    }
    const ParsedOptions parsed = parse_options("config " + args[0], {args.begin() + 1, args.end()});
    StepOptions opts;
    apply_common(parsed, opts);
    opts.args = parsed.args;
    const bool origins = parsed.has("--origins"), show_secrets = parsed.has("--show-secrets");
    CheckFlags check{.json = parsed.has("--json"), .strict = parsed.has("--strict")};
    if (args[0] == "dump" && !opts.args.empty())
        throw UsageError(fmt::format("config dump: unexpected argument {}", format::text::quote(opts.args[0])));

    if (args[0] == "check") {
        // --json: the answer is the object on stdout; only what is not the
        // configuration's fault (an unreadable file, IMDS down) is logged
        if (check.json) log::set_level(log::Level::error);
        if (!opts.args.empty()) return config_check_sources(opts.args, opts.paths, check);
        return config_check_node(opts, check);
    }
    if (args[0] == "dump") {
        fs::path p = opts.config_file();
        auto text = read_file_if_exists(p);
        json cfg;
        if (text) {
            cfg = json::parse(*text, nullptr, false);
            if (cfg.is_discarded())
                throw Error(fmt::format("{}: not valid JSON; `systemctl restart eks-node-config` writes it anew",
                                        p.string()));
        } else {
            cfg = resolve::resolve_from_node(opts);
        }
        // where values came from, and the fields no value came from (ignored)
        if (!origins) {
            cfg.erase("origins");
            cfg.erase("warnings");
        } else {
            // and who decided each key of kubelet's configuration (settings.kubelet.configMode)
            try {
                cfg["kubeletConfig"] = render::kubelet_config_origins(cfg);
            } catch (const Error& e) {
                cfg["kubeletConfig"] = fmt::format("not known: {}", e.what());
            }
        }
        std::string out = dump_pretty(cfg, 2);
        // what is printed ends up in terminals' scrollback and tickets: the
        // same masking as collect-logs, unless asked for plainly
        if (!show_secrets) {
            Redactor redactor;
            out = redactor.scrub(redactor.json_text(out));
            if (!out.empty() && out.back() != '\n') out += '\n';
        }
        std::fputs(out.c_str(), stdout);
        return EXIT_OK;
    }
    throw UsageError(fmt::format("config: unknown subcommand \"{}\"", args[0]));
}

// The RuntimeClasses of the node's handlers: what the cluster admin applies
// so that pods can name a handler (runtimeClassName).
int runtime_class_cmd(const std::vector<std::string>& args) {
    const ParsedOptions parsed = parse_options("runtime-class", args);
    StepOptions opts;
    apply_common(parsed, opts);
    opts.args = parsed.args;
    json selector = json::object();
    for (const std::string& kv : parsed.values("--node-selector")) {
        size_t eq = kv.find('=');
        if (eq == 0 || eq == std::string::npos)
            throw UsageError(
                fmt::format("runtime-class: --node-selector {} is not KEY=VALUE", format::text::quote(kv)));
        // printed into YAML the admin applies: only what the API server
        // takes as a label, so that no key or value can add YAML of its own
        const std::string key = kv.substr(0, eq), value = kv.substr(eq + 1);
        if (std::string problem = config::runtimes::label_key_problem(key); !problem.empty())
            throw UsageError(
                fmt::format("runtime-class: --node-selector key {}: {}", format::text::quote(key), problem));
        if (std::string problem = config::runtimes::label_value_problem(value); !problem.empty())
            throw UsageError(fmt::format("runtime-class: --node-selector {} value {}: {}", format::text::quote(key),
                                         format::text::quote(value), problem));
        selector[key] = value;
    }
    auto text = read_file_if_exists(opts.config_file());
    json cfg = text ? json::parse(*text, nullptr, false) : resolve::resolve_from_node(opts);
    if (cfg.is_discarded())
        throw Error(fmt::format("{}: not valid JSON; `systemctl restart eks-node-config` writes it anew",
                                opts.config_file().string()));
    const std::vector<config::runtimes::Handler> handlers = config::runtimes::of_config(cfg);
    for (const std::string& name : opts.args)
        if (std::none_of(handlers.begin(), handlers.end(), [&](const auto& h) { return h.name == name; }))
            throw ConfigError(opts.config_file().string(), format::text::child_path("settings.runtimes", name),
                              "no such runtime handler on this node");
    std::string out;
    for (const config::runtimes::Handler& h : handlers) {
        if (!opts.args.empty() && std::find(opts.args.begin(), opts.args.end(), h.name) == opts.args.end()) continue;
        out += (out.empty() ? "" : "---\n") + config::runtimes::runtime_class_yaml(h, selector);
    }
    if (out.empty()) log::warning("no runtime handlers configured (settings.runtimes): nothing to print");
    std::fputs(out.c_str(), stdout);
    return EXIT_OK;
}

double cpu_ms() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

// `render`'s offline flags: the instance made up instead of asking IMDS.
// True when any was given (then --instance-type and --region are required).
bool offline_flags(const ParsedOptions& parsed, imds::OfflineFacts& f) {
    const std::pair<std::string_view, std::string*> flags[] = {
        {"--instance-type", &f.instance_type},
        {"--region", &f.region},
        {"--availability-zone", &f.availability_zone},
        {"--private-ipv4", &f.private_ipv4},
        {"--vpc-cidr", &f.vpc_cidr},
        {"--instance-id", &f.instance_id},
        {"--mac", &f.mac},
        {"--hostname", &f.hostname},
    };
    // the machine's flags make it offline too (and need the two required ones)
    bool any = parsed.has("--vcpus") || parsed.has("--memory");
    for (const auto& [flag, value] : flags)
        if (std::optional<std::string> v = parsed.value(flag)) {
            *value = *v;
            any = true;
        }
    return any;
}

// --memory=SIZE: MiB, alone or with Mi or Gi (a Kubernetes quantity's binary
// suffixes, as kubelet's reservations are written).
long memory_mib_option(const std::string& value) {
    std::string_view v = value;
    long factor = 1;
    if (v.ends_with("Gi")) factor = 1024, v.remove_suffix(2);
    else if (v.ends_with("Mi")) v.remove_suffix(2);
    long n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (v.empty() || ec != std::errc() || end != v.data() + v.size() || n < 1 || n > (1L << 40) / factor)
        throw UsageError(
            fmt::format("--memory: \"{}\" is not a size such as 16Gi or 16384 (MiB)", one_line(value, 80)));
    return n * factor;
}

// An offline render's vCPUs: --vcpus, else DIR's own CPU list when it has one
// (an image's root), else the size name; never the laptop's CPUs.
void offline_machine(const ParsedOptions& parsed, const imds::OfflineFacts& facts, StepOptions& opts) {
    if (auto v = parsed.value("--vcpus")) {
        opts.offline_vcpus = positive_int_option("--vcpus", *v);
        opts.offline_vcpus_origin = "--vcpus";
    } else if (!fs::exists(opts.paths.of("/sys/devices/system/cpu/online"))) {
        opts.offline_vcpus = derive::vcpus_from_size(facts.instance_type);
        if (!opts.offline_vcpus)
            throw UsageError(fmt::format("render offline: the size name of {} does not say its vCPUs: pass --vcpus=N",
                                         facts.instance_type));
        opts.offline_vcpus_origin = fmt::format("the size name of {}", facts.instance_type);
    }
    if (auto v = parsed.value("--memory")) opts.offline_memory_mib = memory_mib_option(*v);
}

int render_cmd(const std::vector<std::string>& args) {
    const ParsedOptions parsed = parse_options("render", args);
    StepOptions opts;
    apply_common(parsed, opts);
    opts.args = parsed.args;
    imds::OfflineFacts offline;
    const bool is_offline = offline_flags(parsed, offline);
    if (is_offline && (parsed.has("--image") || !opts.imds_endpoint.empty()))
        throw UsageError(
            "render: --instance-type and the other instance flags make up the instance offline: "
            "not with --imds-endpoint or --image");
    if (parsed.has("--image")) {
        if (!opts.args.empty()) throw UsageError(fmt::format("render: unexpected argument \"{}\"", opts.args[0]));
        if (!opts.imds_endpoint.empty() || !opts.user_data_file.empty() || !opts.config_path.empty())
            throw UsageError("render --image reads no instance, user data or config.json: only --root and --log-level");
        if (!opts.paths.is_host()) confine_writes_to(opts.paths.root());
        StepResult r = steps::containerd_image(opts);
        for (const auto& [p, w] : r.outputs)
            fmt::print("{} {}\n", w == WriteResult::written ? "wrote" : "kept ", p.string());
        return EXIT_OK;
    }
    if (opts.paths.is_host()) throw UsageError("render: --root=DIR is required (render never writes to the host)");
    if (!opts.args.empty()) throw UsageError(fmt::format("render: unexpected argument \"{}\"", opts.args[0]));
    // DIR's own symlinks (an image's /etc/eks -> /tmp/x) must not carry a write out of DIR
    confine_writes_to(opts.paths.root());

    // --user-data=FILE: read once, up front (it may be a pipe, and a bad
    // FILE is refused before any step writes), for the config step and for
    // the copy below.
    if (!opts.user_data_file.empty()) opts.user_data_text = input::read_user_data_file(opts.user_data_file);
    if (is_offline) {
        offline.user_data = opts.user_data_text;
        opts.offline_instance = imds::offline_instance(offline).instance;
        offline_machine(parsed, offline, opts);
        const json& i = *opts.offline_instance;
        fmt::print("offline: instance {} ({}, {}, {}, VPC {}) made up from the flags; no IMDS, no AWS API\n",
                   i.value("instanceId", ""), i.value("instanceType", ""), i.value("availabilityZone", ""),
                   i.value("localIpv4", ""),
                   i["vpcIpv4CidrBlocks"].empty() ? "" : i["vpcIpv4CidrBlocks"][0].get<std::string>());
    }

    // The node's kind is known once the config step has written config.json:
    // an ECS container instance's render runs ecs-node.target's steps, as
    // the generator would on the node, and no EKS step.
    NodeKinds kind = NodeKinds::both;
    for (const ChainStep& step : chain_steps()) {
        if (step.kinds != NodeKinds::both && kind != NodeKinds::both && step.kinds != kind) {
            log::debug("{}: not a step of this kind of node, skipped", step.name);
            continue;
        }
        log::init(step.name, log::level());
        auto t0 = std::chrono::steady_clock::now();
        double c0 = cpu_ms();
        StepResult r = step.run(opts);
        double wall = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        log::init("eks-node", log::level());
        fmt::print("{:<14} {:>7.2f} ms wall {:>7.2f} ms cpu  {}\n", step.name, wall, cpu_ms() - c0,
                   r.changed() ? "changed" : "unchanged");
        for (const auto& [p, w] : r.outputs)
            log::debug("  {} {}", w == WriteResult::written ? "wrote" : "kept ", p.string());
        // The imds step saved IMDS's user data as the node's copy; with
        // --user-data=FILE the render used FILE's instead, and that copy is
        // what `config check --root=DIR`, `bootstrap-sh` and collect-logs
        // read afterwards: it must be the user data this render used.
        if (step.run == steps::imds && opts.user_data_text)
            write_file_atomic(opts.paths.of(path::user_data), *opts.user_data_text, outputs::of(path::user_data).mode);
        if (step.run == steps::config)
            kind = config::config_node_kind(steps::load_config_json(opts)) == config::NodeKind::ecs ? NodeKinds::ecs
                                                                                                    : NodeKinds::eks;
    }
    return EXIT_OK;
}

}  // namespace

int cli_main(int argc, char** argv) {
    log::Level lvl = log::Level::warning;  // an interactive tool: only problems by default
    log::init("eks-node", lvl);
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
        const std::string usage = fmt::format("{}{}{}", usage_head, commands_help(), usage_tail);
        std::fputs(usage.c_str(), args.empty() ? stderr : stdout);
        return args.empty() ? EXIT_USAGE : EXIT_OK;
    }
    if (args[0] == "version" || args[0] == "--version") {
        fmt::print("eks-node {}\n", ::eksnode::version);
        return EXIT_OK;
    }
    std::string cmd = args[0];
    std::vector<std::string> rest(args.begin() + 1, args.end());
    std::string usage_of;  // the command (or "config check") whose usage line a usage error shows
    try {
        struct Command {
            const char* name;
            int (*run)(const std::vector<std::string>&);
            const char* help;
        };
        static const Command commands[] = {
            {"render", render_cmd, render_help},
            {"config", config_cmd, config_help},
            {"runtime-class", runtime_class_cmd, runtime_class_help},
            {"max-pods", max_pods_cmd, max_pods_help},
            {"status", status_cmd, status_help},
            {"validate", validate_cmd, validate_help},
            {"confinement", confinement_cmd, confinement_help},
            {"readahead-list", readahead_list_cmd, readahead_list_help},
            {"readahead-record", readahead_record_cmd, readahead_record_help},
            {"collect-logs", collect_logs_cmd, collect_logs_help},
            {"check-archive", check_archive_cmd, check_archive_help},
            {"get-token", get_token_cmd, get_token_help},
            // hidden: what the /etc/eks/bootstrap.sh shim runs
            {"bootstrap-sh", bootstrap_sh_cmd, bootstrap_sh_help},
        };
        for (const Command& c : commands) {
            if (cmd != c.name) continue;
            usage_of = cmd;
            if (cmd == "config" && !rest.empty() && find_command("config " + rest[0])) usage_of += " " + rest[0];
            if (wants_help(rest)) {
                std::fputs(command_help(c.name, c.help).c_str(), stdout);
                return EXIT_OK;
            }
            return c.run(rest);
        }
        std::vector<std::string> known;
        for (const CommandSpec& c : command_specs())
            if (!c.hidden && c.name.find(' ') == std::string_view::npos) known.emplace_back(c.name);
        const std::string near = near_name(cmd, known);
        throw UsageError(fmt::format("unknown command {}{}", format::text::quote(cmd),
                                     near.empty() ? "" : fmt::format(" (did you mean \"{}\"?)", near)));
    } catch (const UsageError& e) {
        // one line, "eks-node CMD: what is wrong", then how to use CMD in
        // short (its --help says the rest)
        const std::string msg = e.what();
        std::string line = usage_of.empty() ? "eks-node: " + msg
                           : msg.starts_with(cmd + ":") || msg.starts_with(cmd + " ")
                               ? "eks-node " + msg
                               : fmt::format("eks-node {}: {}", cmd, msg);
        std::fputs((one_line(line, 4096) + "\n").c_str(), stderr);
        // get-token's caller is kubelet, which logs each line of the
        // plugin's stderr: the error line alone says what is wrong.
        if (cmd == "get-token") return EXIT_USAGE;
        if (usage_of.empty()) std::fputs("Try 'eks-node --help'.\n", stderr);
        else std::fputs(fmt::format("{}\nTry 'eks-node {} --help'.\n", usage_line(usage_of), usage_of).c_str(), stderr);
        return EXIT_USAGE;
    } catch (...) {
        return report_exception("eks-node");
    }
}

}  // namespace eksnode::cli
