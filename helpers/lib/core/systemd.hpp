// SPDX-License-Identifier: Apache-2.0
// Asking the service manager to do things: daemon-reload, start a target,
// restart a consumer. libsystemd's sd-bus is loaded with dlopen() the first
// time one of these is called, so the steps that never talk to systemd (most
// runs) do not pay for loading it and its dependencies at start-up.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/paths.hpp"

namespace eksnode::sd {

// True when this process is a systemd service (INVOCATION_ID is set) and the
// system bus socket exists. Tests and `eks-node render --root` run outside
// systemd: every caller checks this first and does nothing when false.
bool under_systemd();

// under_systemd() and working on the host itself, not under --root=DIR: only
// then may a step ask systemd to reload or restart anything.
inline bool manages_host(const Paths& paths) { return paths.is_host() && under_systemd(); }

// Manager.Reload. Returns once the reload is done (the generators ran).
// Throws Error on a bus failure.
void daemon_reload();

// systemd-networkd's Manager.Reload (`networkctl reload`): it reads its
// .network files again and reconfigures the links whose file changed. The
// caller needs CAP_NET_ADMIN (networkd's own check, before polkit). Throws
// Error on a bus failure (networkd not running, not allowed).
void networkd_reload();

// Enqueue a job without waiting for it: a step must never wait for a job
// that may itself be ordered after the step (that would deadlock the
// transaction). mode is a systemd job mode ("replace", "fail", ...).
void start_unit(std::string_view unit, std::string_view mode = "replace");
void restart_unit(std::string_view unit, std::string_view mode = "replace");
// Restarts the unit only if it is running; a no-op for an inactive unit.
void try_restart_unit(std::string_view unit, std::string_view mode = "replace");
// Queues a stop job and returns (a queued start job of the unit is cancelled).
void stop_unit(std::string_view unit, std::string_view mode = "replace");
// Sends `signal` to the unit's processes ("main": its main process alone, "all":
// its cgroup), as `systemctl kill --kill-whom=WHOM --signal=SIGNAL`; throws Error
// on a bus failure (a unit with no main process to signal among them).
void kill_unit(std::string_view unit, std::string_view whom, int signal);

// Stops the unit and returns once it is inactive (or failed). Only for a unit
// whose stop is not ordered after the calling step (its stop job would wait
// for the step); throws Error on a bus failure or when it is still not down
// after `timeout`.
void stop_unit_and_wait(std::string_view unit, std::chrono::milliseconds timeout);
// The wait of stop_unit_and_wait() alone, for a stop already queued: returns
// once the unit is inactive or failed (not "activating" in a Restart= holdoff),
// or, given its InvocationID, once a newer run has begun; throws as it does.
void wait_for_run_end(std::string_view unit, std::string_view invocation, std::chrono::milliseconds timeout);

// Restarts `unit` and returns once its new run has ended (a oneshot's
// ExecStart= done): throws Error when it failed or had not ended by `timeout`.
void restart_unit_and_wait(std::string_view unit, std::chrono::milliseconds timeout);

// True while the unit has a job queued or running (a start waiting for the
// units it is ordered after, say): Unit.Job is not (0, "/").
bool has_job(std::string_view unit);

// The unit's ActiveState ("active", "inactive", "failed", ...), or nullopt if
// systemd does not know the unit.
std::optional<std::string> active_state(std::string_view unit);

// The unit's InvocationID (32 hex digits, "" if it never ran): one property
// read, for the waits that tell one run from the next.
std::string invocation_id(std::string_view unit);

// What `eks-node status` shows of one unit, read over the bus (LoadUnit, then
// its properties). Timestamps are CLOCK_REALTIME microseconds, 0 for "never".
struct UnitStatus {
    std::string name;
    std::string load_state;    // loaded, not-found, masked, ...
    std::string active_state;  // active, inactive, failed, activating, ...
    std::string sub_state;     // exited, running, dead, failed, mounted, ...
    std::string result;        // success, exit-code, timeout, ... ("" for targets)
    bool condition_result = false;
    uint64_t condition_usec = 0;   // when the conditions were last checked
    std::optional<int> exit_status;  // ExecMainStatus, services that ran only
    uint64_t start_usec = 0;       // ExecMainStartTimestamp, else InactiveExitTimestamp
    uint64_t start_monotonic_usec = 0;  // the same on CLOCK_MONOTONIC: since the kernel started
    uint64_t end_usec = 0;         // ExecMainExitTimestamp, else ActiveEnterTimestamp
    std::string invocation_id;     // 32 hex digits, "" if it never ran
};
UnitStatus unit_status(std::string_view unit);

// A dependency list of a unit as systemd resolved it, including what
// generators, .wants/ links and default dependencies added: property "Wants"
// (e.g. eks-node.target: every step, containerd, kubelet), "After", "Before".
std::vector<std::string> unit_dependencies(std::string_view unit, std::string_view property);
inline std::vector<std::string> unit_wants(std::string_view unit) { return unit_dependencies(unit, "Wants"); }
// The units a stop of `unit` stops too (RequiredBy=, BoundBy=, ConsistsOf=:
// Requires=, BindsTo= and PartOf= point at it), whose queued start jobs the
// stop would cancel; one LoadUnit for the three.
std::vector<std::string> units_stopped_with(std::string_view unit);

// The journal is read as journalctl -u reads it, and stricter: an entry
// counts only when journald recorded uid 0 as its sender (_UID=0) and it
// belongs to the unit's run (its InvocationID, UnitStatus::invocation_id),
// by the fields journald sets (_SYSTEMD_UNIT=, _SYSTEMD_INVOCATION_ID=) or
// the ones the steps set themselves (OBJECT_SYSTEMD_*, core/log.cpp). The
// groups of matches, ORed, each ANDed with `any_of` ORed; for the tests.
std::vector<std::vector<std::string>> journal_match_groups(std::string_view unit, std::string_view invocation_id,
                                                           const std::vector<std::string>& any_of);

// The bounds of what is read back: an error line is shown in 1 KiB (control
// characters escaped, one_line() in core/text.hpp); a run field is read no
// further than 64 KiB (a longer one comes back longer than that, cut, for
// the caller to refuse: telemetry::from_json).
inline constexpr size_t max_error_line_bytes = 1024;
inline constexpr size_t max_run_field_bytes = 64 * 1024;

// The newest journal entry at PRIORITY<=3 (err and worse) of one run of a
// unit (its invocation ID), as one bounded, escaped line. sd-journal is
// dlopen()ed too. nullopt when there is none, the ID is empty or the journal
// is unreadable.
std::optional<std::string> last_error_line(std::string_view unit, std::string_view invocation_id);

// A field of the last entry of a step's run (MESSAGE_ID done or failed, core/step.cpp):
// EKS_NODE_CALLS (core/telemetry.hpp). nullopt when there is none.
std::optional<std::string> run_field(std::string_view unit, std::string_view invocation_id, std::string_view field);

}  // namespace eksnode::sd
