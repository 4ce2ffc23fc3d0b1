// SPDX-License-Identifier: Apache-2.0
// eks-node-verdict: one line on the serial console when the join ended, the
// line `aws ec2 get-console-output` shows the owner of a node that never
// joined: which step failed, why (the step's own last error line, as
// `eks-node status` shows it from the journal), and where to look; or that
// kubelet started, and how long the chain took. Then, for a failure waiting
// cannot heal, settings.onFailure (image or admin configuration) has
// eks-node-fail-fast.service power the instance off or reboot it after
// settings.onFailureDelay. See eks-node-verdict(8).
#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "config/merge.hpp"
#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/log.hpp"
#include "core/outputs.hpp"
#include "core/systemd.hpp"
#include "core/text.hpp"
#include "input/fragments.hpp"
#include "input/settings.hpp"

namespace eksnode::cli {

const StepSpec verdict_spec{"verdict",
                            "write the join's verdict on the serial console (and act on settings.onFailure)"};

namespace {

// What the console line may take of a step's error: the journal's line is
// one already; a bound keeps a console (115200 baud) line readable.
constexpr size_t max_reason_bytes = 400;

std::string text_of(const json& v) { return v.is_string() ? v.get<std::string>() : v.is_null() ? "-" : v.dump(); }

}  // namespace

Verdict verdict_of(const json& report) {
    Verdict v;
    const json& units = report.at("units");
    for (const json& u : units) {
        // a failed pre-pull or cloud-init script is that unit's alone (eks-node status)
        const std::string name = text_of(u.at("unit"));
        // nor is a unit that runs after the chain (this one, the telemetry)
        if (u.at("state") != "failed" || name == prepull_unit_name || name == telemetry_unit || name == verdict_unit ||
            !name.starts_with("eks-node-"))
            continue;
        v.failed = true;
        const json& exit = u.at("exitStatus");
        const int code = exit.is_number_integer() ? exit.get<int>() : -1;
        v.cannot_heal = code == EXIT_CONFIG || code == EXIT_TEMPFAIL;
        std::string unit = name.substr(0, name.rfind(".service"));
        std::string why = u.at("lastError").is_string() ? u.at("lastError").get<std::string>()
                                                        : fmt::format("result {}", text_of(u.at("result")));
        v.line = fmt::format(
            "eks-node: node NOT joined: {} failed (exit status {}): {}; see journalctl -b -u {} "
            "and eks-node status",
            name, text_of(exit), one_line(why, max_reason_bytes), unit);
        return v;
    }
    if (auto w = report.find("warmPool");
        report.value("configured", false) && w != report.end() && w->value("holdingKubelet", false)) {
        v.line = fmt::format(
            "eks-node: node prepared in an Auto Scaling warm pool ({}): kubelet held back until the instance is "
            "InService (eks-node-warm-pool)",
            text_of(w->value("targetLifecycleState", json(nullptr))));
        v.pass_ended = false;
        return v;
    }
    if (report.value("configured", false)) {
        const json& c = report.at("chain");
        v.line = c.at("seconds").is_number()
                     ? fmt::format("eks-node: node configured: kubelet started {:.3f}s after {} started",
                                   c.at("seconds").get<double>(), text_of(c.at("firstStep")))
                     : "eks-node: node configured";
        return v;
    }
    v.line = "eks-node: node not configured yet, no step failed; see eks-node status";
    return v;
}

FailFast fail_fast_settings(const Paths& paths) {
    FailFast f;
    const json s = config::static_settings(paths);
    if (auto a = s.find("onFailure"); a != s.end() && a->is_string()) f.action = a->get<std::string>();
    if (auto d = s.find("onFailureDelay"); d != s.end()) {
        std::string problem;
        if (auto ms = input::settings::parse_duration(*d, problem)) f.delay = *ms;
    }
    return f;
}

StepResult verdict(const StepOptions& opts) {
    StepResult r;
    if (!opts.args.empty() && opts.args.front() == "fail-fast") {
        // eks-node-fail-fast.service: the wait is this unit's job, so that
        // stopping eks-node-failed.target (the chain started again) ends it
        const FailFast f = fail_fast_settings(opts.paths);
        if (f.action == "none") return r;
        std::this_thread::sleep_for(f.delay);
        // stdout, as the verdict: the console says why the instance went
        // down (StandardOutput=journal+console), and the journal holds it too
        fmt::print("eks-node: settings.onFailure = {}: the join cannot succeed, {} now\n", f.action,
                   f.action == "reboot" ? "rebooting" : "powering off");
        std::fflush(stdout);
        if (sd::manages_host(opts.paths)) sd::start_unit(f.action + ".target", "replace-irreversibly");
        return r;
    }
    Verdict v = verdict_of(status_report(opts.paths));
    if (v.failed && v.cannot_heal) {
        // the settings are read from the same fragments that may be what
        // failed (a broken node.toml.d file): the verdict is written anyway,
        // with no action, which is the default
        FailFast f;
        try {
            f = fail_fast_settings(opts.paths);
        } catch (const ConfigError& e) {
            log::warning("settings.onFailure not read, so no action: {}", e.what());
            f.action = "none";
        }
        if (f.action != "none") {
            v.line += fmt::format("; settings.onFailure: {} in {}s", f.action == "reboot" ? "reboot" : "power off",
                                  std::chrono::duration_cast<std::chrono::seconds>(f.delay).count());
            if (sd::manages_host(opts.paths)) sd::start_unit(fail_fast_unit);
        }
    }
    // stdout: the unit's StandardOutput=journal+console puts it on the
    // serial console and in the journal, one line each
    fmt::print("{}\n", v.line);
    std::fflush(stdout);
    // and in /run/eks-node/verdict, the last pass's: that one has ended, which
    // eks-node-containerd's unit reads (its condition), and what it found. Not
    // while a warm pool holds kubelet: the pass ends at InService, and the steps
    // that had nothing to do then still have none.
    // Best effort: the console line above is the verdict, and a full or read-only
    // /run (a node in trouble) must not turn it into a failed unit.
    if (v.pass_ended) {
        const fs::path f = opts.paths.of(path::verdict_file);
        try {
            r.add(f, write_file_atomic(f, v.line + "\n", outputs::of(path::verdict_file).mode));
        } catch (const std::exception& e) {
            log::warning("{}", e.what());
        }
    }
    return r;
}

}  // namespace eksnode::cli
