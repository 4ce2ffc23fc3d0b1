#include "resolve/config_step.hpp"

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/log.hpp"
#include "resolve/resolve.hpp"

namespace eksnode {

json resolve_from_node(const StepOptions& opts) {
    ResolveInput in{opts.paths, json::object(), std::nullopt};

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
        in.user_data = read_file(opts.user_data_file);
        in.user_data_label = opts.user_data_file;  // errors then read "FILE (MIME part 2, …): field: …"
    } else {
        in.user_data = read_file_if_exists(opts.paths.of(path::user_data));
    }
    return resolve_config(in);
}

StepResult run_config_step(const StepOptions& opts) {
    json cfg = resolve_from_node(opts);
    StepResult r;
    fs::path out = opts.config_file();
    r.add(out, write_file_atomic(out, dump_pretty(cfg), 0600));
    return r;
}

}  // namespace eksnode
