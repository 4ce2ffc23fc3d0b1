// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <csignal>
#include <system_error>

#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/jsonutil.hpp"
#include "core/paths.hpp"
#include "core/step.hpp"
#include "fixtures.hpp"

using namespace eksnode;

using eksnode::test::mode_of;

TEST_CASE("paths are re-rooted under --root", "[core][paths]") {
    CHECK(Paths().of("/etc/hosts") == "/etc/hosts");
    CHECK(Paths("/").of("/etc/hosts") == "/etc/hosts");
    CHECK(Paths("/tmp/n").of("/etc/hosts") == "/tmp/n/etc/hosts");
    CHECK(Paths("/tmp/n").of(path::config_json) == "/tmp/n/run/eks-node/config.json");
    // on_node() takes of()'s result back to the node's name for it
    CHECK(Paths("/tmp/n").on_node(Paths("/tmp/n").of("/etc/hosts")) == "/etc/hosts");
    CHECK(Paths("/tmp/n/").on_node("/tmp/n/etc/containerd/config.toml") == "/etc/containerd/config.toml");
    CHECK(Paths("/").on_node("/etc/hosts") == "/etc/hosts");
}

TEST_CASE("atomic write creates parents, sets the mode and reports changes", "[core][fs]") {
    test::TempRoot root;
    const fs::path& d = root.dir;
    fs::path f = d / "a/b/secret";
    CHECK(write_file_atomic(f, "one", 0600) == WriteResult::written);
    CHECK(read_file(f) == "one");
    CHECK(mode_of(f) == 0600);
    // same bytes and mode: untouched
    CHECK(write_file_atomic(f, "one", 0600) == WriteResult::unchanged);
    // same bytes, other mode: rewritten
    CHECK(write_file_atomic(f, "one", 0644) == WriteResult::written);
    CHECK(mode_of(f) == 0644);
    CHECK(write_file_atomic(f, "two", 0644) == WriteResult::written);
    CHECK(read_file(f) == "two");
    // no temporary files left behind
    size_t n = 0;
    for (auto& e : fs::directory_iterator(d / "a/b")) n += e.path().filename().string()[0] == '.';
    CHECK(n == 0);
    CHECK(remove_file(f) == WriteResult::written);
    CHECK(remove_file(f) == WriteResult::unchanged);
    CHECK_FALSE(read_file_if_exists(f).has_value());
    CHECK_THROWS_AS(read_file(f), Error);
}

TEST_CASE("writes confined to a root: a symlink in it that leads out is refused", "[core][fs]") {
    // issue 58: `render --root=DIR` followed DIR/etc/eks -> /elsewhere (absolute) and wrote there
    test::TempRoot root, elsewhere;
    fs::create_directories(root.dir / "node/etc");
    fs::create_symlink(elsewhere.dir, root.dir / "node/etc/eks");  // absolute, out of the root
    fs::create_symlink("../..", root.dir / "node/etc/up");         // relative, out of the root
    fs::create_directories(root.dir / "node/var/lib");
    fs::create_symlink(root.dir / "node/var/lib", root.dir / "node/etc/in");  // stays inside
    confine_writes_to(root.dir / "node");
    struct Lift {
        ~Lift() { confine_writes_to({}); }
    } lift;
    CHECK_THROWS_AS(write_file_atomic(root.dir / "node/etc/eks/x.conf", "x", 0644), ConfigError);
    CHECK_THROWS_AS(write_file_atomic(root.dir / "node/etc/eks/new/dir/x.conf", "x", 0644), ConfigError);
    CHECK_THROWS_AS(write_file_atomic(root.dir / "node/etc/up/x.conf", "x", 0644), ConfigError);
    CHECK_THROWS_AS(remove_file(root.dir / "node/etc/eks/x.conf"), ConfigError);
    CHECK(fs::is_empty(elsewhere.dir));
    CHECK_FALSE(fs::exists(root.dir / "x.conf"));
    try {
        write_file_atomic(root.dir / "node/etc/eks/x.conf", "x", 0644);
    } catch (const ConfigError& e) {
        CHECK(std::string(e.what()).find("outside the root") != std::string::npos);
        CHECK(std::string(e.what()).find("node/etc/eks/x.conf") != std::string::npos);
    }
    // inside the root, through a symlink that stays in it, and in directories not there yet
    CHECK(write_file_atomic(root.dir / "node/etc/in/x.conf", "x", 0644) == WriteResult::written);
    CHECK(read_file(root.dir / "node/var/lib/x.conf") == "x");
    CHECK(write_file_atomic(root.dir / "node/run/new/x", "x", 0644) == WriteResult::written);
}

TEST_CASE("a write removes the temp files a killed write of the same output left, and nothing else",
          "[core][fs]") {
    test::TempRoot root;
    const fs::path d = root.dir / "etc";
    fs::path out = d / "config.json";
    auto plant = [&](std::string_view name) { write_file_atomic(d / name, "x", 0600); };
    // what a step killed between mkstemp and rename leaves behind, twice
    const std::vector<std::string> stale = {".config.json.eks-node-tmp.AbC123", ".config.json.eks-node-tmp.zz9ZZ9"};
    // not ours to remove: another output's temp file, a user's dotfiles, the
    // old unmarked pattern (another program's mkstemp of .NAME.XXXXXX looks
    // the same), a near-miss suffix
    const std::vector<std::string> kept = {".other.json.eks-node-tmp.AbC123", ".config.json.swp", ".config.json.AbC123",
                                           ".config.json.eks-node-tmp.AbC12", ".config.json.eks-node-tmp.AbC1234",
                                           ".config.json.eks-node-tmp.AbC-12", "config.json.eks-node-tmp.AbC123",
                                           ".config.jsonx.eks-node-tmp.AbC123"};
    for (const auto& n : stale) plant(n);
    for (const auto& n : kept) plant(n);
    auto present = [&](const std::string& n) { return fs::exists(d / n); };

    SECTION("on a write that changes the output") {
        CHECK(write_file_atomic(out, "{}", 0600) == WriteResult::written);
    }
    SECTION("on a write that finds the output unchanged") {
        write_file_atomic(out, "{}", 0600);
        for (const auto& n : stale) plant(n);
        CHECK(write_file_atomic(out, "{}", 0600) == WriteResult::unchanged);
    }
    SECTION("on a removal of the output") {
        write_file_atomic(out, "{}", 0600);
        for (const auto& n : stale) plant(n);
        CHECK(remove_file(out) == WriteResult::written);
    }
    for (const auto& n : stale) CHECK_FALSE(present(n));
    for (const auto& n : kept) CHECK(present(n));
}

TEST_CASE("temp file names: the marker and exactly six mkstemp characters", "[core][fs]") {
    CHECK(is_temp_file_of(".hosts.eks-node-tmp.q1W2e3", "hosts"));
    CHECK_FALSE(is_temp_file_of(".hosts.eks-node-tmp.q1W2e3", "host"));
    CHECK_FALSE(is_temp_file_of(".hosts.eks-node-tmp.q1W2e.", "hosts"));
    CHECK_FALSE(is_temp_file_of(".hosts.q1W2e3", "hosts"));
    CHECK_FALSE(is_temp_file_of("hosts", "hosts"));
}

TEST_CASE("a writer killed mid-write leaves a temp file the next write removes", "[core][fs]") {
    test::TempRoot root;
    fs::path out = root.dir / "kubeconfig";
    auto temps = [&] {
        size_t n = 0;
        for (auto& e : fs::directory_iterator(root.dir)) n += is_temp_file_of(e.path().filename().string(), "kubeconfig");
        return n;
    };
    // The child is killed by the kernel between mkstemp and rename, as a
    // SIGKILL or the OOM killer would: RLIMIT_FSIZE turns its write() into a
    // SIGXFSZ, whose default action ends the process then and there.
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::signal(SIGXFSZ, SIG_DFL);
        rlimit none{0, 0}, small{16, 16};
        ::setrlimit(RLIMIT_CORE, &none);
        ::setrlimit(RLIMIT_FSIZE, &small);
        try {
            write_file_atomic(out, std::string(4096, 'k'), 0600);
        } catch (...) {
        }
        ::_exit(0);  // not reached when the signal did its job
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGXFSZ);
    CHECK_FALSE(fs::exists(out));
    CHECK(temps() == 1);  // the real name write_file_atomic uses
    CHECK(write_file_atomic(out, "token", 0600) == WriteResult::written);
    CHECK(temps() == 0);
    CHECK(read_file(out) == "token");
}

TEST_CASE("read_at_most stops at the limit or at end of file", "[core][fs]") {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    Fd r{fds[0]}, w{fds[1]};
    REQUIRE(::write(w.fd, "abcdef", 6) == 6);
    CHECK(read_at_most(r.fd, 4) == "abcd");  // a pipe that has more: no read past the limit
    w.reset();
    CHECK(read_at_most(r.fd, 100) == "ef");  // then end of file
    CHECK(read_at_most(r.fd, 100).empty());
    Fd dir{::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    try {
        (void)read_at_most(dir.fd, 10);
        FAIL("a directory was read");
    } catch (const std::system_error& e) {
        CHECK(e.code().value() == EISDIR);
    }
}

TEST_CASE("a changed file restarts a consumer that may run on the old one, not one that has not started",
          "[core][step]") {
    // containerd starts in parallel with the steps: activating means it may
    // have read the old file; failed, that it may have failed on it
    for (const char* s : {"active", "activating", "reloading", "failed"}) CHECK(restart_applies(s));
    for (const char* s : {"inactive", "deactivating", "maintenance", ""}) CHECK_FALSE(restart_applies(s));
}

TEST_CASE("a unit to start wins over a restart of the same unit, whichever came first", "[core][step]") {
    StepResult r;
    r.restart("containerd.service", "config.toml changed");
    r.restart("containerd.service", "a second reason");  // once per unit, the first reason kept
    REQUIRE(r.restarts.size() == 1);
    CHECK_FALSE(r.restarts[0].start);
    CHECK(r.restarts[0].why == "config.toml changed");
    r.start("containerd.service", "held back");
    REQUIRE(r.restarts.size() == 1);
    CHECK(r.restarts[0].start);
    CHECK(r.restarts[0].why == "held back");
    r.restart("containerd.service", "later");  // does not turn the start back into a restart
    CHECK(r.restarts[0].start);
    StepResult merged;
    merged.restart("containerd.service", "x");
    merged.merge(r);
    REQUIRE(merged.restarts.size() == 1);
    CHECK(merged.restarts[0].start);
}

TEST_CASE("a held-back node starts again only when no step is failed", "[core][step]") {
    using States = std::vector<StepState>;
    // a running step is no obstacle: kubelet is ordered after it
    CHECK_FALSE(rejoin_blocker(States{{"eks-node-imds.service", "active", true},
                                      {"eks-node-config.service", "activating", true},
                                      {"eks-node-kubelet.service", "inactive", true}}));
    CHECK_FALSE(rejoin_blocker(States{}));
    // a failed one would run again and fail again: the first is named
    CHECK(rejoin_blocker(States{{"eks-node-imds.service", "active", true},
                                {"eks-node-containerd.service", "failed", true},
                                {"eks-node-config.service", "failed", true}}) == "eks-node-containerd.service");
    // failed in an earlier run, skipped by its condition since: it would be skipped again
    CHECK_FALSE(rejoin_blocker(
        States{{"eks-node-preflight-gate.service", "failed", false}, {"eks-node-config.service", "active", true}}));
    // the verdict failed: it holds nothing back (no OnFailure=)
    CHECK_FALSE(rejoin_blocker(States{{"eks-node-verdict.service", "failed", true, false}}));
}

TEST_CASE("deep merge: objects merge, arrays and scalars replace", "[core][json]") {
    json dst = json::parse(R"({"a":{"b":1,"c":[1,2]},"d":"x"})");
    deep_merge(dst, json::parse(R"({"a":{"c":[3],"e":true},"d":{"f":1}})"));
    CHECK(dst == json::parse(R"({"a":{"b":1,"c":[3],"e":true},"d":{"f":1}})"));
}

TEST_CASE("JSON pointers read as dotted field paths", "[core][json]") {
    CHECK(dotted("/spec/cluster/cidr") == "spec.cluster.cidr");
    CHECK(dotted("/spec/kubelet/config/a~1b") == "spec.kubelet.config.a/b");
}

TEST_CASE("config errors name source, field and problem", "[core][errors]") {
    ConfigError e("user data (MIME part 2, application/node.eks.aws)", "spec.cluster.cidr",
                  "\"10.100.0.0/33\" is not a CIDR");
    CHECK(std::string(e.what()) ==
          "user data (MIME part 2, application/node.eks.aws): spec.cluster.cidr: \"10.100.0.0/33\" is not a CIDR");
    CHECK(e.exit_code() == 6);
}
