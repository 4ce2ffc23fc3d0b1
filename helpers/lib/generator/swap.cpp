// SPDX-License-Identifier: Apache-2.0
// eks-node-generator: settings.swap (eks-node-swap(8)): a .swap unit for the
// file the step makes, kubelet ordered after it.
#include <fmt/format.h>

#include "core/fsutil.hpp"
#include "generator/plan.hpp"
#include "storage/storage.hpp"

namespace eksnode::generator::detail {

namespace {

constexpr std::string_view swap_step_unit = "eks-node-swap.service";

}  // namespace

// derived.swap (eks-node-swap(8)): a .swap unit for the file, as systemd's
// fstab-generator writes one for a swap line, so systemd does the swapon,
// shows it (systemctl status, swap.target) and switches it off at shutdown;
// kubelet ordered after it. The file is made by eks-node-swap, pulled in
// when there is something to make or remove (wanted_optional_units), so
// nothing but the unit and the orderings is generated here. Only from
// config.json: the unit appears with eks-node-config's daemon-reload.
void add_swap(GeneratorPlan& plan, const json* config) {
    const json* swap = config ? path_in(*config, {"derived", "swap"}) : nullptr;
    if (!swap || !swap->is_object()) return;
    const json* file = path_in(*swap, {"file"});
    if (!file || !file->is_string() || !file->get_ref<const std::string&>().starts_with('/')) {
        warn(plan, fmt::format("{}: derived.swap.file: not an absolute path, ignoring", path::config_json));
        return;
    }
    const std::string& where = file->get_ref<const std::string&>();
    std::string problem = syntax::unit::path_problem(where);
    if (problem.empty()) problem = storage::unit_name_problem(where, ".swap");
    if (!problem.empty()) {
        // eks-node-swap, pulled in for derived.swap all the same, refuses the
        // same file with exit 6 and holds kubelet back: kubelet never starts
        // with failSwapOn = false and no swap unit
        warn(plan, fmt::format("{}: derived.swap.file: {}; no swap unit, eks-node-swap fails on it", path::config_json,
                               problem));
        return;
    }
    const std::string name = storage::escape_path(where) + ".swap";
    add_file(plan, name,
             fmt::format("#\n"
                         "# settings.swap: the swap file eks-node-swap made.\n"
                         "\n"
                         "[Unit]\n"
                         "Description=EKS node: swap file {}\n"
                         "Documentation=man:eks-node-swap(8)\n"
                         "SourcePath={}\n"
                         "# the file exists, whole and mkswap'ed, only once the step has run;\n"
                         "# Requisite=: this unit's start never re-runs a failed step\n"
                         "# (eks-node-generator(8), FAILED STEPS)\n"
                         "Requisite={}\n"
                         "After={}\n"
                         "# the file's directory: the root file system, or the instance-store mount\n"
                         "RequiresMountsFor={}\n"
                         "# enabled late, after the step (which follows eks-node-config): the default\n"
                         "# Before=swap.target would order it before sysinit.target, a cycle\n"
                         "DefaultDependencies=no\n"
                         "Conflicts=umount.target\n"
                         "Before=umount.target\n"
                         "\n"
                         "[Swap]\n"
                         "What={}\n",
                         comment(where), source_path(path::config_json), swap_step_unit, swap_step_unit,
                         syntax::unit::paths({fs::path(where).parent_path().string()}), syntax::unit::path(where)));
    plan.files["eks-node.target.wants/" + name] = {GeneratedFile::Kind::symlink, "../" + name};
    add_file(plan, "kubelet.service.d/50-eks-node-swap.conf",
             fmt::format("#\n"
                         "# settings.swap: kubelet (failSwapOn false, memorySwap as set) starts with\n"
                         "# the swap file on, as its swap behaviour is measured against it.\n"
                         "\n"
                         "[Unit]\n"
                         "Documentation=man:eks-node-swap(8)\n"
                         "SourcePath={}\n"
                         "Wants={}\n"
                         "After={}\n",
                         source_path(path::config_json), name, name));
    if (where != path::swap_file)
        add_file(plan, std::string(swap_step_unit) + ".d/50-eks-node-instance-store.conf",
                 fmt::format("#\n"
                             "# settings.swap.location = instance-store: the step makes the file on the\n"
                             "# instance-store mount, after eks-node-instance-store mounted it.\n"
                             "\n"
                             "[Unit]\n"
                             "Documentation=man:eks-node-swap(8)\n"
                             "SourcePath={}\n"
                             "RequiresMountsFor={}\n",
                             source_path(path::config_json),
                             syntax::unit::paths({fs::path(where).parent_path().string()})));
    plan.messages.push_back({Level::debug, fmt::format("settings.swap: {} enables {}", name, where)});
}

}  // namespace eksnode::generator::detail
