// SPDX-License-Identifier: Apache-2.0
// eks-node-warm-pool: while the instance waits in an Auto Scaling warm pool,
// every step has run and containerd (and settings.prePull) with them, but
// kubelet is held back by eks-node-imds's marker (path::warm_pool_marker,
// kubelet's ConditionPathExists=!). This asks IMDS for the target lifecycle
// state every warm_pool_poll_interval (longer, bounded, while IMDS does not
// answer) until it leaves "Warmed:", removes the marker and starts
// eks-node.target again: kubelet and what follows it start, and the steps,
// active already, are not run again. See eks-node-warm-pool(8).
#include <algorithm>
#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/log.hpp"
#include "core/systemd.hpp"
#include "core/text.hpp"
#include "imds/imds.hpp"
#include "input/fragments.hpp"
#include "steps/steps.hpp"

namespace eksnode::steps {

const StepSpec warm_pool_spec{"warm-pool", "wait in an Auto Scaling warm pool until InService, then start kubelet"};

namespace {

// One poll: the client's own retries (a 5xx, a lost connection) for at most
// this long, then the poll counts as unanswered and the back-off grows.
constexpr std::chrono::seconds poll_deadline{10};

std::string shown(const std::optional<std::string>& state) { return state ? *state : "none (not in a group)"; }

}  // namespace

StepResult warm_pool(const StepOptions& opts) {
    StepResult out;
    const fs::path marker = opts.paths.of(path::warm_pool_marker);
    std::optional<std::string> text = read_file_if_exists(marker);
    if (!text) {
        // the unit's ConditionPathExists= makes this a run by hand only
        log::info("{} is absent: not in a warm pool, nothing to wait for", marker.string());
        return out;
    }
    std::optional<std::string> last = std::string(trim_line(*text));

    json settings = {{"imds", input::static_settings_table(opts.paths, "imds")}};
    imds::ImdsOptions io = imds::imds_options(settings, opts.imds_endpoint);
    io.deadline = std::min<std::chrono::milliseconds>(io.deadline, poll_deadline);

    const auto t0 = std::chrono::steady_clock::now();
    log::info(
        "in an Auto Scaling warm pool ({}): kubelet held back; asking IMDS every {}s until the instance "
        "leaves the pool",
        shown(last), imds::warm_pool_poll_interval.count());
    int failures = 0;
    for (;;) {
        std::error_code ec;
        if (!fs::exists(marker, ec) && !ec) {
            // removed by a re-run of eks-node-imds that found the instance
            // InService, or by hand to start kubelet in the pool
            log::info("{} was removed: kubelet is no longer held back", marker.string());
            break;
        }
        std::optional<std::string> state;
        try {
            state = imds::fetch_target_lifecycle_state(io);
        } catch (const TempError& e) {
            ++failures;
            const std::chrono::seconds wait = imds::warm_pool_next_poll(failures);
            // once per step of the back-off, not every poll of a long outage
            if (wait != imds::warm_pool_next_poll(failures - 1))
                log::warning("IMDS did not answer ({}); next poll in {}s", e.what(), wait.count());
            std::this_thread::sleep_for(wait);
            continue;
        }
        if (failures > 0)
            log::info("IMDS answers again after {} unanswered poll{}", failures, failures == 1 ? "" : "s");
        failures = 0;
        if (state != last) log::info("target lifecycle state: {}", shown(state));
        last = state;
        if (!imds::holds_kubelet(state)) break;
        std::this_thread::sleep_for(imds::warm_pool_poll_interval);
    }
    out.add(marker, remove_file(marker));
    const auto waited = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - t0);
    if (!sd::manages_host(opts.paths)) {
        log::info("out of the warm pool ({}) after {}s", shown(last), waited.count());
        return out;
    }
    if (sd::active_state("eks-node-failed.target") == "active") {
        // a step failed meanwhile: kubelet stays held back by the failure
        log::warning(
            "out of the warm pool ({}) after {}s, but a step failed: kubelet stays held back (eks-node "
            "status; systemctl start eks-node.target once it is fixed)",
            shown(last), waited.count());
        return out;
    }
    log::info("out of the warm pool ({}) after {}s: starting eks-node.target (kubelet)", shown(last), waited.count());
    // Queued, not waited for: eks-node.target's jobs may be ordered after
    // this unit. The steps are active (RemainAfterExit=yes): only what the
    // hold skipped starts.
    sd::start_unit("eks-node.target");
    return out;
}

}  // namespace eksnode::steps
