// SPDX-License-Identifier: Apache-2.0
// Running an external program: the one way eks-node does it (blkid and mdadm
// for instance-store, kubelet --version for the machine facts, the tools
// collect-logs asks). Always an explicit argv, never a shell, so a value with
// a space or a ';' in it stays one argument.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace eksnode {

struct ProcessOptions {
    // Where the child's stderr goes: its own buffer (for an error message),
    // the stdout buffer in the order it was written (a log for a person), or
    // /dev/null (a tool whose warnings are noise).
    enum class Stderr { capture, merge, discard };
    Stderr stderr_to = Stderr::capture;
    // Bytes kept of each stream; the rest is read and dropped, so the child
    // never blocks on a full pipe, and `truncated` says so.
    std::size_t max_output = std::size_t{1} << 20;
    // After this, the child is SIGKILLed and `timed_out` set; none: wait as
    // long as it runs.
    std::optional<std::chrono::milliseconds> timeout;
    // What the child reads on stdin, then EOF; none: /dev/null. Written as
    // the child reads, in the same poll loop as its output, so that a child
    // that answers before it has read everything cannot deadlock us.
    std::optional<std::string> input;
    // The child's whole environment ("NAME=value"); none: this process's.
    std::optional<std::vector<std::string>> environment;
};

struct ProcessResult {
    bool started = false;   // false: spawn_error says why (ENOENT: not in PATH)
    int spawn_error = 0;
    bool exited = false;    // true: exit_status is its exit status
    int exit_status = -1;
    int signal = 0;         // the signal that ended it, when !exited
    bool timed_out = false;
    bool truncated = false;  // a stream went past max_output
    std::string out;
    std::string err;         // empty with Stderr::merge or Stderr::discard

    bool succeeded() const { return exited && exit_status == 0 && !timed_out; }
};

// Runs argv[0] (looked up in PATH unless it holds a '/') with argv, the
// environment of this process (or options.environment), stdin from /dev/null
// (or options.input) and no other inherited
// descriptors than 0-2 (ours are O_CLOEXEC). Returns once the child is
// reaped. An empty argv is not started (spawn_error EINVAL). Never throws for
// the child's sake; only an allocation failure can.
ProcessResult run_process(const std::vector<std::string>& argv, const ProcessOptions& options = {});

// This process's environment ("NAME=value"), each of `set` (in order, a later
// one winning) in place of the variable of its name: for
// ProcessOptions::environment.
std::vector<std::string> environment_with(const std::vector<std::pair<std::string, std::string>>& set);

// waitpid() for one child, retried on EINTR; the wait status, or -1 with errno.
int wait_for_child(pid_t pid);

}  // namespace eksnode
