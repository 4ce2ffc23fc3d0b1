#include "resolve/config_step.hpp"

#include <fmt/format.h>

#include "aws/api.hpp"
#include "config/sources.hpp"
#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/log.hpp"
#include "core/systemd.hpp"
#include "generator/generator.hpp"
#include "resolve/resolve.hpp"

namespace eksnode {

json resolve_from_node(const StepOptions& opts) {
    ResolveInput in{opts.paths, json::object(), std::nullopt};
    // EC2 and EKS lookups, made only when the configuration needs them.
    in.api = aws::make_api_lookups;

    fs::path instance_path = opts.paths.of(path::instance_json);
    auto instance_text = read_file_if_exists(instance_path);
    if (!instance_text)
        throw Error(fmt::format("{}: missing; eks-node-imds writes it (systemctl status eks-node-imds)",
                                instance_path.string()));
    try {
        in.instance = json::parse(*instance_text);
    } catch (const json::parse_error& e) {
        throw Error(fmt::format("{}: not valid JSON: {}", instance_path.string(), e.what()));
    }

    if (!opts.user_data_file.empty()) {
        in.user_data = read_user_data_file(opts.user_data_file);
        in.user_data_label = opts.user_data_file;  // errors then read "FILE (MIME part 2, …): field: …"
    } else {
        in.user_data = read_file_if_exists(opts.paths.of(path::user_data));
    }
    return resolve_config(in);
}

namespace {

// One daemon-reload, only if the new config.json changes what the generator
// writes (an optional step or mount unit appears or goes away); then start
// eks-node.target again, so units the target now wants get start jobs in the
// boot transaction that is still running. Nothing is waited for: the jobs
// are ordered after this step.
void reload_if_units_change(const Paths& paths, const generator::GeneratorPlan& before) {
    generator::GeneratorPlan after = generator::plan_from_disk(paths);
    if (after.same_units(before)) {
        log::debug("generated units unchanged, no daemon-reload");
        return;
    }
    if (!sd::manages_host(paths)) {
        log::info("the configuration changes the generated units; a daemon-reload would be due (not a systemd "
                  "service on the host: skipped)");
        return;
    }
    log::info("the configuration changes the generated units: reloading systemd once");
    sd::daemon_reload();
    sd::start_unit("eks-node.target");
}

}  // namespace

StepResult run_config_step(const StepOptions& opts) {
    json cfg = resolve_from_node(opts);
    StepResult r;
    fs::path out = opts.config_file();
    // Only the config.json the generator reads can change the generated units.
    bool generator_reads_it = opts.config_path.empty();
    std::optional<generator::GeneratorPlan> before;
    if (generator_reads_it) before = generator::plan_from_disk(opts.paths);
    WriteResult w = write_file_atomic(out, dump_pretty(cfg), 0600);
    r.add(out, w);
    if (before && w == WriteResult::written) reload_if_units_change(opts.paths, *before);
    return r;
}

}  // namespace eksnode
