// SPDX-License-Identifier: Apache-2.0
// eks-node-generator's decisions. The table below is the contract; it is
// repeated in eks-node-generator(8). plan_units() here takes them in order;
// each lives in its own file beside this one (plan.hpp lists them): the
// command line and settings (settings.cpp), the instance store
// (instance_store.cpp), containerd's order and SOCI (containerd.cpp), hooks
// (hooks.cpp), the runtimes' modules (runtimes.cpp), the read-ahead
// (readahead.cpp); ECS and the optional units here.
//
// Enabled? The first of these that says:
//   1. eks-node.enable=BOOL on the kernel command line, the last valid one
//      (BOOL: 1 yes y true t on | 0 no n false f off; a bare eks-node.enable is 1)
//   2. settings.enable in /run/eks-node/config.json, if that file exists
//      (eks-node-config wrote it from user data and the static fragments)
//   3. else settings.enable in the static fragments: node.toml.d/*.toml in
//      /usr/lib/eks-node, /run/eks-node, /etc/eks-node (user data aside)
//   4. else enabled
// Log level? The same order: eks-node.log-level=LEVEL (error warning notice
// info debug), settings.logLevel in config.json, else in the static
// fragments; else none is set and the steps log at info.
//
//   decision                      writes (relative to the normal generator directory)
//   in the initrd                 nothing (/etc/initrd-release exists; steps run after switch-root)
//   enabled                       multi-user.target.wants/eks-node.target -> UNITDIR/eks-node.target
//   enabled, settings.node =      multi-user.target.wants/ecs-node.target -> UNITDIR/ecs-node.target, and
//   "ecs" (config.json, else      NAME.service.d/50-ecs-node.conf (an always-false condition) for each EKS
//   the static fragments)         step (decide_ecs(), add_ecs()); of the decisions below only the instance
//                                 store, under ecs-node.target, with /var/lib/docker for /var/lib/kubelet
//                                 and docker.service for kubelet.service (no pods or SOCI binds); and the
//                                 runtime handlers' modules (add_runtime_modules()) go to docker.service too
//   disabled                      eks-node-.service.d/50-disabled.conf: an always-false condition,
//                                 so every eks-node-*.service is skipped (not failed)
//   log level set                 eks-node-.service.d/50-log-level.conf: Environment=EKS_NODE_LOG_LEVEL=
//   enabled (either kind), and    sysinit.target.wants/eks-node-readahead.service -> UNITDIR/...: the join's
//   /usr/lib/eks-node/readahead.  files read into the page cache from the boot's first moment
//   list or /etc/eks-node/        (eks-node-readahead(8)); /etc's a link to /dev/null: nothing
//   readahead.list exists
//   enabled, and config.json has  eks-node.target.wants/eks-node-hosts.service -> UNITDIR/eks-node-hosts.service
//   spec.cluster.enableOutpost    kubelet.service.d/50-eks-node-hosts.conf: Wants=, After=
//   = true (Outposts)             eks-node-hosts.service (kubelet fails closed without it)
//   enabled, and config.json has  eks-node.target.wants/eks-node-instance-store.service -> UNITDIR/...
//   spec.instance.localStorage.   kubelet.service.d/50-eks-node-instance-store.conf: Wants=, After= the step
//   strategy, and /sys/block has  RAID0, RAID10: MOUNTPATH/0 (/dev/md/eks-node, xfs) and the bind mounts
//   instance-store disks          /var/lib/kubelet, and unless disabledMounts says so /var/lib/containerd,
//                                 /var/log/pods, /var/lib/soci-snapshotter (from MOUNTPATH/0/NAME);
//                                 Mount: MOUNTPATH/1..N, disk i by serial (/dev/disk/by-id/nvme-...), xfs.
//                                 Each as NAME.mount + eks-node.target.wants/NAME.mount -> ../NAME.mount,
//                                 and CONSUMER.service.d/50-eks-node-instance-store.conf: RequiresMountsFor=
//                                 for the services using them (kubelet, eks-node-kubelet, containerd,
//                                 soci-snapshotter). RAID10 with < 4 disks: only the step and the
//                                 kubelet drop-in (the step fails with exit 6, kubelet never starts).
//                                 No disks: nothing (logged at info).
//   enabled, and config.json has  eks-node.target.wants/eks-node-ebs-volumes.service; per target NAME.mount
//   spec.instance.storage.volumes (the first of a volume: /run/eks-node/ebs-volumes/N, a further one a bind
//                                 of the first) + its .wants/ link; CONSUMER.service.d/50-eks-node-ebs-
//                                 volumes.conf: RequiresMountsFor= every target (kubelet's: Wants=, After=
//                                 the step). Volumes eks-node-config refuses (a target the OS owns, a
//                                 mount unit name over 255 bytes...): no mount unit, only the step and
//                                 kubelet's Wants=, After= it; the step refuses them (fail closed).
//   enabled, and config.json has  containerd.service.d/50-eks-node-soci.conf: Requires=, After=
//   derived.sociSnapshotter =     soci-snapshotter.service (containerd's CRI pulls through it), and,
//   true (FastImagePull)          if /etc/eks/pause.tar exists, eks-node-pause-image.service (wanted by
//                                 containerd and kubelet, after the steps that may restart containerd)
//                                 checking that archive and importing the cached pause image into the
//                                 snapshotter (pod sandboxes unpack there)
//   enabled, and /etc/containerd/ containerd.service.d/50-eks-node-after-render.conf: After=eks-node-containerd,
//   config.toml is missing, or    and the same for eks-node-ca and eks-node-kubelet (they run while containerd
//   not rendered by eks-node      starts). Else containerd starts at boot in parallel with the steps, on the
//                                 file eks-node rendered; eks-node-containerd restarts it if its render differs
//
// Bad input never fails the boot. It is skipped with a warning "…, ignoring":
//   a malformed or unknown eks-node.* switch         -> that switch is ignored
//   config.json unreadable, not JSON, not schema 1   -> the static fragments decide; no optional steps
//   a bad value in config.json's settings            -> that setting is not set
//   a bad static fragment (config::static_settings throws,   -> no static settings (so: enabled)
//     also for a file name with a control character)
//   a value a unit-file writer refuses (core/syntax.hpp)     -> that hook is not generated; a mount's
//                                                               path: no mount units, only the step;
//                                                               a source path it refuses -> SourcePath=config.json
//   a bad spec.instance.localStorage in config.json  -> no mount units, only the step and the
//                                                       consumer's wait for it: the step refuses it
//                                                       with exit 6 (fail closed)
//   /sys/block cannot be listed                      -> no instance-store units
// Only a wrong number of arguments is an error (exit 1), as for systemd's generators.
#include "generator/generator.hpp"

#include <fcntl.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <system_error>

#include <fmt/format.h>

#include "config/runtimes.hpp"
#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/jsonutil.hpp"
#include "core/syntax.hpp"
#include "core/units.hpp"
#include "generator/generator_config.hpp"
#include "generator/plan.hpp"
#include "input/fragments.hpp"
#include "input/hooks.hpp"
#include "storage/storage.hpp"

namespace eksnode::generator {

using namespace detail;

namespace {

void add_disabled(GeneratorPlan& plan, const Decision<bool>& d) {
    std::string override_hint = d.source == kernel_cmdline_source()
                                    ? "Boot without it to run the steps."
                                    : "eks-node.enable=1 on the kernel command line overrides it.";
    add_file(plan, "eks-node-.service.d/50-disabled.conf",
             fmt::format("#\n"
                         "# eks-node is disabled by {}.\n"
                         "# {}\n"
                         "#\n"
                         "# Nothing pulls in eks-node.target, and this drop-in skips every\n"
                         "# eks-node-*.service: a unit whose condition fails is skipped, not failed,\n"
                         "# so kubelet.service and containerd.service, which Require= eks-node\n"
                         "# steps, still start, on configuration eks-node did not write.\n"
                         "#\n"
                         "# The two conditions together are always false. On a plain boot\n"
                         "# `systemctl status` shows the first as unmet, which says how to enable\n"
                         "# eks-node; the second keeps the steps skipped when a later\n"
                         "# eks-node.enable=0 on the command line overrode an earlier =1.\n"
                         "\n"
                         "[Unit]\n"
                         "Documentation=man:eks-node-generator(8)\n"
                         "SourcePath={}\n"
                         "ConditionKernelCommandLine=eks-node.enable=1\n"
                         "ConditionKernelCommandLine=!eks-node.enable=1\n",
                         comment(d.why), override_hint, source_path(d.source)));
}

void add_log_level(GeneratorPlan& plan, const Decision<Level>& d) {
    add_file(plan, "eks-node-.service.d/50-log-level.conf",
             fmt::format("#\n"
                         "# Every eks-node step logs at {} ({}).\n"
                         "\n"
                         "[Unit]\n"
                         "SourcePath={}\n"
                         "\n"
                         "[Service]\n"
                         "Environment=EKS_NODE_LOG_LEVEL={}\n",
                         level_name(d.value), comment(d.why), source_path(d.source), level_name(d.value)));
}

void add_optional(GeneratorPlan& plan, const OptionalUnit& u) {
    add_wants(plan, "eks-node.target", u.unit);
    std::string_view stem = std::string_view(u.unit).substr(0, u.unit.rfind('.'));
    for (const std::string& r : u.required_by) {
        add_file(plan, fmt::format("{}.d/50-{}.conf", r, stem),
                 fmt::format("#\n"
                             "# {}, so eks-node.target wants {}\n"
                             "# and {} waits for it. Wants=, not Requires=: a failure stops it through\n"
                             "# eks-node-failed.target (fail closed) and a re-run restarts it only if a file changed.\n"
                             "\n"
                             "[Unit]\n"
                             "Documentation=man:eks-node-generator(8)\n"
                             "SourcePath={}\n"
                             "Wants={}\n"
                             "After={}\n",
                             comment(u.reason), u.unit, r, source_path(u.source), u.unit, u.unit));
    }
}

}  // namespace

std::string hook_dropin(std::string_view name) { return input::hooks::unit_name(name) + ".d/50-hook.conf"; }
std::string hook_command_file(std::string_view name) { return input::hooks::unit_name(name) + ".d/hook.json"; }

std::string read_kernel_cmdline(const Paths& paths) {
    // PID 1's argv in a container: its words end in NULs, where the kernel's file has spaces
    std::string text = read_file(paths.of(kernel_cmdline_source()));
    std::replace(text.begin(), text.end(), '\0', ' ');
    return text;
}

std::vector<OptionalUnit> wanted_optional_units(const Paths& paths, const json* config,
                                                std::vector<std::string>& warnings) {
    std::vector<OptionalUnit> out;
    // settings.swap's file to make, or a file of an earlier configuration to
    // remove: the root's, or the instance-store one its record names (the
    // instance store is not mounted yet). Else eks-node-swap has nothing to
    // do and is not started (it was the first of a boot's units in
    // systemd-analyze blame without swap, 78 ms for nothing).
    const json* swap = member(member(config, "derived"), "swap");
    std::error_code ec;
    if (swap && swap->is_object())
        out.push_back(
            {"eks-node-swap.service", "settings.swap asks for a swap file", std::string(path::config_json), {}});
    else if (fs::exists(paths.of(path::swap_file), ec))
        out.push_back({"eks-node-swap.service",
                       "a swap file of an earlier configuration is there to remove",
                       std::string(path::swap_file),
                       {}});
    else if (fs::exists(paths.of(path::swap_record), ec))
        out.push_back({"eks-node-swap.service",
                       "an instance-store swap file of an earlier configuration is recorded",
                       std::string(path::swap_record),
                       {}});
    const json* outpost = member(member(member(config, "spec"), "cluster"), "enableOutpost");
    if (outpost && !outpost->is_boolean())
        warnings.push_back(fmt::format("{}: spec.cluster.enableOutpost: {} is not a boolean, ignoring",
                                       path::config_json, outpost->dump()));
    else if (outpost && outpost->get<bool>())
        out.push_back({"eks-node-hosts.service",
                       "spec.cluster.enableOutpost = true (Outposts)",
                       std::string(path::config_json),
                       {"kubelet.service"}});
    // Images to pull after kubelet started: wanted by the target only, and
    // required by nothing, so that a failed pull never holds kubelet back
    // (the unit orders itself after kubelet and the target).
    const json* images = member(member(member(config, "settings"), "prePull"), "images");
    if (images && !images->is_array())
        warnings.push_back(fmt::format("{}: settings.prePull.images: not a list, ignoring", path::config_json));
    else if (images && !images->empty())
        out.push_back(
            {"eks-node-prepull.service",
             fmt::format("settings.prePull.images lists {} image{}", images->size(), images->size() == 1 ? "" : "s"),
             std::string(path::config_json),
             {}});
    // A pause image the image build did not cache (settings.containerd.pauseSource
    // regional-ecr, the packer variable cache_pause_image = false; a sandboxImage of a
    // registry): containerd would pull it at the first pod sandbox without credentials, which
    // ECR refuses. Pulled before kubelet with the credentials kubelet's image credential
    // provider gives, as AL2's sandbox-image.service and nodeadm (before AMIs cached it) did;
    // kubelet waits for it, and a failure holds kubelet back (eks-node-prepull(8)).
    const json* sandbox = member(member(config, "derived"), "sandboxImage");
    if (sandbox && !sandbox->is_string())
        warnings.push_back(fmt::format("{}: derived.sandboxImage: not a string, ignoring", path::config_json));
    else if (sandbox && !sandbox->get_ref<const std::string&>().starts_with("localhost/"))
        out.push_back(
            {"eks-node-sandbox-image.service",
             fmt::format("derived.sandboxImage {} is not cached in the image", sandbox->get_ref<const std::string&>()),
             std::string(path::config_json),
             {"kubelet.service"}});
    // Instance store needs more than a .wants/ link (mount units, drop-ins
    // naming paths): add_instance_store() below; EBS volumes likewise, add_ebs_volumes().
    return out;
}

namespace {

// ---- ECS: settings.node = "ecs" ---------------------------------------------

// settings.node: true for "ecs". eks-node-config refuses it in user data, so
// config.json and the static fragments agree on it: the boot's plan and the
// one after eks-node-config are the same, and no daemon-reload ever swaps
// one target for the other.
std::optional<Decision<bool>> decide_ecs(const Settings& s, const Paths& paths, GeneratorPlan& plan) {
    Setting e = find_setting(s, paths, "node");
    if (!e.value) return std::nullopt;
    if (*e.value == "ecs" || *e.value == "eks")
        return Decision<bool>{*e.value == "ecs", e.source,
                              fmt::format("settings.node = {} {}", e.value->dump(), e.where)};
    warn(plan, fmt::format("{}: settings.node: {} is not one of eks, ecs, ignoring", e.source, e.value->dump()));
    return std::nullopt;
}

// The steps only an EKS node runs (units/steps.tsv). Units outside eks-node still pull some in
// (containerd.service, which Docker starts, wants eks-node-containerd; an
// enabled kubelet.service wants eks-node-kubelet): on an ECS node they are
// skipped, not failed, so that no EKS step fails for want of a cluster and
// sends the node to eks-node-failed.target.
void add_ecs(GeneratorPlan& plan, const Decision<bool>& d) {
    add_wants(plan, "multi-user.target", "ecs-node.target");
    for (std::string_view unit : units::eks_only())
        add_file(plan, fmt::format("{}.d/50-ecs-node.conf", unit),
                 fmt::format("#\n"
                             "# An ECS container instance: {}.\n"
                             "# ecs-node.target runs instead of eks-node.target, and this EKS step is\n"
                             "# skipped (not failed) should another unit pull it in.\n"
                             "#\n"
                             "# The two conditions together are always false; `systemctl status` shows\n"
                             "# the first as unmet.\n"
                             "\n"
                             "[Unit]\n"
                             "Documentation=man:eks-node-generator(8)\n"
                             "SourcePath={}\n"
                             "ConditionEnvironment=EKS_NODE_EKS_STEPS_ON_ECS_NODE\n"
                             "ConditionEnvironment=!EKS_NODE_EKS_STEPS_ON_ECS_NODE\n",
                             comment(d.why), source_path(d.source)));
}

}  // namespace

GeneratorPlan plan_units(const Paths& paths, std::string_view cmdline, ConfigJson use) {
    GeneratorPlan plan;
    // As systemd's in_initrd(): should an initrd builder copy every generator,
    // the node must still be configured after switch-root, never before.
    std::error_code ec;
    if (fs::exists(paths.of("/etc/initrd-release"), ec)) {
        plan.messages.push_back({Level::debug, "in the initrd, nothing to do"});
        return plan;
    }
    CmdlineSettings cl = parse_cmdline(cmdline, plan);
    Settings s = load_settings(paths, use, plan);

    if (auto level = decide_level(cl, s, paths, plan)) {
        plan.log_level = level->value;
        add_log_level(plan, *level);
        plan.messages.push_back(
            {Level::debug, fmt::format("steps log at {} ({})", level_name(level->value), level->why)});
    }

    Decision<bool> enable = decide_enable(cl, s, paths, plan);
    if (!enable.value) {
        add_disabled(plan, enable);
        plan.messages.push_back(
            {Level::info, fmt::format("eks-node disabled by {}, its steps will be skipped", enable.why)});
        return plan;
    }
    add_readahead(plan, paths);
    if (std::optional<Decision<bool>> ecs = decide_ecs(s, paths, plan); ecs && ecs->value) {
        add_ecs(plan, *ecs);
        plan.messages.push_back({Level::info, fmt::format("an ECS container instance ({}), pulling in "
                                                          "ecs-node.target; the EKS steps will be skipped",
                                                          ecs->why)});
        // What an ECS node shares with an EKS one: the instance-store disks
        // (Docker's state on them) and the runtimes' kernel modules.
        add_instance_store(plan, paths, s.config.is_null() ? nullptr : &s.config);
        add_ebs_volumes(plan, s.config.is_null() ? nullptr : &s.config);
        add_runtime_modules(plan, s, paths, /*ecs=*/true);
        return plan;
    }
    add_wants(plan, "multi-user.target", "eks-node.target");
    plan.messages.push_back(
        {Level::debug, fmt::format("eks-node enabled ({}), pulling in eks-node.target", enable.why)});

    std::vector<std::string> warnings;
    for (const OptionalUnit& u : wanted_optional_units(paths, s.config.is_null() ? nullptr : &s.config, warnings)) {
        add_optional(plan, u);
        plan.messages.push_back({Level::debug, fmt::format("{}: pulling in {}", u.reason, u.unit)});
    }
    for (std::string& w : warnings) warn(plan, std::move(w));
    add_instance_store(plan, paths, s.config.is_null() ? nullptr : &s.config);
    add_ebs_volumes(plan, s.config.is_null() ? nullptr : &s.config);
    add_swap(plan, s.config.is_null() ? nullptr : &s.config);
    add_hooks(plan, s, paths);
    add_soci(plan, paths, s.config.is_null() ? nullptr : &s.config);
    add_runtime_modules(plan, s, paths, /*ecs=*/false);
    add_containerd_order(plan, paths);
    return plan;
}

GeneratorPlan plan_from_disk(const Paths& paths) {
    std::string cmdline;
    try {
        cmdline = read_kernel_cmdline(paths);
    } catch (const std::exception&) {
        // The generator goes on without it too.
    }
    return plan_units(paths, cmdline, ConfigJson::read);
}

std::vector<GeneratedProgram> generated_programs() {
    return {{std::string(cli_program), std::string(pause_image_unit)},
            {std::string(ctr_program), std::string(pause_image_unit)},
            {std::string(hook_runner), "eks-node-hook@NAME.service (settings.hooks)"}};
}

}  // namespace eksnode::generator
