// SPDX-License-Identifier: Apache-2.0
// eks-node-hook NAME: the main process of eks-node-hook@NAME.service. It
// reads the hook's command and environment from the file the generator wrote
// beside the unit's drop-in (0600, root's: a setting of the unit itself would
// be shown to every user by `systemctl show`), sets the variables and execv()s
// the command. So the command is the unit's main process from then on: its
// exit status, signals, timeout and OnFailure= are as if systemd had run it,
// and no shell ever sees the words. Not a step: no configuration, no
// confinement (a hook does whatever its author needs).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/log.hpp"
#include "generator/generator.hpp"
#include "input/hooks.hpp"
#include "steps/steps.hpp"

namespace eksnode::steps {

namespace {

// systemd's own status when it cannot execute ExecStart=: a missing or
// non-executable program fails the unit as it did when systemd ran it.
constexpr int exit_exec = 203;

// The command file of hook `name`, read only if root's alone (owned by this
// user, no access for group or others, not a symlink): a file anyone could
// have written must not choose what runs as root.
std::string read_command_file(const fs::path& p) {
    Fd f{::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)};
    if (f.fd < 0)
        throw ConfigError(p.string(), "",
                          fmt::format("cannot be opened ({}): eks-node-generator writes it for each hook of "
                                      "settings.hooks; `systemctl daemon-reload` runs it again",
                                      std::strerror(errno)));
    struct stat st {};
    if (::fstat(f.fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != ::geteuid() || (st.st_mode & 077) != 0)
        throw ConfigError(p.string(), "",
                          fmt::format("not a regular file of uid {} with mode 0600 (uid {}, mode {:04o}): not run",
                                      ::geteuid(), st.st_uid, st.st_mode & 07777));
    // the largest file read() accepts: 256 words and 64 values of 4 KiB, escaped
    constexpr size_t limit = 8u << 20;
    std::string text = read_at_most(f.fd, limit + 1);
    if (text.size() > limit) throw ConfigError(p.string(), "", "larger than any hook's command file: not run");
    return text;
}

}  // namespace

int hook_main(int argc, char** argv) {
    log::Level lvl = log::Level::info;
    if (const char* env = std::getenv("EKS_NODE_LOG_LEVEL")) log::parse_level(env, lvl);
    log::init("hook", lvl);
    try {
        Paths paths;
        std::string name;
        for (int i = 1; i < argc; ++i) {
            std::string_view a = argv[i];
            if (a == "--help" || a == "-h") {
                fmt::print(
                    "Usage: eks-node-hook [--root=DIR] NAME\n\n"
                    "Runs hook NAME of settings.hooks as eks-node-hook@NAME.service's main process: its\n"
                    "command and environment from {}/{} (0600),\n"
                    "without a shell. See eks-node-hook(8).\n\n"
                    "  --root=DIR  read that file under DIR\n",
                    generator::hook_generator_dir, generator::hook_command_file("NAME"));
                return EXIT_OK;
            }
            if (a.starts_with("--root=")) paths = Paths(std::string(a.substr(7)));
            else if (a.starts_with("-") || !name.empty())
                throw UsageError(fmt::format("unexpected argument \"{}\" (usage: eks-node-hook [--root=DIR] NAME)", a));
            else name = a;
        }
        if (name.empty()) throw UsageError("expected the hook's NAME (usage: eks-node-hook [--root=DIR] NAME)");
        if (std::string problem = input::hooks::name_problem(name); !problem.empty()) throw UsageError(problem);

        const fs::path file =
            paths.of(fmt::format("{}/{}", generator::hook_generator_dir, generator::hook_command_file(name)));
        input::hooks::Command c = input::hooks::parse_command_file(read_command_file(file), file.string());
        for (const auto& [var, value] : c.environment)
            if (::setenv(var.c_str(), value.c_str(), 1) != 0)
                throw Error(
                    fmt::format("settings.hooks.{}.environment: cannot set {}: {}", name, var, std::strerror(errno)));
        std::vector<char*> args;
        for (std::string& w : c.argv) args.push_back(w.data());
        args.push_back(nullptr);
        // the same words systemd would have logged: the program, not its arguments
        log::debug("settings.hooks.{}: executing {} ({} argument{})", name, c.argv.front(), c.argv.size() - 1,
                   c.argv.size() == 2 ? "" : "s");
        ::execv(args.front(), args.data());
        log::error("settings.hooks.{}: failed to execute {}: {}", name, c.argv.front(), std::strerror(errno));
        return exit_exec;
    } catch (const Error& e) {
        log::error("{}", e.what());
        return e.exit_code();
    } catch (const std::exception& e) {
        log::error("hook failed: {}", e.what());
        return EXIT_FAILURE_;
    }
}

}  // namespace eksnode::steps
