// SPDX-License-Identifier: Apache-2.0
// eks-node-cloud-init: runs once cloud-init's final stage is over, when the
// user data has parts cloud-init runs (eks-node-config queued it; see
// eks-node-cloud-init(8)). It says how the scripts ended, and when a script
// changed what an earlier step or containerd had already read, has that
// redone before kubelet, which is ordered after this step, starts.
#include <sys/stat.h>

#include <fmt/format.h>

#include "core/fsutil.hpp"
#include "core/log.hpp"
#include "core/systemd.hpp"
#include "input/fragments.hpp"
#include "steps/cloud_init.hpp"
#include "steps/steps.hpp"

namespace eksnode::steps {

const StepSpec cloud_init_spec{"cloud-init", "hold kubelet back until cloud-init has run the user data's scripts"};

namespace {

constexpr std::string_view cloud_final = "cloud-final.service";

// The newest of the modification times (CLOCK_REALTIME microseconds) of
// `dir` itself (a file added or removed) and of the files in it whose names
// end in `suffix`, with the name of the newest; {0, ""} when none exists.
using Newest = std::pair<uint64_t, std::string>;

void consider(Newest& best, const fs::path& p) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) return;
    uint64_t usec = static_cast<uint64_t>(st.st_mtim.tv_sec) * 1000000u + st.st_mtim.tv_nsec / 1000;
    if (usec > best.first) best = {usec, p.string()};
}

Newest newest_in(const fs::path& dir, std::string_view suffix) {
    Newest best{0, ""};
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return best;
    for (const auto& e : fs::directory_iterator(dir, ec))
        if (e.path().filename().string().ends_with(suffix)) consider(best, e.path());
    // The directory last: its mtime also moves when a file is removed, and
    // on a tie (a file created and written within one clock tick) the file
    // is the better name to log.
    consider(best, dir);
    return best;
}

Newest newest_of(const Paths& paths, std::initializer_list<std::string_view> files,
                 std::initializer_list<std::pair<std::string_view, std::string_view>> dirs) {
    Newest best{0, ""};
    for (std::string_view f : files) consider(best, paths.of(f));
    for (auto [dir, suffix] : dirs) {
        auto n = newest_in(paths.of(dir), suffix);
        if (n.first > best.first) best = n;
    }
    return best;
}

// How cloud-init's final stage ended, in one journal line. A failed script
// does not stop the node (cloud-init's own semantics, and nodeadm's: kubelet
// is ordered after cloud-final.service, not bound to it); it is a warning.
void report_cloud_final(const json& cfg) {
    std::string parts;
    for (const json& p : cfg["derived"].value("cloudInitParts", json::array()))
        parts += (parts.empty() ? "" : "; ") + p.get<std::string>();
    sd::UnitStatus u = sd::unit_status(cloud_final);
    if (u.load_state != "loaded") {
        log::warning("the user data has part(s) cloud-init runs ({}), but {} is {}: they did not run", parts,
                     cloud_final, u.load_state.empty() ? "unknown" : u.load_state);
    } else if (u.active_state == "inactive" && !u.start_usec) {
        log::warning(
            "the user data has part(s) cloud-init runs ({}), but cloud-init did not run on this boot "
            "(disabled, or no datasource found): they did not run",
            parts);
    } else if (u.active_state == "failed" || u.result != "success") {
        log::warning(
            "cloud-init ran the user data ({}); {} failed ({}{}): a script failed, kubelet starts anyway "
            "(journalctl -u {}; /var/log/cloud-init-output.log)",
            parts, cloud_final, u.result,
            u.exit_status ? fmt::format(", exit status {}", *u.exit_status) : std::string(), cloud_final);
    } else {
        double took = u.end_usec >= u.start_usec ? (u.end_usec - u.start_usec) / 1e6 : 0;
        log::info("cloud-init ran the user data ({}): {} finished in {:.1f} s", parts, cloud_final, took);
    }
}

// A unit that read its inputs at start and has been started since boot:
// restart it when one of them is newer than its start (a script wrote it).
bool restart_if_newer(std::string_view unit, const Newest& newest, std::string_view why) {
    sd::UnitStatus u = sd::unit_status(unit);
    if (!u.start_usec || newest.first <= u.start_usec) return false;
    log::info("{} changed after {} started (a user data script wrote it): restarting {} before kubelet starts{}",
              newest.second, unit, unit, why);
    sd::restart_unit(unit);
    return true;
}

}  // namespace

void redo_what_scripts_changed(const Paths& paths) {
    // eks-node-config's inputs besides user data: nodeadm's drop-ins and the
    // TOML fragments. Its restart re-runs every step that Requires= it, and
    // those restart containerd and kubelet only where an output changed.
    auto newest_config = newest_of(paths, {}, {{input::nodeadm_dropin_dir, ""}});
    for (std::string_view d : input::config_dirs) {
        auto n = newest_in(paths.of(std::string(d) + "/node.toml.d"), ".toml");
        if (n.first > newest_config.first) newest_config = n;
    }
    const bool config_again = restart_if_newer("eks-node-config.service", newest_config, " (and the steps after it)");

    // containerd reads these only at start. A script that edits config.toml
    // or the base spec keeps its edit: containerd restarts over it (a re-run
    // of eks-node-containerd would render the edit away).
    auto edited = newest_of(paths, {path::containerd_config, path::base_runtime_spec}, {});
    if (restart_if_newer("containerd.service", edited, "")) return;
    // A drop-in in config.d (AL2 user data writes them): eks-node-containerd
    // re-runs, checks it and lists its fingerprint in config.toml's header,
    // and that change of config.toml restarts containerd.
    auto dropins = newest_of(paths, {}, {{path::containerd_dropin_dir, ".toml"}});
    // Skipped at boot, as it had nothing to do when eks-node-config looked
    // (eks-node-containerd(8), WHEN IT RUNS): its condition would skip a restart
    // too. eks-node-config, which decides, looks again, now with the drop-in, and
    // starts it (unless it is on its way again already).
    if (!sd::unit_status("eks-node-containerd.service").start_usec) {
        if (!config_again)
            restart_if_newer("eks-node-config.service", dropins,
                             " (eks-node-containerd, skipped with nothing to do, is due now)");
        return;
    }
    restart_if_newer("eks-node-containerd.service", dropins,
                     " (it checks the drop-in; its changed config.toml restarts containerd)");
}

StepResult cloud_init(const StepOptions& opts) {
    json cfg = load_config_json(opts);
    if (!sd::manages_host(opts.paths)) {
        log::info("not a systemd service on the host: nothing to wait for or report");
        return {};
    }
    report_cloud_final(cfg);
    redo_what_scripts_changed(opts.paths);
    return {};
}

}  // namespace eksnode::steps
