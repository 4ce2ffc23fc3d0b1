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
    return fmt::format(
        "#\n"
        "# {}: {} on {}.\n"
        "\n"
        "[Unit]\n"
        "Description=EKS node: EBS volume {} on {}\n"
        "Documentation=man:eks-node-ebs-volumes(8)\n"
        "SourcePath={}\n"
        "{}"
        "{}"
        "\n"
        "[Mount]\n"
        "What={}\n"
        "Where={}\n"
        "{}"
        "Options={}\n",
        v.field(), comment(v.device), comment(v.targets[k]), syntax::unit::value(comment(v.device)),
        syntax::unit::value(v.targets[k]), source_path(path::config_json),
        late_mount_dependencies(
            ebs_unit, fmt::format("the step finds the device, formats a blank one and links it as {}", v.link())),
        deps, syntax::unit::path(what), syntax::unit::path(v.targets[k]), type, bind ? "bind" : "defaults,noatime");
}

}  // namespace

void add_ebs_volumes(GeneratorPlan& plan, const json* config) {
    if (!config) return;
    std::vector<storage::Volume> volumes;
    try {
        volumes =
            storage::volumes_from_config(*config, [](const std::string&) { return std::string(path::config_json); });
    } catch (const std::exception& e) {
        // eks-node-config refuses it with exit 6; a config.json it did not
        // write is ignored here, as every bad input is
        warn(plan, fmt::format("{}, ignoring", e.what()));
        return;
    }
    if (volumes.empty()) return;
    const json* node = member(member(config, "settings"), "node");
    const bool ecs = node && *node == "ecs";
    const std::string target = ecs ? "ecs-node.target" : "eks-node.target";
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
                "# Wants=, not Requires=: a failed step holds {} back through its\n"
                "# OnFailure=eks-node-failed.target (and the mounts, which Require= it),\n"
                "# without restarting it on a re-run\n"
                "Wants={}\nAfter={}\n",
                unit, ebs_unit, ebs_unit);
        body += fmt::format("RequiresMountsFor={}\n", syntax::unit::paths(targets));
        add_file(plan, unit + ".d/50-eks-node-ebs-volumes.conf", body);
    }
}

}  // namespace eksnode::generator::detail
