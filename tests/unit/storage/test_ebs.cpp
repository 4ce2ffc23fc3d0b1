// SPDX-License-Identifier: Apache-2.0
// EBS data volumes (spec.instance.storage.volumes): the entries and their
// checks, the EBS name in NVMe identify data, the probe's verdicts, the
// generator's units; and tests/data/nodeadm-ebs-volumes.md walked row by
// row, each row's eks-node column checked here.
#include <catch2/catch.hpp>

#include <fstream>
#include <functional>
#include <map>
#include <regex>

#include "core/error.hpp"
#include "fixtures.hpp"
#include "generator/generator.hpp"
#include "storage/ebs.hpp"

using namespace eksnode;
using namespace eksnode::storage;

namespace {

using test::TempRoot;

const std::string user_data = "user data (MIME part 1, application/node.eks.aws)";

json ebs_config_with(const json& instance, const json& settings = json::object()) {
    return {{"schemaVersion", 1},
            {"spec", {{"cluster", {{"name", "c"}}}, {"instance", instance}}},
            {"settings", settings},
            {"origins", json::object()}};
}

json volumes_config(const json& volumes) { return ebs_config_with({{"storage", {{"volumes", volumes}}}}); }

std::vector<Volume> read(const json& config) {
    return volumes_from_config(config, [](const std::string& pointer) { return user_data + " at " + pointer; });
}

// The ConfigError reading `config` gives ("" if none), as "field: problem".
std::string ebs_error_of(const json& config, std::string* source = nullptr) {
    try {
        read(config);
    } catch (const ConfigError& e) {
        if (source) *source = e.source();
        return e.field() + ": " + e.problem();
    }
    return "";
}

// An identify-controller buffer with `name` in the EBS vendor area.
std::string identify_with(const std::string& name, char pad = ' ') {
    std::string id(4096, '\0');
    std::string field = name + std::string(32 - name.size(), pad);
    id.replace(3072, 32, field);
    return id;
}

// blkid -p -o export output.
std::string blkid(const std::string& type, const std::string& label = "") {
    return "DEVNAME=/dev/nvme1n1\nTYPE=" + type + "\n" + (label.empty() ? "" : "LABEL=" + label + "\n") +
           "USAGE=filesystem\n";
}

// The generator's plan for a node whose config.json is `config`.
generator::GeneratorPlan plan(const json& config) {
    TempRoot r;
    r.write("/proc/cmdline", "ro\n");
    r.write(std::string(path::config_json), config.dump());
    fs::create_directories(r.paths().of("/sys/block"));
    return generator::plan_units(r.paths(), "");
}

std::string file(const generator::GeneratorPlan& p, const std::string& name) {
    auto it = p.files.find(name);
    return it == p.files.end() ? std::string() : it->second.data;
}

const json containerd_volume = {{"device", "/dev/xvdb"}, {"mountTarget", "/var/lib/containerd"}};

}  // namespace

TEST_CASE("volumes: both of nodeadm's shapes, normalised targets, xfs by default", "[storage][ebs]") {
    auto v = read(volumes_config(
        json::array({{{"device", "/dev/xvdb"}, {"mountTarget", "/var/lib/containerd/"}},
                     {{"device", "/dev/sdc"}, {"mountTargets", {"/var/lib/kubelet", "//data//x"}}, {"fsType", "ext4"}},
                     {{"device", "/dev/xvdd"}, {"mountTarget", "/srv"}, {"fsType", ""}}})));
    REQUIRE(v.size() == 3);
    CHECK(v[0].targets == std::vector<std::string>{"/var/lib/containerd"});
    CHECK(v[0].fs_type == "xfs");
    CHECK_FALSE(v[0].fs_type_set);
    CHECK(v[0].field() == "spec.instance.storage.volumes[0]");
    CHECK(v[0].link() == "/run/eks-node/ebs-volumes/0");
    CHECK(v[1].targets == std::vector<std::string>{"/var/lib/kubelet", "/data/x"});
    CHECK(v[1].fs_type == "ext4");
    CHECK(v[1].fs_type_set);
    CHECK(v[2].fs_type == "xfs");
    CHECK_FALSE(v[2].fs_type_set);
    CHECK(read(ebs_config_with(json::object())).empty());
    CHECK(read(ebs_config_with({{"storage", json::object()}})).empty());
    CHECK(read(volumes_config(json::array())).empty());
}

TEST_CASE("volumes: each bad input is one ConfigError naming the field and its source", "[storage][ebs]") {
    struct Case {
        json volumes;
        std::string error;
    };
    const std::vector<Case> cases = {
        {"x", "spec.instance.storage.volumes: \"x\" is not a list"},
        {json::array({"x"}), "spec.instance.storage.volumes[0]: \"x\" is not an object"},
        {json::array({{{"mountTarget", "/a"}}}), "spec.instance.storage.volumes[0].device: required"},
        {json::array({{{"device", "xvdb"}, {"mountTarget", "/a"}}}),
         "spec.instance.storage.volumes[0].device: \"xvdb\" is not a device path under /dev"},
        {json::array({{{"device", "/var/xvdb"}, {"mountTarget", "/a"}}}),
         "spec.instance.storage.volumes[0].device: \"/var/xvdb\" is not a device path under /dev"},
        {json::array({{{"device", "/dev/../etc/x"}, {"mountTarget", "/a"}}}),
         "spec.instance.storage.volumes[0].device: \"/dev/../etc/x\" is not a device path under /dev"},
        {json::array({{{"device", "/dev/xvdb"}}}), "spec.instance.storage.volumes[0]: has no mountTarget"},
        {json::array({{{"device", "/dev/xvdb"}, {"mountTargets", json::array()}}}),
         "spec.instance.storage.volumes[0]: has no mountTarget"},
        {json::array({{{"device", "/dev/xvdb"}, {"mountTarget", "/a"}, {"mountTargets", {"/b"}}}}),
         "spec.instance.storage.volumes[0]: sets both mountTarget and mountTargets"},
        {json::array({{{"device", "/dev/xvdb"}, {"mountTarget", "/"}}}),
         "spec.instance.storage.volumes[0].mountTarget: \"/\" is not an absolute directory other than /"},
        {json::array({{{"device", "/dev/xvdb"}, {"mountTarget", "var/lib"}}}),
         "spec.instance.storage.volumes[0].mountTarget: \"var/lib\" is not an absolute directory"},
        {json::array({{{"device", "/dev/xvdb"}, {"mountTargets", {"/a", "/b c"}}}}),
         "spec.instance.storage.volumes[0].mountTargets[1]: \"/b c\" is not an absolute directory"},
        {json::array({{{"device", "/dev/xvdb"}, {"mountTargets", {"/a", "/a/"}}}}),
         "spec.instance.storage.volumes[0].mountTargets[1]: /a is mounted by "
         "spec.instance.storage.volumes[0].mountTargets[0] already"},
        {json::array({{{"device", "/dev/xvdb"}, {"mountTarget", "/a"}, {"fsType", "btrfs"}}}),
         "spec.instance.storage.volumes[0].fsType: \"btrfs\" is not one of xfs, ext4"},
        {json::array({{{"device", "/dev/xvdb"}, {"mountTarget", "/a"}, {"fsType", 1}}}),
         "spec.instance.storage.volumes[0].fsType: 1 is not one of xfs, ext4"},
        {json::array(
             {{{"device", "/dev/xvdb"}, {"mountTarget", "/a"}}, {{"device", "/dev//xvdb"}, {"mountTarget", "/b"}}}),
         "spec.instance.storage.volumes[1].device: /dev//xvdb is also spec.instance.storage.volumes[0].device"},
    };
    for (const Case& c : cases) {
        INFO(c.volumes.dump());
        std::string source;
        std::string e = ebs_error_of(volumes_config(c.volumes), &source);
        CHECK_THAT(e, Catch::StartsWith(c.error));
        CHECK_THAT(source, Catch::StartsWith(user_data + " at /spec/instance/storage"));
    }
    std::string e = ebs_error_of(ebs_config_with({{"storage", "x"}}));
    CHECK(e == "spec.instance.storage: \"x\" is not an object");
}

TEST_CASE("volumes: one owner per directory, against instance.localStorage too", "[storage][ebs]") {
    const json vol = json::array({containerd_volume});
    // RAID0 binds /var/lib/containerd onto the array
    CHECK_THAT(
        ebs_error_of(ebs_config_with({{"localStorage", {{"strategy", "RAID0"}}}, {"storage", {{"volumes", vol}}}})),
        Catch::StartsWith("spec.instance.storage.volumes[0].mountTarget: /var/lib/containerd is taken by "
                          "spec.instance.localStorage.strategy RAID0 (its bind mount; disabledMounts: "
                          "Containerd keeps it off the array) too"));
    // ... unless disabledMounts keeps containerd off it (the e2e "coexist" case)
    CHECK(ebs_error_of(ebs_config_with({{"localStorage", {{"strategy", "RAID0"}, {"disabledMounts", {"Containerd"}}}},
                                        {"storage", {{"volumes", vol}}}}))
              .empty());
    // Mount takes mountPath only; inside or above it is a conflict
    CHECK(ebs_error_of(ebs_config_with({{"localStorage", {{"strategy", "Mount"}}}, {"storage", {{"volumes", vol}}}}))
              .empty());
    CHECK_THAT(ebs_error_of(ebs_config_with(
                   {{"localStorage", {{"strategy", "Mount"}}},
                    {"storage", {{"volumes", json::array({{{"device", "/dev/xvdb"}, {"mountTarget", "/mnt"}}})}}}})),
               Catch::Contains("/mnt holds /mnt/k8s-disks, which spec.instance.localStorage.mountPath takes"));
    // RAID always binds kubelet's directory; a volume inside it is refused
    CHECK_THAT(
        ebs_error_of(ebs_config_with(
            {{"localStorage", {{"strategy", "RAID10"}}},
             {"storage",
              {{"volumes", json::array({{{"device", "/dev/xvdb"}, {"mountTarget", "/var/lib/kubelet/pods"}}})}}}})),
        Catch::Contains("is inside /var/lib/kubelet"));
    // two volumes on one target
    CHECK_THAT(ebs_error_of(volumes_config(json::array(
                   {containerd_volume, {{"device", "/dev/xvdc"}, {"mountTargets", {"/var/lib/containerd/"}}}}))),
               Catch::StartsWith("spec.instance.storage.volumes[1].mountTargets[0]: /var/lib/containerd is mounted by "
                                 "spec.instance.storage.volumes[0].mountTarget already"));
}

TEST_CASE("the EBS name in the NVMe identify data, as ebsnvme-id reads it", "[storage][ebs]") {
    CHECK(ebs_name_from_identify(identify_with("sdf")) == "sdf");
    CHECK(ebs_name_from_identify(identify_with("/dev/xvdb", '\0')) == "/dev/xvdb");
    CHECK(ebs_name_from_identify(identify_with("")).empty());
    CHECK(ebs_name_from_identify(std::string(3000, 'x')).empty());  // too short: no vendor area
    CHECK(ebs_name_matches("/dev/xvdb", "sdb"));
    CHECK(ebs_name_matches("/dev/sdb", "/dev/xvdb"));
    CHECK(ebs_name_matches("/dev/xvdb", "xvdb"));
    CHECK_FALSE(ebs_name_matches("/dev/xvdb", "sdc"));
    CHECK_FALSE(ebs_name_matches("/dev/xvdb", "sdba"));
    CHECK_FALSE(ebs_name_matches("/dev/disk/by-id/x", "x"));
    CHECK_FALSE(ebs_name_matches("/dev/xvdb", ""));
}

TEST_CASE("the probe: blank is formatted, the asked type used, anything else refused", "[storage][ebs]") {
    Volume unset{0, "/dev/xvdb", {"/var/lib/containerd"}, "xfs", false};
    Volume ext4{0, "/dev/xvdb", {"/var/lib/containerd"}, "ext4", true};
    Volume xfs{0, "/dev/xvdb", {"/var/lib/containerd"}, "xfs", true};
    CHECK(classify_volume(2, "", unset).content == VolumeContent::blank);
    CHECK(classify_volume(0, blkid("xfs", "eks-node-ebs"), unset).content == VolumeContent::usable);
    CHECK(classify_volume(0, blkid("xfs", "eks-ebs-mk"), unset).content == VolumeContent::unfinished);
    CHECK(classify_volume(0, blkid("ext4", "eks-ebs-mk"), ext4).content == VolumeContent::unfinished);
    // nodeadm's Type=xfs for an ext4 volume with fsType unset fails to mount; here it is used
    VolumeProbe p = classify_volume(0, blkid("ext4", "data"), unset);
    CHECK(p.content == VolumeContent::usable);
    CHECK(p.type == "ext4");
    // asked explicitly: another type is refused, not mounted under the wrong Type=
    p = classify_volume(0, blkid("ext4", "data"), xfs);
    CHECK(p.content == VolumeContent::foreign);
    CHECK(p.what == "TYPE=ext4 LABEL=data");
    CHECK(classify_volume(0, blkid("btrfs"), unset).content == VolumeContent::foreign);
    CHECK(classify_volume(0, "PTTYPE=gpt\n", unset).content == VolumeContent::foreign);
    CHECK(classify_volume(0, "PTTYPE=gpt\n", unset).what == "a partition table (PTTYPE=gpt)");
    CHECK(classify_volume(0, blkid("linux_raid_member", "any:eks-node"), unset).content == VolumeContent::foreign);
    CHECK_THROWS_AS(classify_volume(4, "", unset), Error);
}

TEST_CASE("paths are compared normalised", "[storage][ebs]") {
    CHECK(normalise_path("/var/lib/containerd/") == "/var/lib/containerd");
    CHECK(normalise_path("//var//lib") == "/var/lib");
    CHECK(normalise_path("/").empty());
    CHECK(normalise_path("relative").empty());
    CHECK(normalise_path("/a/./b").empty());
    CHECK(normalise_path("/a/../b").empty());
    CHECK(normalise_path("/a/..b") == "/a/..b");
}

TEST_CASE("the generator: the step, a mount per target, the consumers wait", "[storage][ebs][generator]") {
    auto p = plan(volumes_config(
        json::array({containerd_volume,
                     {{"device", "/dev/sdc"}, {"mountTargets", {"/var/lib/kubelet", "/data"}}, {"fsType", "ext4"}}})));
    CHECK(p.files.count("eks-node.target.wants/eks-node-ebs-volumes.service") == 1);
    const std::string first = file(p, "var-lib-containerd.mount");
    CHECK_THAT(first, Catch::Contains("What=/run/eks-node/ebs-volumes/0\nWhere=/var/lib/containerd\n"));
    CHECK_THAT(first, Catch::Contains("Requisite=eks-node-ebs-volumes.service\nAfter=eks-node-ebs-volumes.service\n"));
    CHECK_THAT(first, Catch::Contains("Options=defaults,noatime\n"));
    CHECK_FALSE(Catch::Contains("Type=").match(first));  // fsType unset: what the volume holds
    const std::string kubelet = file(p, "var-lib-kubelet.mount");
    CHECK_THAT(kubelet, Catch::Contains("What=/run/eks-node/ebs-volumes/1\nWhere=/var/lib/kubelet\nType=ext4\n"));
    const std::string bind = file(p, "data.mount");
    CHECK_THAT(bind, Catch::Contains("RequiresMountsFor=/var/lib/kubelet\n"));
    CHECK_THAT(bind, Catch::Contains("What=/var/lib/kubelet\nWhere=/data\nType=none\nOptions=bind\n"));
    for (const char* unit :
         {"containerd.service", "kubelet.service", "eks-node-kubelet.service", "soci-snapshotter.service"})
        CHECK_THAT(file(p, std::string(unit) + ".d/50-eks-node-ebs-volumes.conf"),
                   Catch::Contains("RequiresMountsFor=/var/lib/containerd /var/lib/kubelet /data\n"));
    // ordered after the step, which the target starts: a start of kubelet never re-runs a failed
    // one (eks-node-generator(8), FAILED STEPS)
    const std::string kubelet_dropin = file(p, "kubelet.service.d/50-eks-node-ebs-volumes.conf");
    CHECK_THAT(kubelet_dropin, Catch::Contains("\nAfter=eks-node-ebs-volumes.service\n"));
    CHECK_THAT(kubelet_dropin, !Catch::Contains("Wants=") && !Catch::Contains("Requires="));
    for (const char* m : {"var-lib-containerd.mount", "var-lib-kubelet.mount", "data.mount"})
        CHECK(p.files.count(std::string("eks-node.target.wants/") + m) == 1);
}

TEST_CASE("the generator: an ECS node's volumes hold Docker back", "[storage][ebs][generator]") {
    json c = volumes_config(json::array({{{"device", "/dev/xvdb"}, {"mountTarget", "/var/lib/docker"}}}));
    c["settings"]["node"] = "ecs";
    auto p = plan(c);
    CHECK(p.files.count("ecs-node.target.wants/eks-node-ebs-volumes.service") == 1);
    CHECK_THAT(file(p, "docker.service.d/50-eks-node-ebs-volumes.conf"),
               Catch::Contains("\nAfter=eks-node-ebs-volumes.service\n") && !Catch::Contains("Wants="));
    CHECK(file(p, "kubelet.service.d/50-eks-node-ebs-volumes.conf").empty());
}

// tests/data/nodeadm-ebs-volumes.md: every row has its check here, and a
// row without one (or a check without a row) fails.
TEST_CASE("nodeadm's EBS volume behaviours, row by row", "[storage][ebs][nodeadm-ebs-volumes]") {
    std::ifstream in(test::source_path("tests/data/nodeadm-ebs-volumes.md"));
    REQUIRE(in);
    std::vector<std::string> rows;
    const std::regex row(R"(^\| (\d+a?) \|)");
    for (std::string line; std::getline(in, line);) {
        std::smatch m;
        if (std::regex_search(line, m, row)) rows.push_back(m[1]);
    }
    const json one = volumes_config(json::array({containerd_volume}));
    std::map<std::string, std::function<void()>> checks = {
        {"1",
         [&] {
             auto v = read(
                 volumes_config(json::array({{{"device", "/dev/xvdb"}, {"mountTarget", "/a"}, {"fsType", "ext4"}}})));
             CHECK((v.at(0).device == "/dev/xvdb" && v.at(0).fs_type == "ext4"));
         }},
        {"2",
         [&] {
             CHECK(read(volumes_config(json::array({{{"device", "/dev/xvdb"}, {"mountTargets", {"/a", "/b"}}}})))
                       .at(0)
                       .targets.size() == 2);
         }},
        {"3",
         [&] {
             CHECK(read(one).at(0).targets == std::vector<std::string>{"/var/lib/containerd"});
             CHECK_THAT(ebs_error_of(volumes_config(
                            json::array({{{"device", "/dev/xvdb"}, {"mountTarget", "/a"}, {"mountTargets", {"/a"}}}}))),
                        Catch::Contains("sets both mountTarget and mountTargets"));
         }},
        {"4", [&] { CHECK(read(one).at(0).fs_type == "xfs"); }},
        {"5",
         [&] {
             CHECK_THAT(ebs_error_of(volumes_config(
                            json::array({{{"device", "/dev/xvdb"}, {"mountTarget", "/a"}, {"fsType", "vfat"}}}))),
                        Catch::StartsWith("spec.instance.storage.volumes[0].fsType:"));
         }},
        {"6",
         [&] {
             auto p = plan(ebs_config_with(json::object()));
             CHECK(p.files.count("eks-node.target.wants/eks-node-ebs-volumes.service") == 0);
         }},
        {"7",
         [&] {
             CHECK_THAT(ebs_error_of(volumes_config(json::array(
                            {containerd_volume, {{"device", "/dev/xvdc"}, {"mountTarget", "/var/lib/containerd/"}}}))),
                        Catch::Contains("spec.instance.storage.volumes[0].mountTarget already"));
         }},
        {"8",
         [&] {
             // the name as the vendor data holds it, sdX and xvdX alike
             CHECK(ebs_name_matches("/dev/xvdb", ebs_name_from_identify(identify_with("sdb"))));
         }},
        {"9", [&] { CHECK_FALSE(ebs_name_matches("/dev/xvdb", ebs_name_from_identify(identify_with("sdc")))); }},
        {"10",
         [&] {
             Volume unset{0, "/dev/xvdb", {"/a"}, "xfs", false};
             Volume xfs{0, "/dev/xvdb", {"/a"}, "xfs", true};
             CHECK(classify_volume(2, "", unset).content == VolumeContent::blank);
             CHECK(classify_volume(0, blkid("ext4"), unset).content == VolumeContent::usable);
             CHECK(classify_volume(0, blkid("ext4"), xfs).content == VolumeContent::foreign);
         }},
        {"11",
         [&] {
             CHECK_THAT(file(plan(one), "var-lib-containerd.mount"),
                        Catch::Contains("What=/run/eks-node/ebs-volumes/0\n"));
         }},
        {"12", [&] { CHECK(plan(one).files.count("eks-node.target.wants/var-lib-containerd.mount") == 1); }},
        {"13",
         [&] {
             auto p = plan(volumes_config(json::array({{{"device", "/dev/xvdb"}, {"mountTargets", {"/a", "/b"}}}})));
             CHECK_THAT(file(p, "b.mount"), Catch::Contains("What=/a\nWhere=/b\nType=none\nOptions=bind\n"));
         }},
        {"14",
         [&] {
             CHECK(plan(one).files == plan(one).files);
             Volume v{0, "/dev/xvdb", {"/a"}, "xfs", false};
             CHECK(classify_volume(0, blkid("xfs", std::string(ebs_label)), v).content == VolumeContent::usable);
         }},
        {"15",
         [&] {
             CHECK_THAT(file(plan(one), "containerd.service.d/50-eks-node-ebs-volumes.conf"),
                        Catch::Contains("RequiresMountsFor=/var/lib/containerd\n"));
         }},
        {"16",
         [&] {
             // formatted (and so copied) only when blank or our own unfinished format
             Volume v{0, "/dev/xvdb", {"/a"}, "xfs", false};
             CHECK(classify_volume(0, blkid("xfs", "other"), v).content == VolumeContent::usable);
             CHECK(classify_volume(0, blkid("xfs", std::string(ebs_label_unfinished)), v).content ==
                   VolumeContent::unfinished);
         }},
        {"17",
         [&] {
             CHECK_THAT(file(plan(one), "kubelet.service.d/50-eks-node-ebs-volumes.conf"),
                        Catch::Contains("After=eks-node-ebs-volumes.service\n"));
         }},
        {"17a",
         [&] {
             CHECK_THAT(ebs_error_of(ebs_config_with({{"localStorage", {{"strategy", "RAID0"}}},
                                                      {"storage", {{"volumes", json::array({containerd_volume})}}}})),
                        Catch::Contains("spec.instance.localStorage.strategy RAID0"));
         }},
        {"18",
         [&] {
             // the model string the discovery takes (a fake sysfs in tests, an EBS-like NVMe disk in the VM)
             CHECK(ebs_model == "Amazon Elastic Block Store");
             CHECK(ebs_model != instance_store_model);
         }},
    };
    REQUIRE(rows.size() == checks.size());
    for (const std::string& r : rows) {
        INFO("row " << r);
        REQUIRE(checks.count(r) == 1);
        checks[r]();
    }
}

// Issue 58, items 2 and 3: a target whose mount unit systemd cannot name
// (the generator's write failed with "File name too long", nothing was
// mounted, containerd and kubelet ran on the root disk), and a target over
// the OS's own trees (proc.mount, etc.mount...), both refused where the
// volumes are read: config check, eks-node-config, the step, the generator.
TEST_CASE("volumes: a target systemd cannot name or that the OS owns is refused", "[storage][ebs]") {
    // 72 bytes of Japanese: each byte is "\xNN" in the unit name, 288 bytes and more
    const std::string japanese = "/データ/コンテナ/イメージ/キャッシュ/ボリューム/一";
    REQUIRE(escape_path(japanese).size() + 6 > max_unit_name);
    auto target = [](const std::string& t) {
        return volumes_config(json::array({{{"device", "/dev/xvdb"}, {"mountTarget", t}}}));
    };
    CHECK_THAT(ebs_error_of(target(japanese)), Catch::StartsWith("spec.instance.storage.volumes[0].mountTarget: ") &&
                                                   Catch::Contains("over the 255 a unit name may have"));
    // the longest name that fits is taken: 249 bytes and ".mount"
    CHECK(ebs_error_of(target("/" + std::string(249, 'a'))).empty());
    CHECK_THAT(ebs_error_of(target("/" + std::string(250, 'a'))), Catch::Contains("256 bytes"));
    for (const char* t : {"/proc",
                          "/sys/fs/x",
                          "/dev",
                          "/dev/shm",
                          "/run",
                          "/run/eks-node",
                          "/run/eks-node/x",
                          "/etc",
                          "/etc/kubernetes",
                          "/usr",
                          "/usr/local",
                          "/boot",
                          "/bin",
                          "/sbin",
                          "/lib",
                          "/lib64",
                          "/var",
                          "/var/lib",
                          "/var/lib/eks-node",
                          "/run/systemd/x"}) {
        INFO(t);
        CHECK_THAT(ebs_error_of(target(t)), Catch::StartsWith("spec.instance.storage.volumes[0].mountTarget: ") &&
                                                Catch::Contains("a mount there would"));
    }
    for (const char* t : {"/var/lib/containerd", "/var/lib/kubelet", "/mnt/data", "/data", "/srv/x", "/opt/app",
                          "/var/log/pods", "/run/data", "/home/x", "/var/lib/etcd", "/procfs", "/devices"}) {
        INFO(t);
        CHECK(ebs_error_of(target(t)).empty());
    }
}

TEST_CASE("the generator: volumes it cannot plan pull in the step alone, to fail", "[storage][ebs][generator]") {
    // a config.json eks-node-config did not write: no mount unit, no silent
    // skip; the step refuses the same volumes and kubelet waits for it
    auto p =
        plan(volumes_config(json::array({{{"device", "/dev/xvdb"}, {"mountTarget", "/" + std::string(300, 'a')}}})));
    CHECK(p.files.count("eks-node.target.wants/eks-node-ebs-volumes.service") == 1);
    CHECK_THAT(file(p, "kubelet.service.d/50-eks-node-ebs-volumes.conf"),
               Catch::Contains("Wants=eks-node-ebs-volumes.service\nAfter=eks-node-ebs-volumes.service\n"));
    for (const auto& [name, f] : p.files) {
        INFO(name);
        CHECK_FALSE(name.ends_with(".mount"));
        for (size_t at = 0; at < name.size();) {  // every name the generator writes fits
            size_t end = name.find('/', at);
            if (end == std::string::npos) end = name.size();
            CHECK(end - at <= max_unit_name);
            at = end + 1;
        }
    }
    bool warned = false;
    for (const auto& m : p.messages)
        warned |= m.text.find("only eks-node-ebs-volumes.service is pulled in") != std::string::npos;
    CHECK(warned);
    p = plan(volumes_config(json::array({{{"device", "/dev/xvdb"}, {"mountTarget", "/etc"}}})));
    CHECK(p.files.count("etc.mount") == 0);
    CHECK(p.files.count("eks-node.target.wants/eks-node-ebs-volumes.service") == 1);
}

TEST_CASE("the generator: instance.localStorage it cannot plan pulls in the step alone, to fail",
          "[storage][generator]") {
    // before: "..., ignoring" and nothing, so kubelet ran on the root disk
    for (const char* mount_path : {"/etc/disks", "/データ/コンテナ/イメージ/キャッシュ/ボリューム/一"}) {
        INFO(mount_path);
        auto p = plan(ebs_config_with({{"localStorage", {{"strategy", "RAID0"}, {"mountPath", mount_path}}}}));
        CHECK(p.files.count("eks-node.target.wants/eks-node-instance-store.service") == 1);
        CHECK_THAT(file(p, "kubelet.service.d/50-eks-node-instance-store.conf"),
                   Catch::Contains("Wants=eks-node-instance-store.service\nAfter=eks-node-instance-store.service\n"));
        for (const auto& [name, f] : p.files) CHECK_FALSE(name.ends_with(".mount"));
    }
}

TEST_CASE("the generator: a swap file whose unit systemd cannot name gets no unit", "[storage][generator]") {
    json c = ebs_config_with(json::object());
    c["derived"] = {{"swap", {{"file", "/" + std::string(260, 'a') + "/0/swapfile"}, {"sizeMiB", 512}}}};
    auto p = plan(c);
    for (const auto& [name, f] : p.files) CHECK_FALSE(name.ends_with(".swap"));
    bool warned = false;
    for (const auto& m : p.messages) warned |= m.text.find("eks-node-swap fails on it") != std::string::npos;
    CHECK(warned);
}
