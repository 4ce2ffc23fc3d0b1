// SPDX-License-Identifier: Apache-2.0
// The shape every step executable shares: parse the common long options, run
// the step's function, map exceptions to systemd exit codes, log once.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/fsutil.hpp"
#include "core/jsonutil.hpp"
#include "core/paths.hpp"
#include "core/step_fwd.hpp"

namespace eksnode {

struct StepOptions {
    Paths paths;                                // --root=DIR (default /)
    std::string config_path;                    // --config=PATH (default /run/eks-node/config.json under root)
    std::string imds_endpoint;                  // --imds-endpoint=URL (default: the link-local endpoints)
    std::string user_data_file;                 // --user-data=FILE (config: instead of the IMDS copy)
    // FILE's text once read (`eks-node render` reads it once: it may be a pipe), still named by
    // user_data_file in errors; unset: the config step reads user_data_file itself
    std::optional<std::string> user_data_text;
    std::vector<std::string> args;              // positional arguments
    // `eks-node render` offline: instance.json made up from flags, which the imds
    // step writes instead of asking IMDS, and a config step that asks no AWS API
    std::optional<json> offline_instance;
    // ... and its vCPUs and memory (MiB) instead of DIR's or the host's, each with
    // where it came from (--vcpus, --memory, the size name)
    std::optional<int> offline_vcpus;
    std::string offline_vcpus_origin;
    std::optional<long> offline_memory_mib;

    fs::path config_file() const;               // config_path re-rooted, or the default
};

// A unit the step asks to try-restart after its run, and why
// ("/run/eks-node/env/default.env changed").
struct Restart {
    std::string unit;
    std::string why;
    // Started even when it is not running (restart_applies() says no): a unit
    // kubelet cannot start without (containerd, after eks-node-containerd wrote
    // its files during the boot's join).
    bool start = false;
};

// What a step did: every output it manages, and whether any changed, so the
// runner can restart a consumer only when something really changed.
struct StepResult {
    std::vector<std::pair<fs::path, WriteResult>> outputs;
    // Consumers known only from the configuration (eks-node-system: the units
    // whose environment files changed, systemd-resolved): besides the fixed
    // StepSpec::consumers, and only the ones whose inputs did change.
    std::vector<Restart> restarts;
    // Outputs their consumer reads at each use (a registry's hosts.toml, read
    // by containerd at each pull): written or removed, they restart nothing.
    std::vector<fs::path> read_per_use;
    // A render that writes nothing (render::detail::put() and withdraw()):
    // outputs say what a run would change, for eks-node-config to tell
    // whether a later step has work (render::containerd_work)
    bool dry_run = false;
    bool changed() const;
    void add(const fs::path& p, WriteResult r) { outputs.emplace_back(p, r); }
    void restart(std::string unit, std::string why);  // once per unit: the first reason is kept
    // The same, and started if it is not running; wins over a restart() of the unit.
    void start(std::string unit, std::string why);
    void merge(const StepResult& other);
};

using StepFn = std::function<StepResult(const StepOptions&)>;

struct StepSpec {
    // A constructor rather than aggregate init: call sites stay `{"kubelet", "…"}`
    // without -Wmissing-field-initializers noise.
    StepSpec(std::string_view n, std::string_view s, std::vector<std::string_view> consumers_ = {})
        : name(n), summary(s), consumers(std::move(consumers_)) {}

    std::string_view name;                       // "kubelet" -> binary eks-node-kubelet
    std::string_view summary;                    // one line for --help
    // Services that read this step's outputs and only at start ("kubelet.service").
    // When a run changed an output, each one that is running gets a try-restart;
    // when nothing changed, nothing is restarted. The unit files cannot say
    // this: Requires= and PartOf= restart the consumer on every re-run.
    std::vector<std::string_view> consumers;
};

// Parses argv, runs fn, returns the exit code for main().
int run_step(int argc, char** argv, const StepSpec& spec, const StepFn& fn);

// Parses the common options into `out`; throws UsageError. Exposed for the CLI.
void parse_common_options(const std::vector<std::string>& argv, StepOptions& out);

// After a successful run under systemd on the host: restart the consumers if
// an output changed, and every unit in result.restarts that is installed (a
// section may name a unit the node does not have yet), each only when
// restart_applies() to its state. Never
// waits for a job (the consumer may be ordered after this step, whose job is
// still running). A bus failure is a warning: the outputs are written, the
// admin can restart by hand. Off the host, logs at debug what it would ask.
void restart_consumers(const StepSpec& spec, const StepOptions& opts, const StepResult& result);

// Whether a consumer in this ActiveState may be running on the old files:
// active, activating (containerd starts in parallel with the steps), reloading,
// or failed (perhaps on them). Not inactive: it has not started yet, or an
// admin stopped it.
bool restart_applies(std::string_view state);

// A step as the rejoin after a re-run sees it (rejoin_blocker).
struct StepState {
    std::string unit;
    std::string active_state;      // ActiveState
    bool condition_result = true;  // ConditionResult: its last start was not skipped
    bool holds_back = true;        // its OnFailure= starts eks-node-failed.target (a step, not the verdict)
};
// Of the node's steps, the first that keeps a held-back node from starting its
// target again after a re-run succeeded: a failed one whose last start ran and
// whose failure holds the node back (starting the target would run it again,
// and it would fail again; the verdict and telemetry units fail without holding
// anything back: no OnFailure=). One whose
// last start was skipped by its condition stays "failed" in systemd from an
// earlier run but would be skipped again: no blocker. nullopt: none, start it.
std::optional<std::string> rejoin_blocker(const std::vector<StepState>& steps);

// Maps the current exception to an exit code and logs it once. For use in catch(...).
int report_exception(std::string_view step);

}  // namespace eksnode
