// SPDX-License-Identifier: Apache-2.0
// What the generator writes reads back, through systemd's rules
// (systemd_model.hpp), as what it meant: a file name, a path from
// config.json or a hook's description can add no line, section or setting to
// a drop-in (issue 34, item 5).
#include <catch2/catch.hpp>

#include "core/jsonutil.hpp"
#include "fixtures.hpp"
#include "generator/generator.hpp"
#include "plan_fixtures.hpp"
#include "systemd_model.hpp"

using namespace eksnode;
using namespace eksnode::generator;

namespace {

using test::TempRoot;
using test::warned;

// The file name of issue 34: its lines, pasted into a drop-in, would end the
// [Unit] section, add an ExecStartPre= and hide the rest of the file in a
// section systemd ignores without a word (X-*).
const std::string hostile_name = "10-image\n[Service]\nExecStartPre=false\n[X-eks]\n#.toml";
const std::string warm_dropin = "eks-node-hook@warm.service.d/50-hook.conf";
const std::string warm_hook = "[settings.hooks.warm]\ncommand = [\"/usr/bin/true\"]\n";

// Every generated file parses without a problem, only into the sections a
// unit file has, and sets no ExecStartPre= (the generator never writes one).
void check_reads_back(const GeneratorPlan& p) {
    for (const auto& [rel, entry] : p.files) {
        // a hook's hook.json is JSON, read by eks-node-hook, not by systemd
        if (entry.kind != GeneratedFile::Kind::file || rel.ends_with(".json")) continue;
        INFO(rel << ":\n" << entry.data);
        systemd_model::UnitFile u = systemd_model::parse(entry.data);
        CHECK(u.problems.empty());
        for (const std::string& s : u.sections) CHECK((s == "Unit" || s == "Service" || s == "Mount"));
        for (const systemd_model::Assignment& a : u.assignments) CHECK(a.key != "ExecStartPre");
    }
}

// config.json as eks-node-config writes it, with `origin` as the source of every leaf.
std::string config_json(const std::string& settings, const std::string& origin) {
    json s = json::parse(settings);
    json origins = json::object();
    const json leaves = s.flatten();
    for (const auto& [pointer, value] : leaves.items()) origins["/settings" + pointer] = origin;
    return json{{"schemaVersion", 1}, {"spec", json::object()}, {"settings", s}, {"origins", origins}}.dump();
}

}  // namespace

TEST_CASE("a fragment whose name has a line break is refused, and names nothing", "[generator][syntax]") {
    TempRoot r;
    r.write("/proc/cmdline", "ro\n");
    r.write("/usr/lib/eks-node/node.toml.d/" + hostile_name, warm_hook);
    GeneratorPlan p = plan_units(r.paths(), "", ConfigJson::ignore);
    check_reads_back(p);
    // a bad static fragment: the static settings are ignored, so no hook is half declared
    CHECK(p.files.count(warm_dropin) == 0);
    CHECK(warned(p, "10-image\n[Service]"));
}

TEST_CASE("a hook's source from config.json cannot end the drop-in's section", "[generator][syntax]") {
    // An origin eks-node-config wrote before it refused such names.
    TempRoot r;
    r.write("/proc/cmdline", "ro\n");
    r.write(path::config_json, config_json(R"({"hooks": {"warm": {"command": ["/usr/bin/true"]}}})",
                                           "/usr/lib/eks-node/node.toml.d/" + hostile_name));
    GeneratorPlan p = plan_units(r.paths(), "");
    check_reads_back(p);
    REQUIRE(p.files.count(warm_dropin) == 1);
    systemd_model::UnitFile u = systemd_model::parse(p.files.at(warm_dropin).data);
    // essential: a failure still holds kubelet back
    CHECK(u.values("Unit", "OnFailure") == std::vector<std::string>{"eks-node-failed.target"});
    CHECK(u.values("Unit", "Before") == std::vector<std::string>{"kubelet.service"});
    CHECK(u.values("Service", "ExecStart") ==
          std::vector<std::string>{"\"/usr/libexec/eks-node/eks-node-hook\" \"warm\""});
    REQUIRE(p.files.count("eks-node-hook@warm.service.d/hook.json") == 1);
    CHECK(json::parse(p.files.at("eks-node-hook@warm.service.d/hook.json").data)["command"] ==
          json::array({"/usr/bin/true"}));
    // a path systemd cannot take names config.json instead
    CHECK(u.values("Unit", "SourcePath") == std::vector<std::string>{"/run/eks-node/config.json"});
}

TEST_CASE("a hook's description ending in a backslash swallows no line", "[generator][syntax]") {
    TempRoot r;
    r.write("/proc/cmdline", "ro\n");
    r.write(path::config_json,
            config_json(R"({"hooks": {"warm": {"command": ["/usr/bin/true"], "description": "C:\\"}}})",
                        "user data (MIME part 1, application/vnd.eks-node+toml)"));
    GeneratorPlan p = plan_units(r.paths(), "");
    check_reads_back(p);
    // eks-node-config refuses it (exit 6); the generator ignores the hooks
    CHECK(p.files.count(warm_dropin) == 0);
    CHECK(warned(p, "settings.hooks.warm.description"));
}

TEST_CASE("a '%' in a source path or a hook's description is not a specifier", "[generator][syntax]") {
    TempRoot r;
    r.write("/proc/cmdline", "ro\n");
    r.write("/etc/eks-node/node.toml.d/90-100%n.toml",
            "[settings.hooks.warm]\ncommand = [\"/usr/bin/true\"]\ndescription = \"fills 90%i of the cache\"\n");
    GeneratorPlan p = plan_units(r.paths(), "", ConfigJson::ignore);
    check_reads_back(p);
    REQUIRE(p.files.count(warm_dropin) == 1);
    systemd_model::UnitFile u = systemd_model::parse(p.files.at(warm_dropin).data);
    REQUIRE(u.values("Unit", "SourcePath").size() == 1);
    CHECK(systemd_model::without_specifiers(u.values("Unit", "SourcePath")[0]) ==
          "/etc/eks-node/node.toml.d/90-100%n.toml");
    REQUIRE(u.values("Unit", "Description").size() == 1);
    CHECK(systemd_model::without_specifiers(u.values("Unit", "Description")[0]) ==
          "EKS node hook warm: fills 90%i of the cache");
}

TEST_CASE("an instance-store mount path with a '%' is written for systemd, a tab refused", "[generator][syntax]") {
    TempRoot r;
    r.write("/proc/cmdline", "ro\n");
    r.write("/sys/block/nvme1n1/device/model", "Amazon EC2 NVMe Instance Storage        \n");
    r.write("/sys/block/nvme1n1/device/serial", "AWS1\n");
    r.write("/sys/block/nvme1n1/dev", "259:1\n");
    auto config = [](const std::string& mount_path) {
        return json{{"schemaVersion", 1},
                    {"settings", json::object()},
                    {"spec", {{"instance", {{"localStorage", {{"strategy", "Mount"}, {"mountPath", mount_path}}}}}}}}
            .dump();
    };
    SECTION("'%'") {
        r.write(path::config_json, config("/mnt/100%n"));
        GeneratorPlan p = plan_units(r.paths(), "");
        check_reads_back(p);
        const std::string unit = "mnt-100\\x25n-1.mount";
        REQUIRE(p.files.count(unit) == 1);
        systemd_model::UnitFile u = systemd_model::parse(p.files.at(unit).data);
        REQUIRE(u.values("Mount", "Where").size() == 1);
        CHECK(systemd_model::without_specifiers(u.values("Mount", "Where")[0]) == "/mnt/100%n/1");
    }
    SECTION("a tab: eks-node-config refuses it; the generator writes no mount, only the step, which refuses it") {
        r.write(path::config_json, config("/mnt/a\tb"));
        GeneratorPlan p = plan_units(r.paths(), "");
        check_reads_back(p);
        CHECK(warned(p, "spec.instance.localStorage.mountPath"));
        // fail closed (issue 58): the step fails the join, kubelet waits for it
        CHECK(p.files.count("eks-node.target.wants/eks-node-instance-store.service") == 1);
        for (const auto& [name, f] : p.files) CHECK_FALSE(name.ends_with(".mount"));
    }
}
