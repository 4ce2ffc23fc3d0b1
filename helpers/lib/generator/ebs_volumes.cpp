// SPDX-License-Identifier: Apache-2.0
// eks-node-generator: instance.storage.volumes (eks-node-ebs-volumes(8)):
// the step, a mount unit per target, and the consumers' RequiresMountsFor=.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "generator/plan.hpp"
#include "storage/ebs.hpp"

namespace eksnode::generator::detail {

namespace {

constexpr std::string_view ebs_unit = "eks-node-ebs-volumes.service";

// The volume on its first target; each further target a bind mount of the
// first, so that every target shows the whole volume, as nodeadm's mount of
// the volume on each of them does, with one filesystem mounted once.
std::string mount_unit_body(const storage::Volume& v, size_t k) {
    const bool bind = k > 0;
    std::string what = bind ? v.targets.front() : v.link();
    std::string deps;
    if (bind)
        deps = fmt::format("# the directory it binds is the volume's mount\nRequiresMountsFor={}\n",
                           syntax::unit::path(v.targets.front()));
    std::string type;
    if (bind) type = "Type=none\n";
    else if (v.fs_type_set) type = fmt::format("Type={}\n", v.fs_type);
    else
        type =
            "# fsType unset: the filesystem the volume holds (xfs or ext4; the step refuses\n"
            "# any other), as mount(8) finds it\n";
    return mount_unit(
        {.head = fmt::format("{}: {} on {}.", v.field(), comment(v.device), comment(v.targets[k])),
         .description = fmt::format("EKS node: EBS volume {} on {}", syntax::unit::value(comment(v.device)),
                                    syntax::unit::value(v.targets[k])),
         .step = ebs_unit,
         .why = fmt::format("the step finds the device, formats a blank one and links it as {}", v.link()),
         .extra = deps,
         .what = what,
         .where = v.targets[k],
         .type = type,
         .options = bind ? "bind" : "defaults,noatime"});
}

// The step and the primary consumer's wait for it, without mount units:
// the step refuses what could not be planned, and its failure holds the
// consumer back (OnFailure=eks-node-failed.target).
void add_ebs_step_only(GeneratorPlan& plan, const json* config) {
    const json* node = member(member(config, "settings"), "node");
    const bool ecs = node && *node == "ecs";
    add_wants(plan, ecs ? "ecs-node.target" : "eks-node.target", ebs_unit);
    const std::string primary(storage::primary_consumer(ecs ? storage::Node::ecs : storage::Node::eks));
    add_file(plan, primary + ".d/50-eks-node-ebs-volumes.conf",
             fmt::format("#\n"
                         "# spec.instance.storage.volumes could not be planned: {} starts only\n"
                         "# after {} succeeded, which refuses it (fail closed).\n"
                         "\n"
                         "[Unit]\n"
                         "Documentation=man:eks-node-ebs-volumes(8)\n"
                         "SourcePath={}\n"
                         "Wants={}\n"
                         "After={}\n",
                         primary, ebs_unit, source_path(path::config_json), ebs_unit, ebs_unit));
}

}  // namespace

void add_ebs_volumes(GeneratorPlan& plan, const json* config) {
    if (!config) return;
    std::vector<storage::Volume> volumes;
    try {
        volumes =
            storage::volumes_from_config(*config, [](const std::string&) { return std::string(path::config_json); });
    } catch (const std::exception& e) {
        // eks-node-config refuses it with exit 6. A config.json it did not
        // write (or an older one's rules) fails closed: the step alone is
        // pulled in, refuses the same volumes with exit 6, and holds kubelet
        // back, rather than kubelet and containerd starting on the root
        // disk without the mounts.
        warn(plan, fmt::format("{}; only {} is pulled in, to fail", e.what(), ebs_unit));
        add_ebs_step_only(plan, config);
        return;
    }
    if (volumes.empty()) return;
    const json* node = member(member(config, "settings"), "node");
    const bool ecs = node && *node == "ecs";
    const std::string target = ecs ? "ecs-node.target" : "eks-node.target";
    // Belt and braces: volumes_from_config() refuses a target whose unit
    // could not be written; should one get here all the same, no unit is
    // written (a failed write would leave the others without it) and the
    // step, which reads the same rules, fails the join.
    for (const storage::Volume& v : volumes)
        for (const std::string& t : v.targets)
            if (std::string problem = storage::unit_name_problem(t, ".mount"); !problem.empty()) {
                warn(plan, fmt::format("{}: {}; only {} is pulled in, to fail", v.field(), problem, ebs_unit));
                add_ebs_step_only(plan, config);
                return;
            }
    add_wants(plan, target, ebs_unit);

    std::vector<std::string> targets;
    for (const storage::Volume& v : volumes) {
        for (size_t k = 0; k < v.targets.size(); ++k) {
            std::string name = storage::escape_path(v.targets[k]) + ".mount";
            add_file(plan, name, mount_unit_body(v, k));
            plan.files[target + ".wants/" + name] = {GeneratedFile::Kind::symlink, "../" + name};
            targets.push_back(v.targets[k]);
        }
    }
    plan.messages.push_back({Level::debug, fmt::format("spec.instance.storage.volumes: pulling in {} ({} volumes)",
                                                       ebs_unit, volumes.size())});
    const std::string primary(storage::primary_consumer(ecs ? storage::Node::ecs : storage::Node::eks));
    for (const std::string& unit : storage::ebs_consumers(ecs ? storage::Node::ecs : storage::Node::eks)) {
        std::string body = fmt::format(
            "#\n"
            "# spec.instance.storage.volumes ({} volumes): {} starts only with\n"
            "# {} mounted (fail closed).\n"
            "\n"
            "[Unit]\n"
            "Documentation=man:eks-node-ebs-volumes(8)\n"
            "SourcePath={}\n",
            volumes.size(), unit, comment(fmt::format("{}", fmt::join(targets, " "))), source_path(path::config_json));
        if (unit == primary)
            body += fmt::format(
                "# After= alone: the node's target starts the step; a failed one holds {}\n"
                "# back through its OnFailure=eks-node-failed.target and the mounts\n"
                "# (Requisite= on the step). Neither a re-run restarts it nor its start\n"
                "# re-runs the step (eks-node-generator(8), FAILED STEPS)\n"
                "After={}\n",
                unit, ebs_unit);
        body += fmt::format("RequiresMountsFor={}\n", syntax::unit::paths(targets));
        add_file(plan, unit + ".d/50-eks-node-ebs-volumes.conf", body);
    }
}

}  // namespace eksnode::generator::detail
