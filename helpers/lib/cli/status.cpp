// SPDX-License-Identifier: Apache-2.0
// eks-node status: every unit eks-node.target wants, read from systemd over
// sd-bus (state, times, exit status) and the journal (the last error line).
// The list of steps is what the target wants this boot, not a fixed list, so
// the optional steps and mount units the generator pulled in show up too.
#include <algorithm>
#include <ctime>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/telemetry.hpp"
#include "imds/imds.hpp"
#include "input/sources.hpp"

namespace eksnode::cli {

const char* const status_help =
    "Usage: eks-node status [--json | --prometheus]\n"
    "\n"
    "Every unit eks-node.target wants (the steps, containerd, kubelet, instance-store mounts),\n"
    "and eks-node-cloud-init with cloud-final.service when cloud-init ran user data scripts,\n"
    "with its state (active, failed, skipped by condition, not run), start time, duration,\n"
    "exit status, the last error line its run logged and the requests a step made to IMDS\n"
    "and the AWS APIs (retries included); whether eks-node-failed.target is active (a failed\n"
    "step holds kubelet back); the time from the first step's start to kubelet's; and how\n"
    "many NodeConfig fields eks-node-config ignored, as nodeadm would, and how many kubelet.config\n"
    "fields the node's kubelet does not know (config.json's warnings);\n"
    "and the Auto Scaling target lifecycle state, with whether a warm pool holds kubelet back.\n"
    "\n"
    "@OPTIONS@\n"
    "\n"
    "Exit status: 0 when the node is configured (eks-node.target active, no step failed),\n"
    "1 otherwise or when systemd cannot be reached. See eks-node(1).\n";

namespace {

constexpr std::string_view target = "eks-node.target";
constexpr std::string_view failed_target = "eks-node-failed.target";
constexpr std::string_view prepull_unit = "eks-node-prepull.service";
constexpr std::string_view cloud_final = "cloud-final.service";

// usec since the epoch, formatted in local time (as journalctl and
// systemctl show it) or in UTC.
std::string format_time(uint64_t usec, bool local, const char* format) {
    std::time_t t = static_cast<std::time_t>(usec / 1000000);
    std::tm tm{};
    if (local) localtime_r(&t, &tm);
    else gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, format, &tm);
    return buf;
}

std::string local_time(uint64_t usec) { return format_time(usec, true, "%Y-%m-%d %H:%M:%S"); }

// RFC 3339 with microseconds, for --json.
std::string utc_time(uint64_t usec) {
    return fmt::format("{}.{:06}Z", format_time(usec, false, "%Y-%m-%dT%H:%M:%S"), usec % 1000000);
}

json unit_json(const sd::UnitStatus& u, bool with_error) {
    json j = json::object();
    j["unit"] = u.name;
    j["state"] = step_state(u);
    j["activeState"] = u.active_state;
    j["subState"] = u.sub_state;
    j["loadState"] = u.load_state;
    j["result"] = u.result.empty() ? json(nullptr) : json(u.result);
    j["start"] = u.start_usec ? json(utc_time(u.start_usec)) : json(nullptr);
    j["startUsec"] = u.start_usec ? json(u.start_usec) : json(nullptr);  // CLOCK_REALTIME, for scripts
    j["durationSeconds"] =
        u.start_usec && u.end_usec >= u.start_usec ? json((u.end_usec - u.start_usec) / 1e6) : json(nullptr);
    j["exitStatus"] = u.exit_status ? json(*u.exit_status) : json(nullptr);
    std::optional<std::string> err;
    // a run that succeeded has nothing to explain; ask the journal only otherwise
    if (with_error && !u.invocation_id.empty() && (u.active_state == "failed" || u.result != "success"))
        err = sd::last_error_line(u.name, u.invocation_id);
    j["lastError"] = err ? json(*err) : json(nullptr);
    // the step's own record of its run (core/telemetry.hpp): null for a unit
    // that is not a step, or a run whose last entry the journal no longer has
    std::optional<std::vector<telemetry::Calls>> calls;
    if (with_error && !u.invocation_id.empty() && u.name.starts_with("eks-node-"))
        if (std::optional<std::string> f = sd::run_field(u.name, u.invocation_id, telemetry::calls_field))
            calls = telemetry::from_json(*f);
    j["calls"] = calls ? telemetry::to_json(*calls) : json(nullptr);
    j["startSinceBootSeconds"] = u.start_monotonic_usec ? json(u.start_monotonic_usec / 1e6) : json(nullptr);
    return j;
}

// The chain from the first step's start to kubelet's; null fields for what
// has not happened (kubelet held back, or not started yet).
json chain_json(const std::vector<sd::UnitStatus>& units) {
    const sd::UnitStatus* first = nullptr;
    const sd::UnitStatus* kubelet = nullptr;
    for (const sd::UnitStatus& u : units) {
        if (u.name == "kubelet.service") kubelet = &u;
        // the chain's steps: not the units that wait for something else
        // (cloud-init's scripts) or run after it (eks-node-telemetry)
        bool step = u.name.starts_with("eks-node-") && u.name.ends_with(".service") && u.name != cloud_init_unit &&
                    u.name != telemetry_unit && u.name != prepull_unit;
        if (step && u.start_usec && (!first || u.start_usec < first->start_usec)) first = &u;
    }
    const bool started = kubelet && kubelet->start_usec && kubelet->active_state != "inactive";
    json c = json::object();
    c["firstStep"] = first ? json(first->name) : json(nullptr);
    c["firstStepStart"] = first ? json(utc_time(first->start_usec)) : json(nullptr);
    c["kubeletStart"] = started ? json(utc_time(kubelet->start_usec)) : json(nullptr);
    c["seconds"] = started && first && kubelet->start_usec >= first->start_usec
                       ? json((kubelet->start_usec - first->start_usec) / 1e6)
                       : json(nullptr);
    c["bootToKubeletSeconds"] =
        started && kubelet->start_monotonic_usec ? json(kubelet->start_monotonic_usec / 1e6) : json(nullptr);
    return c;
}

// Every unit's calls added up, by API: a map, so that the sum costs a
// logarithmic look-up per name, not a scan of the names so far.
json total_calls(const json& units) {
    std::map<std::string, telemetry::Calls> sum;
    for (const json& u : units) {
        if (!u["calls"].is_object()) continue;
        for (const auto& item : u["calls"].items()) {
            telemetry::Calls& c = sum.try_emplace(item.key(), telemetry::Calls{item.key()}).first->second;
            c.requests += item.value()["requests"].get<unsigned>();
            c.retries += item.value()["retries"].get<unsigned>();
        }
    }
    std::vector<telemetry::Calls> out;
    for (auto& [api, c] : sum) out.push_back(std::move(c));
    return telemetry::to_json(out);
}

// The Auto Scaling warm pool (eks-node-warm-pool(8)): the target lifecycle
// state eks-node-imds read, whether its marker holds kubelet back now, and
// the waiter's state. Null fields for what cannot be read.
json warm_pool_json(const Paths& paths) {
    json w = json::object();
    w["targetLifecycleState"] = nullptr;
    try {
        if (std::optional<std::string> text = read_file_if_exists(paths.of(path::instance_json))) {
            json i = json::parse(*text, nullptr, false);
            if (i.is_object() && i.contains("targetLifecycleState") && i["targetLifecycleState"].is_string())
                w["targetLifecycleState"] = i["targetLifecycleState"];
        }
    } catch (const Error&) {
        // not readable: the rest of the report still is
    }
    std::error_code ec;
    w["holdingKubelet"] = fs::exists(paths.of(path::warm_pool_marker), ec);
    w["waiter"] = step_state(sd::unit_status(warm_pool_unit));
    return w;
}

}  // namespace

// config.json's warnings of one kind (input::warning_kind()): null when
// there is no config.json to count in.
json config_warning_count(const Paths& paths, input::Warning::Kind kind) {
    std::optional<std::string> text;
    try {
        text = read_file_if_exists(paths.of(path::config_json));
    } catch (const Error&) {
        return nullptr;  // not readable (not root): the rest of the report still is
    }
    if (!text) return nullptr;
    json cfg = json::parse(*text, nullptr, false);
    if (!cfg.is_object()) return nullptr;
    auto w = cfg.find("warnings");
    if (w == cfg.end() || !w->is_array()) return 0;
    return input::warning_count(*w, kind);
}

std::string step_state(const sd::UnitStatus& u) {
    if (u.load_state == "not-found") return "not found";
    // systemd evaluated the conditions at the last start and one was false:
    // skipped, not failed, even where systemd still says "failed" from a run
    // before (a skipped start leaves the unit's state as it was): the step
    // did not run since, and starting it again would skip it again
    if (u.condition_usec && !u.condition_result) return "skipped by condition";
    if (u.active_state == "failed") return "failed";
    if (u.active_state == "active") return "active";
    if (u.active_state == "inactive" && !u.start_usec) return "not run";
    return u.active_state;
}

json status_report(const Paths& paths) {
    std::vector<std::string> wants = sd::unit_wants(target);
    std::vector<sd::UnitStatus> units;
    for (const std::string& w : wants) units.push_back(sd::unit_status(w));
    // Not wanted by the target: eks-node-config starts it when cloud-init
    // runs parts of the user data. Then cloud-init's final stage, which ran
    // the scripts, is shown too: a failed script is reported here with its
    // unit and exit status, without counting as a failed step (cloud-init's
    // semantics: the node goes on).
    std::vector<sd::UnitStatus> scripts;
    if (sd::UnitStatus c = sd::unit_status(cloud_init_unit); c.start_usec || c.active_state != "inactive") {
        units.push_back(c);
        scripts.push_back(sd::unit_status(cloud_final));
    }
    // in the order they ran; what never ran last, by name
    std::stable_sort(units.begin(), units.end(), [](const sd::UnitStatus& a, const sd::UnitStatus& b) {
        uint64_t x = a.start_usec ? a.start_usec : UINT64_MAX, y = b.start_usec ? b.start_usec : UINT64_MAX;
        return x != y ? x < y : a.name < b.name;
    });
    sd::UnitStatus t = sd::unit_status(target), f = sd::unit_status(failed_target);
    // A failed pre-pull is its unit's failure alone: kubelet runs, the node
    // joined (eks-node-prepull(8)); it shows failed in the list all the same.
    // Likewise a hook declared essential = false (eks-node-hook(8)): its
    // unit has no OnFailure=eks-node-failed.target, which is how the
    // generator says a failure does not fail the join.
    auto counts = [](const sd::UnitStatus& u) {
        if (u.name == prepull_unit) return false;
        if (!u.name.starts_with("eks-node-hook@")) return true;
        std::vector<std::string> on_failure = sd::unit_dependencies(u.name, "OnFailure");
        return std::find(on_failure.begin(), on_failure.end(), failed_target) != on_failure.end();
    };
    bool any_failed =
        std::any_of(units.begin(), units.end(), [&](const auto& u) { return step_state(u) == "failed" && counts(u); });
    units.insert(units.end(), scripts.begin(), scripts.end());
    json out = json::object();
    out["configured"] = t.active_state == "active" && f.active_state != "active" && !any_failed;
    out["target"] = unit_json(t, false);
    out["failedTarget"] = unit_json(f, false);
    out["units"] = json::array();
    for (const auto& u : units) out["units"].push_back(unit_json(u, true));
    out["chain"] = chain_json(units);
    out["calls"] = total_calls(out["units"]);
    out["configWarnings"] = config_warning_count(paths, input::Warning::Kind::ignored);
    out["kubeletFieldWarnings"] = config_warning_count(paths, input::Warning::Kind::kubelet_field);
    out["warmPool"] = warm_pool_json(paths);
    return out;
}

int status_cmd(const std::vector<std::string>& args) {
    const ParsedOptions parsed = parse_options("status", args);
    if (!parsed.args.empty()) throw UsageError(fmt::format("status: unexpected argument \"{}\"", parsed.args[0]));
    const bool as_json = parsed.has("--json"), as_prometheus = parsed.has("--prometheus");
    if (as_json && as_prometheus)
        throw UsageError("status: --json and --prometheus are two different outputs: pick one");
    json r = status_report();
    bool configured = r["configured"].get<bool>();
    if (as_prometheus) {
        fmt::print("{}", prometheus_text(r));
        return configured ? EXIT_OK : EXIT_FAILURE_;
    }
    if (as_json) {
        fmt::print("{}", dump_pretty(r, 2));
        return configured ? EXIT_OK : EXIT_FAILURE_;
    }
    auto str = [](const json& v) {
        return v.is_null() ? std::string("-") : v.is_string() ? v.get<std::string>() : v.dump();
    };
    fmt::print("{:<34} {}\n", target, r["target"]["state"].get<std::string>());
    fmt::print("{:<34} {}{}\n", failed_target, r["failedTarget"]["state"].get<std::string>(),
               r["failedTarget"]["activeState"] == "active" ? " (a step failed: kubelet is held back)" : "");
    fmt::print("\n{:<34} {:<21} {:<19} {:>9} {:>4}\n", "UNIT", "STATE", "STARTED", "DURATION", "EXIT");
    for (const json& u : r["units"]) {
        // the text shows local time, as systemctl does; the JSON keeps UTC
        std::string started = u["startUsec"].is_null() ? "-" : local_time(u["startUsec"].get<uint64_t>());
        std::string duration =
            u["durationSeconds"].is_null() ? "-" : fmt::format("{:.3f}s", u["durationSeconds"].get<double>());
        fmt::print("{:<34} {:<21} {:<19} {:>9} {:>4}\n", str(u["unit"]), str(u["state"]), started, duration,
                   str(u["exitStatus"]));
        if (!u["lastError"].is_null()) fmt::print("    error: {}\n", u["lastError"].get<std::string>());
    }
    const json& c = r["chain"];
    if (!c["seconds"].is_null())
        fmt::print("\nkubelet started {:.3f}s after {} started{}\n", c["seconds"].get<double>(),
                   c["firstStep"].get<std::string>(),
                   c["bootToKubeletSeconds"].is_null()
                       ? ""
                       : fmt::format(", {:.3f}s after the kernel", c["bootToKubeletSeconds"].get<double>()));
    std::vector<std::string> calls;
    for (const auto& [api, v] : r["calls"].items())
        calls.push_back(fmt::format("{} {} request{} ({} retr{})", api, v["requests"].get<unsigned>(),
                                    v["requests"] == 1 ? "" : "s", v["retries"].get<unsigned>(),
                                    v["retries"] == 1 ? "y" : "ies"));
    if (!calls.empty()) fmt::print("network: {}\n", fmt::join(calls, ", "));
    if (const json& w = r["configWarnings"]; w.is_number() && w.get<size_t>() > 0)
        fmt::print(
            "configuration: {} NodeConfig field{} ignored, as nodeadm ignores {} (eks-node config dump "
            "--origins lists {})\n",
            w.get<size_t>(), w == 1 ? "" : "s", w == 1 ? "it" : "them", w == 1 ? "it" : "them");
    if (const json& w = r["kubeletFieldWarnings"]; w.is_number() && w.get<size_t>() > 0)
        fmt::print(
            "configuration: {} kubelet.config field{} this node's kubelet does not know (eks-node config dump "
            "--origins lists {})\n",
            w.get<size_t>(), w == 1 ? "" : "s", w == 1 ? "it" : "them");
    if (const json& w = r["warmPool"]; w["holdingKubelet"].get<bool>())
        fmt::print("warm pool: {}: kubelet held back until the instance is InService ({} polls IMDS every {}s)\n",
                   str(w["targetLifecycleState"]), warm_pool_unit, imds::warm_pool_poll_interval.count());
    else if (!w["targetLifecycleState"].is_null())
        fmt::print("Auto Scaling: target lifecycle state {} at eks-node-imds's run\n", str(w["targetLifecycleState"]));
    fmt::print("\n{}\n", !configured ? "node NOT configured"
                         : r["warmPool"]["holdingKubelet"].get<bool>()
                             ? "node configured, kubelet held back (warm pool)"
                             : "node configured");
    return configured ? EXIT_OK : EXIT_FAILURE_;
}

}  // namespace eksnode::cli
