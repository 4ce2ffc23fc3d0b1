// SPDX-License-Identifier: Apache-2.0
// eks-node-ebs-volumes: the EBS volumes of spec.instance.storage.volumes,
// found, formatted when blank, and linked for the .mount units the generator
// made from the same entries. See eks-node-ebs-volumes(8).
#include <fmt/format.h>

#include "core/log.hpp"
#include "steps/steps.hpp"
#include "storage/ebs.hpp"

namespace eksnode::steps {

const StepSpec ebs_volumes_spec{"ebs-volumes", "format and mount the EBS data volumes"};

// Under a root other than / it only plans and logs: no device is touched.
StepResult ebs_volumes(const StepOptions& opts) {
    const json config = load_config_json(opts);
    std::string source = opts.config_path.empty() ? std::string(path::config_json) : opts.config_file().string();
    const std::vector<storage::Volume> volumes =
        storage::volumes_from_config(config, [&](const std::string&) { return source; });
    if (volumes.empty()) {
        log::info("spec.instance.storage.volumes is not set: no EBS volume to set up");
        return {};
    }
    for (const storage::Volume& v : volumes)
        log::info("{}: {} on {} ({})", v.field(), v.device, fmt::join(v.targets, ", "),
                  v.fs_type_set ? v.fs_type : "xfs when blank, else the xfs or ext4 it holds");
    if (!opts.paths.is_host()) {
        log::info("--root={}: planned only, no device touched", opts.paths.root().string());
        return {};
    }
    return storage::apply_volumes(volumes, opts.paths);
}

}  // namespace eksnode::steps
