// SPDX-License-Identifier: Apache-2.0
// settings.registries and settings.trust on re-runs: what restarts whom, what
// is removed when a setting goes away, and the store's tool run only when a
// file changed.
#include <catch2/catch.hpp>

#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "render/render.hpp"
#include "test_support.hpp"

using namespace eksnode;
using namespace eksnode::render;
using render_test::base_config;
using render_test::TempDir;

namespace {

std::string pem(const std::string& name) {
    return read_file(render_test::source_path("tests/data/certificates/" + name));
}

bool restarts(const StepResult& r, const std::string& unit) {
    return std::any_of(r.restarts.begin(), r.restarts.end(), [&](const Restart& x) { return x.unit == unit; });
}

}  // namespace

TEST_CASE("hosts.toml changes restart nothing: containerd reads it at each pull", "[render][registries]") {
    TempDir root;
    Paths paths(root.path);
    json cfg = base_config();
    REQUIRE_FALSE(render_containerd(cfg, paths).changed() == false);  // config.toml first written
    cfg["settings"]["registries"]["docker.io"]["mirrors"] =
        json::array({{{"endpoint", "https://mirror.example"}, {"ca", pem("registry-ca.pem")}}});
    StepResult added = render_containerd(cfg, paths);
    CHECK(fs::exists(root.path / "etc/containerd/certs.d/docker.io/hosts.toml"));
    CHECK(fs::exists(root.path / "etc/containerd/certs.d/docker.io/eks-node-mirror-1-ca.crt"));
    CHECK_FALSE(added.changed());  // written, but nothing containerd reads only at start
    CHECK(render_containerd(cfg, paths).outputs.size() == added.outputs.size());
    // the setting goes away: our files and the directory go too
    cfg["settings"].erase("registries");
    StepResult removed = render_containerd(cfg, paths);
    CHECK_FALSE(removed.changed());
    CHECK_FALSE(fs::exists(root.path / "etc/containerd/certs.d/docker.io"));
}

TEST_CASE("static credentials change config.toml: containerd restarts", "[render][registries]") {
    TempDir root;
    Paths paths(root.path);
    json cfg = base_config();
    render_containerd(cfg, paths);
    cfg["settings"]["registries"]["r.example"] = {{"username", "u"}, {"password", "p-secret"}};
    CHECK(render_containerd(cfg, paths).changed());
    CHECK(read_file(root.path / "etc/containerd/config.toml").find("p-secret") != std::string::npos);
}

TEST_CASE("an image's own hosts.toml is never removed", "[render][registries]") {
    TempDir root;
    Paths paths(root.path);
    write_file_atomic(root.path / "etc/containerd/certs.d/quay.io/hosts.toml", "server = \"https://quay.io\"\n", 0644);
    render_containerd(base_config(), paths);
    CHECK(fs::exists(root.path / "etc/containerd/certs.d/quay.io/hosts.toml"));
}

TEST_CASE("trust: the store's tool runs only when a bundle changed, and on removal", "[render][trust]") {
    TempDir root;
    Paths paths(root.path);
    fs::create_directories(root.path / "etc/pki/ca-trust/source/anchors");
    fs::create_directories(root.path / "etc/pki/ca-trust/source/blocklist");
    std::vector<std::vector<std::string>> ran;
    auto update = [&](const std::vector<std::string>& argv) { ran.push_back(argv); };
    json cfg = base_config();
    cfg["settings"]["trust"]["corp"] = {{"certificates", pem("bundle.pem")}};
    cfg["settings"]["trust"]["old"] = {{"certificates", pem("registry-ca.pem")}, {"trusted", false}};
    StepResult first;
    render_trust(first, cfg, paths, update);
    REQUIRE(ran.size() == 1);
    CHECK(ran[0] == std::vector<std::string>{"update-ca-trust", "extract"});
    CHECK(restarts(first, "containerd.service"));
    CHECK(read_file(root.path / "etc/pki/ca-trust/source/anchors/eks-node-corp.pem") == pem("bundle.expected.pem"));
    CHECK(fs::exists(root.path / "etc/pki/ca-trust/source/blocklist/eks-node-old.pem"));

    StepResult again;
    render_trust(again, cfg, paths, update);
    CHECK(ran.size() == 1);
    CHECK_FALSE(restarts(again, "containerd.service"));

    cfg["settings"].erase("trust");
    StepResult gone;
    render_trust(gone, cfg, paths, update);
    CHECK(ran.size() == 2);
    CHECK_FALSE(fs::exists(root.path / "etc/pki/ca-trust/source/anchors/eks-node-corp.pem"));
    CHECK_FALSE(fs::exists(root.path / "etc/pki/ca-trust/source/blocklist/eks-node-old.pem"));
}

TEST_CASE("trust: a failed run of the store's tool leaves the next run to run it again", "[render][trust]") {
    TempDir root;
    Paths paths(root.path);
    fs::create_directories(root.path / "usr/local/share/ca-certificates");
    int runs = 0;
    bool fail = true;
    auto update = [&](const std::vector<std::string>&) {
        ++runs;
        if (fail) throw eksnode::Error("update-ca-certificates failed (exit -1)");
    };
    json cfg = base_config();
    cfg["settings"]["trust"]["corp"] = {{"certificates", pem("bundle.pem")}};
    StepResult first;
    CHECK_THROWS_AS(render_trust(first, cfg, paths, update), eksnode::Error);
    CHECK_FALSE(fs::exists(root.path / "usr/local/share/ca-certificates/eks-node-corp.crt"));
    fail = false;
    StepResult again;
    render_trust(again, cfg, paths, update);
    CHECK(runs == 2);
    CHECK(fs::exists(root.path / "usr/local/share/ca-certificates/eks-node-corp.crt"));
}

TEST_CASE("trust on Debian: update-ca-certificates, and no distrust", "[render][trust]") {
    TempDir root;
    Paths paths(root.path);
    fs::create_directories(root.path / "usr/local/share/ca-certificates");
    std::vector<std::vector<std::string>> ran;
    auto update = [&](const std::vector<std::string>& argv) { ran.push_back(argv); };
    json cfg = base_config();
    cfg["settings"]["trust"]["corp"] = {{"certificates", pem("bundle.pem")}};
    StepResult r;
    render_trust(r, cfg, paths, update);
    REQUIRE(ran.size() == 1);
    CHECK(ran[0] == std::vector<std::string>{"update-ca-certificates"});
    CHECK(fs::exists(root.path / "usr/local/share/ca-certificates/eks-node-corp.crt"));
    cfg["settings"]["trust"]["corp"]["trusted"] = false;
    StepResult d;
    CHECK_THROWS_WITH(render_trust(d, cfg, paths, update), Catch::Contains("settings.trust.corp.trusted"));
}

// Issue 58, item 8: what the node refuses is refused before the step's first
// write, so a refused run leaves nothing half-written (ca.crt without the
// bundles, config.toml without hosts.toml).
TEST_CASE("trust: a bundle the store cannot take refuses eks-node-ca before ca.crt", "[render][trust]") {
    TempDir root;
    Paths paths(root.path);
    fs::create_directories(root.path / "usr/local/share/ca-certificates");  // Debian's store
    json cfg = base_config();
    cfg["settings"]["trust"]["a-corp"] = {{"certificates", pem("bundle.pem")}};
    cfg["settings"]["trust"]["old"] = {{"certificates", pem("registry-ca.pem")}, {"trusted", false}};
    CHECK_THROWS_WITH(check_trust(cfg, paths), Catch::Contains("settings.trust.old.trusted"));
    CHECK_THROWS_AS(render_ca(cfg, paths), ConfigError);
    CHECK_FALSE(fs::exists(root.path / "etc/kubernetes/pki/ca.crt"));
    CHECK(fs::is_empty(root.path / "usr/local/share/ca-certificates"));
    // no store at all
    TempDir bare;
    cfg["settings"]["trust"].erase("old");
    CHECK_THROWS_WITH(check_trust(cfg, Paths(bare.path)), Catch::Contains("no trust store eks-node knows"));
    CHECK_THROWS_AS(render_ca(cfg, Paths(bare.path)), ConfigError);
    CHECK_FALSE(fs::exists(bare.path / "etc/kubernetes/pki/ca.crt"));
}

TEST_CASE("registries: _default without mirrors on containerd 1.7 refuses before config.toml", "[render][registries]") {
    TempDir root;
    Paths paths(root.path);
    json cfg = base_config();
    cfg["machine"]["containerdVersion"] = "1.7.27";
    cfg["settings"]["registries"]["_default"] = {{"insecure", true}};
    CHECK_THROWS_WITH(check_registries(cfg), Catch::Contains("settings.registries._default"));
    CHECK_THROWS_AS(render_containerd(cfg, paths), ConfigError);
    CHECK_FALSE(fs::exists(root.path / "etc/containerd/config.toml"));
    CHECK_FALSE(fs::exists(root.path / "etc/containerd/certs.d"));
    cfg["machine"]["containerdVersion"] = "2.1.4";
    CHECK_NOTHROW(check_registries(cfg));
}
