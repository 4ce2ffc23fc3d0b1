// SPDX-License-Identifier: Apache-2.0
// config.json, the hand-off from eks-node-config to every later step; a step program's main().
#include "steps/steps.hpp"

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/fsutil.hpp"

namespace eksnode::steps {

int step_main(int argc, char** argv, const StepSpec& spec, StepEntry fn) { return run_step(argc, argv, spec, fn); }

json load_config_json(const StepOptions& opts) {
    const fs::path file = opts.config_file();
    std::optional<std::string> text = read_file_if_exists(file);
    if (!text) throw ConfigError(file.string(), "", "missing; eks-node-config writes it (did it run?)");
    try {
        return json::parse(*text);
    } catch (const json::exception& e) {  // parse_error, or out_of_range for 1e400
        throw ConfigError(file.string(), "", fmt::format("not valid JSON: {}", e.what()));
    }
}

}  // namespace eksnode::steps
