// SPDX-License-Identifier: Apache-2.0
// eks-node-containerd: /etc/containerd/base-runtime-spec.json, nodeadm's
// default OCI runtime spec (base-runtime-spec.json) with the user's
// spec.containerd.baseRuntimeSpec over it.
#include "render/containerd.hpp"
#include "render/shared.hpp"

namespace eksnode::render::detail {

namespace {

json mount(std::string_view destination, std::string_view type, std::string_view source, json options) {
    json m = json::object();
    m["destination"] = destination;
    m["options"] = std::move(options);
    m["source"] = source;
    m["type"] = type;
    return m;
}

// containerd's default Linux spec (`ctr oci spec`) with nodeadm's changes: no
// inheritable capabilities, and RLIMIT_NOFILE raised to 65536/1048576.
json default_base_runtime_spec() {
    const json caps = json::array({"CAP_AUDIT_WRITE", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID",
                                   "CAP_KILL", "CAP_MKNOD", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SETFCAP",
                                   "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT"});
    json lnx = json::object();
    lnx["maskedPaths"] =
        json::array({"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                     "/proc/sched_debug", "/proc/scsi", "/proc/timer_list", "/proc/timer_stats", "/sys/firmware"});
    lnx["namespaces"] = json::array();
    for (const char* ns : {"ipc", "mount", "network", "pid", "uts"}) lnx["namespaces"].push_back({{"type", ns}});
    lnx["readonlyPaths"] = json::array({"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"});
    lnx["resources"] = {{"devices", json::array({{{"access", "rwm"}, {"allow", false}}})}};

    json mounts = json::array({
        mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
        mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
        mount("/dev/pts", "devpts", "devpts",
              {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
        mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}),
        mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
    });

    json process = json::object();
    process["capabilities"] = {{"bounding", caps}, {"effective", caps}, {"permitted", caps}};
    process["cwd"] = "/";
    process["noNewPrivileges"] = true;
    json nofile = json::object();
    nofile["type"] = "RLIMIT_NOFILE";
    nofile["soft"] = 65536;
    nofile["hard"] = 1048576;
    process["rlimits"] = json::array({std::move(nofile)});
    process["user"] = {{"gid", 0}, {"uid", 0}};

    json spec = json::object();
    spec["linux"] = std::move(lnx);
    spec["mounts"] = std::move(mounts);
    spec["ociVersion"] = "1.1.0";
    spec["process"] = std::move(process);
    spec["root"] = {{"path", "rootfs"}};
    return spec;
}

}  // namespace

json base_runtime_spec(const json& cfg) {
    json spec = default_base_runtime_spec();
    if (const json* user = non_empty_object(cfg, "/spec/containerd/baseRuntimeSpec")) deep_merge(spec, *user);
    return spec;
}

}  // namespace eksnode::render::detail
