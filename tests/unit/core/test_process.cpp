// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>

#include "core/process.hpp"

using namespace eksnode;
using Stderr = ProcessOptions::Stderr;

TEST_CASE("run_process reports the exit status", "[core][process]") {
    ProcessResult ok = run_process({"true"});
    CHECK(ok.started);
    CHECK(ok.exited);
    CHECK(ok.exit_status == 0);
    CHECK(ok.succeeded());

    ProcessResult three = run_process({"sh", "-c", "exit 3"});
    CHECK(three.exited);
    CHECK(three.exit_status == 3);
    CHECK(three.signal == 0);
    CHECK_FALSE(three.succeeded());
}

TEST_CASE("run_process reports death by a signal", "[core][process]") {
    ProcessResult p = run_process({"sh", "-c", "kill -TERM $$"});
    CHECK(p.started);
    CHECK_FALSE(p.exited);
    CHECK(p.signal == SIGTERM);
    CHECK_FALSE(p.succeeded());
}

TEST_CASE("run_process captures stdout and stderr as asked", "[core][process]") {
    const std::vector<std::string> both{"sh", "-c", "echo out; echo err >&2; echo out2"};
    ProcessResult apart = run_process(both);
    CHECK(apart.out == "out\nout2\n");
    CHECK(apart.err == "err\n");

    ProcessOptions merged;
    merged.stderr_to = Stderr::merge;
    ProcessResult m = run_process(both, merged);
    CHECK(m.out == "out\nerr\nout2\n");  // in the order written
    CHECK(m.err.empty());

    ProcessOptions dropped;
    dropped.stderr_to = Stderr::discard;
    ProcessResult d = run_process(both, dropped);
    CHECK(d.out == "out\nout2\n");
    CHECK(d.err.empty());
}

TEST_CASE("run_process passes argv without a shell, stdin from /dev/null", "[core][process]") {
    CHECK(run_process({"echo", "a;b", "$HOME", "x y"}).out == "a;b $HOME x y\n");
    CHECK(run_process({"readlink", "/proc/self/fd/0"}).out == "/dev/null\n");
}

TEST_CASE("run_process: a missing program is not started", "[core][process]") {
    ProcessResult by_name = run_process({"eks-node-test-no-such-program", "--version"});
    CHECK_FALSE(by_name.started);
    CHECK(by_name.spawn_error == ENOENT);
    CHECK_FALSE(by_name.succeeded());

    ProcessResult by_path = run_process({"/nonexistent/kubelet"});
    CHECK_FALSE(by_path.started);
    CHECK(by_path.spawn_error == ENOENT);

    ProcessResult none = run_process({});
    CHECK_FALSE(none.started);
    CHECK(none.spawn_error == EINVAL);
}

TEST_CASE("run_process keeps at most max_output bytes and drains the rest", "[core][process]") {
    ProcessOptions options;
    options.max_output = 10;
    options.timeout = std::chrono::seconds(20);
    // more than a pipe holds: the child would block forever if the rest were not read
    ProcessResult p = run_process({"sh", "-c", "head -c 300000 /dev/zero; echo err >&2"}, options);
    CHECK(p.out == std::string(10, '\0'));
    CHECK(p.err == "err\n");
    CHECK(p.truncated);
    CHECK_FALSE(p.timed_out);
    CHECK(p.succeeded());

    options.max_output = 4;
    ProcessResult exact = run_process({"printf", "abcd"}, options);
    CHECK(exact.out == "abcd");
    CHECK_FALSE(exact.truncated);
}

TEST_CASE("run_process kills a child that outlives its timeout", "[core][process]") {
    ProcessOptions options;
    options.timeout = std::chrono::milliseconds(200);
    // No clock (it fails under load): a child let run to its end would print "late" and exit 0.
    ProcessResult p = run_process({"sh", "-c", "echo started; sleep 10; echo late"}, options);
    CHECK(p.timed_out);
    CHECK(p.signal == SIGKILL);
    CHECK(p.out == "started\n");
    CHECK_FALSE(p.succeeded());

    options.timeout = std::chrono::seconds(20);
    CHECK_FALSE(run_process({"true"}, options).timed_out);
}

TEST_CASE("wait_for_child returns the wait status, -1 for no child of ours", "[core][process]") {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) ::_exit(7);
    int status = wait_for_child(pid);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 7);
    errno = 0;
    CHECK(wait_for_child(pid) == -1);  // reaped already
    CHECK(errno == ECHILD);
}

TEST_CASE("run_process feeds input larger than a pipe holds, and survives a child that does not read it",
          "[core][process]") {
    ProcessOptions o;
    o.input = std::string(1 << 20, 'x');  // 16 pipe buffers: only written as the child reads
    ProcessResult all = run_process({"wc", "-c"}, o);
    CHECK(all.succeeded());
    CHECK(all.out == "1048576\n");
    // exits at once: our next write gets EPIPE, not a SIGPIPE that kills us
    ProcessResult none = run_process({"true"}, o);
    CHECK(none.succeeded());
    o.input = "";
    ProcessResult empty = run_process({"wc", "-c"}, o);  // EOF at once
    CHECK(empty.out == "0\n");
}

TEST_CASE("run_process gives the child exactly the environment asked for", "[core][process]") {
    ProcessOptions o;
    o.environment = std::vector<std::string>{"ONLY=this"};
    ProcessResult r = run_process({"/usr/bin/env"}, o);
    CHECK(r.succeeded());
    CHECK(r.out == "ONLY=this\n");
}

TEST_CASE("environment_with: this process's environment, each set variable replaced", "[core][process]") {
    ::setenv("EKS_NODE_TEST_ENV", "old", 1);
    ::setenv("EKS_NODE_TEST_ENV_LONGER", "kept", 1);
    const std::vector<std::string> env =
        environment_with({{"EKS_NODE_TEST_ENV", "a"}, {"EKS_NODE_TEST_NEW", "b"}, {"EKS_NODE_TEST_ENV", "c"}});
    ::unsetenv("EKS_NODE_TEST_ENV");
    ::unsetenv("EKS_NODE_TEST_ENV_LONGER");
    auto count = [&](const std::string& kv) { return std::count(env.begin(), env.end(), kv); };
    CHECK(count("EKS_NODE_TEST_ENV=c") == 1);  // the later one wins, the old value gone
    CHECK(count("EKS_NODE_TEST_ENV=a") == 0);
    CHECK(count("EKS_NODE_TEST_ENV=old") == 0);
    CHECK(count("EKS_NODE_TEST_ENV_LONGER=kept") == 1);  // a name it starts is another variable
    CHECK(count("EKS_NODE_TEST_NEW=b") == 1);
}
