// SPDX-License-Identifier: Apache-2.0
#include "core/confine.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <utility>

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/log.hpp"
#include "core/outputs.hpp"
#include "core/units.hpp"

namespace eksnode::confine {

namespace {

// The kernel's Landlock ABI (include/uapi/linux/landlock.h), spelled here
// because the build host's headers may predate the rights we use. The system
// call numbers are the same on every architecture (the unified table).
constexpr long sys_create_ruleset = 444;
constexpr long sys_add_rule = 445;
constexpr long sys_restrict_self = 446;
constexpr uint32_t create_ruleset_version = 1U << 0;
constexpr int rule_path_beneath = 1;

enum : uint64_t {
    fs_execute = 1ULL << 0,
    fs_write_file = 1ULL << 1,
    fs_read_file = 1ULL << 2,
    fs_read_dir = 1ULL << 3,
    fs_make_sym = 1ULL << 12,  // bits 4-12: remove dir/file, make char/dir/reg/sock/fifo/block/sym
    fs_refer = 1ULL << 13,     // ABI 2: rename and link across directories
    fs_truncate = 1ULL << 14,  // ABI 3: truncate(2), O_TRUNC
};

struct RulesetAttr {
    uint64_t handled_access_fs;
};

struct __attribute__((packed)) PathBeneathAttr {
    uint64_t allowed_access;
    int32_t parent_fd;
};

// Every file-system right this ABI can restrict, except ioctl on devices
// (ABI 5): devices are DevicePolicy=closed's, and terminals need ioctl.
uint64_t handled_rights(int abi) {
    uint64_t r = (fs_make_sym << 1) - 1;  // ABI 1: bits 0-12
    if (abi >= 2) r |= fs_refer;
    if (abi >= 3) r |= fs_truncate;
    return r;
}

// Every program that confines itself (units/steps.tsv, landlock), with the
// policy its outputs give it: built once, so find_policy's pointers stay valid.
// A step without outputs (eks-node-cloud-init reads and asks systemd for
// restarts; pre-flight connects; eks-node-joined asks kubelet's health port)
// gets no writable directory at all.
const std::vector<std::pair<std::string_view, Policy>>& policies() {
    static const std::vector<std::pair<std::string_view, Policy>> all = [] {
        std::vector<std::pair<std::string_view, Policy>> out;
        for (const units::Unit& u : units::all())
            if (u.landlock) out.emplace_back(u.step, derive_policy(u.step));
        for (auto& [step, p] : out) {
            // eks-node-ca runs the distribution's trust store tool when
            // settings.trust changed (update-ca-trust, update-ca-certificates):
            // the host's programs, writing the store's extracted bundles and
            // their temporary files (TMPDIR, made here for its rule)
            if (step == "ca") {
                p.writable.emplace_back("-/etc/pki/ca-trust/extracted");
                p.writable.emplace_back("-/etc/ssl/certs");
                p.writable.emplace_back(path::trust_tool_tmp);
                p.system_executables = true;
            }
            // eks-node-prepull writes nothing; it runs kubelet's credential
            // provider plugins, which inherit this (core/confine.hpp, Policy).
            if (step == "prepull") p = Policy{{}, {"-" + std::string(path::credential_provider_bin_dir)}, true};
            // eks-node-warm-pool asks IMDS and removes eks-node-imds's marker
            // (path::warm_pool_marker) once the instance is InService.
            if (step == "warm-pool") p = Policy{{std::string(path::run_dir)}};
        }
        return out;
    }();
    return all;
}

void add_rule(int ruleset, const std::string& dir, uint64_t rights, int flags = O_DIRECTORY) {
    Fd d{::open(dir.c_str(), O_PATH | O_CLOEXEC | flags)};
    if (d.fd < 0) throw Error(fmt::format("confinement: {}: {}", dir, std::strerror(errno)));
    PathBeneathAttr attr{rights, d.fd};
    if (::syscall(sys_add_rule, ruleset, rule_path_beneath, &attr, 0) != 0)
        throw Error(fmt::format("confinement: Landlock rule for {}: {}", dir, std::strerror(errno)));
}

}  // namespace

Policy derive_policy(std::string_view step) {
    struct Dir {
        std::string_view path;
        bool optional;
    };
    std::vector<Dir> dirs;
    for (const outputs::Output* o : outputs::of_step(step)) {
        std::string_view dir = o->directory();
        auto same = [&](const Dir& d) { return d.path == dir; };
        if (auto it = std::find_if(dirs.begin(), dirs.end(), same); it != dirs.end())
            it->optional = it->optional && o->existing_dir;  // another output there needs it made
        else dirs.push_back({dir, o->existing_dir});
    }
    // A rule covers everything beneath its directory (config.json.d beneath
    // /etc/kubernetes/kubelet): the inner one would only repeat it.
    auto beneath = [](std::string_view inner, std::string_view outer) {
        return inner.size() > outer.size() && inner.starts_with(outer) && (outer == "/" || inner[outer.size()] == '/');
    };
    std::sort(dirs.begin(), dirs.end(), [](const Dir& a, const Dir& b) { return a.path < b.path; });
    Policy p;
    for (const Dir& d : dirs) {
        bool covered =
            std::any_of(dirs.begin(), dirs.end(), [&](const Dir& o) { return beneath(d.path, o.path) && !o.optional; });
        if (!covered) p.writable.push_back(fmt::format("{}{}", d.optional ? "-" : "", d.path));
    }
    return p;
}

int landlock_abi() {
    long v = ::syscall(sys_create_ruleset, nullptr, 0, create_ruleset_version);
    return v > 0 ? static_cast<int>(v) : 0;
}

const Policy* find_policy(std::string_view step) {
    for (const auto& [name, p] : policies())
        if (name == step) return &p;
    return nullptr;
}

const Policy& policy_of(std::string_view step) {
    if (const Policy* p = find_policy(step)) return *p;
    throw Error(fmt::format("confinement: no policy for step \"{}\"", step));
}

std::vector<std::string_view> step_names() {
    std::vector<std::string_view> out;
    for (const auto& [name, p] : policies()) out.push_back(name);
    return out;
}

Applied apply(const Policy& policy, const Paths& paths) {
    Applied out{Outcome::disabled, 0, {}, {}};
    if (const char* env = std::getenv("EKS_NODE_LANDLOCK"); env && std::string_view(env) == "0") return out;
    out.abi = landlock_abi();
    out.outcome = out.abi > 0 ? Outcome::enforced : Outcome::unsupported;
    for (std::string_view w : policy.writable) {
        bool optional = w.starts_with('-');
        fs::path dir = paths.of(optional ? w.substr(1) : w);
        std::error_code ec;
        if (!fs::is_directory(dir, ec)) {
            // Made only for its rule (tmpfiles makes them on a node). One that
            // cannot be made (a drop-in's ProtectSystem=) gets no rule: writes
            // there fail either way, and the step says where.
            if (optional || out.outcome != Outcome::enforced) continue;
            fs::create_directories(dir, ec);
            if (!fs::is_directory(dir, ec)) continue;
        }
        out.writable.push_back(dir.string());
    }
    for (std::string_view e : policy.executable) {
        fs::path dir = paths.of(e.starts_with('-') ? e.substr(1) : e);
        std::error_code ec;
        if (fs::is_directory(dir, ec)) out.executable.push_back(dir.string());  // none made: nothing to run there
    }
    if (policy.system_executables) out.executable.emplace_back("/usr");
    if (out.outcome != Outcome::enforced) return out;
    const uint64_t handled = handled_rights(out.abi);
    RulesetAttr attr{handled};
    Fd ruleset{static_cast<int>(::syscall(sys_create_ruleset, &attr, sizeof attr, 0))};
    if (ruleset.fd < 0) throw Error(fmt::format("confinement: Landlock ruleset: {}", std::strerror(errno)));
    add_rule(ruleset.fd, "/", fs_read_file | fs_read_dir);
    for (const std::string& dir : out.writable) add_rule(ruleset.fd, dir, handled & ~fs_execute);
    for (const std::string& dir : out.executable) add_rule(ruleset.fd, dir, fs_execute | fs_read_file | fs_read_dir);
    // The host's programs are often shell scripts that send output to
    // /dev/null (update-ca-certificates: `openssl rehash . > /dev/null`),
    // which Landlock refuses like any file outside the writable directories.
    if (policy.system_executables)
        add_rule(ruleset.fd, "/dev/null", handled & (fs_write_file | fs_read_file | fs_truncate), 0);
    // Landlock requires it of an unprivileged caller; the unit sets it too.
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        throw Error(fmt::format("confinement: no_new_privs: {}", std::strerror(errno)));
    if (::syscall(sys_restrict_self, ruleset.fd, 0) != 0)
        throw Error(fmt::format("confinement: Landlock restrict: {}", std::strerror(errno)));
    return out;
}

void confine_step(std::string_view step, const Paths& paths) {
    const Policy* p = find_policy(step);
    if (!p) return;  // instance-store runs mdadm and mkfs: its unit confines it
    Applied a = apply(*p, paths);
    switch (a.outcome) {
    case Outcome::enforced:
        if (a.executable.empty())
            log::debug("confined (Landlock ABI {}): writes only beneath {}; no exec", a.abi,
                       fmt::join(a.writable, ", "));
        else
            log::debug("confined (Landlock ABI {}): writes only beneath {}; executes only beneath {}", a.abi,
                       fmt::join(a.writable, ", "), fmt::join(a.executable, ", "));
        break;
    case Outcome::unsupported:
        log::emit(log::Level::notice,
                  fmt::format("this kernel has no Landlock: file-system writes are not confined beyond the unit's "
                              "settings (eks-node(7), CONFINEMENT)"));
        break;
    case Outcome::disabled: log::debug("Landlock confinement turned off (EKS_NODE_LANDLOCK=0)"); break;
    }
}

}  // namespace eksnode::confine
