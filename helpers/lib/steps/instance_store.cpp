// SPDX-License-Identifier: Apache-2.0
// eks-node-instance-store: the md array and XFS filesystems that the
// generated .mount units put on the EC2 instance-store disks.
// See eks-node-instance-store(8).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/log.hpp"
#include "steps/steps.hpp"
#include "storage/apply.hpp"
#include "storage/storage.hpp"

namespace eksnode::steps {

const StepSpec instance_store_spec{"instance-store", "set up the EC2 instance-store disks"};

// Reads spec.instance.localStorage from config.json, finds the disks (the
// same discovery the generator's mount units come from), plans the layout
// and applies it. Under a root other than / it only plans and logs: no
// device is touched.
StepResult instance_store(const StepOptions& opts) {
    const json config = load_config_json(opts);
    const std::string source = opts.config_path.empty() ? std::string(path::config_json) : opts.config_file().string();
    std::optional<storage::Settings> settings = storage::settings_from_config(config, source);
    if (!settings) {
        log::info("spec.instance.localStorage.strategy is not set: instance-store disks are left alone");
        return {};
    }
    storage::Discovery found = storage::discover(opts.paths, settings->mount_path);
    for (const auto& s : found.skipped) log::info("/dev/{}: {}, leaving it alone", s.name, s.why);
    if (found.disks.empty()) {
        log::info("no {} disks on this instance: nothing to do", storage::instance_store_model);
        return {};
    }
    storage::Layout layout = storage::plan_layout(*settings, found.disks, source);
    std::vector<std::string> devices;
    for (const storage::Disk& d : layout.disks) devices.push_back(d.device());
    log::info("{} over {} instance-store disk(s): {}", storage::strategy_name(layout.strategy), layout.disks.size(),
              fmt::join(devices, ", "));
    if (!opts.paths.is_host()) {
        log::info("--root={}: planned only, no device touched", opts.paths.root().string());
        return {};
    }
    return storage::apply_layout(layout);
}

}  // namespace eksnode::steps
