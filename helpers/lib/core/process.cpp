// SPDX-License-Identifier: Apache-2.0
#include "core/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <ctime>
#include <optional>
#include <string_view>

#include "core/fsutil.hpp"

extern char** environ;

namespace eksnode {

namespace {

struct SpawnActions {
    posix_spawn_file_actions_t a;
    SpawnActions() { posix_spawn_file_actions_init(&a); }
    ~SpawnActions() { posix_spawn_file_actions_destroy(&a); }
    SpawnActions(const SpawnActions&) = delete;
    SpawnActions& operator=(const SpawnActions&) = delete;
};

// Both ends O_CLOEXEC: the child gets only what dup2 hands it (dup2 clears the
// flag on the target), and a second child spawned meanwhile by another thread
// cannot hold our write end open and delay EOF.
bool make_pipe(Fd& read_end, Fd& write_end) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) < 0) return false;
    read_end.fd = fds[0];
    write_end.fd = fds[1];
    return true;
}

// Milliseconds until `deadline` for poll(), at least 0; -1 (forever) without one.
int poll_timeout(const std::optional<std::chrono::steady_clock::time_point>& deadline) {
    if (!deadline) return -1;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - std::chrono::steady_clock::now());
    return static_cast<int>(std::max<std::chrono::milliseconds::rep>(left.count(), 0));
}

// SIGPIPE blocked in this thread while it lives; one raised meanwhile by
// our writes is taken off the pending set before the mask is restored.
class PipeSignalBlock {
public:
    PipeSignalBlock() {
        sigemptyset(&pipe_);
        sigaddset(&pipe_, SIGPIPE);
        sigset_t pending;
        sigemptyset(&pending);
        // already pending (process-wide) before us: not ours to take
        ::sigpending(&pending);
        was_pending_ = sigismember(&pending, SIGPIPE) == 1;
        ::pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
    }
    ~PipeSignalBlock() {
        if (!was_pending_) {
            timespec zero{0, 0};
            while (::sigtimedwait(&pipe_, nullptr, &zero) == SIGPIPE) {
            }
        }
        ::pthread_sigmask(SIG_SETMASK, &old_, nullptr);
    }
    PipeSignalBlock(const PipeSignalBlock&) = delete;
    PipeSignalBlock& operator=(const PipeSignalBlock&) = delete;

private:
    sigset_t pipe_{}, old_{};
    bool was_pending_ = false;
};

}  // namespace

int wait_for_child(pid_t pid) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return -1;
    }
    return status;
}

ProcessResult run_process(const std::vector<std::string>& argv, const ProcessOptions& options) {
    ProcessResult r;
    if (argv.empty()) {
        r.spawn_error = EINVAL;
        return r;
    }
    using Stderr = ProcessOptions::Stderr;
    Fd out_read, out_write, err_read, err_write;
    if (!make_pipe(out_read, out_write) ||
        (options.stderr_to == Stderr::capture && !make_pipe(err_read, err_write))) {
        r.spawn_error = errno;
        return r;
    }

    Fd in_read, in_write;
    if (options.input && !make_pipe(in_read, in_write)) {
        r.spawn_error = errno;
        return r;
    }

    SpawnActions actions;
    if (options.input) posix_spawn_file_actions_adddup2(&actions.a, in_read.fd, 0);
    else posix_spawn_file_actions_addopen(&actions.a, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions.a, out_write.fd, 1);
    switch (options.stderr_to) {
    case Stderr::capture: posix_spawn_file_actions_adddup2(&actions.a, err_write.fd, 2); break;
    case Stderr::merge: posix_spawn_file_actions_adddup2(&actions.a, out_write.fd, 2); break;
    case Stderr::discard: posix_spawn_file_actions_addopen(&actions.a, 2, "/dev/null", O_WRONLY, 0); break;
    }
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);

    std::vector<char*> env;
    if (options.environment) {
        for (const std::string& e : *options.environment) env.push_back(const_cast<char*>(e.c_str()));
        env.push_back(nullptr);
    }

    pid_t pid = 0;
    // glibc's posix_spawnp reports a failed exec (ENOENT, EACCES) here, not as
    // an exit status of 127.
    int rc =
        ::posix_spawnp(&pid, args[0], &actions.a, nullptr, args.data(), options.environment ? env.data() : environ);
    // our copies of the write ends go, so EOF comes when the child's do
    out_write.reset();
    err_write.reset();
    in_read.reset();
    if (rc != 0) {
        r.spawn_error = rc;
        return r;
    }
    r.started = true;

    std::optional<std::chrono::steady_clock::time_point> deadline;
    if (options.timeout) deadline = std::chrono::steady_clock::now() + *options.timeout;
    // Non-blocking, so that a child that stops reading costs a poll round,
    // not a write blocked past the deadline.
    std::string_view input = options.input ? std::string_view(*options.input) : std::string_view();
    if (in_write.fd >= 0 && (input.empty() || ::fcntl(in_write.fd, F_SETFL, O_NONBLOCK) < 0)) in_write.reset();
    // A child that exits without reading its input would SIGPIPE us on the
    // next write: blocked (after the spawn, which would hand the mask on)
    // and discarded below, so that the write fails with EPIPE instead.
    std::optional<PipeSignalBlock> no_sigpipe;
    if (in_write.fd >= 0) no_sigpipe.emplace();
    pollfd fds[3] = {{out_read.fd, POLLIN, 0}, {err_read.fd, POLLIN, 0}, {in_write.fd, POLLOUT, 0}};
    std::string* bufs[2] = {&r.out, &r.err};
    char buf[65536];
    while (fds[0].fd >= 0 || fds[1].fd >= 0) {
        int n = ::poll(fds, 3, poll_timeout(deadline));  // a negative fd is skipped
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break;
        if (n == 0) {
            // Killed rather than asked: a hung tool gets no say. Its pipes are
            // not drained further, since a grandchild may hold them open.
            ::kill(pid, SIGKILL);
            r.timed_out = true;
            break;
        }
        if (fds[2].fd >= 0 && (fds[2].revents & (POLLOUT | POLLHUP | POLLERR))) {
            ssize_t put = ::write(fds[2].fd, input.data(), input.size());
            if (put > 0) input.remove_prefix(static_cast<std::size_t>(put));
            // done, or the child closed its end (EPIPE): EOF for it either way
            if (input.empty() || (put < 0 && errno != EINTR && errno != EAGAIN)) {
                in_write.reset();
                fds[2].fd = -1;
            }
        }
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
            if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
            if (got <= 0) {
                fds[i].fd = -1;  // closed with its Fd below
                continue;
            }
            auto size = static_cast<std::size_t>(got);
            std::size_t room = options.max_output - std::min(options.max_output, bufs[i]->size());
            if (size > room) r.truncated = true;
            bufs[i]->append(buf, std::min(size, room));
        }
    }
    out_read.reset();
    err_read.reset();
    in_write.reset();

    int status = wait_for_child(pid);
    if (status < 0) return r;  // not ours to reap (SIGCHLD ignored): nothing known
    if (WIFEXITED(status)) {
        r.exited = true;
        r.exit_status = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        r.signal = WTERMSIG(status);
    }
    return r;
}

std::vector<std::string> environment_with(const std::vector<std::pair<std::string, std::string>>& set) {
    std::vector<std::string> env;
    for (char** e = environ; e && *e; ++e) env.emplace_back(*e);
    for (const auto& var : set) {
        // not a structured binding: clang 14 cannot capture one in the lambda
        const std::string& name = var.first;
        const std::string& value = var.second;
        auto same = [&](const std::string& kv) {
            return kv.size() > name.size() && kv.starts_with(name) && kv[name.size()] == '=';
        };
        env.erase(std::remove_if(env.begin(), env.end(), same), env.end());
        env.push_back(name + "=" + value);
    }
    return env;
}

}  // namespace eksnode
