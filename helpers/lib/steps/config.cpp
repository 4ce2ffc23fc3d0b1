// SPDX-License-Identifier: Apache-2.0
// eks-node-config: the resolver's config.json (resolve/resolve.hpp), written
// 0600 (it may hold proxy credentials from instance.environment). Nothing is
// written unless the whole configuration is valid; when the new config.json
// changes the generated units, one daemon-reload. See eks-node-config(8).

#include <algorithm>
#include <csignal>
#include <map>
#include <system_error>

#include <fmt/format.h>

#include "config/validate.hpp"
#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/log.hpp"
#include "core/outputs.hpp"
#include "core/systemd.hpp"
#include "generator/generator.hpp"
#include "input/bootstrap_sh.hpp"
#include "input/hooks.hpp"
#include "render/render.hpp"
#include "resolve/resolve.hpp"
#include "steps/steps.hpp"

namespace eksnode::steps {

const StepSpec config_spec{"config", "resolve the node configuration"};

namespace {

// settings.node = "ecs": the node kind user data cannot change (the generator's
// plan picks the same one)
bool ecs_node(const json& cfg) { return config::config_node_kind(cfg) == config::NodeKind::ecs; }

// containerd (and whatever else runs early) starts at boot, before this step
// knew that instance-store mounts go over its state directory: a running
// service would keep the directory it opened, hidden under the mount, and
// eks-node-instance-store would copy it while it is written. Each running
// service the new plan gives mounts it did not have is stopped, and waited
// for (its stop is ordered after no step), before the reload; it is started
// again after it, ordered after the mounts. Returns the units stopped.
std::vector<std::string> stop_services_under_new_mounts(const generator::GeneratorPlan& before,
                                                        const generator::GeneratorPlan& after) {
    // the drop-ins that give a service mounts: instance store's and the EBS volumes'
    constexpr std::pair<std::string_view, std::string_view> kinds[] = {
        {".service.d/50-eks-node-instance-store.conf", "instance-store"},
        {".service.d/50-eks-node-ebs-volumes.conf", "EBS volume"}};
    std::vector<std::string> stopped;
    for (const auto& [rel, file] : after.files) {
        const std::string& name = rel;  // (clang 14 refuses a structured binding captured by a lambda)
        auto kind =
            std::find_if(std::begin(kinds), std::end(kinds), [&](const auto& k) { return name.ends_with(k.first); });
        if (kind == std::end(kinds)) continue;
        const std::string_view suffix = kind->first;
        if (auto was = before.files.find(rel); was != before.files.end() && was->second == file) continue;
        std::string unit = rel.substr(0, rel.size() - suffix.size() + std::string_view(".service").size());
        if (std::find(stopped.begin(), stopped.end(), unit) != stopped.end()) continue;
        std::optional<std::string> state = sd::active_state(unit);
        if (!state || (*state != "active" && *state != "activating" && *state != "reloading")) continue;
        log::info(
            "{} is {}, and the {} mounts go over its directories: stopping it until they are "
            "in place",
            unit, *state, kind->second);
        sd::stop_unit_and_wait(unit, std::chrono::seconds(90));
        stopped.push_back(std::move(unit));
    }
    return stopped;
}

// A before-containerd hook that user data declared (or changed) is known only
// now, and containerd started at boot, in parallel with the steps: it is
// restarted, and its restart job, queued after the hook's start job (the
// hook is ordered Before= it), runs once the hook is done. No pod runs yet:
// kubelet waits for containerd.
void restart_containerd_after_new_hooks(const generator::GeneratorPlan& before, const generator::GeneratorPlan& after,
                                        const json& cfg) {
    const json* table = path_in(cfg, {"settings", "hooks"});
    if (!table) return;
    // validated with the rest of config.json (validate_merged): read for the stages
    for (const input::hooks::Hook& h :
         input::hooks::read(*table, [](const std::string&) { return std::string(path::config_json); })) {
        if (h.stage != input::hooks::Stage::before_containerd) continue;
        // new, or changed: its drop-in (order, timeout) or its command file
        auto changed = [&](const std::string& rel) {
            auto was = before.files.find(rel), now = after.files.find(rel);
            return now != after.files.end() && (was == before.files.end() || was->second != now->second);
        };
        if (!changed(generator::hook_dropin(h.name)) && !changed(generator::hook_command_file(h.name))) continue;
        std::optional<std::string> state = sd::active_state("containerd.service");
        if (!state || (*state != "active" && *state != "activating" && *state != "reloading")) return;
        log::info("{} runs before containerd, which is {} already: restarting containerd after it",
                  input::hooks::unit_name(h.name), *state);
        sd::restart_unit("containerd.service");
        return;
    }
}

// One daemon-reload, only if the new config.json changes what the generator
// writes (an optional step or mount unit appears or goes away); then start
// eks-node.target again, so units the target now wants get start jobs in the
// boot transaction that is still running. Nothing is waited for: the jobs
// are ordered after this step.
void reload_if_units_change(const Paths& paths, const generator::GeneratorPlan& before, const json& cfg) {
    generator::GeneratorPlan after = generator::plan_from_disk(paths);
    if (after.same_units(before)) {
        log::debug("generated units unchanged, no daemon-reload");
        return;
    }
    if (!sd::manages_host(paths)) {
        log::info(
            "the configuration changes the generated units; a daemon-reload would be due (not a systemd "
            "service on the host: skipped)");
        return;
    }
    log::info("the configuration changes the generated units: reloading systemd once");
    std::vector<std::string> stopped = stop_services_under_new_mounts(before, after);
    sd::daemon_reload();
    // The node's own target: never eks-node.target on an ECS node, whose
    // kind user data cannot change (the generator's plan picks the same one).
    sd::start_unit(ecs_node(cfg) ? "ecs-node.target" : "eks-node.target");
    // After the reload their start jobs are ordered after the new mounts.
    for (const std::string& unit : stopped) sd::start_unit(unit);
    restart_containerd_after_new_hooks(before, after, cfg);
}

// containerd starts at boot, in parallel with the steps, on the files the
// image (or the last boot) left. When this configuration changes what it
// reads at its start, the start under way is wasted: waiting for
// eks-node-containerd's own start and run before restarting it would put
// both on kubelet's way (90-130 ms on a 2-CPU node, docs/performance.md).
// During the boot's join this step, which knows the configuration first,
// takes that over (takes_containerd_over(), then start_containerd()):
// containerd's files written at once, with eks-node-containerd's code, and
// the start under way stopped, its exit overlapping the rest of this run;
// containerd started again on the new files at this run's end, after any
// daemon-reload (a new runtime handler's modprobe@ instances are in
// containerd's drop-in only then). eks-node-containerd then finds its files
// current and is skipped. Only while kubelet's start job waits: on a running
// node eks-node-containerd's restart stays the one change. Not when a unit
// that requires containerd or is part of it waits to start (the SOCI pause
// image's import): the stop would cancel that unit's start job.
// Returns the stopped run's InvocationID when it took over, for start_containerd().
std::optional<std::string> takes_containerd_over(const StepOptions& opts, const json& cfg,
                                                 const render::ContainerdWork& work, StepResult& r) {
    // Asked first, as it asks nothing of PID 1 (busy starting the boot's units): a
    // configuration that changes nothing containerd reads costs no round trip.
    const std::optional<std::string>& why = work.restart;
    if (!why || !sd::manages_host(opts.paths)) return std::nullopt;
    if (!sd::has_job("kubelet.service")) return std::nullopt;
    std::optional<std::string> state = sd::active_state("containerd.service");
    if (!state || (*state != "active" && *state != "activating")) return std::nullopt;
    for (const std::string& unit : sd::units_stopped_with("containerd.service"))
        if (sd::has_job(unit)) {
            log::debug("{}: containerd is restarted after eks-node-containerd ({} waits to start)", *why, unit);
            return std::nullopt;
        }
    // Its outputs only: containerd's restart (a handler's module to load) is
    // start_containerd()'s, once, not a restart of what it started. A file that
    // cannot be written (a read-only /etc) is eks-node-containerd's failure, as
    // without this: that step is still due, and its error names it.
    StepResult files;
    try {
        files = render::render_containerd(cfg, opts.paths);
    } catch (const std::exception& e) {
        log::info("{}: containerd's files are left to eks-node-containerd ({})", *why, e.what());
        return std::nullopt;
    }
    log::info("{}: containerd's files written now; stopping its early start ({}) to start it on them", *why, *state);
    std::string early = sd::invocation_id("containerd.service");
    files.restarts.clear();
    r.merge(files);
    // Not waited for; a start queued meanwhile (eks-node.target's after a
    // daemon-reload) cancels the stop job and waits for the exit. The stop job
    // first, so that containerd's start job is cancelled, not failed. Then
    // SIGKILL to its main process: containerd still starting took 40-80 ms to
    // act on the stop's SIGTERM in half the boots measured, on kubelet's way
    // (docs/performance.md), and this start serves nothing yet (kubelet has
    // not started, no container runs; containerd's metadata store, bbolt, is
    // crash-safe). "failed" then, with result "signal".
    sd::stop_unit("containerd.service");
    try {
        sd::kill_unit("containerd.service", "main", SIGKILL);
    } catch (const Error& e) {
        // no main process yet (its ExecStartPre= runs): the stop's SIGTERM is enough
        log::debug("{}", e.what());
    }
    return early;
}

// The start after takes_containerd_over(), once the stopped run (its
// InvocationID) has ended: a start queued while containerd still counts as
// starting (SIGKILL sent, its exit not yet seen by PID 1) would merge into
// that start and end at once, and kubelet would start without containerd;
// and the stop's job must have run first, or the SIGKILL's exit enters
// containerd's Restart= holdoff, which a start waits out. A newer run begun
// meanwhile (eks-node.target's start after a daemon-reload) is on the new
// files already: the start merges into it.
void start_containerd(const std::string& why, const std::string& early_containerd) {
    try {
        sd::wait_for_run_end("containerd.service", early_containerd, std::chrono::seconds(30));
        log::info("{}: starting containerd.service on the new files", why);
        sd::start_unit("containerd.service");
    } catch (const Error& e) {
        // as a consumer's restart: the files are written, the admin can start it
        log::warning("{}; start containerd.service by hand", e.what());
    }
}

bool contains(const std::vector<std::string>& list, std::string_view item) {
    return std::find(list.begin(), list.end(), item) != list.end();
}

// When the user data has parts cloud-init runs, kubelet must start after
// them, as nodeadm's does. eks-node-cloud-init.service is ordered after
// cloud-final.service and before kubelet.service, and nothing wants it
// statically: a start job for it, enqueued here while kubelet's start job
// still waits for the steps, holds kubelet back until cloud-init's final
// stage is done (ordering applies to queued jobs; no daemon-reload). Without
// such parts no job is queued and nothing waits for cloud-init.
void order_kubelet_after_cloud_init(const Paths& paths, const json& cfg) {
    const json& derived = cfg.at("derived");
    if (!derived.contains("cloudInitParts")) return;
    std::string list;
    for (const json& p : derived["cloudInitParts"]) list += (list.empty() ? "" : "; ") + p.get<std::string>();
    if (!sd::manages_host(paths)) {
        log::info(
            "cloud-init runs part(s) of the user data ({}); kubelet would wait for them (not a systemd "
            "service on the host: skipped)",
            list);
        return;
    }
    // AL2 user data has called /etc/eks/bootstrap.sh, whose shim restarted
    // this step: kubelet starts now, as AL2's bootstrap.sh starts it, and
    // the rest of the script may restart kubelet (queued now, that job would
    // wait for the script that waits for it)
    if (fs::exists(paths.of(input::bootstrap_sh::called_marker))) {
        log::info(
            "cloud-init runs part(s) of the user data ({}); the script has called /etc/eks/bootstrap.sh: "
            "kubelet starts without waiting for the rest of it, as on AL2",
            list);
        return;
    }
    // Where cloud-final.service is ordered after multi-user.target (cloud-init
    // on Debian and Ubuntu) and multi-user.target after kubelet (an image that
    // enables kubelet.service itself), the job would wait for itself: warn
    // instead of hanging the boot.
    if (contains(sd::unit_dependencies("cloud-final.service", "After"), "multi-user.target") &&
        contains(sd::unit_dependencies("multi-user.target", "After"), "kubelet.service")) {
        log::warning(
            "cloud-init runs part(s) of the user data ({}), but kubelet cannot wait for them on this image: "
            "cloud-final.service is ordered after multi-user.target, which waits for kubelet.service (disable "
            "kubelet.service; eks-node.target starts it; see eks-node-cloud-init(8))",
            list);
        return;
    }
    log::info("cloud-init runs part(s) of the user data ({}): kubelet starts after them", list);
    sd::start_unit("eks-node-cloud-init.service");
}

// A marker that a unit's ConditionPathExists= reads when the unit starts, after this step:
// written with `content`, or removed when there is none. A re-run that changed it starts
// `start_on_change` (none when empty): this step's restart reaches only the units that are
// active (restarts travel Requires= as try-restarts), and one its condition skipped is
// inactive. At boot, eks-node.target's job for that unit is queued already and this one
// merges with it. A --config= run writes no node state and does not come here.
void set_condition_marker(const StepOptions& opts, std::string_view marker_path,
                          const std::optional<std::string>& content, std::string_view start_on_change, StepResult& r) {
    fs::path marker = opts.paths.of(marker_path);
    const WriteResult w =
        content ? write_file_atomic(marker, *content, outputs::of(marker_path).mode) : remove_file(marker);
    r.add(marker, w);
    if (w == WriteResult::written && !start_on_change.empty() && sd::manages_host(opts.paths))
        sd::start_unit(start_on_change);
}

// Whether eks-node-system has work (eks-node-system(8), WHEN IT RUNS): a node whose
// configuration sets no service environment, DNS or sysctls forks no process for it (a unit
// start costs 10-14 ms of CPU beside containerd's start on a 2-CPU node, docs/performance.md).
void mark_system_due(const StepOptions& opts, const json& cfg, StepResult& r) {
    const std::optional<std::string> why = render::system_due(cfg, opts.paths);
    set_condition_marker(opts, path::system_due_marker, why ? std::optional(*why + "\n") : std::nullopt,
                         why ? "eks-node-system.service" : "", r);
    if (!why) log::info("eks-node-system has nothing to do: no service environment, DNS or sysctls configured");
}

// Whether eks-node-containerd has work (eks-node-containerd(8), WHEN IT RUNS): at boot,
// a node whose configuration changes none of its files, or whose files this step has
// just written (takes_containerd_over), starts no process for it, and kubelet does
// not wait for one. Its unit's condition also holds once a pass over the chain has
// ended (path::verdict_file), so that a later start, an administrator's restart after
// editing a drop-in, always runs it.
void mark_containerd_due(const StepOptions& opts, const render::ContainerdWork& work, StepResult& r) {
    set_condition_marker(opts, path::containerd_due_marker, work.due ? std::optional(*work.due + "\n") : std::nullopt,
                         work.due ? "eks-node-containerd.service" : "", r);
    if (!work.due) log::info("eks-node-containerd has nothing to do: containerd's files are current");
}

// Which preflight unit runs (eks-node-preflight(8)): with policy "fail" the gate, ordered
// before kubelet; otherwise the report after kubelet's start, which then waits for nothing
// that cannot hold it back. A re-run that switched the policy starts the unit whose
// condition now holds.
void mark_preflight_gate(const StepOptions& opts, const json& cfg, StepResult& r) {
    const bool gated = preflight_policy(cfg) == "fail";
    set_condition_marker(opts, path::preflight_gate_marker, gated ? std::optional<std::string>("fail\n") : std::nullopt,
                         gated ? "eks-node-preflight-gate.service" : "eks-node-preflight.service", r);
}

}  // namespace

StepResult config(const StepOptions& opts) {
    json cfg = resolve::resolve_from_node(opts);
    StepResult r;
    fs::path out = opts.config_file();
    // Only the config.json the generator reads can change the generated units.
    bool generator_reads_it = opts.config_path.empty();
    std::optional<generator::GeneratorPlan> before;
    if (generator_reads_it) before = generator::plan_from_disk(opts.paths);
    // eks-node-containerd's render, without writing: rendered once for its uses here
    std::optional<render::ContainerdWork> containerd;
    std::optional<std::string> early_containerd;  // the stopped run's InvocationID, when taken over
    if (generator_reads_it) {
        containerd = ecs_node(cfg) ? render::ContainerdWork{} : render::containerd_work(cfg, opts.paths);
        // first: the stop of containerd's early start then overlaps the rest of this run
        early_containerd = takes_containerd_over(opts, cfg, *containerd, r);
        if (early_containerd) containerd->due.reset();  // its files are current now
    }
    WriteResult w = write_file_atomic(out, dump_pretty(cfg), outputs::of(path::config_json).mode);
    r.add(out, w);
    if (generator_reads_it) {
        mark_preflight_gate(opts, cfg, r);
        mark_system_due(opts, cfg, r);
        mark_containerd_due(opts, *containerd, r);
    }
    if (before && w == WriteResult::written) reload_if_units_change(opts.paths, *before, cfg);
    if (early_containerd) start_containerd(*containerd->restart, *early_containerd);
    if (generator_reads_it) order_kubelet_after_cloud_init(opts.paths, cfg);
    return r;
}

}  // namespace eksnode::steps
