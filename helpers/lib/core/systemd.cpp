// SPDX-License-Identifier: Apache-2.0
#include "core/systemd.hpp"

#include <systemd/sd-bus.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>

#include <fmt/format.h>

#include "core/dl.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/text.hpp"

namespace eksnode::sd {

namespace {

// systemd's own socket for root clients (what systemctl uses as root): it
// answers before dbus is up and costs no broker round trip.
constexpr const char* private_socket = "/run/systemd/private";
constexpr const char* system_bus_socket = "/run/dbus/system_bus_socket";

constexpr const char* manager_service = "org.freedesktop.systemd1";
constexpr const char* manager_path = "/org/freedesktop/systemd1";
constexpr const char* manager_iface = "org.freedesktop.systemd1.Manager";

// The handful of sd-bus entry points we call, resolved from libsystemd.so.0.
// The header gives us the types; nothing links against the library.
struct SdBusApi {
    decltype(&sd_bus_new) bus_new;
    decltype(&sd_bus_set_address) set_address;
    decltype(&sd_bus_start) start;
    decltype(&sd_bus_open_system) open_system;
    decltype(&sd_bus_flush_close_unref) close_unref;
    decltype(&sd_bus_call_method) call_method;
    decltype(&sd_bus_message_read) message_read;
    decltype(&sd_bus_message_unref) message_unref;
    decltype(&sd_bus_get_property_string) get_property_string;
    decltype(&sd_bus_error_free) error_free;
    decltype(&sd_bus_get_property_trivial) get_property_trivial;
    decltype(&sd_bus_get_property_strv) get_property_strv;
    decltype(&sd_bus_get_property) get_property;
    decltype(&sd_bus_message_read_array) message_read_array;
    decltype(&sd_bus_set_method_call_timeout) set_method_call_timeout;
};

// sd-journal, for `eks-node status`'s last error line; same library.
struct SdJournalApi {
    decltype(&sd_journal_open) open;
    decltype(&sd_journal_close) close;
    decltype(&sd_journal_add_match) add_match;
    decltype(&sd_journal_add_disjunction) add_disjunction;
    decltype(&sd_journal_seek_tail) seek_tail;
    decltype(&sd_journal_previous) previous;
    decltype(&sd_journal_get_data) get_data;
    decltype(&sd_journal_set_data_threshold) set_data_threshold;
};

EKSNODE_DLOPEN_NOTE("sd-bus", "recommended",
                    "restarting the services that read a changed file; the last error for eks-node status",
                    "libsystemd.so.0");

// dlopen()ed on first use (core/dl.hpp): most runs never talk to systemd.
template <typename Api, typename Fill>
const Api& libsystemd(Fill fill) {
    return dl::load<Api>("libsystemd.so.0", "to talk to systemd", "install libsystemd0", fill);
}

const SdBusApi& api() {
    return libsystemd<SdBusApi>([](const dl::Library& l, SdBusApi& a) {
        l.bind("sd_bus_new", a.bus_new);
        l.bind("sd_bus_set_address", a.set_address);
        l.bind("sd_bus_start", a.start);
        l.bind("sd_bus_open_system", a.open_system);
        l.bind("sd_bus_flush_close_unref", a.close_unref);
        l.bind("sd_bus_call_method", a.call_method);
        l.bind("sd_bus_message_read", a.message_read);
        l.bind("sd_bus_message_unref", a.message_unref);
        l.bind("sd_bus_get_property_string", a.get_property_string);
        l.bind("sd_bus_error_free", a.error_free);
        l.bind("sd_bus_get_property_trivial", a.get_property_trivial);
        l.bind("sd_bus_get_property_strv", a.get_property_strv);
        l.bind("sd_bus_get_property", a.get_property);
        l.bind("sd_bus_message_read_array", a.message_read_array);
        l.bind("sd_bus_set_method_call_timeout", a.set_method_call_timeout);
    });
}

const SdJournalApi& journal_api() {
    return libsystemd<SdJournalApi>([](const dl::Library& l, SdJournalApi& a) {
        l.bind("sd_journal_open", a.open);
        l.bind("sd_journal_close", a.close);
        l.bind("sd_journal_add_match", a.add_match);
        l.bind("sd_journal_add_disjunction", a.add_disjunction);
        l.bind("sd_journal_seek_tail", a.seek_tail);
        l.bind("sd_journal_previous", a.previous);
        l.bind("sd_journal_get_data", a.get_data);
        l.bind("sd_journal_set_data_threshold", a.set_data_threshold);
    });
}

struct BusCloser {
    void operator()(sd_bus* b) const { api().close_unref(b); }
};
using BusPtr = std::unique_ptr<sd_bus, BusCloser>;

struct MessageUnref {
    void operator()(sd_bus_message* m) const { api().message_unref(m); }
};
using MessagePtr = std::unique_ptr<sd_bus_message, MessageUnref>;

// sd_bus_error owns its strings; free them on every path.
struct BusError {
    sd_bus_error e = SD_BUS_ERROR_NULL;
    ~BusError() { api().error_free(&e); }
    std::string text(int r) const {
        if (e.message) return e.message;
        return std::strerror(r < 0 ? -r : r);
    }
};

BusPtr connect() {
    const SdBusApi& a = api();
    sd_bus* raw = nullptr;
    if (access(private_socket, F_OK) == 0) {
        int r = a.bus_new(&raw);
        if (r >= 0) {
            BusPtr bus(raw);
            if (a.set_address(raw, fmt::format("unix:path={}", private_socket).c_str()) >= 0 && a.start(raw) >= 0)
                return bus;
            log::debug("{}: not usable, trying the system bus", private_socket);
        }
        raw = nullptr;
    }
    int r = a.open_system(&raw);
    if (r < 0) throw Error(fmt::format("cannot connect to systemd: {}", std::strerror(-r)));
    return BusPtr(raw);
}

// How long a call to the manager may take. sd-bus's default is 25 s, and a
// daemon-reload (the manager re-runs every generator and reloads every
// unit) took longer than that on a loaded VM-tier guest: eks-node-config
// failed with "Connection timed out" while the reload went on. The units'
// own TimeoutStartSec= (eks-node-config: 210 s) bounds the step instead.
constexpr uint64_t manager_call_timeout_usec = 120ULL * 1000 * 1000;

// One process, one connection, opened on first use.
sd_bus* bus() {
    static BusPtr b = [] {
        BusPtr c = connect();
        if (int r = api().set_method_call_timeout(c.get(), manager_call_timeout_usec); r < 0)
            log::debug("sd_bus_set_method_call_timeout: {}", std::strerror(-r));
        return c;
    }();
    return b.get();
}

void unit_job(const char* method, std::string_view unit, std::string_view mode) {
    BusError err;
    sd_bus_message* reply = nullptr;
    std::string u(unit), m(mode);
    int r = api().call_method(bus(), manager_service, manager_path, manager_iface, method, &err.e, &reply, "ss",
                              u.c_str(), m.c_str());
    MessagePtr owned(reply);
    if (r < 0) throw Error(fmt::format("systemd {} {}: {}", method, unit, err.text(r)));
}

}  // namespace

bool under_systemd() {
    const char* id = std::getenv("INVOCATION_ID");
    if (!id || !*id) return false;
    return access(private_socket, F_OK) == 0 || access(system_bus_socket, F_OK) == 0;
}

void daemon_reload() {
    BusError err;
    sd_bus_message* reply = nullptr;
    // Reload answers once the manager has re-run the generators and reloaded units.
    int r = api().call_method(bus(), manager_service, manager_path, manager_iface, "Reload", &err.e, &reply, "");
    MessagePtr owned(reply);
    if (r < 0) throw Error(fmt::format("systemd daemon-reload: {}", err.text(r)));
}

void networkd_reload() {
    // The system bus, not bus(): on systemd's private socket only PID 1
    // answers ("Unknown object '/org/freedesktop/network1'").
    const SdBusApi& a = api();
    sd_bus* raw = nullptr;
    if (int r = a.open_system(&raw); r < 0)
        throw Error(fmt::format("systemd-networkd Reload: cannot connect to the system bus: {}", std::strerror(-r)));
    BusPtr system_bus(raw);
    // At boot networkd takes its bus name a moment after D-Bus is up: a few
    // tries, 200 ms apart, before giving up.
    for (int attempt = 1;; ++attempt) {
        BusError err;
        sd_bus_message* reply = nullptr;
        int r = a.call_method(system_bus.get(), "org.freedesktop.network1", "/org/freedesktop/network1",
                              "org.freedesktop.network1.Manager", "Reload", &err.e, &reply, "");
        MessagePtr owned(reply);
        if (r >= 0) return;
        if (attempt == 25) throw Error(fmt::format("systemd-networkd Reload: {}", err.text(r)));
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
}

void start_unit(std::string_view unit, std::string_view mode) { unit_job("StartUnit", unit, mode); }
void restart_unit(std::string_view unit, std::string_view mode) { unit_job("RestartUnit", unit, mode); }
void try_restart_unit(std::string_view unit, std::string_view mode) { unit_job("TryRestartUnit", unit, mode); }
void stop_unit(std::string_view unit, std::string_view mode) { unit_job("StopUnit", unit, mode); }

void kill_unit(std::string_view unit, std::string_view whom, int signal) {
    BusError err;
    sd_bus_message* reply = nullptr;
    std::string u(unit), w(whom);
    int r = api().call_method(bus(), manager_service, manager_path, manager_iface, "KillUnit", &err.e, &reply, "ssi",
                              u.c_str(), w.c_str(), signal);
    MessagePtr owned(reply);
    if (r < 0) throw Error(fmt::format("systemd KillUnit {}: {}", unit, err.text(r)));
}

void restart_unit_and_wait(std::string_view unit, std::chrono::milliseconds timeout) {
    const std::string before = invocation_id(unit);
    unit_job("RestartUnit", unit, "replace");
    // A new run has a new InvocationID; polled as stop_unit_and_wait() is.
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        UnitStatus s = unit_status(unit);
        if (!s.invocation_id.empty() && s.invocation_id != before && s.active_state != "activating" &&
            s.active_state != "deactivating") {
            if (s.active_state == "failed")
                throw Error(fmt::format("{} failed ({}); journalctl -u {} says why", unit, s.result, unit));
            return;
        }
        if (std::chrono::steady_clock::now() >= deadline)
            throw Error(fmt::format("{} has not finished {} ms after it was restarted", unit, timeout.count()));
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

void stop_unit_and_wait(std::string_view unit, std::chrono::milliseconds timeout) {
    unit_job("StopUnit", unit, "replace");
    wait_for_run_end(unit, "", timeout);
}

void wait_for_run_end(std::string_view unit, std::string_view invocation, std::chrono::milliseconds timeout) {
    // Polled, not JobRemoved signals: a stop takes as long as the unit's own
    // ExecStop and signals, the poll costs a property read every 10 ms, and
    // it needs no bus match or event loop in a step that asks this once.
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        std::optional<std::string> state = active_state(unit);
        if (!state || *state == "inactive" || *state == "failed") return;
        if (!invocation.empty() && invocation_id(unit) != invocation) return;
        if (std::chrono::steady_clock::now() >= deadline)
            throw Error(fmt::format("{} is still {} {} ms after it was asked to stop", unit, *state, timeout.count()));
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

namespace {

// LoadUnit, not GetUnit: an inactive unit may have been garbage-collected
// and GetUnit would then call it unknown.
std::string load_unit(std::string_view unit) {
    const SdBusApi& a = api();
    BusError err;
    sd_bus_message* reply = nullptr;
    std::string u(unit);
    int r =
        a.call_method(bus(), manager_service, manager_path, manager_iface, "LoadUnit", &err.e, &reply, "s", u.c_str());
    MessagePtr owned(reply);
    if (r < 0) throw Error(fmt::format("systemd LoadUnit {}: {}", unit, err.text(r)));
    const char* object = nullptr;
    r = a.message_read(reply, "o", &object);
    if (r < 0) throw Error(fmt::format("systemd LoadUnit {}: bad reply: {}", unit, std::strerror(-r)));
    return object;
}

// Typed property readers on one unit object; each throws Error naming the unit.
struct UnitObject {
    std::string unit, path;

    std::string string(const char* iface, const char* name) const {
        BusError err;
        char* value = nullptr;
        int r = api().get_property_string(bus(), manager_service, path.c_str(), iface, name, &err.e, &value);
        if (r < 0) throw Error(fmt::format("systemd {} of {}: {}", name, unit, err.text(r)));
        std::string s(value);
        std::free(value);
        return s;
    }
    // type: 't' (uint64_t), 'i' (int32_t), 'b' (int).
    template <typename T>
    T trivial(const char* iface, const char* name, char type) const {
        BusError err;
        T value{};
        int r = api().get_property_trivial(bus(), manager_service, path.c_str(), iface, name, &err.e, type, &value);
        if (r < 0) throw Error(fmt::format("systemd {} of {}: {}", name, unit, err.text(r)));
        return value;
    }
    std::vector<std::string> strv(const char* iface, const char* name) const {
        BusError err;
        char** value = nullptr;
        int r = api().get_property_strv(bus(), manager_service, path.c_str(), iface, name, &err.e, &value);
        if (r < 0) throw Error(fmt::format("systemd {} of {}: {}", name, unit, err.text(r)));
        std::vector<std::string> out;
        for (char** p = value; p && *p; ++p) {
            out.emplace_back(*p);
            std::free(*p);
        }
        std::free(value);
        return out;
    }
    // InvocationID is "ay": 16 bytes, shown as 32 hex digits like the journal's field.
    std::string id128(const char* iface, const char* name) const {
        BusError err;
        sd_bus_message* reply = nullptr;
        int r = api().get_property(bus(), manager_service, path.c_str(), iface, name, &err.e, &reply, "ay");
        MessagePtr owned(reply);
        if (r < 0) throw Error(fmt::format("systemd {} of {}: {}", name, unit, err.text(r)));
        const void* data = nullptr;
        size_t size = 0;
        r = api().message_read_array(reply, 'y', &data, &size);
        if (r < 0) throw Error(fmt::format("systemd {} of {}: bad reply: {}", name, unit, std::strerror(-r)));
        return hex_encode({static_cast<const char*>(data), size});
    }
};

constexpr const char* unit_iface = "org.freedesktop.systemd1.Unit";

}  // namespace

bool has_job(std::string_view unit) {
    const std::string path = load_unit(unit);
    BusError err;
    sd_bus_message* reply = nullptr;
    int r = api().get_property(bus(), manager_service, path.c_str(), unit_iface, "Job", &err.e, &reply, "(uo)");
    MessagePtr owned(reply);
    if (r < 0) throw Error(fmt::format("systemd Job of {}: {}", unit, err.text(r)));
    uint32_t id = 0;
    const char* job = nullptr;
    r = api().message_read(reply, "(uo)", &id, &job);
    if (r < 0) throw Error(fmt::format("systemd Job of {}: bad reply: {}", unit, std::strerror(-r)));
    return id != 0;
}

UnitStatus unit_status(std::string_view unit) {
    UnitObject o{std::string(unit), load_unit(unit)};
    UnitStatus s;
    s.name = unit;
    s.load_state = o.string(unit_iface, "LoadState");
    s.active_state = o.string(unit_iface, "ActiveState");
    s.sub_state = o.string(unit_iface, "SubState");
    if (s.load_state == "not-found") return s;
    s.condition_result = o.trivial<int>(unit_iface, "ConditionResult", 'b') != 0;
    s.condition_usec = o.trivial<uint64_t>(unit_iface, "ConditionTimestamp", 't');
    s.start_usec = o.trivial<uint64_t>(unit_iface, "InactiveExitTimestamp", 't');
    s.start_monotonic_usec = o.trivial<uint64_t>(unit_iface, "InactiveExitTimestampMonotonic", 't');
    s.end_usec = o.trivial<uint64_t>(unit_iface, "ActiveEnterTimestamp", 't');
    s.invocation_id = o.id128(unit_iface, "InvocationID");
    if (unit.ends_with(".service")) {
        constexpr const char* svc = "org.freedesktop.systemd1.Service";
        s.result = o.string(svc, "Result");
        // a oneshot is "activating" while it runs: its main process gives the
        // real start and end
        uint64_t start = o.trivial<uint64_t>(svc, "ExecMainStartTimestamp", 't');
        uint64_t end = o.trivial<uint64_t>(svc, "ExecMainExitTimestamp", 't');
        if (start) {
            s.start_usec = start;
            s.start_monotonic_usec = o.trivial<uint64_t>(svc, "ExecMainStartTimestampMonotonic", 't');
            s.end_usec = end;
            if (end) s.exit_status = o.trivial<int32_t>(svc, "ExecMainStatus", 'i');
        }
    } else if (unit.ends_with(".mount")) {
        s.result = o.string("org.freedesktop.systemd1.Mount", "Result");
    }
    return s;
}

std::vector<std::string> unit_dependencies(std::string_view unit, std::string_view property) {
    UnitObject o{std::string(unit), load_unit(unit)};
    return o.strv(unit_iface, std::string(property).c_str());
}

std::vector<std::string> units_stopped_with(std::string_view unit) {
    UnitObject o{std::string(unit), load_unit(unit)};
    std::vector<std::string> all;
    for (const char* property : {"RequiredBy", "BoundBy", "ConsistsOf"})
        for (std::string& u : o.strv(unit_iface, property))
            if (std::find(all.begin(), all.end(), u) == all.end()) all.push_back(std::move(u));
    return all;
}

std::vector<std::vector<std::string>> journal_match_groups(std::string_view unit, std::string_view invocation_id,
                                                           const std::vector<std::string>& any_of) {
    // Matches on one field are ORed, on different fields ANDed, and a
    // disjunction ORs the groups. journald reads a datagram sender's unit and
    // invocation from its cgroup when it reads the datagram, and a step that
    // has exited by then (a failing one does at once) may leave its last line
    // without them: the steps name both themselves (core/log.cpp), so the
    // second group finds that line. Any local process can send OBJECT_* (and
    // MESSAGE_ID, EKS_NODE_CALLS) fields, which is why journalctl -u trusts
    // OBJECT_SYSTEMD_UNIT= only with _UID=0; both groups require it (the
    // steps run as root; _UID is journald's, not the sender's word), and the
    // run's invocation, so an older run's or a forger's entry never answers.
    std::vector<std::vector<std::string>> groups;
    for (const char* prefix : {"_SYSTEMD_", "OBJECT_SYSTEMD_"}) {
        std::vector<std::string> g{"_UID=0", fmt::format("{}UNIT={}", prefix, unit),
                                   fmt::format("{}INVOCATION_ID={}", prefix, invocation_id)};
        g.insert(g.end(), any_of.begin(), any_of.end());
        groups.push_back(std::move(g));
    }
    return groups;
}

namespace {

// The value of `field` in the newest journal entry of one run of a unit (its
// invocation ID) that matches one of `any_of` ("PRIORITY=3",
// "MESSAGE_ID=..."), read no further than `max_bytes` (a longer value comes
// back cut to max_bytes + 1, so the caller can tell). sd-journal is dlopen()ed.
std::optional<std::string> last_entry_field(std::string_view unit, std::string_view invocation_id,
                                            const std::vector<std::string>& any_of, std::string_view field,
                                            size_t max_bytes) {
    // without the run there is nothing to tell its entries from another's
    if (invocation_id.empty()) return std::nullopt;
    const SdJournalApi& j = journal_api();
    sd_journal* raw = nullptr;
    if (j.open(&raw, SD_JOURNAL_LOCAL_ONLY) < 0) return std::nullopt;
    std::unique_ptr<sd_journal, decltype(j.close)> journal(raw, j.close);
    std::string name(field);
    // "FIELD=" and the value, decompressed no further than that
    if (j.set_data_threshold(raw, name.size() + 1 + max_bytes + 1) < 0) return std::nullopt;
    bool ok = true;
    bool first = true;
    for (const std::vector<std::string>& group : journal_match_groups(unit, invocation_id, any_of)) {
        if (!first) ok = ok && j.add_disjunction(raw) >= 0;
        first = false;
        for (const std::string& m : group) ok = ok && j.add_match(raw, m.data(), m.size()) >= 0;
    }
    if (!ok || j.seek_tail(raw) < 0 || j.previous(raw) <= 0) return std::nullopt;
    const void* data = nullptr;
    size_t size = 0;
    if (j.get_data(raw, name.c_str(), &data, &size) < 0) return std::nullopt;
    std::string_view value(static_cast<const char*>(data), size);
    value.remove_prefix(std::min(value.size(), name.size() + 1));  // "FIELD="
    // an uncompressed field comes back whole, whatever the threshold
    return std::string(value.substr(0, max_bytes + 1));
}

}  // namespace

std::optional<std::string> last_error_line(std::string_view unit, std::string_view invocation_id) {
    std::optional<std::string> line = last_entry_field(
        unit, invocation_id, {"PRIORITY=0", "PRIORITY=1", "PRIORITY=2", "PRIORITY=3"}, "MESSAGE", max_error_line_bytes);
    if (line) *line = one_line(*line, max_error_line_bytes);
    return line;
}

std::optional<std::string> run_field(std::string_view unit, std::string_view invocation_id, std::string_view field) {
    std::vector<std::string> ids;
    for (std::string_view id :
         {log::id::step_done, log::id::step_failed, log::id::config_invalid, log::id::imds_unreachable})
        ids.push_back(fmt::format("MESSAGE_ID={}", id));
    return last_entry_field(unit, invocation_id, ids, field, max_run_field_bytes);
}

std::optional<std::string> active_state(std::string_view unit) {
    UnitObject o{std::string(unit), load_unit(unit)};
    if (o.string(unit_iface, "LoadState") == "not-found") return std::nullopt;
    return o.string(unit_iface, "ActiveState");
}

std::string invocation_id(std::string_view unit) {
    UnitObject o{std::string(unit), load_unit(unit)};
    return o.id128(unit_iface, "InvocationID");
}

}  // namespace eksnode::sd
