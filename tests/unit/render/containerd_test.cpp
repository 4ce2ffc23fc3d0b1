// SPDX-License-Identifier: Apache-2.0
// eks-node-containerd's renderer: config.toml's schema per containerd release, the user's
// TOML merged and migrated, the drop-ins containerd imports, FastImagePull's snapshotter and
// the runtime handlers (settings.runtimes).
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include "config/runtimes.hpp"
#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "format/convert.hpp"
#include "format/toml_json.hpp"
#include "render/containerd.hpp"
#include "render/kubelet.hpp"
#include "render/render.hpp"
#include "render/render_config.hpp"
#include "render/shared.hpp"
#include "steps/steps.hpp"
#include "test_support.hpp"

using namespace eksnode;
using namespace eksnode::config;
using namespace eksnode::format;
using namespace eksnode::render;
using namespace eksnode::render::detail;
using render_test::base_config;
using render_test::TempDir;
using render_test::with_version;

TEST_CASE("containerd schema follows the containerd version and the user's TOML", "[render][containerd]") {
    json v3_plugins = json::parse(R"({"plugins": {"io.containerd.cri.v1.images": {"snapshotter": "overlayfs"}}})");
    json v2_plugins = json::parse(R"({"plugins": {"io.containerd.grpc.v1.cri": {"sandbox_image": "x"}}})");

    json c17 = base_config();
    CHECK(containerd_schema(c17) == ConfigSchema::v2);
    c17["spec"]["containerd"]["config"] = v3_plugins;
    CHECK_THROWS_AS(containerd_schema(c17), ConfigError);

    json c20 = with_version(base_config(), "1.32.0", "2.0.5");
    CHECK(containerd_schema(c20) == ConfigSchema::v3);
    c20["spec"]["containerd"]["config"] = v3_plugins;
    CHECK(containerd_schema(c20) == ConfigSchema::v3);
    // A schema 2 snippet is migrated into schema 3, not a reason to write schema 2.
    c20["spec"]["containerd"]["config"] = v2_plugins;
    CHECK(containerd_schema(c20) == ConfigSchema::v3);
    CHECK(containerd_config(c20)["version"] == 3);
    // An explicit version decides, whatever the plugins look like.
    c20["spec"]["containerd"]["config"]["version"] = 3;
    CHECK(containerd_schema(c20) == ConfigSchema::v3);
    c20["spec"]["containerd"]["config"]["version"] = 1;
    CHECK_THROWS_AS(containerd_schema(c20), ConfigError);

    // containerd 2.3 reads version 4, and whatever the user wrote is moved there.
    json c23 = with_version(base_config(), "1.34.1", "2.3.0");
    CHECK(containerd_schema(c23) == ConfigSchema::v4);
    for (int v : {2, 3, 4}) {
        c23["spec"]["containerd"]["config"] = {{"version", v}};
        CHECK(containerd_schema(c23) == ConfigSchema::v4);
        CHECK(containerd_config(c23)["version"] == 4);
    }
    // Version 4 before 2.3: containerd would not start.
    for (const char* older : {"2.2.1", "2.1.9", "1.7.27"}) {
        json c = with_version(base_config(), "1.33.0", older);
        c["spec"]["containerd"]["config"] = {{"version", 4}};
        try {
            containerd_schema(c);
            FAIL("version 4 taken for containerd " << older);
        } catch (const ConfigError& e) {
            CHECK(e.field() == "spec.containerd.config.version");
            CHECK_THAT(e.problem(), Catch::Contains("containerd 2.3's configuration version") &&
                                        Catch::Contains(std::string("containerd ") + older));
        }
    }
}

TEST_CASE("the CNI binary directory key follows containerd's minor version", "[render][containerd]") {
    const json cni20 = containerd_config(
        with_version(base_config(), "1.33.0", "2.0.5"))["plugins"]["io.containerd.cri.v1.runtime"]["cni"];
    CHECK(cni20["bin_dir"] == "/opt/cni/bin");
    CHECK_FALSE(cni20.contains("bin_dirs"));
    const json cni21 = containerd_config(
        with_version(base_config(), "1.33.0", "2.1.9"))["plugins"]["io.containerd.cri.v1.runtime"]["cni"];
    CHECK(cni21["bin_dirs"] == json::array({"/opt/cni/bin"}));
    CHECK_FALSE(cni21.contains("bin_dir"));
}

TEST_CASE("a schema 2 snippet on containerd 2 lands where containerd's migration puts it", "[render][containerd]") {
    json cfg = with_version(base_config(), "1.33.0", "2.1.9");
    cfg["spec"]["containerd"]["config"] = json::parse(R"({"version": 2, "plugins": {"cri": {
        "sandbox_image": "registry.example/pause:1", "max_concurrent_downloads": 9,
        "stream_server_port": "10010", "enable_cdi": false, "cni": {"bin_dir": "/x"},
        "containerd": {"snapshotter": "soci", "default_runtime_name": "kata",
                       "runtimes": {"kata": {"runtime_type": "io.containerd.kata.v2", "sandbox_mode": "shim"}}}}}})");
    const json c = containerd_config(cfg);
    CHECK(c["version"] == 3);
    const json& images = c["plugins"]["io.containerd.cri.v1.images"];
    const json& runtime = c["plugins"]["io.containerd.cri.v1.runtime"];
    CHECK(images["pinned_images"]["sandbox"] == "registry.example/pause:1");
    CHECK(images["max_concurrent_downloads"] == 9);
    CHECK(images["snapshotter"] == "soci");
    CHECK(images["discard_unpacked_layers"] == true);  // ours, untouched
    CHECK(c["plugins"]["io.containerd.grpc.v1.cri"] == json::parse(R"({"stream_server_port": "10010"})"));
    CHECK(runtime["enable_cdi"] == false);
    CHECK(runtime["cni"]["bin_dirs"] == json::array({"/x"}));
    CHECK_FALSE(runtime["cni"].contains("bin_dir"));
    CHECK(runtime["containerd"]["default_runtime_name"] == "kata");
    CHECK(runtime["containerd"]["runtimes"]["kata"]["sandboxer"] == "shim");
    CHECK_FALSE(runtime["containerd"]["runtimes"]["kata"].contains("sandbox_mode"));
    CHECK(runtime["containerd"]["runtimes"]["runc"]["options"]["SystemdCgroup"] == true);  // ours, kept
    CHECK_FALSE(runtime["containerd"].contains("snapshotter"));
    // containerd 2.0 has no bin_dirs: the key stays as written.
    cfg["machine"]["containerdVersion"] = "2.0.5";
    CHECK(containerd_config(cfg)["plugins"]["io.containerd.cri.v1.runtime"]["cni"]["bin_dir"] == "/x");
}

TEST_CASE("schema 2 settings containerd 2 removed are refused, naming the key", "[render][containerd]") {
    auto refused = [](const char* cri) {
        json cfg = with_version(base_config(), "1.33.0", "2.1.9");
        cfg["spec"]["containerd"]["config"] = {{"plugins", {{"io.containerd.grpc.v1.cri", json::parse(cri)}}}};
        try {
            containerd_config(cfg);
        } catch (const ConfigError& e) {
            return e.field() + ": " + e.problem();
        }
        return std::string("accepted");
    };
    CHECK_THAT(refused(R"({"systemd_cgroup": true})"),
               Catch::StartsWith("spec.containerd.config.plugins.\"io.containerd.grpc.v1.cri\".systemd_cgroup: ") &&
                   Catch::Contains("SystemdCgroup"));
    CHECK_THAT(refused(R"({"containerd": {"default_runtime": {"runtime_type": "io.containerd.runc.v2"}}})"),
               Catch::Contains(".containerd.default_runtime: ") && Catch::Contains("default_runtime_name"));
    CHECK_THAT(refused(R"({"containerd": {"untrusted_workload_runtime": {}}})"),
               Catch::Contains(".containerd.untrusted_workload_runtime: "));
    CHECK_THAT(refused(R"({"containerd": {"runtimes": {"old": {"runtime_type": "io.containerd.runtime.v1.linux"}}}})"),
               Catch::Contains(".containerd.runtimes.old.runtime_type: ") && Catch::Contains("io.containerd.runc.v2"));
    // containerd 1.7 still reads them: written as given.
    json cfg17 = with_version(base_config(), "1.33.0", "1.7.27");
    cfg17["spec"]["containerd"]["config"] =
        json::parse(R"({"plugins": {"io.containerd.grpc.v1.cri": {"systemd_cgroup": true}}})");
    CHECK(containerd_config(cfg17)["plugins"]["io.containerd.grpc.v1.cri"]["systemd_cgroup"] == true);
}

TEST_CASE("the NVIDIA runtime is the default only where its binary is installed", "[render][containerd]") {
    json cfg = with_version(base_config(), "1.33.0", "2.1.9");
    auto default_runtime = [&] {
        const json c = containerd_config(cfg)["plugins"]["io.containerd.cri.v1.runtime"]["containerd"];
        return c["default_runtime_name"].get<std::string>() + " " +
               c["runtimes"][c["default_runtime_name"].get<std::string>()]["options"]["BinaryName"].get<std::string>();
    };
    cfg["machine"]["nvidiaGpu"] = true;  // a GPU instance, a standard image
    cfg["machine"]["nvidiaContainerRuntime"] = false;
    CHECK(default_runtime() == "runc /usr/sbin/runc");
    cfg["machine"]["nvidiaContainerRuntime"] = true;
    CHECK(default_runtime() == "nvidia /usr/bin/nvidia-container-runtime");
    cfg["machine"]["nvidiaGpu"] = false;  // as nodeadm: the binary decides
    CHECK(default_runtime() == "nvidia /usr/bin/nvidia-container-runtime");
}

TEST_CASE("the user's containerd TOML merges table by table", "[render][containerd]") {
    json cfg = base_config();
    cfg["spec"]["containerd"]["config"] = json::parse(
        R"({"plugins": {"io.containerd.grpc.v1.cri": {"containerd": {"discard_unpacked_layers": false}}}})");
    json c = containerd_config(cfg);
    const json& ctd = c["plugins"]["io.containerd.grpc.v1.cri"]["containerd"];
    CHECK(ctd["discard_unpacked_layers"] == false);
    CHECK(ctd["default_runtime_name"] == "runc");
    CHECK(ctd["runtimes"]["runc"]["options"]["SystemdCgroup"] == true);
}

TEST_CASE("AL2's SANDBOX_IMAGE placeholder becomes the pause image, as bootstrap.sh made it", "[render][containerd]") {
    json cfg = base_config();
    const std::string pause = cfg["derived"]["sandboxImage"].get<std::string>();
    REQUIRE(pause.find("pause") != std::string::npos);
    // AL2's template (a TOML --containerd-config-file starts from), parsed
    cfg["spec"]["containerd"]["config"] = json::parse(R"({"version": 2, "plugins": {"io.containerd.grpc.v1.cri": {
        "sandbox_image": "SANDBOX_IMAGE",
        "registry": {"config_path": "/etc/containerd/certs.d:/etc/docker/certs.d"}}},
        "proxy_plugins": {"x": {"address": "/run/SANDBOX_IMAGE.sock"}}})");
    json c = containerd_config(cfg);
    CHECK(c["plugins"]["io.containerd.grpc.v1.cri"]["sandbox_image"] == pause);
    CHECK(c["proxy_plugins"]["x"]["address"] == "/run/" + pause + ".sock");  // wherever it appears, as sed did
    CHECK(c["plugins"]["io.containerd.grpc.v1.cri"]["registry"]["config_path"] ==
          "/etc/containerd/certs.d:/etc/docker/certs.d");
    // without the placeholder, the user's image stays
    cfg["spec"]["containerd"]["config"]["plugins"]["io.containerd.grpc.v1.cri"]["sandbox_image"] = "r.example/pause:9";
    CHECK(containerd_config(cfg)["plugins"]["io.containerd.grpc.v1.cri"]["sandbox_image"] == "r.example/pause:9");
}

TEST_CASE("FastImagePull: the SOCI snapshotter as eks-node-config decided, configured for its release",
          "[render][containerd][soci]") {
    json cfg = with_version(base_config(), "1.33.0", "2.1.4");
    cfg["spec"]["featureGates"]["FastImagePull"] = true;  // derive decides; render follows derived
    CHECK_FALSE(use_soci_snapshotter(cfg));
    CHECK_FALSE(kubelet_config(cfg).contains("imageServiceEndpoint"));
    cfg["derived"]["sociSnapshotter"] = true;
    CHECK(use_soci_snapshotter(cfg));
    json c = containerd_config(cfg);
    CHECK(c["plugins"]["io.containerd.cri.v1.images"]["snapshotter"] == "soci");
    CHECK(c["proxy_plugins"]["soci"]["address"] == "/run/soci-snapshotter-grpc/soci-snapshotter-grpc.sock");
    CHECK(kubelet_config(cfg)["imageServiceEndpoint"] ==
          "unix:///run/soci-snapshotter-grpc/soci-snapshotter-grpc.sock");

    // 0.10 and later: nodeadm's file, parallel pull mode over containerd's content store
    cfg["machine"]["sociSnapshotterVersion"] = "0.11.1";
    CHECK(kubelet_config(cfg).contains("imageServiceEndpoint"));
    std::string now = soci_snapshotter_config(cfg);
    CHECK_THAT(now, Catch::Contains("[pull_modes.parallel_pull_unpack]") && Catch::Contains("type = \"containerd\""));
    // before 0.10: no parallel pull mode, and its own content store, so that it starts before containerd
    cfg["machine"]["sociSnapshotterVersion"] = "0.4.1";
    std::string old = soci_snapshotter_config(cfg);
    CHECK_THAT(old, Catch::Contains("type = \"soci\""));
    CHECK_THAT(old,
               !Catch::Contains("pull_modes") && !Catch::Contains("\"containerd\"") && !Catch::Contains("keychain"));
    // its image service is CRI v1alpha2 only: kubelet is not pointed at it
    CHECK_FALSE(kubelet_config(cfg).contains("imageServiceEndpoint"));
}

// ---- containerd drop-ins (/etc/containerd/config.d) ---------------------------------

namespace {

void dropin(const TempDir& root, const std::string& name, const std::string& text) {
    fs::create_directories(root.path / "etc/containerd/config.d");
    write_file_atomic(root.path / "etc/containerd/config.d" / name, text, 0644);
}

const ContainerdDropin* named(const std::vector<ContainerdDropin>& ds, const std::string& name) {
    for (const ContainerdDropin& d : ds)
        if (d.path == "/etc/containerd/config.d/" + name) return &d;
    return nullptr;
}

std::string warnings_of(const ContainerdDropin* d) {
    REQUIRE(d);
    std::string out;
    for (const std::string& w : d->warnings) out += w + "\n";
    return out;
}

}  // namespace

TEST_CASE("config.toml imports AL2's drop-in directory, first, whatever the user imports", "[render][containerd]") {
    json cfg = base_config();
    CHECK(containerd_config(cfg)["imports"] == json::array({"/etc/containerd/config.d/*.toml"}));
    CHECK(containerd_config(with_version(base_config(), "1.32.0", "2.0.5"))["imports"] ==
          json::array({"/etc/containerd/config.d/*.toml"}));
    // a TOML array would replace ours in the merge: the user's join it instead
    cfg["spec"]["containerd"]["config"] =
        json::parse(R"({"imports": ["/etc/containerd/mine.toml", "/etc/containerd/config.d/*.toml"]})");
    CHECK(containerd_config(cfg)["imports"] ==
          json::array({"/etc/containerd/config.d/*.toml", "/etc/containerd/mine.toml"}));
    cfg["spec"]["containerd"]["config"] = json::parse(R"({"imports": "/etc/containerd/mine.toml"})");
    CHECK_THROWS_WITH(containerd_config(cfg), Catch::Contains("spec.containerd.config.imports"));
}

TEST_CASE("the drop-ins containerd will import, in its order, each checked", "[render][containerd]") {
    TempDir root;
    const Paths paths(root.path);
    json cfg = base_config();                       // containerd 1.7: plugin tables are replaced whole
    CHECK(containerd_dropins(cfg, paths).empty());  // no directory: nothing, no warning

    dropin(root, "20-debug.toml", "version = 2\n[debug]\nlevel = \"debug\"\n");
    dropin(root, "10-metrics.toml", "version = 2\n[metrics]\naddress = \"127.0.0.1:1338\"\n");
    dropin(root, "README", "not imported: containerd's glob is *.toml");
    dropin(root, "15-notes.toml.bak", "not imported either");
    std::vector<ContainerdDropin> ds = containerd_dropins(cfg, paths);
    REQUIRE(ds.size() == 2);
    CHECK(ds[0].path == "/etc/containerd/config.d/10-metrics.toml");  // byte order, as Go's Glob sorts
    CHECK(ds[1].path == "/etc/containerd/config.d/20-debug.toml");
    CHECK(ds[0].warnings.empty());
    CHECK(ds[1].warnings.empty());
    CHECK(ds[0].fingerprint == fnv1a64_hex(read_file(root.path / "etc/containerd/config.d/10-metrics.toml")));
    CHECK(ds[0].fingerprint.size() == 16);

    SECTION("not TOML: containerd will not start") {
        dropin(root, "30-broken.toml", "version = = 2\n");
        CHECK_THAT(warnings_of(named(containerd_dropins(cfg, paths), "30-broken.toml")),
                   Catch::Contains("invalid TOML at line 1") && Catch::Contains("containerd will not start"));
    }
    SECTION("nested past the project's TOML limit") {
        std::string deep = "a";
        for (int i = 0; i < 100; ++i) deep += ".a";
        dropin(root, "30-deep.toml", deep + " = 1\n");
        CHECK_THAT(warnings_of(named(containerd_dropins(cfg, paths), "30-deep.toml")),
                   Catch::Contains("nested deeper than 64 levels"));
    }
    SECTION("a version newer than config.toml's") {
        dropin(root, "30-v3.toml", "version = 3\n[plugins.\"io.containerd.cri.v1.images\"]\nsnapshotter = \"x\"\n");
        CHECK_THAT(warnings_of(named(containerd_dropins(cfg, paths), "30-v3.toml")),
                   Catch::Contains("version 3 is newer than config.toml's 2"));
        // containerd 2 (config.toml version 3) takes it, and migrates a version 2 file itself
        json c20 = with_version(base_config(), "1.32.0", "2.0.5");
        CHECK(named(containerd_dropins(c20, paths), "30-v3.toml")->warnings.empty());
        CHECK(named(containerd_dropins(c20, paths), "10-metrics.toml")->warnings.empty());
    }
    SECTION("on containerd 1.x, a plugin table of config.toml's is replaced whole") {
        dropin(root, "40-registry.toml",
               "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".registry]\n"
               "config_path = \"/etc/containerd/mirrors\"\n"
               "[plugins.\"io.containerd.runtime.v1.linux\"]\nshim_debug = true\n");
        std::string w = warnings_of(named(containerd_dropins(cfg, paths), "40-registry.toml"));
        CHECK_THAT(w, Catch::Contains("[plugins.\"io.containerd.grpc.v1.cri\"] replaces config.toml's whole table") &&
                          Catch::Contains("cni, containerd, enable_cdi, registry, sandbox_image") &&
                          Catch::Contains("spec.containerd.config"));
        CHECK_THAT(w, !Catch::Contains("io.containerd.runtime.v1.linux"));  // not one of ours
        // containerd 2 merges key by key (containerd#9982): nothing to say
        json c20 = with_version(base_config(), "1.32.0", "2.0.5");
        CHECK(named(containerd_dropins(c20, paths), "40-registry.toml")->warnings.empty());
    }
    SECTION("not a regular file, a FIFO included, without waiting on it") {
        fs::create_directories(root.path / "etc/containerd/config.d/50-dir.toml");
        REQUIRE(::mkfifo((root.path / "etc/containerd/config.d/60-fifo.toml").c_str(), 0644) == 0);
        std::vector<ContainerdDropin> got = containerd_dropins(cfg, paths);
        CHECK_THAT(warnings_of(named(got, "50-dir.toml")), Catch::Contains("not a regular file"));
        CHECK_THAT(warnings_of(named(got, "60-fifo.toml")), Catch::Contains("not a regular file"));
        CHECK(named(got, "60-fifo.toml")->fingerprint.empty());
    }
    SECTION("larger than eks-node checks") {
        dropin(root, "70-big.toml", "# " + std::string(dropin_check_bytes, 'x') + "\n");
        const std::vector<ContainerdDropin> got = containerd_dropins(cfg, paths);
        const ContainerdDropin* big = named(got, "70-big.toml");
        CHECK_THAT(warnings_of(big), Catch::Contains("not checked"));
        CHECK_FALSE(big->fingerprint.empty());  // its size, so a change still shows
    }
}

TEST_CASE("eks-node-containerd names each drop-in, lists it in config.toml and re-renders when one changes",
          "[render][containerd]") {
    TempDir root;
    const Paths paths(root.path);
    json cfg = base_config();
    const fs::path config_toml = root.path / "etc/containerd/config.toml";
    std::string log = test::logged_at(log::Level::info, [&] { render_containerd(cfg, paths); });
    CHECK_THAT(log, !Catch::Contains("containerd imports"));
    CHECK_THAT(read_file(config_toml),
               Catch::Contains("# containerd loads /etc/containerd/config.d/*.toml over this file (imports), in name "
                               "order; none when rendered\n"));

    // a user data script writes a drop-in after the boot's render
    dropin(root, "10-metrics.toml", "version = 2\n[metrics]\naddress = \"127.0.0.1:1338\"\n");
    StepResult r;
    log = test::logged_at(log::Level::info, [&] { r = render_containerd(cfg, paths); });
    CHECK(r.changed());  // so the step restarts containerd
    CHECK_THAT(log, Catch::Contains("containerd imports /etc/containerd/config.d/10-metrics.toml\n"));
    CHECK_THAT(log, !Catch::Contains("127.0.0.1:1338"));  // the name, not the contents
    const std::string listed = read_file(config_toml);
    CHECK_THAT(listed,
               Catch::Contains("when rendered:\n#   /etc/containerd/config.d/10-metrics.toml " +
                               fnv1a64_hex(read_file(root.path / "etc/containerd/config.d/10-metrics.toml")) + "\n"));
    CHECK(format::parse_toml(listed, "config.toml")["imports"][0].value_or(std::string()) ==
          "/etc/containerd/config.d/*.toml");

    // the same drop-ins: byte-identical, nothing changed
    CHECK_FALSE(render_containerd(cfg, paths).changed());
    CHECK(read_file(config_toml) == listed);

    // its contents changed (same size): config.toml changes with it
    dropin(root, "10-metrics.toml", "version = 2\n[metrics]\naddress = \"127.0.0.1:1339\"\n");
    CHECK(render_containerd(cfg, paths).changed());

    // a broken one is a warning, not a failed step; the step's own files are still written
    dropin(root, "20-broken.toml", "[debug\n");
    log = test::logged_at(log::Level::info, [&] { r = render_containerd(cfg, paths); });
    CHECK(r.changed());
    CHECK_THAT(log, Catch::Contains("warning: /etc/containerd/config.d/20-broken.toml: invalid TOML at line 1"));
}

// eks-node-config writes containerd's files itself at boot when `restart` is set and
// skips eks-node-containerd's unit when `due` is not: both must say what
// render_containerd() would then do, and write and log nothing.
TEST_CASE("containerd_work says whether the render would change containerd's files, and which",
          "[render][containerd]") {
    TempDir root;
    const Paths paths(root.path);
    json cfg = base_config();
    const fs::path config_toml = root.path / "etc/containerd/config.toml";
    // nothing on disk yet (an image without a render)
    ContainerdWork work;
    std::string log = test::logged_at(log::Level::debug, [&] { work = containerd_work(cfg, paths); });
    REQUIRE(work.restart);
    CHECK(*work.restart == "/etc/containerd/config.toml changes");
    CHECK(work.due == work.restart);
    CHECK(log.empty());
    CHECK_FALSE(fs::exists(config_toml));  // a dry run
    render_containerd(cfg, paths);
    work = containerd_work(cfg, paths);
    CHECK_FALSE(work.restart);
    CHECK_FALSE(work.due);
    // user data's containerd TOML: config.toml would change
    json user = cfg;
    user["spec"]["containerd"]["config"] = json::parse(R"({"plugins": {"x": {"y": 1}}})");
    work = containerd_work(user, paths);
    REQUIRE(work.restart);
    CHECK(*work.restart == "/etc/containerd/config.toml changes");
    CHECK_FALSE(containerd_work(cfg, paths).due);  // asked, nothing written
    // a drop-in appeared: config.toml's header lists it
    dropin(root, "10-metrics.toml", "version = 2\n[metrics]\naddress = \"127.0.0.1:1338\"\n");
    CHECK(containerd_work(cfg, paths).restart);
    render_containerd(cfg, paths);
    CHECK_FALSE(containerd_work(cfg, paths).due);
    // the base runtime spec alone, and its mode alone
    const fs::path spec = root.path / "etc/containerd/base-runtime-spec.json";
    const std::string spec_bytes = read_file(spec);
    write_file_atomic(spec, "{}\n", 0644);
    work = containerd_work(cfg, paths);
    REQUIRE(work.restart);
    CHECK(*work.restart == "/etc/containerd/base-runtime-spec.json changes");
    write_file_atomic(spec, spec_bytes, 0644);  // the registry's mode is 0600
    CHECK(containerd_work(cfg, paths).due);
    render_containerd(cfg, paths);
    CHECK_FALSE(containerd_work(cfg, paths).due);
    // a registry's hosts.toml, read at each pull: work for the step, no restart
    json mirrored = cfg;
    mirrored["settings"]["registries"]["registry.example"]["mirrors"] =
        json::array({{{"endpoint", "https://mirror.example"}}});
    work = containerd_work(mirrored, paths);
    CHECK_FALSE(work.restart);
    REQUIRE(work.due);
    CHECK(*work.due == "/etc/containerd/certs.d/registry.example/hosts.toml changes");
    CHECK_FALSE(fs::exists(root.path / "etc/containerd/certs.d/registry.example"));
    render_containerd(mirrored, paths);
    CHECK_FALSE(containerd_work(mirrored, paths).due);
    // ...and one no longer configured: its removal is work, and the dry run removes nothing
    work = containerd_work(cfg, paths);
    REQUIRE(work.due);
    CHECK(*work.due == "/etc/containerd/certs.d/registry.example/hosts.toml changes");
    CHECK(fs::exists(root.path / "etc/containerd/certs.d/registry.example/hosts.toml"));
    // input the step refuses: nothing to restart for, and the step is due to name the field
    json bad = cfg;
    bad["spec"]["containerd"]["config"] =
        json::parse(R"({"plugins": {"io.containerd.cri.v1.images": {"snapshotter": "overlayfs"}}})");
    log = test::logged_at(log::Level::debug, [&] { work = containerd_work(bad, paths); });
    CHECK_FALSE(work.restart);
    REQUIRE(work.due);
    CHECK_THAT(*work.due, Catch::Contains("refused"));
    CHECK(log.empty());
    CHECK_THROWS_AS(render_containerd(bad, paths), ConfigError);
    CHECK(fs::exists(config_toml));
}

// settings.runtimes (eks-node.toml(5), RUNTIME HANDLERS): a handler whose
// binary is missing never reaches config.toml; eks-node-containerd exits 6
// naming the handler, the file and where it was set.
TEST_CASE("a runtime handler whose binary is missing fails closed, naming it", "[render][containerd][runtimes]") {
    TempDir root;
    json cfg = with_version(base_config(), "1.33.0", "2.1.9");
    cfg["settings"]["runtimes"] = {{"crun", {{"binary", "/usr/bin/crun"}}}};
    cfg["origins"] = {{"/settings/runtimes/crun/binary", "/usr/lib/eks-node/node.toml.d/20-crun.toml"}};
    try {
        render_containerd(cfg, Paths(root.path));
        FAIL("rendered a config.toml naming a missing runtime");
    } catch (const ConfigError& e) {
        CHECK(e.exit_code() == EXIT_CONFIG);
        CHECK(e.source() == "/usr/lib/eks-node/node.toml.d/20-crun.toml");
        CHECK(e.field() == "settings.runtimes.crun.binary");
        CHECK(e.problem() == "/usr/bin/crun does not exist on this node");
    }
    CHECK_FALSE(fs::exists(root.path / "etc/containerd/config.toml"));

    fs::create_directories(root.path / "usr/bin");
    write_file_atomic(root.path / "usr/bin/crun", "#!/bin/sh\n", 0644);
    fs::permissions(root.path / "usr/bin/crun", fs::perms(0644));
    CHECK_THROWS_WITH(render_containerd(cfg, Paths(root.path)), Catch::Contains("/usr/bin/crun is not executable"));
    fs::permissions(root.path / "usr/bin/crun", fs::perms(0755));
    render_containerd(cfg, Paths(root.path));
    const json c = containerd_config(cfg)["plugins"]["io.containerd.cri.v1.runtime"]["containerd"];
    CHECK(c["runtimes"]["crun"]["options"]["BinaryName"] == "/usr/bin/crun");
    CHECK(c["default_runtime_name"] == "runc");
}

TEST_CASE("a runtime handler's kernel module must be one the running kernel has", "[render][containerd][runtimes]") {
    TempDir root;
    fs::create_directories(root.path / "usr/bin");
    write_file_atomic(root.path / "usr/bin/crun", "#!/bin/sh\n", 0644);
    fs::permissions(root.path / "usr/bin/crun", fs::perms(0755));
    json cfg = with_version(base_config(), "1.33.0", "2.1.9");
    cfg["settings"]["runtimes"] = {{"crun", {{"binary", "/usr/bin/crun"}, {"kernelModules", {"vhost-vsock"}}}}};
    // no /proc/sys/kernel/osrelease under the root: a render into a test tree, not checked
    CHECK(runtimes::check_module("vhost-vsock", Paths(root.path)).checked == false);
    CHECK_NOTHROW(render_containerd(cfg, Paths(root.path)));

    fs::create_directories(root.path / "proc/sys/kernel");
    write_file_atomic(root.path / "proc/sys/kernel/osrelease", "7.2.0-1-amd64\n", 0644);
    fs::create_directories(root.path / "lib/modules/7.2.0-1-amd64");
    write_file_atomic(root.path / "lib/modules/7.2.0-1-amd64/modules.dep",
                      "kernel/net/vmw_vsock/vsock.ko.xz:\nkernel/drivers/net/dummy.ko.xz:\n", 0644);
    write_file_atomic(root.path / "lib/modules/7.2.0-1-amd64/modules.builtin", "kernel/fs/overlayfs/overlay.ko\n",
                      0644);
    CHECK_THROWS_WITH(render_containerd(cfg, Paths(root.path)),
                      Catch::Contains("settings.runtimes.crun.kernelModules") &&
                          Catch::Contains("\"vhost-vsock\" is neither loaded nor built into kernel 7.2.0-1-amd64"));
    // in modules.dep ('-' and '_' alike, as modprobe takes them), built in, or loaded
    write_file_atomic(root.path / "lib/modules/7.2.0-1-amd64/modules.dep",
                      "kernel/drivers/vhost/vhost_vsock.ko.xz: kernel/net/vmw_vsock/vsock.ko.xz\n", 0644);
    CHECK(runtimes::check_module("vhost-vsock", Paths(root.path)).problem.empty());
    CHECK_NOTHROW(render_containerd(cfg, Paths(root.path)));
    CHECK(runtimes::check_module("overlay", Paths(root.path)).problem.empty());
    // on a machine with a sysfs, a module not loaded yet (user data's, after containerd
    // started at boot) restarts containerd, whose restart job loads it first
    fs::create_directories(root.path / "sys/module/overlay");
    StepResult r = render_containerd(cfg, Paths(root.path));
    REQUIRE(r.restarts.size() == 1);
    CHECK(r.restarts[0].unit == "containerd.service");
    CHECK(r.restarts[0].why == "settings.runtimes.crun: kernel module vhost-vsock is not loaded");
    fs::create_directories(root.path / "sys/module/vhost_vsock");
    CHECK(render_containerd(cfg, Paths(root.path)).restarts.empty());
    CHECK(runtimes::module_loaded("overlay", Paths(root.path)));
    CHECK_FALSE(runtimes::check_module("br_netfilter", Paths(root.path)).problem.empty());
    fs::create_directories(root.path / "sys/module/br_netfilter");
    CHECK(runtimes::check_module("br-netfilter", Paths(root.path)).problem.empty());
}

TEST_CASE("a RuntimeClass per runtime handler, its handler the handler's name", "[runtimes]") {
    runtimes::Handler h;
    h.name = "crun";
    CHECK(runtimes::runtime_class_yaml(h, json::object()) ==
          "apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata:\n  name: crun\nhandler: crun\n");
    CHECK(runtimes::runtime_class_yaml(h, {{"eks-node/runtime", "crun"}, {"gpu", "true"}}) ==
          "apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata:\n  name: crun\nhandler: crun\n"
          "scheduling:\n  nodeSelector:\n    eks-node/runtime: \"crun\"\n    gpu: \"true\"\n");
    // a key YAML would type is quoted, so that it stays the string it is
    CHECK_THAT(runtimes::runtime_class_yaml(h, json::object({{"null", ""}, {"yes", "1"}, {"1", "x"}})),
               Catch::EndsWith("nodeSelector:\n    \"null\": \"\"\n    \"yes\": \"1\"\n    \"1\": \"x\"\n"));
}

TEST_CASE("node selector keys and values are Kubernetes labels", "[runtimes]") {
    for (std::string_view ok :
         {"gpu", "eks-node/runtime", "node.kubernetes.io/instance-type", "a_b.c-D", "x", "example.com/A1"})
        CHECK(runtimes::label_key_problem(ok).empty());
    // a newline, a tab, ": " or a control character would write YAML of its own
    using namespace std::string_view_literals;
    for (std::string_view bad : {"a\nb"sv, "a\tb"sv, "a: b"sv, "a\x01"sv, ""sv, "-a"sv, "a-"sv, "UPPER.io/x"sv,
                                 "a//b"sv, "/x"sv, "x/"sv, "a..b/x"sv, "a\0b"sv})
        CHECK_FALSE(runtimes::label_key_problem(bad).empty());
    CHECK_FALSE(runtimes::label_key_problem(std::string(64, 'a')).empty());
    CHECK(runtimes::label_key_problem(std::string(63, 'a')).empty());
    CHECK_FALSE(runtimes::label_key_problem(std::string(254, 'a') + "/x").empty());
    CHECK(runtimes::label_value_problem("").empty());
    CHECK(runtimes::label_value_problem("true").empty());
    CHECK_FALSE(runtimes::label_value_problem("a\nkind: Pod").empty());
    CHECK_FALSE(runtimes::label_value_problem("a b").empty());
}
