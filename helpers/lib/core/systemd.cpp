#include "core/systemd.hpp"

#include <dlfcn.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/log.hpp"

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
};

template <typename Fn>
void resolve(void* lib, const char* name, Fn& out) {
    void* sym = dlsym(lib, name);
    if (!sym) throw Error(fmt::format("libsystemd.so.0: {} missing", name));
    out = reinterpret_cast<Fn>(sym);
}

const SdBusApi& api() {
    static const SdBusApi loaded = [] {
        void* lib = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
        if (!lib) throw Error(fmt::format("cannot talk to systemd: {}", dlerror()));
        SdBusApi a{};
        resolve(lib, "sd_bus_new", a.bus_new);
        resolve(lib, "sd_bus_set_address", a.set_address);
        resolve(lib, "sd_bus_start", a.start);
        resolve(lib, "sd_bus_open_system", a.open_system);
        resolve(lib, "sd_bus_flush_close_unref", a.close_unref);
        resolve(lib, "sd_bus_call_method", a.call_method);
        resolve(lib, "sd_bus_message_read", a.message_read);
        resolve(lib, "sd_bus_message_unref", a.message_unref);
        resolve(lib, "sd_bus_get_property_string", a.get_property_string);
        resolve(lib, "sd_bus_error_free", a.error_free);
        return a;
    }();
    return loaded;
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

// One process, one connection, opened on first use.
sd_bus* bus() {
    static BusPtr b = connect();
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

void start_unit(std::string_view unit, std::string_view mode) { unit_job("StartUnit", unit, mode); }
void restart_unit(std::string_view unit, std::string_view mode) { unit_job("RestartUnit", unit, mode); }
void try_restart_unit(std::string_view unit, std::string_view mode) { unit_job("TryRestartUnit", unit, mode); }

std::optional<std::string> active_state(std::string_view unit) {
    const SdBusApi& a = api();
    BusError err;
    sd_bus_message* reply = nullptr;
    std::string u(unit);
    // LoadUnit, not GetUnit: an inactive unit may have been garbage-collected
    // and GetUnit would then call it unknown.
    int r = a.call_method(bus(), manager_service, manager_path, manager_iface, "LoadUnit", &err.e, &reply, "s",
                          u.c_str());
    MessagePtr owned(reply);
    if (r < 0) throw Error(fmt::format("systemd LoadUnit {}: {}", unit, err.text(r)));
    const char* object = nullptr;
    r = a.message_read(reply, "o", &object);
    if (r < 0) throw Error(fmt::format("systemd LoadUnit {}: bad reply: {}", unit, std::strerror(-r)));
    std::string path(object);

    auto property = [&](const char* name) {
        BusError perr;
        char* value = nullptr;
        int pr = a.get_property_string(bus(), manager_service, path.c_str(), "org.freedesktop.systemd1.Unit", name,
                                       &perr.e, &value);
        if (pr < 0) throw Error(fmt::format("systemd {} of {}: {}", name, unit, perr.text(pr)));
        std::string s(value);
        std::free(value);
        return s;
    };
    if (property("LoadState") == "not-found") return std::nullopt;
    return property("ActiveState");
}

}  // namespace eksnode::sd
