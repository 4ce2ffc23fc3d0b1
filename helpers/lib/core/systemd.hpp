// Asking the service manager to do things: daemon-reload, start a target,
// restart a consumer. libsystemd's sd-bus is loaded with dlopen() the first
// time one of these is called, so the steps that never talk to systemd (most
// runs) do not pay for loading it and its dependencies at start-up.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace eksnode::sd {

// True when this process is a systemd service (INVOCATION_ID is set) and the
// system bus socket exists. Tests and `eks-node render --root` run outside
// systemd: every caller checks this first and does nothing when false.
bool under_systemd();

// Manager.Reload. Returns once the reload is done (the generators ran).
// Throws Error on a bus failure.
void daemon_reload();

// Enqueue a job without waiting for it: a step must never wait for a job
// that may itself be ordered after the step (that would deadlock the
// transaction). mode is a systemd job mode ("replace", "fail", ...).
void start_unit(std::string_view unit, std::string_view mode = "replace");
void restart_unit(std::string_view unit, std::string_view mode = "replace");
// Restarts the unit only if it is running; a no-op for an inactive unit.
void try_restart_unit(std::string_view unit, std::string_view mode = "replace");

// The unit's ActiveState ("active", "inactive", "failed", ...), or nullopt if
// systemd does not know the unit.
std::optional<std::string> active_state(std::string_view unit);

}  // namespace eksnode::sd
