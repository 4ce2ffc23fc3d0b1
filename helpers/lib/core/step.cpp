// SPDX-License-Identifier: Apache-2.0
#include "core/step.hpp"

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/confine.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/systemd.hpp"
#include "core/telemetry.hpp"
#include "core/version.hpp"

namespace eksnode {

fs::path StepOptions::config_file() const {
    if (!config_path.empty()) return fs::path(config_path);
    return paths.of(path::config_json);
}

bool StepResult::changed() const {
    for (const auto& [p, r] : outputs)
        if (r == WriteResult::written && std::find(read_per_use.begin(), read_per_use.end(), p) == read_per_use.end())
            return true;
    return false;
}

void StepResult::restart(std::string unit, std::string why) {
    for (const Restart& r : restarts)
        if (r.unit == unit) return;
    restarts.push_back({std::move(unit), std::move(why)});
}

void StepResult::start(std::string unit, std::string why) {
    for (Restart& r : restarts)
        if (r.unit == unit) {
            if (!r.start) r = {std::move(unit), std::move(why), true};
            return;
        }
    restarts.push_back({std::move(unit), std::move(why), true});
}

void StepResult::merge(const StepResult& other) {
    outputs.insert(outputs.end(), other.outputs.begin(), other.outputs.end());
    read_per_use.insert(read_per_use.end(), other.read_per_use.begin(), other.read_per_use.end());
    for (const Restart& r : other.restarts) r.start ? start(r.unit, r.why) : restart(r.unit, r.why);
}

namespace {

void print_help(const StepSpec& spec) {
    fmt::print(
        "eks-node-{0} — {1}\n\n"
        "Usage: eks-node-{0} [OPTIONS]\n\n"
        "  --root=DIR            read and write every path under DIR (default /)\n"
        "  --config=PATH         resolved configuration (default /run/eks-node/config.json)\n"
        "  --imds-endpoint=URL   instance metadata endpoint (default: link-local IPv4 and IPv6)\n"
        "  --user-data=FILE      user data file instead of the copy fetched from IMDS\n"
        "  --log-level=LEVEL     error, warning, notice, info or debug (default info)\n"
        "  --help                show this help\n"
        "  --version             show the version\n",
        spec.name, spec.summary);
    fmt::print("\nSee eks-node-{}(8).\n", spec.name);
}

}  // namespace

void parse_common_options(const std::vector<std::string>& argv, StepOptions& out) {
    for (const std::string& a : argv) {
        if (a.rfind("--", 0) != 0) {
            out.args.push_back(a);
            continue;
        }
        auto eq = a.find('=');
        std::string key = a.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
        if (eq == std::string::npos) throw UsageError(fmt::format("option --{} needs a value (--{}=VALUE)", key, key));
        std::string val = a.substr(eq + 1);
        if (key == "root") out.paths = Paths(val);
        else if (key == "config") out.config_path = val;
        else if (key == "imds-endpoint") out.imds_endpoint = val;
        else if (key == "user-data") out.user_data_file = val;
        else if (key == "log-level") {
            log::Level l;
            if (!log::parse_level(val, l)) throw UsageError(fmt::format("--log-level: unknown level \"{}\"", val));
            log::set_level(l);
        } else {
            throw UsageError(fmt::format("unknown option --{}", key));
        }
    }
}

void restart_consumers(const StepSpec& spec, const StepOptions& opts, const StepResult& result) {
    std::vector<Restart> units;
    if (result.changed())
        for (std::string_view unit : spec.consumers) units.push_back({std::string(unit), "outputs changed"});
    for (const Restart& r : result.restarts) {
        auto same = std::find_if(units.begin(), units.end(), [&](const Restart& u) { return u.unit == r.unit; });
        if (same == units.end()) units.push_back(r);
        else if (r.start) *same = r;  // the start's reason: it also applies to a unit that is not running
    }
    if (units.empty()) return;
    if (!sd::manages_host(opts.paths)) {
        std::vector<std::string> names;
        for (const Restart& r : units) names.push_back(fmt::format("{} ({})", r.unit, r.why));
        log::debug("not a systemd service on the host, so no restart; would try-restart: {}", fmt::join(names, ", "));
        return;
    }
    for (const Restart& r : units) {
        try {
            // Asked first: a unit from the configuration may not be installed
            // (yet), and a unit that is not running reads the new files when
            // it starts (at first boot: kubelet, still waiting for this step).
            std::optional<std::string> state = sd::active_state(r.unit);
            if (!state) {
                log::info("{}: no {} on this node, nothing to restart", r.why, r.unit);
                continue;
            }
            if (!r.start && !restart_applies(*state)) {
                log::debug("{}: {} is {}, it reads the new files when it starts", r.why, r.unit, *state);
                continue;
            }
            // RestartUnit, not TryRestartUnit: systemd turns a try-restart of
            // an activating unit into nothing, and containerd starts in
            // parallel with the steps, so it may have read the old files and
            // still be activating now. The files were written before the
            // state was asked: whatever started before that is restarted.
            sd::restart_unit(r.unit);
            if (r.start) log::info("{}: starting {} ({})", r.why, r.unit, *state);
            else log::info("{}: restarting {} ({} on the old files)", r.why, r.unit, *state);
        } catch (const Error& e) {
            log::warning("{}; restart {} by hand to apply the new files", e.what(), r.unit);
        }
    }
}

bool restart_applies(std::string_view state) {
    // failed: it may have failed on the old files; inactive: it reads the
    // new ones when it starts, or was stopped by hand and stays stopped.
    return state == "active" || state == "activating" || state == "reloading" || state == "failed";
}

namespace {

// The journal fields of a run's last entry (done or failed): its network
// counts (core/telemetry.hpp).
std::vector<log::Field> run_fields() {
    return {{telemetry::calls_field, telemetry::to_json(telemetry::calls()).dump()}};
}

// The node's target, as eks-node-config resolved the node's kind.
std::string node_target(const StepOptions& opts) {
    if (auto text = read_file_if_exists(opts.config_file())) {
        json cfg = json::parse(*text, nullptr, false);
        if (cfg.is_object() && cfg.contains("settings") && cfg["settings"].is_object() &&
            cfg["settings"].value("node", "") == "ecs")
            return "ecs-node.target";
    }
    return "eks-node.target";
}

}  // namespace

std::optional<std::string> rejoin_blocker(const std::vector<StepState>& steps) {
    for (const StepState& s : steps)
        if (s.active_state == "failed" && s.condition_result && s.holds_back) return s.unit;
    return std::nullopt;
}

// An admin's re-run that succeeds while the node is held back starts the
// node's target again once no step of it is failed, so that the fixed step
// alone brings kubelet back (eks-node(7), RE-RUNNING). Only then: starting the
// target runs every step that is not active, and a failed one would fail again
// and hold the node back again, at every other step's success (a loop, seen
// when the rule was "any success"). A step still running is not a blocker:
// kubelet is ordered after it, and its failure stops kubelet's start job. At
// boot the step that failed is failed, so nothing is started either. Queued
// without waiting: this run is part of the start it asks for.
void rejoin_if_held_back(const StepSpec& spec, const StepOptions& opts) {
    constexpr std::string_view failed = "eks-node-failed.target";
    // a step per device (network@) is not what an admin re-runs to fix an input
    if (!sd::manages_host(opts.paths) || std::string_view(spec.name).find('@') != std::string_view::npos) return;
    try {
        if (sd::active_state(failed) != "active") return;
        // only a step whose failure holds the node back: not the verdict or
        // the telemetry, which run after the chain and fix nothing
        const std::vector<std::string> own =
            sd::unit_dependencies(fmt::format("eks-node-{}.service", spec.name), "OnFailure");
        if (std::find(own.begin(), own.end(), failed) == own.end()) return;
        const std::string target = node_target(opts);
        std::vector<StepState> steps;
        for (const std::string& unit : sd::unit_wants(target))
            if (unit.starts_with("eks-node-"))
                // only a failed one can block: its condition is asked of it alone
                if (std::optional<std::string> state = sd::active_state(unit); state && *state == "failed") {
                    const std::vector<std::string> on_failure = sd::unit_dependencies(unit, "OnFailure");
                    steps.push_back({unit, *state, sd::unit_status(unit).condition_result,
                                     std::find(on_failure.begin(), on_failure.end(), failed) != on_failure.end()});
                }
        if (auto blocker = rejoin_blocker(steps)) {
            log::info("{} holds the node back and {} is still failed: restart it, or run systemctl start {}", failed,
                      *blocker, target);
            return;
        }
        if (sd::has_job(target)) return;
        log::info("{} held the node back and no step of {} is failed now: starting {} again", failed, target, target);
        sd::start_unit(target);
    } catch (const std::exception& e) {
        log::warning("could not start the node's target again ({}): systemctl start eks-node.target", e.what());
    }
}

int report_exception(std::string_view step) {
    // the run's last entry carries its network counts, as a success's does
    const std::vector<log::Field> fields = run_fields();
    try {
        throw;
    } catch (const ConfigError& e) {
        log::emit(log::Level::error, e.what(), {}, log::id::config_invalid, fields);
        return e.exit_code();
    } catch (const Error& e) {
        log::emit(log::Level::error, e.what(), {},
                  e.exit_code() == EXIT_TEMPFAIL ? log::id::imds_unreachable : log::id::step_failed, fields);
        return e.exit_code();
    } catch (const std::exception& e) {
        log::emit(log::Level::error, fmt::format("{} failed: {}", step, e.what()), {}, log::id::step_failed, fields);
        return EXIT_FAILURE_;
    }
}

int run_step(int argc, char** argv, const StepSpec& spec, const StepFn& fn) {
    log::Level lvl = log::Level::info;
    if (const char* env = std::getenv("EKS_NODE_LOG_LEVEL")) log::parse_level(env, lvl);
    log::init(spec.name, lvl);

    std::vector<std::string> args(argv + 1, argv + argc);
    for (const auto& a : args) {
        if (a == "--help" || a == "-h") {
            print_help(spec);
            return EXIT_OK;
        }
        if (a == "--version") {
            fmt::print("eks-node {}\n", ::eksnode::version);
            return EXIT_OK;
        }
    }
    try {
        StepOptions opts;
        parse_common_options(args, opts);
        if (!opts.paths.is_host()) confine_writes_to(opts.paths.root());
        confine::confine_step(spec.name, opts.paths);
        StepResult r = fn(opts);
        log::emit(log::Level::info, r.changed() ? "done, outputs changed" : "done, nothing changed", {},
                  log::id::step_done, run_fields());
        restart_consumers(spec, opts, r);
        rejoin_if_held_back(spec, opts);
        return EXIT_OK;
    } catch (...) {
        return report_exception(spec.name);
    }
}

}  // namespace eksnode
