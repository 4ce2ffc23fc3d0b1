// SPDX-License-Identifier: Apache-2.0
// eks-node-generator: settings.hooks, each its own eks-node-hook@NAME unit
// ordered at its stage of the join (eks-node-hook(8)).
#include <fmt/format.h>

#include "core/fsutil.hpp"
#include "core/units.hpp"
#include "generator/plan.hpp"
#include "input/hooks.hpp"

namespace eksnode::generator::detail {

// ---- hooks: settings.hooks, each its own unit -------------------------------

namespace {

constexpr std::string_view joined_unit = "eks-node-joined.service";

// The steps that prepare the node (units/steps.tsv's order column), as After=
// lines of a readable width: what a before-kubelet hook waits for.
std::string after_prepare_steps() {
    std::string out, line;
    for (const units::Unit& u : units::all()) {
        if (u.order != units::Order::prepare) continue;
        if (!line.empty() && line.size() + 1 + u.unit.size() > 100) {
            out += line + "\n";
            line.clear();
        }
        line += line.empty() ? fmt::format("After={}", u.unit) : fmt::format(" {}", u.unit);
    }
    return line.empty() ? out : out + line + "\n";
}

// What each stage's drop-in says about order, with the reason for each line.
std::string stage_order(input::hooks::Stage stage) {
    using input::hooks::Stage;
    switch (stage) {
    case Stage::before_containerd:
        return "# stage = \"before-containerd\": containerd starts after it, and so does\n"
               "# everything waiting for containerd (kubelet). Not after eks-node-config:\n"
               "# containerd starts at boot, in parallel with the steps\n"
               "Before=containerd.service kubelet.service\n";
    case Stage::before_kubelet:
        return "# stage = \"before-kubelet\": after the steps that prepare the node have\n"
               "# written its files and containerd runs on them, so the command sees the\n"
               "# node as kubelet will; not after the pre-flight checks, which the command\n"
               "# may be what makes pass (units/steps.tsv's order column)\n" +
               after_prepare_steps() +
               "After=containerd.service\n"
               "# kubelet waits for it\n"
               "Before=kubelet.service\n";
    case Stage::after_join:
        return "# stage = \"after-join\": once kubelet answers its health check, as far as the\n"
               "# node can tell it joined (eks-node-joined(8)); not run if it never does\n"
               "Requires=eks-node-joined.service\n"
               "After=eks-node-joined.service kubelet.service\n"
               "# after the target, so that neither it nor multi-user.target waits for the hook\n"
               "After=eks-node.target\n"
               "# not while kubelet is held back in an Auto Scaling warm pool: a skipped\n"
               "# eks-node-joined would not stop it (eks-node-warm-pool(8))\n"
               "ConditionPathExists=!/run/eks-node/warm-pool\n";
    }
    return {};
}

void add_hook(GeneratorPlan& plan, const input::hooks::Hook& h, const std::string& source, const std::string& where) {
    using input::hooks::Stage;
    const std::string unit = input::hooks::unit_name(h.name);
    std::string failure = !h.essential ? "# essential = false: a failure is logged, and the join goes on\n"
                          : h.stage == Stage::after_join
                              ? "# essential: a failure stops kubelet (eks-node-failed.target), as a failed\n"
                                "# step before the join would have held it back\n"
                                "OnFailure=eks-node-failed.target\n"
                              : "# essential: a failure holds kubelet back (eks-node-failed.target)\n"
                                "OnFailure=eks-node-failed.target\n";
    std::string description = h.description.empty() ? fmt::format("EKS node hook {}", h.name)
                                                    : fmt::format("EKS node hook {}: {}", h.name, h.description);
    add_file(plan, hook_dropin(h.name),
             fmt::format("#\n"
                         "# settings.hooks.{} {}.\n"
                         "# eks-node-hook reads its command and environment from hook.json beside this\n"
                         "# file (0600: systemd would show them to every user) and runs it, no shell.\n"
                         "\n"
                         "[Unit]\n"
                         "Description={}\n"
                         "SourcePath={}\n"
                         "{}"
                         "{}"
                         "\n"
                         "[Service]\n"
                         "TimeoutStartSec={}\n"
                         "ExecStart={}\n",
                         h.name, comment(where), syntax::unit::value(description), source_path(source),
                         stage_order(h.stage), failure,
                         h.timeout.count() % 1000 ? fmt::format("{}ms", h.timeout.count())
                                                  : fmt::format("{}s", h.timeout.count() / 1000),
                         input::hooks::exec_line({std::string(hook_runner), h.name})));
    // After the drop-in, which a writer may refuse: no link to a hook without one.
    // A template instance's .wants/ link points at the template, as systemctl enable makes it.
    plan.files["eks-node.target.wants/" + unit] = {GeneratedFile::Kind::symlink,
                                                   fmt::format("{}/eks-node-hook@.service", unitdir)};
    if (h.stage == Stage::after_join) add_wants(plan, "eks-node.target", joined_unit);
    plan.files[hook_command_file(h.name)] = {GeneratedFile::Kind::file, input::hooks::command_file_text(h), 0600};
}

}  // namespace

void add_hooks(GeneratorPlan& plan, const Settings& s, const Paths& paths) {
    const json* table = member(&s.settings, "hooks");
    if (!table) return;
    // Static hooks name their fragments: those are read once, for every hook.
    std::vector<StaticFragment> fragments;
    if (!s.from_config_json) fragments = static_fragments(paths);
    std::string table_source = s.from_config_json ? std::string(path::config_json) : last_setter(fragments, {"hooks"});
    std::vector<input::hooks::Hook> hooks;
    try {
        hooks = input::hooks::read(*table, [&](const std::string&) { return table_source; });
    } catch (const std::exception& e) {
        // eks-node-config refuses the same table with exit 6 (or, for a static
        // fragment, `eks-node config check` says so): no hook runs half declared.
        warn(plan, fmt::format("{}, ignoring every hook", e.what()));
        return;
    }
    for (const input::hooks::Hook& h : hooks) {
        // SourcePath= is where the hook's command was declared, whether the
        // generator reads it from config.json (its origins) or, at boot, from
        // the static fragments: so a hook of the image or an admin generates
        // the same drop-in both times, and writing config.json does not call
        // for a daemon-reload (nor restart containerd for a before-containerd
        // hook). A hook from user data is only ever read from config.json.
        std::string source, where;
        if (s.from_config_json) {
            const json* origin =
                member(member(&s.config, "origins"), fmt::format("/settings/hooks/{}/command/0", h.name).c_str());
            std::string o = origin && origin->is_string() ? origin->get<std::string>() : std::string();
            if (o.starts_with('/')) {
                source = o;
                where = "in " + o;
            } else {
                source = std::string(path::config_json);
                where = o.empty() ? "in " + source : fmt::format("in {}, set by {}", source, o);
            }
        } else {
            source = last_setter(fragments, {"hooks", h.name, "command"});
            where = "in " + source;
        }
        try {
            add_hook(plan, h, source, where);
        } catch (const syntax::Unwritable& e) {
            // eks-node-config refuses what the writers cannot write; this is a config.json from before.
            warn(plan, fmt::format("settings.hooks.{}: {}, ignoring the hook", h.name, e.what()));
            continue;
        }
        plan.messages.push_back(
            {Level::debug, fmt::format("settings.hooks.{} ({}): pulling in {}", h.name,
                                       input::hooks::stage_name(h.stage), input::hooks::unit_name(h.name))});
    }
}

}  // namespace eksnode::generator::detail
