#include "cli/cli.hpp"

#include <chrono>
#include <cstdio>
#include <string>
#include <sys/resource.h>
#include <vector>

#include <fmt/format.h>

#include "cli/chain.hpp"
#include "config/sources.hpp"
#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/log.hpp"
#include "core/step.hpp"
#include "resolve/config_step.hpp"
#include "resolve/resolve.hpp"

namespace eksnode {

namespace {

constexpr const char* usage_text =
    "Usage: eks-node COMMAND [OPTIONS]\n"
    "\n"
    "Commands:\n"
    "  render --root=DIR [--imds-endpoint=URL] [--user-data=FILE]\n"
    "                       run the whole chain in-process, reading and writing under DIR\n"
    "  config check [SOURCE...]\n"
    "                       validate configuration sources (default: this node's); exit 0 or 6\n"
    "  config dump [--origins] [--root=DIR]\n"
    "                       print the resolved configuration (config.json)\n"
    "  help                 show this help\n"
    "  version              show the version\n"
    "\n"
    "See eks-node(1).\n";

const StepSpec cli_spec{"eks-node", "operator CLI", {"origins"}};

// `config check` with explicit sources: each file is user data as it would be
// given to an instance (NodeConfig YAML/JSON, MIME, TOML, base64/gzip).
int config_check_sources(const std::vector<std::string>& sources) {
    json spec = json::object(), settings = json::object();
    Origins origins;
    for (const std::string& s : sources) {
        std::string raw = read_file(s);
        std::vector<Fragment> frags = s.ends_with(".toml") ? std::vector<Fragment>{fragment_from_toml(raw, s)}
                                                           : fragments_from_user_data(raw, s);
        for (const Fragment& f : frags) {
            validate_fragment(f);
            merge_fragment(spec, settings, f, origins);
        }
    }
    validate_merged(spec, settings, origins);
    fmt::print("configuration valid ({} source{})\n", sources.size(), sources.size() == 1 ? "" : "s");
    return EXIT_OK;
}

int config_cmd(const std::vector<std::string>& args) {
    if (args.empty()) throw UsageError("config: expected \"check\" or \"dump\"");
    StepOptions opts;
    std::vector<std::string> rest(args.begin() + 1, args.end());
    bool origins = false;
    std::erase_if(rest, [&](const std::string& a) { return a == "--origins" && (origins = true); });
    parse_common_options(rest, cli_spec, opts);

    if (args[0] == "check") {
        if (!opts.args.empty()) return config_check_sources(opts.args);
        resolve_from_node(opts);
        fmt::print("configuration valid\n");
        return EXIT_OK;
    }
    if (args[0] == "dump") {
        fs::path p = opts.config_file();
        auto text = read_file_if_exists(p);
        json cfg = text ? json::parse(*text) : resolve_from_node(opts);
        if (!origins) cfg.erase("origins");
        std::fputs(dump_pretty(cfg, 2).c_str(), stdout);
        return EXIT_OK;
    }
    throw UsageError(fmt::format("config: unknown subcommand \"{}\"", args[0]));
}

double cpu_ms() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

int render_cmd(const std::vector<std::string>& args) {
    StepOptions opts;
    parse_common_options(args, cli_spec, opts);
    if (opts.paths.is_host()) throw UsageError("render: --root=DIR is required (render never writes to the host)");
    if (!opts.args.empty()) throw UsageError(fmt::format("render: unexpected argument \"{}\"", opts.args[0]));

    for (const ChainStep& step : chain_steps()) {
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
    }
    return EXIT_OK;
}

}  // namespace

int cli_main(int argc, char** argv) {
    log::Level lvl = log::Level::warning;  // an interactive tool: only problems by default
    log::init("eks-node", lvl);
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
        std::fputs(usage_text, args.empty() ? stderr : stdout);
        return args.empty() ? EXIT_USAGE : EXIT_OK;
    }
    if (args[0] == "version" || args[0] == "--version") {
        fmt::print("eks-node {}\n", EKS_NODE_VERSION);
        return EXIT_OK;
    }
    std::string cmd = args[0];
    std::vector<std::string> rest(args.begin() + 1, args.end());
    try {
        if (cmd == "render") return render_cmd(rest);
        if (cmd == "config") return config_cmd(rest);
        throw UsageError(fmt::format("unknown command \"{}\" (see eks-node help)", cmd));
    } catch (...) {
        int code = report_exception("eks-node");
        if (code == EXIT_USAGE) std::fputs(usage_text, stderr);
        return code;
    }
}

}  // namespace eksnode
