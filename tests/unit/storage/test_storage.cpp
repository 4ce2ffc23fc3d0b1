// SPDX-License-Identifier: Apache-2.0
// Instance-store discovery from fake sysfs trees (laid out as the kernel 6.1
// shows NVMe namespaces: /sys/block/NAME/{dev,nsid,hidden,device/{model,serial}}),
// the settings and mount layout, and the signature probe's verdicts.
#include <catch2/catch.hpp>

#include "core/error.hpp"
#include "fixtures.hpp"
#include "storage/storage.hpp"

using namespace eksnode;
using namespace eksnode::storage;

namespace {

using test::TempRoot;

// sysfs pads the model to 40 characters and the serial to 20.
const std::string ec2_model = "Amazon EC2 NVMe Instance Storage        ";
const std::string ebs_disk_model = "Amazon Elastic Block Store              ";

struct FakeSys {
    TempRoot r;
    void disk(const std::string& name, const std::string& model, const std::string& serial, const std::string& dev,
              bool hidden = false) {
        std::string d = "/sys/block/" + name;
        r.write(d + "/dev", dev + "\n");
        r.write(d + "/nsid", "1\n");
        r.write(d + "/hidden", hidden ? "1\n" : "0\n");
        r.write(d + "/device/model", model + "\n");
        r.write(d + "/device/serial", serial + "      \n");
        fs::create_directories(r.paths().of(d + "/holders"));
    }
    void partition(const std::string& disk, const std::string& part, const std::string& dev) {
        r.write("/sys/block/" + disk + "/" + part + "/partition", "1\n");
        r.write("/sys/block/" + disk + "/" + part + "/dev", dev + "\n");
        fs::create_directories(r.paths().of("/sys/block/" + disk + "/" + part + "/holders"));
    }
    void holder(const std::string& disk, const std::string& holder) {
        fs::create_directories(r.paths().of("/sys/block/" + disk + "/holders/" + holder));
    }
    void mountinfo(const std::string& text) { r.write("/proc/self/mountinfo", text); }
    Discovery discover(std::string_view mount_path = default_mount_path) const {
        return storage::discover(r.paths(), mount_path);
    }
};

std::vector<std::string> names(const Discovery& d) {
    std::vector<std::string> out;
    for (const Disk& x : d.disks) out.push_back(x.name);
    return out;
}

json storage_config_with(const json& local_storage) {
    return json{{"schemaVersion", 1}, {"spec", {{"instance", {{"localStorage", local_storage}}}}}};
}

std::vector<Disk> some_disks(int n) {
    std::vector<Disk> out;
    for (int i = 0; i < n; ++i)
        out.push_back({"nvme" + std::to_string(i + 1) + "n1", std::string(instance_store_model),
                       "AWS" + std::to_string(i), 1, "259:" + std::to_string(i)});
    return out;
}

}  // namespace

TEST_CASE("discovery takes instance-store namespaces only, ordered by serial", "[storage]") {
    FakeSys s;
    s.disk("nvme0n1", ebs_disk_model, "vol0123456789abcdef0", "259:0");  // the root EBS volume
    s.disk("nvme2n1", ec2_model, "AWS22B1C5D6E0F5A1E01", "259:2");
    s.disk("nvme1n1", ec2_model, "AWS9F8E7D6C5B4A3A2B1", "259:1");
    s.disk("nvme3n1", "QEMU NVMe Ctrl", "plain0", "259:3");          // a plain qemu disk
    s.disk("nvme2c2n1", ec2_model, "AWS22B1C5D6E0F5A1E01", "259:4", true);  // a hidden path node
    Discovery d = s.discover();
    CHECK(names(d) == std::vector<std::string>{"nvme2n1", "nvme1n1"});
    REQUIRE(d.disks.size() == 2);
    CHECK(d.disks[0].serial == "AWS22B1C5D6E0F5A1E01");
    CHECK(d.disks[0].model == instance_store_model);
    CHECK(d.disks[0].dev == "259:2");
    CHECK(d.disks[0].by_id() == "/dev/disk/by-id/nvme-Amazon_EC2_NVMe_Instance_Storage_AWS22B1C5D6E0F5A1E01_1");
    CHECK(d.skipped.empty());
}

TEST_CASE("discovery skips path nodes even when the hidden attribute is missing", "[storage]") {
    FakeSys s;
    s.disk("nvme0c0n1", ec2_model, "AWS1", "259:0");
    fs::remove(s.r.paths().of("/sys/block/nvme0c0n1/hidden"));
    s.disk("nvme0n1", ec2_model, "AWS1", "259:1");
    CHECK(names(s.discover()) == std::vector<std::string>{"nvme0n1"});
}

TEST_CASE("discovery leaves disks in use or mounted elsewhere alone, and says why", "[storage]") {
    FakeSys s;
    s.disk("nvme1n1", ec2_model, "AWS1", "259:1");
    s.disk("nvme2n1", ec2_model, "AWS2", "259:2");
    s.disk("nvme3n1", ec2_model, "AWS3", "259:3");
    s.disk("nvme4n1", ec2_model, "AWS4", "259:4");
    s.disk("nvme5n1", ec2_model, "AWS5", "259:5");
    s.holder("nvme1n1", "dm-0");                    // LVM on it
    s.partition("nvme2n1", "nvme2n1p1", "259:6");   // a partition of it is mounted
    s.mountinfo(
        "22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n"
        "40 22 259:6 / /data rw,relatime shared:20 - ext4 /dev/nvme2n1p1 rw\n"
        "41 22 259:3 / /mnt/with\\040space rw shared:21 - xfs /dev/nvme3n1 rw\n"
        "42 22 259:4 / /mnt/k8s-disks/1 rw shared:22 - xfs /dev/nvme4n1 rw\n");
    Discovery d = s.discover();
    // nvme4n1 is mounted, but where our Mount strategy puts it: still ours.
    CHECK(names(d) == std::vector<std::string>{"nvme4n1", "nvme5n1"});
    REQUIRE(d.skipped.size() == 3);
    CHECK(d.skipped[0].name == "nvme1n1");
    CHECK(d.skipped[0].why == "in use by dm-0 (/sys/block/nvme1n1/holders)");
    CHECK(d.skipped[1].why == "mounted on /data");
    CHECK(d.skipped[2].why == "mounted on /mnt/with space");
}

TEST_CASE("discovery keeps the members of our own array", "[storage]") {
    FakeSys s;
    s.disk("nvme1n1", ec2_model, "AWS1", "259:1");
    s.disk("nvme2n1", ec2_model, "AWS2", "259:2");
    s.holder("nvme1n1", "md127");
    s.holder("nvme2n1", "md127");
    SECTION("md127 is /dev/md/eks-node") {
        fs::create_directories(s.r.paths().of("/dev/md"));
        fs::create_symlink("../md127", s.r.paths().of("/dev/md/eks-node"));
        CHECK(names(s.discover()) == std::vector<std::string>{"nvme1n1", "nvme2n1"});
    }
    SECTION("md127 is someone else's array") {
        Discovery d = s.discover();
        CHECK(d.disks.empty());
        CHECK(d.skipped.size() == 2);
    }
}

TEST_CASE("discovery of a machine without NVMe finds nothing; without /sys/block it throws", "[storage]") {
    FakeSys s;
    fs::create_directories(s.r.paths().of("/sys/block/vda"));
    CHECK(s.discover().disks.empty());
    TempRoot empty;
    CHECK_THROWS_AS(discover(empty.paths(), default_mount_path), Error);
}

TEST_CASE("settings: strategy, mountPath and disabledMounts from config.json", "[storage]") {
    CHECK_FALSE(settings_from_config(json{{"schemaVersion", 1}}, "config.json"));
    CHECK_FALSE(settings_from_config(storage_config_with(json::object()), "config.json"));
    auto s = settings_from_config(storage_config_with({{"strategy", "RAID10"}}), "config.json");
    REQUIRE(s);
    CHECK(s->strategy == Strategy::raid10);
    CHECK(s->mount_path == "/mnt/k8s-disks");
    s = settings_from_config(
        storage_config_with({{"strategy", "Mount"}, {"mountPath", "/local/"}, {"disabledMounts", {"PodLogs"}}}), "c");
    REQUIRE(s);
    CHECK(s->strategy == Strategy::mount);
    CHECK(s->mount_path == "/local");
    CHECK(s->disabled_mounts == std::vector<std::string>{"PodLogs"});
    CHECK_THROWS_WITH(settings_from_config(storage_config_with({{"strategy", "RAID5"}}), "config.json"),
                      "config.json: spec.instance.localStorage.strategy: \"RAID5\" is not one of RAID0, RAID10, Mount");
    CHECK_THROWS_AS(settings_from_config(storage_config_with({{"strategy", "RAID0"}, {"mountPath", "rel"}}), "c"),
                    ConfigError);
    CHECK_THROWS_AS(
        settings_from_config(storage_config_with({{"strategy", "RAID0"}, {"disabledMounts", {"Kubelet"}}}), "c"),
        ConfigError);
}

TEST_CASE("RAID layout: the array at mountPath/0, then the bind mounts not disabled", "[storage]") {
    Settings s;
    s.strategy = Strategy::raid0;
    s.disabled_mounts = {"SOCI"};
    Layout l = plan_layout(s, some_disks(2), "config.json");
    CHECK(l.array_mount == "/mnt/k8s-disks/0");
    REQUIRE(l.mounts.size() == 4);
    CHECK(l.mounts[0].what == "/dev/md/eks-node");
    CHECK(l.mounts[0].where == "/mnt/k8s-disks/0");
    CHECK_FALSE(l.mounts[0].bind);
    CHECK(l.mounts[1].what == "/mnt/k8s-disks/0/kubelet");
    CHECK(l.mounts[1].where == "/var/lib/kubelet");
    CHECK(l.mounts[1].bind);
    CHECK(l.mounts[2].where == "/var/lib/containerd");
    CHECK(l.mounts[3].where == "/var/log/pods");
    CHECK(l.binds.size() == 3);
}

TEST_CASE("an ECS container instance's array holds Docker's state, and PodLogs or SOCI change nothing", "[storage]") {
    json cfg = storage_config_with({{"strategy", "RAID0"}, {"disabledMounts", {"PodLogs", "SOCI"}}});
    cfg["settings"] = {{"node", "ecs"}};
    auto s = settings_from_config(cfg, "config.json");
    REQUIRE(s);
    CHECK(s->node == Node::ecs);
    Layout l = plan_layout(*s, some_disks(2), "config.json");
    REQUIRE(l.mounts.size() == 3);
    CHECK(l.mounts[1].what == "/mnt/k8s-disks/0/docker");
    CHECK(l.mounts[1].where == "/var/lib/docker");
    CHECK(l.mounts[1].before == std::vector<std::string>{"docker.service"});
    CHECK(l.mounts[2].where == "/var/lib/containerd");
    CHECK(primary_consumer(s->node) == "docker.service");

    s->disabled_mounts = {"Containerd"};
    l = plan_layout(*s, some_disks(2), "config.json");
    REQUIRE(l.binds.size() == 1);
    CHECK(l.binds[0].where == "/var/lib/docker");

    cfg["settings"]["node"] = "eks";
    CHECK(settings_from_config(cfg, "config.json")->node == Node::eks);
    CHECK(primary_consumer(Node::eks) == "kubelet.service");
}

TEST_CASE("RAID10 needs four disks: fewer is exit 6 with the count", "[storage]") {
    Settings s;
    s.strategy = Strategy::raid10;
    try {
        plan_layout(s, some_disks(2), "/run/eks-node/config.json");
        FAIL("no error");
    } catch (const ConfigError& e) {
        CHECK(e.exit_code() == 6);
        CHECK(std::string(e.what()) ==
              "/run/eks-node/config.json: spec.instance.localStorage.strategy: RAID10 needs at least 4 "
              "instance-store disks, this instance has 2; use RAID0 or Mount");
    }
    CHECK(plan_layout(s, some_disks(4), "c").mounts.size() == 5);
}

TEST_CASE("Mount layout: disk i (by serial) at mountPath/i+1, by its stable by-id name, no binds", "[storage]") {
    Settings s;
    s.strategy = Strategy::mount;
    s.mount_path = "/local";
    Layout l = plan_layout(s, some_disks(2), "c");
    REQUIRE(l.mounts.size() == 2);
    CHECK(l.mounts[0].where == "/local/1");
    CHECK(l.mounts[0].what == "/dev/disk/by-id/nvme-Amazon_EC2_NVMe_Instance_Storage_AWS0_1");
    CHECK(l.mounts[1].where == "/local/2");
    CHECK(l.binds.empty());
}

TEST_CASE("the probe tells blank, ours and foreign apart", "[storage]") {
    CHECK(classify_probe(2, "").content == Content::blank);
    CHECK(classify_probe(0, "UUID=1b2c\nLABEL=any:eks-node\nTYPE=linux_raid_member\n").content == Content::our_member);
    CHECK(classify_probe(0, "LABEL=eks-node\nUUID=9a8b\nTYPE=xfs\n").content == Content::our_filesystem);
    // mkfs writes this label first; xfs_admin sets eks-node once mkfs succeeded
    CHECK(classify_probe(0, "LABEL=eks-node-mk\nUUID=9a8b\nTYPE=xfs\n").content ==
          Content::our_unfinished_filesystem);
    CHECK(classify_probe(0, "LABEL=eks-node-mk\nTYPE=ext4\n").content == Content::foreign);
    Probe ext4 = classify_probe(0, "UUID=1234\nVERSION=1.0\nTYPE=ext4\nUSAGE=filesystem\n");
    CHECK(ext4.content == Content::foreign);
    CHECK(ext4.what == "TYPE=ext4");
    CHECK(classify_probe(0, "TYPE=xfs\nLABEL=data\n").content == Content::foreign);  // someone's XFS
    CHECK(classify_probe(0, "LABEL=ip-10-0-0-1:eks-node\nTYPE=linux_raid_member\n").content == Content::foreign);
    CHECK(classify_probe(0, "PTUUID=ab\nPTTYPE=gpt\n").what == "a partition table (PTTYPE=gpt)");
    CHECK_THROWS_AS(classify_probe(4, ""), Error);  // blkid's usage error or I/O error: never "blank"
}

TEST_CASE("unit names escape paths as systemd-escape --path does", "[storage]") {
    CHECK(escape_path("/mnt/k8s-disks/0") == "mnt-k8s\\x2ddisks-0");
    CHECK(escape_path("/var/lib/kubelet") == "var-lib-kubelet");
    CHECK(escape_path("/var/lib/soci-snapshotter/") == "var-lib-soci\\x2dsnapshotter");
    CHECK(escape_path("//a//.b") == "a-.b");
    CHECK(escape_path("/.hidden") == "\\x2ehidden");
    CHECK(escape_path("/") == "-");
}

// Issue 58, items 2 and 3 for instance.localStorage: the mount units'
// directories (MOUNTPATH/0, MOUNTPATH/1..N) and names, and the swap file's
// .swap unit on the array, refused with the field before anything is planned.
TEST_CASE("settings: a mountPath whose units systemd cannot name, or inside the OS, is refused", "[storage]") {
    auto error_of = [](const json& cfg) {
        try {
            settings_from_config(cfg, "user data");
        } catch (const ConfigError& e) {
            return e.field() + ": " + e.problem();
        }
        return std::string();
    };
    const std::string japanese = "/データ/コンテナ/イメージ/キャッシュ/ボリューム/一";
    for (const char* strategy : {"RAID0", "Mount"}) {
        INFO(strategy);
        CHECK_THAT(error_of(storage_config_with({{"strategy", strategy}, {"mountPath", japanese}})),
                   Catch::StartsWith("spec.instance.localStorage.mountPath: ") &&
                       Catch::Contains("over the 255 a unit name may have"));
        CHECK_THAT(error_of(storage_config_with({{"strategy", strategy}, {"mountPath", "/etc/disks"}})),
                   Catch::StartsWith("spec.instance.localStorage.mountPath: ") && Catch::Contains("\"/etc\""));
        CHECK(error_of(storage_config_with({{"strategy", strategy}, {"mountPath", "/mnt/disks"}})).empty());
    }
    // 247 bytes after the "/": RAID's MOUNTPATH/0.mount is 255 bytes and fits,
    // Mount's MOUNTPATH/99.mount is 256 and does not
    const std::string p247 = "/" + std::string(247, 'a');
    CHECK(error_of(storage_config_with({{"strategy", "RAID0"}, {"mountPath", p247}})).empty());
    CHECK_THAT(error_of(storage_config_with({{"strategy", "Mount"}, {"mountPath", p247}})),
               Catch::Contains("over the 255"));
    // the swap file on the array: MOUNTPATH/0/swapfile.swap
    json cfg = storage_config_with({{"strategy", "RAID0"}, {"mountPath", p247}});
    cfg["settings"] = {{"swap", {{"size", "1G"}, {"location", "instance-store"}}}};
    CHECK_THAT(error_of(cfg), Catch::StartsWith("spec.instance.localStorage.mountPath: ") &&
                                  Catch::Contains("settings.swap.location = \"instance-store\" the swap file"));
    cfg["settings"]["swap"]["location"] = "root";
    CHECK(error_of(cfg).empty());
}
