// SPDX-License-Identifier: Apache-2.0
// eks-node-generator: instance.localStorage (eks-node-instance-store(8)):
// the step, a mount unit per array or disk, and the consumers' RequiresMountsFor=.
#include <fmt/format.h>

#include "core/fsutil.hpp"
#include "generator/plan.hpp"
#include "storage/storage.hpp"

namespace eksnode::generator::detail {

namespace {

constexpr std::string_view instance_store_unit = "eks-node-instance-store.service";

std::string mount_unit_body(const storage::Mount& m, const std::string& reason) {
    std::string deps;
    if (m.bind) {
        deps = fmt::format(
            "# the directory it binds is on the array\n"
            "RequiresMountsFor={}\n"
            "# nothing may write to {} before it is in place\n"
            "Before={}\n",
            syntax::unit::paths({m.what}), comment(m.where), fmt::join(m.before, " "));
    }
    // a disk's serial, from the hardware, is in the description: shown escaped
    return mount_unit({.head = fmt::format("{}: {}.", comment(reason), comment(m.description)),
                       .description = fmt::format("EKS node: {}", syntax::unit::value(comment(m.description))),
                       .step = instance_store_unit,
                       .why = fmt::format("the filesystem{} exists only once the step has run",
                                          m.bind ? " (and the copied contents)" : ""),
                       .extra = deps,
                       .what = m.what,
                       .where = m.where,
                       .type = fmt::format("Type={}\n", m.bind ? "none" : "xfs"),
                       .options = m.bind ? "bind" : "defaults,noatime"});
}

// spec.instance.localStorage: the step, the mounts it prepares, and the
// services that must not start without them. Everything lands in the plan,
// so eks-node-config's before/after comparison (plan_from_disk()) sees it.
}  // namespace

void add_instance_store(GeneratorPlan& plan, const Paths& paths, const json* config) {
    if (!config) return;
    std::optional<storage::Settings> settings;
    try {
        settings = storage::settings_from_config(*config, path::config_json);
    } catch (const std::exception& e) {
        // eks-node-config refuses it with exit 6. A config.json it did not
        // write fails closed: the step alone is pulled in, refuses the same
        // settings with exit 6 and holds the node's runtime back, rather
        // than it starting on the root disk without the mounts.
        warn(plan, fmt::format("{}; only {} is pulled in, to fail", e.what(), instance_store_unit));
        const json* node = member(member(config, "settings"), "node");
        const bool ecs = node && *node == "ecs";
        const std::string primary(storage::primary_consumer(ecs ? storage::Node::ecs : storage::Node::eks));
        add_wants(plan, ecs ? "ecs-node.target" : "eks-node.target", instance_store_unit);
        add_file(plan, primary + ".d/50-eks-node-instance-store.conf",
                 fmt::format("#\n"
                             "# spec.instance.localStorage could not be planned: {} starts only\n"
                             "# after {} succeeded, which refuses it (fail closed).\n"
                             "\n"
                             "[Unit]\n"
                             "Documentation=man:eks-node-instance-store(8)\n"
                             "SourcePath={}\n"
                             "Wants={}\n"
                             "After={}\n",
                             primary, instance_store_unit, source_path(path::config_json), instance_store_unit,
                             instance_store_unit));
        return;
    }
    if (!settings) return;
    const std::string reason =
        fmt::format("spec.instance.localStorage.strategy = \"{}\"", storage::strategy_name(settings->strategy));
    storage::Discovery found;
    try {
        found = storage::discover(paths, settings->mount_path);
    } catch (const std::exception& e) {
        warn(plan, fmt::format("{}, ignoring {}", e.what(), reason));
        return;
    }
    for (const auto& s : found.skipped)
        plan.messages.push_back({Level::info, fmt::format("/dev/{}: {}, leaving it alone", s.name, s.why)});
    if (found.disks.empty()) {
        plan.messages.push_back({Level::info, fmt::format("{}, but no {} disks: nothing to set up", reason,
                                                          storage::instance_store_model)});
        return;
    }
    // The node's own target, and the service its disks hold back: kubelet,
    // or Docker on an ECS container instance.
    const bool ecs = settings->node == storage::Node::ecs;
    const std::string target = ecs ? "ecs-node.target" : "eks-node.target";
    const std::string primary(storage::primary_consumer(settings->node));
    add_wants(plan, target, instance_store_unit);
    std::optional<storage::Layout> layout;
    try {
        layout = storage::plan_layout(*settings, found.disks, path::config_json);
    } catch (const std::exception& e) {
        // The step fails on it with exit 6 and the same words; kubelet (Docker) waits for it.
        warn(plan, fmt::format("{}; only eks-node-instance-store is pulled in, to fail", e.what()));
    }
    // The paths the mount units would name, checked before any is written: a
    // half-written set of units must not be. (The step checks mountPath the
    // same way, with exit 6, and What= is udev's escaped by-id name.)
    for (const storage::Mount& m : layout ? layout->mounts : std::vector<storage::Mount>{}) {
        std::string problem = syntax::unit::path_problem(m.what);
        if (problem.empty()) problem = syntax::unit::path_problem(m.where);
        // settings_from_config() refuses a mountPath whose units' names are too long;
        // should one get here, a failed write must not leave the others without it
        if (problem.empty()) problem = storage::unit_name_problem(m.where, ".mount");
        if (problem.empty()) continue;
        warn(plan, fmt::format("{}: a mount unit cannot name {} or {}: {}; only eks-node-instance-store is pulled "
                               "in",
                               reason, m.what, m.where, problem));
        layout.reset();
        break;
    }
    plan.messages.push_back(
        {Level::debug, fmt::format("{}: pulling in {} ({} disks)", reason, instance_store_unit, found.disks.size())});

    // consumer unit -> the paths it needs mounted
    std::map<std::string, std::vector<std::string>> needs;
    needs[primary];
    if (layout) {
        for (const storage::Mount& m : layout->mounts) {
            std::string name = storage::escape_path(m.where) + ".mount";
            add_file(plan, name, mount_unit_body(m, reason));
            plan.files[target + ".wants/" + name] = {GeneratedFile::Kind::symlink, "../" + name};
            if (m.bind)
                for (const std::string& c : m.before) needs[c].push_back(m.where);
            else if (layout->strategy == storage::Strategy::mount) needs[primary].push_back(m.where);
        }
    }
    for (const auto& [unit, where] : needs) {
        const bool is_primary = unit == primary;
        std::string condition = is_primary ? fmt::format("after {} succeeded", instance_store_unit) : std::string();
        if (!where.empty())
            condition += fmt::format("{}{} mounted", is_primary ? "\n# and with " : "with ",
                                     comment(fmt::format("{}", fmt::join(where, " "))));
        std::string body = fmt::format(
            "#\n"
            "# {} ({} instance-store disks),\n"
            "# so {} starts only {} (fail closed).\n"
            "\n"
            "[Unit]\n"
            "Documentation=man:eks-node-instance-store(8)\n"
            "SourcePath={}\n",
            comment(reason), found.disks.size(), unit, condition, source_path(path::config_json));
        if (is_primary && !ecs)
            body += fmt::format(
                "# After= alone: the node's target starts the step, and a failed one holds\n"
                "# kubelet back through its OnFailure=eks-node-failed.target; neither a re-run\n"
                "# restarts kubelet nor a start of kubelet re-runs the step\n"
                "# (eks-node-generator(8), FAILED STEPS)\n"
                "After={}\n",
                instance_store_unit);
        else if (is_primary)
            body += fmt::format(
                "# After= alone: the node's target starts the step; a failed one holds the\n"
                "# ECS agent back through its OnFailure=eks-node-failed.target, and Docker\n"
                "# through the mounts (Requisite= on the step). A start of Docker (a client of\n"
                "# its socket) never re-runs the step (eks-node-generator(8), FAILED STEPS)\n"
                "After={}\n",
                instance_store_unit);
        if (!where.empty()) body += fmt::format("RequiresMountsFor={}\n", syntax::unit::paths(where));
        add_file(plan, unit + ".d/50-eks-node-instance-store.conf", body);
    }
}

}  // namespace eksnode::generator::detail
