// SPDX-License-Identifier: Apache-2.0
// The generator's decisions as plan_units() makes them, and whether writing
// config.json calls for a daemon-reload. The whole output is specified by the
// golden trees in tests/golden/generator/; these cover the library calls
// eks-node-config uses and the command-line parsing corners.
#include <algorithm>

#include <catch2/catch.hpp>

#include "config/merge.hpp"
#include "core/units.hpp"
#include "fixtures.hpp"
#include "generator/generator.hpp"
#include "generator/plan.hpp"
#include "input/sources.hpp"
#include "plan_fixtures.hpp"

using namespace eksnode;
using namespace eksnode::generator;

namespace {

using test::TempRoot;
using test::warned;

const char* const enabled_link = "multi-user.target.wants/eks-node.target";
const char* const disabled_dropin = "eks-node-.service.d/50-disabled.conf";
const char* const level_dropin = "eks-node-.service.d/50-log-level.conf";

std::string config_json(bool outpost, const char* settings = "{}") {
    return fmt::format(R"({{"schemaVersion": 1,
 "spec": {{"cluster": {{"name": "c", "enableOutpost": {}, "id": "x"}}}},
 "settings": {}}})", outpost ? "true" : "false", settings);
}

// eks-node-config's decision: the plan before and after it writes config.json
// (`text`, or nothing written when empty) differ.
bool writing_changes_units(const TempRoot& r, const std::string& text) {
    GeneratorPlan before = plan_from_disk(r.paths());
    if (!text.empty()) r.write(path::config_json, text);
    return !before.same_units(plan_from_disk(r.paths()));
}

}  // namespace

TEST_CASE("writing config.json changes the generated units only when it asks for more", "[generator]") {
    TempRoot r;
    r.write("/proc/cmdline", "BOOT_IMAGE=/vmlinuz root=/dev/vda1 ro\n");

    SECTION("no config.json yet: nothing to reload") { CHECK_FALSE(writing_changes_units(r, "")); }
    SECTION("config.json without Outposts: the boot plan stands") {
        CHECK_FALSE(writing_changes_units(r, config_json(false)));
    }
    SECTION("config.json with Outposts: eks-node-hosts must be pulled in") {
        CHECK(writing_changes_units(r, config_json(true)));
        // a re-run writing the same config.json: the last reload already made these units
        CHECK_FALSE(writing_changes_units(r, config_json(true)));
        // Outposts dropped again: the units go away
        CHECK(writing_changes_units(r, config_json(false)));
    }
    SECTION("user data disables eks-node") {
        CHECK(writing_changes_units(r, config_json(false, R"({"enable": false})")));
    }
    SECTION("the kernel command line already decided: config.json cannot change it") {
        r.write("/proc/cmdline", "ro eks-node.enable=0\n");
        CHECK_FALSE(writing_changes_units(r, config_json(false, R"({"enable": true})")));
    }
    SECTION("an unreadable kernel command line counts as empty, as for the generator") {
        fs::remove(r.paths().of("/proc/cmdline"));
        CHECK(writing_changes_units(r, config_json(true)));
    }
}

TEST_CASE("Outposts: eks-node.target wants eks-node-hosts and kubelet waits for it", "[generator]") {
    TempRoot r;
    r.write(path::config_json, config_json(true));
    GeneratorPlan p = plan_units(r.paths(), "");
    REQUIRE(p.files.count("eks-node.target.wants/eks-node-hosts.service") == 1);
    CHECK(p.files.at("eks-node.target.wants/eks-node-hosts.service").kind == GeneratedFile::Kind::symlink);
    REQUIRE(p.files.count("kubelet.service.d/50-eks-node-hosts.conf") == 1);
    CHECK_THAT(p.files.at("kubelet.service.d/50-eks-node-hosts.conf").data,
               Catch::Contains("Wants=eks-node-hosts.service\nAfter=eks-node-hosts.service\n"));

    // At boot, before config.json, nothing knows about Outposts yet.
    CHECK(plan_units(r.paths(), "", ConfigJson::ignore).files.count("kubelet.service.d/50-eks-node-hosts.conf") == 0);
}

TEST_CASE("kernel command line switches are parsed as systemd parses them", "[generator]") {
    TempRoot r;
    auto files = [&](std::string_view cmdline) { return plan_units(r.paths(), cmdline).files; };

    CHECK(files("").count(enabled_link) == 1);
    CHECK(files("eks-node.enable=0").count(disabled_dropin) == 1);
    CHECK(files("eks_node.enable=off").count(disabled_dropin) == 1);      // '_' and '-' alike in keys
    CHECK(files("eks-node.enable=0 eks-node.enable").count(enabled_link) == 1);  // bare switch: yes
    CHECK(files("eks-node.enable=1 eks-node.enable=No").count(disabled_dropin) == 1);  // last one wins
    CHECK(files("\"eks-node.log-level=debug\"").count(level_dropin) == 1);  // quotes removed
    CHECK_THAT(files("eks-node.log-level=warn").at(level_dropin).data,
               Catch::Contains("Environment=EKS_NODE_LOG_LEVEL=warning\n"));  // written by its canonical name

    GeneratorPlan p = plan_units(r.paths(), "eks-node.enable=0 eks-node.enable=maybe eks-node.enabled=1");
    CHECK(p.files.count(disabled_dropin) == 1);  // a malformed value does not reset an earlier one
    CHECK(warned(p, "eks-node.enable=maybe: not a boolean, ignoring"));
    CHECK(warned(p, "eks-node.enabled=1: unknown eks-node switch, ignoring"));
}

TEST_CASE("in a container the switches come from PID 1's command line, as systemd's do", "[generator]") {
    TempRoot r;
    r.write("/proc/cmdline", "BOOT_IMAGE=/vmlinuz ro\n");  // the host's kernel: not this node's
    r.write("/proc/1/cmdline", std::string("/lib/systemd/systemd\0eks-node.enable=0\0", 39));
    SECTION("on a machine: the kernel's") {
        ::unsetenv("SYSTEMD_VIRTUALIZATION");
        CHECK(plan_from_disk(r.paths()).files.count(enabled_link) == 1);
        ::setenv("SYSTEMD_VIRTUALIZATION", "vm:kvm", 1);
        CHECK(plan_from_disk(r.paths()).files.count(enabled_link) == 1);
    }
    SECTION("under systemd-nspawn: PID 1's, and the drop-in names it") {
        ::setenv("SYSTEMD_VIRTUALIZATION", "container:systemd-nspawn", 1);
        GeneratorPlan p = plan_from_disk(r.paths());
        REQUIRE(p.files.count(disabled_dropin) == 1);
        CHECK_THAT(p.files.at(disabled_dropin).data, Catch::Contains("/proc/1/cmdline"));
        CHECK(p.files.count(enabled_link) == 0);
    }
    ::unsetenv("SYSTEMD_VIRTUALIZATION");
}

TEST_CASE("config.json decides instead of the static fragments once it exists", "[generator]") {
    TempRoot r;
    r.write("/etc/eks-node/node.toml.d/10-off.toml", "[settings]\nenable = false\n");
    CHECK(plan_units(r.paths(), "").files.count(disabled_dropin) == 1);

    r.write(path::config_json, config_json(false, R"({"enable": true})"));
    CHECK(plan_units(r.paths(), "").files.count(enabled_link) == 1);

    r.write(path::config_json, "{\"schemaVersion\": 1, \"settings\": {\"enable\": \"no\"}}");
    GeneratorPlan p = plan_units(r.paths(), "");
    CHECK(warned(p, "settings.enable: \"no\" is not a boolean, ignoring"));
    CHECK(p.files.count(enabled_link) == 1);
}

TEST_CASE("instance store: config.json with a strategy changes the units only when there are disks",
          "[generator][storage]") {
    TempRoot r;
    r.write("/proc/cmdline", "ro\n");
    const std::string config = R"({"schemaVersion": 1, "settings": {},
 "spec": {"instance": {"localStorage": {"strategy": "RAID0", "disabledMounts": ["SOCI", "PodLogs"]}}}})";
    auto disk = [&](const std::string& name, const std::string& serial) {
        r.write("/sys/block/" + name + "/device/model", "Amazon EC2 NVMe Instance Storage        \n");
        r.write("/sys/block/" + name + "/device/serial", serial + "\n");
        r.write("/sys/block/" + name + "/dev", "259:1\n");
    };
    r.write("/sys/block/vda/dev", "254:0\n");
    SECTION("no instance-store disk: nothing to reload") {
        CHECK_FALSE(writing_changes_units(r, config));
        CHECK(plan_units(r.paths(), "").files.count("eks-node.target.wants/eks-node-instance-store.service") == 0);
    }
    SECTION("two disks: the step, the array and the binds not disabled") {
        disk("nvme1n1", "AWS2");
        disk("nvme2n1", "AWS1");
        CHECK(writing_changes_units(r, config));
        GeneratorPlan p = plan_units(r.paths(), "");
        CHECK(p.files.count("eks-node.target.wants/eks-node-instance-store.service") == 1);
        CHECK(p.files.count("mnt-k8s\\x2ddisks-0.mount") == 1);
        CHECK(p.files.at("eks-node.target.wants/var-lib-kubelet.mount").data == "../var-lib-kubelet.mount");
        CHECK(p.files.count("var-lib-containerd.mount") == 1);
        CHECK(p.files.count("var-log-pods.mount") == 0);
        CHECK(p.files.count("var-lib-soci\\x2dsnapshotter.mount") == 0);
        CHECK(p.files.at("kubelet.service.d/50-eks-node-instance-store.conf").data.find(
                  "RequiresMountsFor=/var/lib/kubelet\n") != std::string::npos);
        // at boot, without config.json, none of it
        CHECK(plan_units(r.paths(), "", ConfigJson::ignore).files.count("var-lib-kubelet.mount") == 0);
    }
    SECTION("disabled on the command line: no instance-store units either") {
        disk("nvme1n1", "AWS1");
        r.write(path::config_json, config);
        CHECK(plan_units(r.paths(), "eks-node.enable=0").files.count("var-lib-kubelet.mount") == 0);
    }
}

TEST_CASE("hooks: an image's or admin's hooks call for no reload; user data's do", "[generator][hooks]") {
    TempRoot r;
    r.write("/proc/cmdline", "ro\n");
    const std::string image =
        "[settings.hooks.early]\ncommand = [\"/usr/sbin/modprobe\", \"overlay\"]\n"
        "stage = \"before-containerd\"\n";
    const std::string admin = "[settings.hooks.early]\ntimeout = \"20s\"\n";
    r.write("/usr/lib/eks-node/node.toml.d/10-image.toml", image);
    r.write("/etc/eks-node/node.toml.d/90-admin.toml", admin);
    // config.json as eks-node-config writes it: the merged settings and the origin of every leaf
    auto config_from = [&](const std::vector<std::pair<std::string, std::string>>& sources) {
        json spec = json::object(), settings = json::object();
        Origins origins;
        for (const auto& [source, text] : sources)
            config::merge_fragment(spec, settings, input::fragment_from_toml(text, source), origins);
        json o = json::object();
        for (const auto& [pointer, source] : origins) o[pointer] = source;
        return json{{"schemaVersion", 1}, {"spec", spec}, {"settings", settings}, {"origins", o}}.dump();
    };
    const std::vector<std::pair<std::string, std::string>> statics = {
        {"/usr/lib/eks-node/node.toml.d/10-image.toml", image}, {"/etc/eks-node/node.toml.d/90-admin.toml", admin}};
    GeneratorPlan boot = plan_from_disk(r.paths());
    REQUIRE(boot.files.count("eks-node-hook@early.service.d/50-hook.conf") == 1);
    // the command's source names the drop-in, whichever the generator read
    CHECK(boot.files["eks-node-hook@early.service.d/50-hook.conf"].data.find(
              "SourcePath=/usr/lib/eks-node/node.toml.d/10-image.toml\n") != std::string::npos);
    CHECK(boot.files["eks-node-hook@early.service.d/50-hook.conf"].data.find("TimeoutStartSec=20s\n") !=
          std::string::npos);
    CHECK_FALSE(writing_changes_units(r, config_from(statics)));

    auto with_user_data = statics;
    with_user_data.emplace_back("user data (MIME part 2, application/vnd.eks-node+toml)",
                                "[settings.hooks.agent]\ncommand = [\"/opt/agent\"]\nstage = \"after-join\"\n");
    CHECK(writing_changes_units(r, config_from(with_user_data)));
    GeneratorPlan after = plan_from_disk(r.paths());
    CHECK(after.files.count("eks-node.target.wants/eks-node-hook@agent.service") == 1);
    CHECK(after.files.count("eks-node.target.wants/eks-node-joined.service") == 1);
    CHECK(after.files["eks-node-hook@early.service.d/50-hook.conf"] ==
          boot.files["eks-node-hook@early.service.d/50-hook.conf"]);
}

// settings.runtimes.*.kernelModules: containerd wants and is ordered after
// systemd's modprobe@ instance of each, from the image's fragments at boot and
// from config.json after (the same drop-in: no reload); user data's new
// modules change it (eks-node-config reloads; eks-node-containerd restarts containerd).
TEST_CASE("runtime handlers' kernel modules: loaded by modprobe@ before containerd", "[generator][runtimes]") {
    TempRoot r;
    r.write("/proc/cmdline", "ro\n");
    const std::string image =
        "[settings.runtimes.crun]\nbinary = \"/usr/bin/crun\"\n"
        "kernelModules = [\"vhost-vsock\", \"vhost_net\"]\n";
    r.write("/usr/lib/eks-node/node.toml.d/20-crun.toml", image);
    auto config_from = [&](const std::vector<std::pair<std::string, std::string>>& sources) {
        json spec = json::object(), settings = json::object();
        Origins origins;
        for (const auto& [source, text] : sources)
            config::merge_fragment(spec, settings, input::fragment_from_toml(text, source), origins);
        json o = json::object();
        for (const auto& [pointer, source] : origins) o[pointer] = source;
        return json{{"schemaVersion", 1}, {"spec", spec}, {"settings", settings}, {"origins", o}}.dump();
    };
    const std::string dropin = "containerd.service.d/50-eks-node-runtime-modules.conf";
    GeneratorPlan boot = plan_from_disk(r.paths());
    REQUIRE(boot.files.count(dropin) == 1);
    const std::string& text = boot.files[dropin].data;
    CHECK(text.find("SourcePath=/usr/lib/eks-node/node.toml.d/20-crun.toml\n") != std::string::npos);
    // the kernel's name ('_'), which /sys/module and modprobe@%i use alike
    CHECK(text.find("Wants=modprobe@vhost_vsock.service\nAfter=modprobe@vhost_vsock.service\n") != std::string::npos);
    CHECK(text.find("Wants=modprobe@vhost_net.service\nAfter=modprobe@vhost_net.service\n") != std::string::npos);
    const std::vector<std::pair<std::string, std::string>> statics = {
        {"/usr/lib/eks-node/node.toml.d/20-crun.toml", image}};
    CHECK_FALSE(writing_changes_units(r, config_from(statics)));

    auto with_user_data = statics;
    with_user_data.emplace_back("user data (MIME part 2, application/vnd.eks-node+toml)",
                                "[settings.runtimes.kata]\ntype = \"io.containerd.kata.v2\"\n"
                                "binary = \"/opt/kata/bin/containerd-shim-kata-v2\"\nkernelModules = [\"kvm\"]\n");
    CHECK(writing_changes_units(r, config_from(with_user_data)));
    GeneratorPlan after = plan_from_disk(r.paths());
    CHECK(after.files[dropin].data.find("Wants=modprobe@kvm.service\nAfter=modprobe@kvm.service\n") !=
          std::string::npos);

    // a handler without modules: no drop-in
    TempRoot plain;
    plain.write("/proc/cmdline", "ro\n");
    plain.write("/usr/lib/eks-node/node.toml.d/20-crun.toml", "[settings.runtimes.crun]\nbinary = \"/usr/bin/crun\"\n");
    CHECK(plan_from_disk(plain.paths()).files.count(dropin) == 0);
}

TEST_CASE("the pause image's import waits only for steps that end before kubelet anyway", "[generator][soci]") {
    // Each step that may restart containerd at boot is a row of the table that prepares the
    // node, so eks-node-pause-image.service, ordered after them and before kubelet, waits
    // for nothing kubelet did not wait for already.
    for (std::string_view name : detail::containerd_restarters) {
        INFO(name);
        auto row = std::find_if(units::all().begin(), units::all().end(),
                                [&](const units::Unit& u) { return u.unit == name; });
        REQUIRE(row != units::all().end());
        CHECK(row->order == units::Order::prepare);
    }
}
