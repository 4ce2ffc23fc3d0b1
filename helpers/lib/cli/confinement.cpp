// SPDX-License-Identifier: Apache-2.0
// `eks-node confinement`: what each step may write (its Landlock policy) and
// whether this kernel enforces it; `--probe=STEP` shows it enforced, by trying
// what a confined step must not do. The probes change nothing: files are
// opened for writing but not written, and what is made is removed at once.

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "core/confine.hpp"
#include "core/error.hpp"
#include "core/process.hpp"

namespace eksnode::cli {

const char* const confinement_help =
    "Usage: eks-node confinement [STEP...]\n"
    "       eks-node confinement --probe=STEP|none\n"
    "\n"
    "Lists the directories each step may write beneath (its Landlock policy; it\n"
    "executes nothing) and whether this kernel enforces it.\n"
    "\n"
    "@OPTIONS@\n"
    "\n"
    "See eks-node(7), CONFINEMENT.\n";

namespace {

std::string outcome(int rc, int err) {
    if (rc >= 0) return "ok";
    if (err == EACCES || err == EPERM || err == EROFS) return fmt::format("denied ({})", strerrorname_np(err));
    return fmt::format("error ({})", std::strerror(err));
}

std::string open_probe(const char* path, int flags) {
    int fd = ::open(path, flags | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    int err = errno;
    if (fd >= 0) ::close(fd);
    return outcome(fd, err);
}

std::string create_probe(const std::string& dir) {
    std::string p = fmt::format("{}/.eks-node-probe.{}", dir, ::getpid());
    int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    int err = errno;
    if (fd >= 0) {
        ::close(fd);
        ::unlink(p.c_str());
    }
    return outcome(fd, err);
}

std::string mkdir_probe(const std::string& dir) {
    std::string p = fmt::format("{}/eks-node-probe.{}", dir, ::getpid());
    int rc = ::mkdir(p.c_str(), 0755);
    int err = errno;
    if (rc == 0) ::rmdir(p.c_str());
    return outcome(rc, err);
}

// fork+exec of its own rather than core/process.hpp's run_process: this asks
// whether execve itself is allowed under the policy, and run_process would
// also open /dev/null and pipes, which the policy may refuse on their own.
std::string exec_probe() {
    pid_t pid = ::fork();
    if (pid < 0) return outcome(-1, errno);
    if (pid == 0) {
        ::execl("/bin/true", "true", static_cast<char*>(nullptr));
        ::_exit(errno > 0 && errno < 126 ? errno : 126);
    }
    int status = wait_for_child(pid);
    if (status < 0) return outcome(-1, errno);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return "ok";
    return outcome(-1, WIFEXITED(status) ? WEXITSTATUS(status) : EINTR);
}

// The first disk that is not a loop device: reading it needs the device.
std::string first_disk() {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/sys/block", ec)) {
        std::string n = e.path().filename().string();
        if (!n.starts_with("loop") && !n.starts_with("ram")) return "/dev/" + n;
    }
    return "";
}

int probe(const std::string& step) {
    std::string own = "/run/eks-node";
    if (step != "none") {
        const confine::Policy* p = confine::find_policy(step);
        if (!p) throw UsageError(fmt::format("--probe: no step \"{}\"", step));
        confine::Applied a = confine::apply(*p, Paths());
        if (a.outcome != confine::Outcome::enforced)
            fmt::print("# Landlock not enforced ({}): file-system probes show the unit's settings only\n",
                       a.outcome == confine::Outcome::unsupported ? "no Landlock in this kernel" : "EKS_NODE_LANDLOCK=0");
        if (!a.writable.empty()) own = a.writable.front();
    }
    std::string disk = first_disk();
    const std::vector<std::pair<const char*, std::string>> results{
        {"own", create_probe(own)},  // the step's own directory: must stay writable
        {"etc", create_probe("/etc")},
        {"usr", create_probe("/usr/lib")},
        {"sysctl", open_probe("/proc/sys/kernel/sysrq", O_WRONLY)},
        {"sysrq-trigger", open_probe("/proc/sysrq-trigger", O_WRONLY)},
        {"cgroupfs", mkdir_probe("/sys/fs/cgroup")},
        {"sysfs", open_probe("/sys/kernel/mm/transparent_hugepage/enabled", O_WRONLY)},
        {"kmsg", open_probe("/dev/kmsg", O_RDONLY)},
        {"disk", disk.empty() ? "error (no disk)" : open_probe(disk.c_str(), O_RDONLY)},
        {"exec", exec_probe()},
    };
    for (const auto& [label, r] : results) fmt::print("{}={}\n", label, r);
    return EXIT_OK;
}

}  // namespace

int confinement_cmd(const std::vector<std::string>& args) {
    const ParsedOptions parsed = parse_options("confinement", args);
    if (std::optional<std::string> step = parsed.value("--probe")) {
        if (!parsed.args.empty()) throw UsageError("confinement: --probe takes no other arguments");
        return probe(*step == "none" ? *step : step_of_unit(*step));
    }
    std::vector<std::string> names;
    for (const std::string& a : parsed.args) {
        // the step's name, or its unit's ("eks-node-imds", "eks-node-imds.service")
        const std::string name = step_of_unit(a);
        if (!confine::find_policy(name))
            throw UsageError(
                fmt::format("confinement: no step \"{}\" (steps: {})", a, fmt::join(confine::step_names(), ", ")));
        names.push_back(name);
    }
    std::vector<std::string_view> steps(names.begin(), names.end());
    if (steps.empty()) steps = confine::step_names();
    int abi = confine::landlock_abi();
    fmt::print("Landlock: {}\n", abi > 0 ? fmt::format("ABI {}, enforced by every step below", abi)
                                         : std::string("not available in this kernel: steps run without it"));
    for (std::string_view s : steps) {
        std::vector<std::string> dirs;
        for (std::string_view w : confine::policy_of(s).writable)
            dirs.push_back(w.starts_with('-') ? fmt::format("{} (if present)", w.substr(1)) : std::string(w));
        const confine::Policy& p = confine::policy_of(s);
        std::vector<std::string> exec;
        for (std::string_view e : p.executable)
            exec.push_back(e.starts_with('-') ? fmt::format("{} (if present)", e.substr(1)) : std::string(e));
        if (p.system_executables) {
            exec.emplace_back("/usr");
            dirs.emplace_back("/dev/null (the file alone)");
        }
        fmt::print("eks-node-{:<11} writes beneath {}{}\n", s,
                   dirs.empty() ? std::string("nothing") : fmt::format("{}", fmt::join(dirs, ", ")),
                   exec.empty() ? std::string() : fmt::format("; executes beneath {}", fmt::join(exec, ", ")));
    }
    return EXIT_OK;
}

}  // namespace eksnode::cli
