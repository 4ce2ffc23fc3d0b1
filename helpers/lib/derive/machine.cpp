// SPDX-License-Identifier: Apache-2.0
// Facts about the machine under the root: CPUs, memory, kubelet and containerd
// versions, NVIDIA GPUs, FIPS mode. Read once by eks-node-config and recorded
// in config.json "machine", so every later step sees the same facts.
//
// A render into a temporary root must be deterministic, so under a root that
// is not the host nothing of the host is consulted (no binaries run, no /sys
// read), with one exception: a root without sys/devices/system/cpu/online
// counts the host's CPUs (std::thread::hardware_concurrency()), because
// reserved CPU cannot be computed without a count and an assumed constant
// would be no better. The origin says so; a golden test provides the file.
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <thread>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/log.hpp"
#include "core/process.hpp"
#include "core/text.hpp"
#include "derive/internal.hpp"

namespace eksnode::derive {

namespace detail {

namespace {

// Parses a non-negative decimal of at most 9 digits (no overflow possible in int).
std::optional<int> parse_small_uint(std::string_view s) {
    if (s.empty() || s.size() > 9) return std::nullopt;
    int v = 0;
    for (char c : s) {
        if (!is_digit(c)) return std::nullopt;
        v = v * 10 + (c - '0');
    }
    return v;
}

}  // namespace

std::optional<int> parse_cpu_list(std::string_view text) {
    text = trim_line(text);
    if (text.empty()) return std::nullopt;
    long count = 0;
    while (!text.empty()) {
        std::size_t comma = text.find(',');
        std::string_view item = text.substr(0, comma);
        text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
        if (comma != std::string_view::npos && text.empty()) return std::nullopt;  // trailing comma
        std::size_t dash = item.find('-');
        std::optional<int> first = parse_small_uint(item.substr(0, dash));
        std::optional<int> last = dash == std::string_view::npos ? first : parse_small_uint(item.substr(dash + 1));
        if (!first || !last || *last < *first) return std::nullopt;
        count += *last - *first + 1;
        // The kernel's NR_CPUS tops out at 8192; anything beyond is not a CPU list.
        if (count > 8192) return std::nullopt;
    }
    return static_cast<int>(count);
}

std::optional<long> parse_meminfo_total_mib(std::string_view text) {
    constexpr std::string_view key = "MemTotal:";
    std::size_t at = text.starts_with(key) ? 0 : text.find(std::string("\n") + std::string(key));
    if (at == std::string_view::npos) return std::nullopt;
    if (text[at] == '\n') ++at;
    std::string_view line = text.substr(at + key.size());
    line = line.substr(0, line.find('\n'));
    line = trim_line(line);
    if (!line.ends_with(" kB")) return std::nullopt;
    line = trim_line(line.substr(0, line.size() - 3));
    if (line.empty() || line.size() > 15) return std::nullopt;
    long kib = 0;
    for (char c : line) {
        if (!is_digit(c)) return std::nullopt;
        kib = kib * 10 + (c - '0');
    }
    return kib / 1024;
}

std::optional<std::string> parse_version(std::string_view text) {
    std::size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r')) ++i;
        std::size_t end = i;
        while (end < text.size() && text[end] != ' ' && text[end] != '\t' && text[end] != '\n' && text[end] != '\r')
            ++end;
        std::string_view word = text.substr(i, end - i);
        i = end;
        if (word.starts_with('v') || word.starts_with('V')) word.remove_prefix(1);
        // Up to the pre-release or build suffix: "1.29.0-eks-5e0fdde", "1.7.20+unknown".
        std::string_view number = word.substr(0, word.find_first_of("-+"));
        int parts[3] = {0, 0, 0};
        int n = 0;
        bool ok = !number.empty();
        while (ok && !number.empty()) {
            std::size_t dot = number.find('.');
            std::optional<int> part = parse_small_uint(number.substr(0, dot));
            ok = part.has_value() && n < 3;
            if (ok) parts[n++] = *part;
            number = dot == std::string_view::npos ? std::string_view{} : number.substr(dot + 1);
            if (ok && dot != std::string_view::npos && number.empty()) ok = false;  // "1.29."
        }
        // A bare "1" is a count, not a version: demand at least MAJOR.MINOR.
        if (ok && n >= 2) return fmt::format("{}.{}.{}", parts[0], parts[1], parts[2]);
    }
    return std::nullopt;
}

std::optional<std::string> capture_stdout(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
    ProcessOptions options;
    options.stderr_to = ProcessOptions::Stderr::discard;
    options.max_output = 64 * 1024;  // a --version answer is one line
    options.timeout = timeout;
    ProcessResult p = run_process(argv, options);
    if (!p.succeeded() || p.truncated) return std::nullopt;
    return std::move(p.out);
}

}  // namespace detail

namespace {

using detail::parse_version;

constexpr auto version_command_timeout = std::chrono::seconds(2);

std::string where(const Paths& paths, std::string_view absolute) { return paths.of(absolute).string(); }

void read_cpus(const Paths& paths, MachineFacts& m) {
    constexpr std::string_view file = "/sys/devices/system/cpu/online";
    std::optional<std::string> text = read_file_if_exists(paths.of(file));
    std::optional<int> cpus = text ? detail::parse_cpu_list(*text) : std::nullopt;
    if (text && !cpus)
        throw Error(fmt::format("{}: not a CPU list: \"{}\"", where(paths, file), std::string(*text).substr(0, 80)));
    std::string origin;
    if (cpus) {
        origin = fmt::format("{} CPUs online ({})", *cpus, where(paths, file));
    } else {
        unsigned n = std::thread::hardware_concurrency();
        cpus = n > 0 ? static_cast<int>(n) : 1;
        origin = fmt::format("{} CPUs as std::thread::hardware_concurrency() counts them ({} is missing)", *cpus,
                             where(paths, file));
        log::warning("{} is missing; counting {} CPUs with std::thread::hardware_concurrency() instead",
                     where(paths, file), *cpus);
    }
    m.cpu_millicores = *cpus * 1000;
    m.origins["/machine/cpuMillicores"] = origin;
}

void read_memory(const Paths& paths, MachineFacts& m) {
    constexpr std::string_view file = "/proc/meminfo";
    std::optional<std::string> text = read_file_if_exists(paths.of(file));
    std::optional<long> mib = text ? detail::parse_meminfo_total_mib(*text) : std::nullopt;
    if (mib) {
        m.memory_mib = *mib;
        m.origins["/machine/memoryMiB"] = fmt::format("MemTotal of {}", where(paths, file));
    } else {
        m.memory_mib = 0;
        m.origins["/machine/memoryMiB"] =
            fmt::format("unknown: {} {}", where(paths, file), text ? "has no MemTotal" : "is missing");
    }
}

// The version a component reports: its version file (written when the image
// is built), else `<binary> --version` on the host, else `assumed`.
std::string read_version(const Paths& paths, std::string_view component, std::string_view file,
                         std::string_view assumed, std::string& origin) {
    std::string file_at = where(paths, file);
    if (std::optional<std::string> text = read_file_if_exists(paths.of(file))) {
        // The image builder wrote this file to answer exactly this question;
        // an unreadable answer is an image bug to fix, not to guess around.
        std::optional<std::string> v = parse_version(*text);
        if (!v) throw Error(fmt::format("{}: no version number in \"{}\"", file_at, std::string(*text).substr(0, 80)));
        origin = file_at;
        return *v;
    }
    std::string why = fmt::format("{} is missing", file_at);
    if (paths.is_host()) {
        std::vector<std::string> argv{std::string(component), "--version"};
        std::optional<std::string> out = detail::capture_stdout(argv, version_command_timeout);
        std::optional<std::string> v = out ? parse_version(*out) : std::nullopt;
        if (v) {
            origin = fmt::format("`{} --version`", component);
            return *v;
        }
        why += fmt::format(" and `{} --version` gave no version", component);
    } else {
        why += " (binaries are not run under --root)";
    }
    log::warning("{}; assuming {} {}", why, component, assumed);
    origin = fmt::format("assumed: {}", why);
    return std::string(assumed);
}

void read_versions(const Paths& paths, MachineFacts& m) {
    std::string origin;
    m.kubelet_version = read_version(paths, "kubelet", path::kubelet_version_txt, assumed_kubelet_version, origin);
    m.origins["/machine/kubeletVersion"] = origin;
    m.containerd_version =
        read_version(paths, "containerd", path::containerd_version_txt, assumed_containerd_version, origin);
    m.origins["/machine/containerdVersion"] = origin;
}

void detect_nvidia(const Paths& paths, MachineFacts& m) {
    constexpr std::string_view nvidia_vendor = "0x10de";
    fs::path dir = paths.of("/sys/bus/pci/devices");
    std::vector<fs::path> gpus;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        std::optional<std::string> vendor = read_file_if_exists(it->path() / "vendor");
        if (vendor && trim_line(*vendor) == nvidia_vendor) gpus.push_back(it->path());
    }
    m.nvidia_gpu = !gpus.empty();
    // Directory order is arbitrary; name the first device by address so the origin is stable.
    m.origins["/machine/nvidiaGpu"] = gpus.empty()
                                          ? fmt::format("no PCI device of vendor 0x10de under {}", dir.string())
                                          : fmt::format("{} PCI device(s) of vendor 0x10de, first {}", gpus.size(),
                                                        std::min_element(gpus.begin(), gpus.end())->string());
}

// Which runtime binaries the image installed: a handler is configured only
// for a binary that is there (containerd would fail every container of a
// handler whose binary is missing). An executable file, as exec() needs.
// An executable file at `binary` (as exec() needs), recorded with its origin at `key`.
bool installed(const Paths& paths, std::string_view binary, const std::string& key, MachineFacts& m) {
    const fs::path bin = paths.of(binary);
    const bool there = ::access(bin.c_str(), X_OK) == 0 && fs::is_regular_file(bin);
    m.origins[key] =
        fmt::format("{} {}", where(paths, binary), there ? "is installed" : "is not installed (no executable file)");
    return there;
}

void detect_runtimes(const Paths& paths, MachineFacts& m) {
    m.nvidia_runtime = installed(paths, path::nvidia_container_runtime, "/machine/nvidiaContainerRuntime", m);
}

// The SOCI snapshotter (FastImagePull): only a snapshotter that is there may
// be named in containerd's and kubelet's configuration (a socket nothing
// serves fails every pull); its version chooses its configuration.
void detect_soci(const Paths& paths, MachineFacts& m) {
    m.soci_snapshotter = installed(paths, path::soci_snapshotter_grpc, "/machine/sociSnapshotter", m);
    if (!m.soci_snapshotter) return;
    std::string origin;
    m.soci_version = read_version(paths, std::string(path::soci_snapshotter_grpc), path::soci_version_txt,
                                  assumed_soci_version, origin);
    m.origins["/machine/sociSnapshotterVersion"] = origin;
}

void detect_fips(const Paths& paths, MachineFacts& m) {
    constexpr std::string_view file = "/proc/sys/crypto/fips_enabled";
    std::optional<std::string> text = read_file_if_exists(paths.of(file));
    m.fips_enabled = text && (*text == "1" || *text == "1\n");
    m.origins["/machine/fipsEnabled"] = text ? fmt::format("{} is {}", where(paths, file), m.fips_enabled ? 1 : 0)
                                             : fmt::format("{} is missing", where(paths, file));
}

}  // namespace

MachineFacts read_machine_facts(const Paths& paths, const MachineOverride& given) {
    MachineFacts m;
    if (given.cpus) {
        m.cpu_millicores = *given.cpus * 1000;
        m.origins["/machine/cpuMillicores"] = fmt::format("{} CPUs ({})", *given.cpus, given.cpus_origin);
    } else {
        read_cpus(paths, m);
    }
    if (given.memory_mib) {
        m.memory_mib = *given.memory_mib;
        m.origins["/machine/memoryMiB"] = given.memory_origin;
    } else {
        read_memory(paths, m);
    }
    read_versions(paths, m);
    detect_nvidia(paths, m);
    detect_runtimes(paths, m);
    detect_soci(paths, m);
    detect_fips(paths, m);
    log::info(
        "machine: {} CPUs, {} MiB, kubelet {}, containerd {}, NVIDIA GPU {}, NVIDIA container runtime {}, "
        "FIPS {}",
        m.cpu_millicores / 1000, m.memory_mib, m.kubelet_version, m.containerd_version, m.nvidia_gpu ? "yes" : "no",
        m.nvidia_runtime ? "installed" : "not installed", m.fips_enabled ? "on" : "off");
    return m;
}

std::optional<int> vcpus_from_size(std::string_view instance_type) {
    std::string_view size = instance_type.substr(instance_type.find('.') + 1);
    for (std::string_view small : {"nano", "micro", "small", "medium", "large"})
        if (size == small) return 2;
    if (size == "xlarge") return 4;
    std::string_view count = size;
    if (size.ends_with("xlarge")) count.remove_suffix(6);
    else if (size.starts_with("metal-") && size.ends_with("xl")) count = size.substr(6, size.size() - 8);
    else return std::nullopt;
    int n = 0;
    auto [p, ec] = std::from_chars(count.data(), count.data() + count.size(), n);
    if (ec != std::errc() || p != count.data() + count.size() || n < 1) return std::nullopt;
    return 4 * n;
}

json machine_json(const MachineFacts& m) {
    json j = json::object();
    j["cpuMillicores"] = m.cpu_millicores;
    j["memoryMiB"] = m.memory_mib;
    j["kubeletVersion"] = m.kubelet_version;
    j["containerdVersion"] = m.containerd_version;
    j["nvidiaGpu"] = m.nvidia_gpu;
    j["nvidiaContainerRuntime"] = m.nvidia_runtime;
    j["fipsEnabled"] = m.fips_enabled;
    j["sociSnapshotter"] = m.soci_snapshotter;
    if (m.soci_snapshotter) j["sociSnapshotterVersion"] = m.soci_version;
    return j;
}

}  // namespace eksnode::derive
