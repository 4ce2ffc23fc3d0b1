// SPDX-License-Identifier: Apache-2.0
// Machine facts: parsers, the version probe, and read_machine_facts on a fake root.
#include <catch2/catch.hpp>

#include "fixtures.hpp"

#include <chrono>
#include <cstdlib>
#include <thread>
#include <unistd.h>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "derive/derive.hpp"
#include "derive/internal.hpp"

using namespace eksnode;
using namespace eksnode::derive;
using namespace derive::detail;

namespace {

using test::TempRoot;

// Puts `dir` first in PATH for the scope.
struct PathPrefix {
    std::string saved;
    explicit PathPrefix(const fs::path& dir) {
        const char* p = std::getenv("PATH");
        saved = p ? p : "";
        ::setenv("PATH", (dir.string() + ":" + saved).c_str(), 1);
    }
    ~PathPrefix() { ::setenv("PATH", saved.c_str(), 1); }
};

}  // namespace

TEST_CASE("CPU lists of sys/devices/system/cpu/online", "[derive][machine]") {
    CHECK(parse_cpu_list("0") == 1);
    CHECK(parse_cpu_list("0-1\n") == 2);
    CHECK(parse_cpu_list("0-3") == 4);
    CHECK(parse_cpu_list("0-3,5,7-8\n") == 7);
    CHECK(parse_cpu_list("0-63\n") == 64);
    CHECK(parse_cpu_list("2,4,6") == 3);
    for (const char* bad : {"", "\n", "3-1", "a", "0,,1", "0-", "0,", "-1", "0 -3", "0-99999"}) {
        INFO("\"" << bad << "\"");
        CHECK_FALSE(parse_cpu_list(bad));
    }
}

TEST_CASE("MemTotal of proc/meminfo in MiB", "[derive][machine]") {
    CHECK(parse_meminfo_total_mib("MemTotal:       16326428 kB\nMemFree:         1234 kB\n") == 15943);
    CHECK(parse_meminfo_total_mib("Other: 1 kB\nMemTotal: 2048 kB\n") == 2);
    CHECK_FALSE(parse_meminfo_total_mib("MemFree: 1234 kB\n"));
    CHECK_FALSE(parse_meminfo_total_mib("MemTotal: lots kB\n"));
    CHECK_FALSE(parse_meminfo_total_mib("MemTotal: 2048\n"));
    CHECK_FALSE(parse_meminfo_total_mib("XMemTotal: 2048 kB\n"));
}

TEST_CASE("version numbers in version files and --version output", "[derive][machine][version]") {
    struct Case {
        const char* text;
        const char* version;
    };
    const Case cases[] = {
        {"v1.29.0", "1.29.0"},
        {"1.29.0", "1.29.0"},
        {"1.29.0\n", "1.29.0"},
        {"Kubernetes v1.29.0\n", "1.29.0"},
        {"Kubernetes v1.30.4-eks-a737599\n", "1.30.4"},
        {"v1.30", "1.30.0"},
        {"containerd containerd.io 1.7.20 8fc6bcff51318944179630522a095cc9dbf9f353\n", "1.7.20"},
        {"containerd github.com/containerd/containerd/v2 v2.0.5 fb4c30d4ede3531652d86197bf3fc9515e5276d9\n", "2.0.5"},
        {"containerd github.com/containerd/containerd v1.7.27 05044ec0a9a75232cad458027ca83437aae3f4da\n", "1.7.27"},
        {"1.7.20+unknown", "1.7.20"},
    };
    for (const Case& c : cases) {
        INFO(c.text);
        CHECK(parse_version(c.text) == std::optional<std::string>(c.version));
    }
    for (const char* bad : {"", "\n", "garbage", "1", "v2", "1.2.3.4", "1.29.", "x1.29.0", "1..2"}) {
        INFO("\"" << bad << "\"");
        CHECK_FALSE(parse_version(bad));
    }
}

TEST_CASE("versions compare numerically, component by component", "[derive][version]") {
    CHECK(compare_versions("1.29.0", "1.29") == 0);
    CHECK(compare_versions("1.28.5", "1.29") < 0);
    CHECK(compare_versions("1.30.0", "1.29.9") > 0);
    CHECK(compare_versions("1.10.0", "1.9.0") > 0);
    CHECK(compare_versions("v1.29.0", "1.29.0") == 0);
    CHECK(compare_versions("1.29.0-eks-5e0fdde", "1.29.0") == 0);
    CHECK(compare_versions("1.29.1", "1.29.0") > 0);
    CHECK(compare_versions("2", "1.99.99") > 0);
}

TEST_CASE("capture_stdout runs a program without a shell and bounds its time", "[derive][machine]") {
    CHECK(capture_stdout({"sh", "-c", "echo kubelet v1.2.3"}, std::chrono::seconds(2)) == "kubelet v1.2.3\n");
    CHECK_FALSE(capture_stdout({"sh", "-c", "echo partial; exit 3"}, std::chrono::seconds(2)));
    CHECK_FALSE(capture_stdout({"/nonexistent/kubelet", "--version"}, std::chrono::seconds(2)));
    CHECK_FALSE(capture_stdout({}, std::chrono::seconds(2)));
    // Stderr is not stdout.
    CHECK(capture_stdout({"sh", "-c", "echo noise >&2; echo out"}, std::chrono::seconds(2)) == "out\n");

    // Killed at its timeout (no clock here: it fails under load): let run, it would print and exit 0.
    CHECK_FALSE(capture_stdout({"sh", "-c", "sleep 10; echo late"}, std::chrono::milliseconds(200)));
}

TEST_CASE("machine facts from a prepared root", "[derive][machine]") {
    TempRoot root;
    root.write("/sys/devices/system/cpu/online", "0-1\n");
    root.write("/proc/meminfo", "MemTotal:       16326428 kB\nMemFree: 1 kB\n");
    root.write("/etc/eks/kubelet-version.txt", "Kubernetes v1.29.0-eks-5e0fdde\n");
    root.write("/etc/eks/containerd-version.txt",
               "containerd github.com/containerd/containerd/v2 v2.0.5 fb4c30d4ede3531652d86197bf3fc9515e5276d9\n");
    root.write("/sys/bus/pci/devices/0000:00:03.0/vendor", "0x1d0f\n");
    root.write("/sys/bus/pci/devices/0000:00:1e.0/vendor", "0x10de\n");
    root.write("/proc/sys/crypto/fips_enabled", "1\n");
    root.write("/usr/bin/nvidia-container-runtime", "#!/bin/sh\n");
    fs::permissions(root.dir / "usr/bin/nvidia-container-runtime", fs::perms::owner_all);
    root.write("/usr/bin/soci-snapshotter-grpc", "#!/bin/sh\n");
    fs::permissions(root.dir / "usr/bin/soci-snapshotter-grpc", fs::perms::owner_all);
    root.write("/etc/eks/soci-snapshotter-version.txt", "0.4.1\n");

    derive::MachineFacts m = read_machine_facts(Paths(root.dir));
    CHECK(m.cpu_millicores == 2000);
    CHECK(m.memory_mib == 15943);
    CHECK(m.kubelet_version == "1.29.0");
    CHECK(m.containerd_version == "2.0.5");
    CHECK(m.nvidia_gpu);
    CHECK(m.nvidia_runtime);
    CHECK_THAT(m.origins.at("/machine/nvidiaContainerRuntime"), Catch::EndsWith("is installed"));
    CHECK(m.fips_enabled);
    CHECK(m.origins.at("/machine/cpuMillicores") ==
          fmt::format("2 CPUs online ({}/sys/devices/system/cpu/online)", root.dir.string()));
    CHECK(m.origins.at("/machine/kubeletVersion") == (root.dir / "etc/eks/kubelet-version.txt").string());
    CHECK_THAT(m.origins.at("/machine/nvidiaGpu"), Catch::Contains("0000:00:1e.0"));

    json j = machine_json(m);
    CHECK(j == json::parse(R"({"cpuMillicores": 2000, "memoryMiB": 15943, "kubeletVersion": "1.29.0",
                               "containerdVersion": "2.0.5", "nvidiaGpu": true, "nvidiaContainerRuntime": true,
                               "fipsEnabled": true, "sociSnapshotter": true,
                               "sociSnapshotterVersion": "0.4.1"})"));
    CHECK_THAT(m.origins.at("/machine/sociSnapshotter"), Catch::EndsWith("is installed"));
    CHECK(m.origins.at("/machine/sociSnapshotterVersion") ==
          (root.dir / "etc/eks/soci-snapshotter-version.txt").string());
}

TEST_CASE("an empty root gives documented fallbacks and runs nothing", "[derive][machine]") {
    TempRoot root;
    // A kubelet on PATH that must not be asked: a root other than / is not this host.
    TempRoot bin;
    bin.write("/kubelet", "#!/bin/sh\necho Kubernetes v1.99.0\n");
    fs::permissions(bin.dir / "kubelet", fs::perms::owner_all);
    PathPrefix path(bin.dir);
    REQUIRE(capture_stdout({"kubelet", "--version"}, std::chrono::seconds(2)) == "Kubernetes v1.99.0\n");

    derive::MachineFacts m = read_machine_facts(Paths(root.dir));
    unsigned n = std::thread::hardware_concurrency();
    CHECK(m.cpu_millicores == static_cast<int>(n > 0 ? n : 1) * 1000);
    CHECK_THAT(m.origins.at("/machine/cpuMillicores"), Catch::Contains("hardware_concurrency"));
    CHECK(m.memory_mib == 0);
    CHECK_THAT(m.origins.at("/machine/memoryMiB"), Catch::StartsWith("unknown"));
    CHECK(m.kubelet_version == assumed_kubelet_version);
    CHECK_THAT(m.origins.at("/machine/kubeletVersion"), Catch::StartsWith("assumed") &&
                                                            Catch::Contains("binaries are not run under --root"));
    CHECK(m.containerd_version == assumed_containerd_version);
    CHECK_THAT(m.origins.at("/machine/containerdVersion"), Catch::StartsWith("assumed"));
    CHECK_FALSE(m.nvidia_gpu);
    CHECK_FALSE(m.nvidia_runtime);
    CHECK_FALSE(m.fips_enabled);
}

TEST_CASE("a runtime binary counts as installed only as an executable file", "[derive][machine]") {
    TempRoot root;
    root.write("/sys/devices/system/cpu/online", "0\n");
    root.write("/usr/bin/nvidia-container-runtime", "not executable\n");
    derive::MachineFacts m = read_machine_facts(Paths(root.dir));
    CHECK_FALSE(m.nvidia_runtime);
    CHECK_THAT(m.origins.at("/machine/nvidiaContainerRuntime"), Catch::Contains("is not installed"));
}

TEST_CASE("an unreadable version file is an error, not a guess", "[derive][machine]") {
    TempRoot root;
    root.write("/sys/devices/system/cpu/online", "0\n");
    root.write("/etc/eks/kubelet-version.txt", "not a version\n");
    CHECK_THROWS_WITH(read_machine_facts(Paths(root.dir)),
                      Catch::Contains("kubelet-version.txt: no version number in \"not a version"));
}

TEST_CASE("a malformed CPU list is an error", "[derive][machine]") {
    TempRoot root;
    root.write("/sys/devices/system/cpu/online", "zero\n");
    CHECK_THROWS_AS(read_machine_facts(Paths(root.dir)), Error);
}
