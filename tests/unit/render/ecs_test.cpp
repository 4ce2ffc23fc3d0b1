// SPDX-License-Identifier: Apache-2.0
// eks-node-ecs: what it refuses (exit 6, naming the field), and that a refusal
// writes neither file. Its outputs are golden trees (tests/golden/ecs/).
#include <fmt/format.h>
#include <catch2/catch.hpp>

#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "render/render.hpp"
#include "test_support.hpp"

namespace {

using namespace eksnode;
using namespace eksnode::render;
using render_test::TempDir;

json ecs_config() {
    json cfg = render_test::load_json("tests/golden/ecs/01-every-key-crun-default/input/config.json");
    cfg["origins"]["/settings/runtimes/crun/binary"] = "/etc/eks-node/node.toml.d/10-ecs.toml";
    return cfg;
}

void place_crun(const TempDir& root) {
    fs::create_directories(root.path / "usr/bin");
    write_file_atomic(root.path / "usr/bin/crun", "#!/bin/sh\n", 0755);
}

ConfigError refusal(const json& cfg, const TempDir& root) {
    try {
        render_ecs(cfg, Paths(root.path));
    } catch (const ConfigError& e) {
        CHECK(e.exit_code() == EXIT_CONFIG);
        // nothing written: neither the agent nor dockerd starts on half a node
        CHECK_FALSE(fs::exists(root.path / "etc/ecs/ecs.config"));
        CHECK_FALSE(fs::exists(root.path / "etc/docker/daemon.json"));
        return e;
    }
    FAIL("no error");
    throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("a default runtime whose binary is missing is refused, naming the handler and the path", "[render][ecs]") {
    TempDir root;  // no usr/bin/crun
    ConfigError e = refusal(ecs_config(), root);
    CHECK(e.field() == "settings.runtimes.crun.binary");
    CHECK(e.source() == "/etc/eks-node/node.toml.d/10-ecs.toml");
    CHECK(e.problem() == "/usr/bin/crun does not exist on this node (handler crun)");
}

TEST_CASE("a default runtime that is a containerd shim is refused: Docker runs OCI runtimes", "[render][ecs]") {
    TempDir root;
    place_crun(root);
    json cfg = ecs_config();
    cfg["settings"]["runtimes"]["crun"]["default"] = false;
    cfg["settings"]["runtimes"]["gvisor"]["default"] = true;
    ConfigError e = refusal(cfg, root);
    CHECK(e.field() == "settings.runtimes.gvisor.type");
    CHECK_THAT(e.problem(), Catch::Contains("containerd shim"));
}

TEST_CASE("a default runtime without a binary is refused", "[render][ecs]") {
    TempDir root;
    json cfg = ecs_config();
    cfg["settings"]["runtimes"]["crun"].erase("binary");
    CHECK(refusal(cfg, root).field() == "settings.runtimes.crun.binary");
}

TEST_CASE("a daemon.json that is not a JSON object is refused, not replaced", "[render][ecs]") {
    TempDir root;
    place_crun(root);
    fs::create_directories(root.path / "etc/docker");
    write_file_atomic(root.path / "etc/docker/daemon.json", "[1, 2]\n", 0644);
    CHECK_THROWS_AS(render_ecs(ecs_config(), Paths(root.path)), ConfigError);
    CHECK(read_file(root.path / "etc/docker/daemon.json") == "[1, 2]\n");
}

TEST_CASE("a changed file asks for a try-restart of its consumer only", "[render][ecs]") {
    TempDir root;
    place_crun(root);
    json cfg = ecs_config();
    StepResult first = render_ecs(cfg, Paths(root.path));
    REQUIRE(first.restarts.size() == 2);
    CHECK(first.restarts[0].unit == "ecs.service");
    CHECK(first.restarts[1].unit == "docker.service");
    cfg["settings"]["ecs"]["cluster"] = "other";
    StepResult second = render_ecs(cfg, Paths(root.path));
    REQUIRE(second.restarts.size() == 1);
    CHECK(second.restarts[0].unit == "ecs.service");
}

TEST_CASE("a default runtime whose binary is not executable is refused", "[render][ecs]") {
    TempDir root;
    fs::create_directories(root.path / "usr/bin");
    write_file_atomic(root.path / "usr/bin/crun", "not a program\n", 0644);
    ConfigError e = refusal(ecs_config(), root);
    CHECK(e.field() == "settings.runtimes.crun.binary");
    CHECK(e.problem() == "/usr/bin/crun is not executable (handler crun)");
}

namespace {

// A machine under `root` running kernel 6.1.0-test, which has `available`
// as a loadable module and has loaded none.
void place_kernel(const TempDir& root, const std::string& available) {
    fs::create_directories(root.path / "proc/sys/kernel");
    write_file_atomic(root.path / "proc/sys/kernel/osrelease", "6.1.0-test\n", 0644);
    fs::create_directories(root.path / "lib/modules/6.1.0-test");
    write_file_atomic(root.path / "lib/modules/6.1.0-test/modules.dep",
                      fmt::format("kernel/drivers/misc/{}.ko:\n", available), 0644);
    fs::create_directories(root.path / "sys/module/loop");
}

json with_module(json cfg, const std::string& module) {
    cfg["settings"]["runtimes"]["crun"]["kernelModules"] = {module};
    cfg["origins"]["/settings/runtimes/crun/kernelModules/0"] = "user data (MIME part 2)";
    return cfg;
}

}  // namespace

TEST_CASE("a default runtime's kernel module this kernel lacks is refused, naming its source", "[render][ecs]") {
    TempDir root;
    place_crun(root);
    place_kernel(root, "vmw_vsock_virtio_transport");
    ConfigError e = refusal(with_module(ecs_config(), "no_such_module"), root);
    CHECK(e.field() == "settings.runtimes.crun.kernelModules");
    CHECK(e.source() == "user data (MIME part 2)");
    CHECK_THAT(e.problem(), Catch::Contains("6.1.0-test") && Catch::Contains("no_such_module"));
}

TEST_CASE("a default runtime's module not loaded yet asks for Docker's restart, which loads it", "[render][ecs]") {
    TempDir root;
    place_crun(root);
    place_kernel(root, "vmw_vsock_virtio_transport");
    const json cfg = with_module(ecs_config(), "vmw-vsock-virtio-transport");
    render_ecs(cfg, Paths(root.path));  // the first: daemon.json is new, Docker restarts anyway
    StepResult r = render_ecs(cfg, Paths(root.path));
    REQUIRE(r.restarts.size() == 1);
    CHECK(r.restarts[0].unit == "docker.service");
    CHECK_THAT(r.restarts[0].why, Catch::Contains("kernel module vmw-vsock-virtio-transport is not loaded"));

    fs::create_directories(root.path / "sys/module/vmw_vsock_virtio_transport");
    CHECK(render_ecs(cfg, Paths(root.path)).restarts.empty());
}
