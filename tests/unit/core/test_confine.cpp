// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixtures.hpp"
#include "core/confine.hpp"
#include "core/error.hpp"
#include "core/units.hpp"

using namespace eksnode;

namespace {

// Runs fn in a child (Landlock cannot be undone) and returns its report.
template <typename Fn>
std::string in_child(Fn fn) {
    int p[2];
    REQUIRE(::pipe(p) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::close(p[0]);
        std::string out;
        try {
            out = fn();
        } catch (const std::exception& e) {
            out = std::string("exception: ") + e.what();
        }
        (void)!::write(p[1], out.data(), out.size());
        ::_exit(0);
    }
    ::close(p[1]);
    std::string out;
    char buf[512];
    for (ssize_t n; (n = ::read(p[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
    ::close(p[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return out;
}

// "ok" or the errno name of one attempt, so a report reads like the probe's.
std::string attempt(int rc) { return rc >= 0 ? "ok" : (errno == EACCES ? "EACCES" : std::to_string(errno)); }

std::string create(const fs::path& p) {
    int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    std::string r = attempt(fd);
    if (fd >= 0) ::close(fd);
    return r;
}

std::string run_true() {
    pid_t pid = ::fork();
    if (pid == 0) {
        ::execl("/bin/true", "true", static_cast<char*>(nullptr));
        ::_exit(errno == EACCES ? 13 : 127);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "ok" : WEXITSTATUS(status) == 13 ? "EACCES" : "other";
}

// What a container's seccomp filter does to Landlock (systemd-nspawn's does):
// its three calls fail with EPERM, everything else passes.
void refuse_landlock() {
    sock_filter prog[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 444, 0, 2),
        BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, 446, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    sock_fprog fprog{static_cast<unsigned short>(sizeof prog / sizeof prog[0]), prog};
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog) != 0)
        throw std::runtime_error("seccomp");
}

}  // namespace

TEST_CASE("every step but instance-store has a Landlock policy", "[core][confine]") {
    // The exceptions (units/steps.tsv, landlock no): the disk steps format and mount block
    // devices, the swap file goes where the configuration says, a hook runs the admin's
    // command (eks-node-verdict is confined since it writes its line to /run/eks-node/verdict).
    // A step joins this list only with its reason; any other one, a new one too, is
    // confined (core/confine.cpp derives its policy from the table and its outputs).
    std::vector<std::string_view> unconfined, confined;
    for (const units::Unit& u : units::all()) {
        if (u.step.empty()) continue;  // another row's program
        (u.landlock ? confined : unconfined).push_back(u.step);
    }
    CHECK(unconfined == std::vector<std::string_view>{"instance-store", "ebs-volumes", "swap", "hook"});
    CHECK(confine::step_names() == confined);
    CHECK(confined.size() >= 16);
    // eks-node-cloud-init and eks-node-readahead write nothing: confined to no writable directory at all
    CHECK(confine::policy_of("cloud-init").writable.empty());
    CHECK(confine::policy_of("readahead").writable.empty());
    CHECK(confine::policy_of("readahead").executable.empty());
    CHECK(confine::find_policy("instance-store") == nullptr);
    CHECK_THROWS_AS(confine::policy_of("instance-store"), Error);
    // eks-node-config: its own files, and containerd's, which it writes at boot when user data
    // changes them (core/outputs.hpp, early_step); SOCI's directory only where the package made it
    CHECK(confine::policy_of("config").writable ==
          std::vector<std::string>{"/etc/containerd", "-/etc/soci-snapshotter-grpc", "/run/eks-node"});
    CHECK(confine::policy_of("containerd").writable ==
          std::vector<std::string>{"/etc/containerd", "-/etc/soci-snapshotter-grpc"});
}

TEST_CASE("a confined step writes only beneath its directories and executes nothing", "[core][confine]") {
    test::TempRoot root;
    const fs::path& d = root.dir;
    fs::create_directories(d / "other");
    {
        std::ofstream(d / "other/file") << "data";
    }
    {
        std::ofstream(d / "file") << "not a directory";
    }
    const confine::Policy policy{{"/out", "/made/on/demand", "-/optional", "/file/sub"}};
    const int abi = confine::landlock_abi();
    std::string report = in_child([&] {
        confine::Applied a = confine::apply(policy, Paths(d));
        std::string r = std::to_string(static_cast<int>(a.outcome)) + " " + std::to_string(a.writable.size());
        r += " out=" + create(d / "out/new");
        r += " demand=" + create(d / "made/on/demand/new");
        r += " other=" + create(d / "other/new");
        r += " mkdir=" + attempt(::mkdir((d / "other/dir").c_str(), 0755));
        r += " unlink=" + attempt(::unlink((d / "other/file").c_str()));
        r += " move-out=" + attempt(::rename((d / "out/new").c_str(), (d / "other/moved").c_str()));
        int fd = ::open((d / "other/file").c_str(), O_RDONLY | O_CLOEXEC);
        r += " read=" + attempt(fd);
        if (fd >= 0) ::close(fd);
        r += " exec=" + run_true();
        return r;
    });
    CHECK_FALSE(fs::exists(d / "optional"));
    if (abi > 0) {
        INFO("Landlock ABI " << abi);
        // The missing required directories were made for their rules, but
        // one that cannot be made (a file is in the way) is skipped.
        CHECK(report ==
              "0 2 out=ok demand=ok other=EACCES mkdir=EACCES unlink=EACCES move-out=EACCES read=ok exec=EACCES");
        CHECK(fs::is_directory(d / "made/on/demand"));
        CHECK(fs::exists(d / "other/file"));
    } else {
        // No Landlock here: the step says so, makes no directory, and runs
        // unconfined.
        CHECK(report == "1 0 out=2 demand=2 other=ok mkdir=ok unlink=ok move-out=2 read=2 exec=ok");
        CHECK_FALSE(fs::exists(d / "made"));
    }
}

TEST_CASE("without Landlock a step runs unconfined, makes no directory, and says so", "[core][confine]") {
    test::TempRoot root;
    const fs::path& d = root.dir;
    std::string report = in_child([&] {
        refuse_landlock();
        confine::Applied a = confine::apply(confine::Policy{{"/out"}}, Paths(d));
        return std::to_string(static_cast<int>(a.outcome)) + " abi=" + std::to_string(a.abi) + " " +
               std::to_string(confine::landlock_abi()) + " other=" + create(d / "other");
    });
    CHECK(report == "1 abi=0 0 other=ok");
    CHECK_FALSE(fs::exists(d / "out"));
}

TEST_CASE("EKS_NODE_LANDLOCK=0 turns the confinement off", "[core][confine]") {
    test::TempRoot root;
    const fs::path& d = root.dir;
    std::string report = in_child([&] {
        ::setenv("EKS_NODE_LANDLOCK", "0", 1);
        confine::Applied a = confine::apply(confine::Policy{{"/out"}}, Paths(d));
        return std::to_string(static_cast<int>(a.outcome)) + " other=" + create(d / "other");
    });
    CHECK(report == "2 other=ok");
}
