// SPDX-License-Identifier: Apache-2.0
// derive() end to end on one instance's metadata (fixtures.hpp, in instance.json shape), then
// one rule at a time.
#include <catch2/catch.hpp>

#include "fixtures.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/table.hpp"
#include "derive/derive.hpp"
#include "input/schema.hpp"

using namespace eksnode;
using namespace eksnode::derive;
using eksnode::test::conformance_instance;

namespace {

// The conformance cluster CA (instance/cluster-ca.crt), base64 as NodeConfig carries it.
constexpr const char* conformance_ca_base64 =
    "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJnVENDQVNlZ0F3SUJBZ0lVVFZNMURjeXh1bGtQK09aT0xFRXNVL1ZndnhJ"
    "d0NnWUlLb1pJemowRUF3SXcKRlRFVE1CRUdBMVVFQXd3S2EzVmlaWEp1WlhSbGN6QWdGdzB5TmpFeE1qRXhNVEF4TlRCYUdBOHlN"
    "VEkyTVRBeQpPREV4TURFMU1Gb3dGVEVUTUJFR0ExVUVBd3dLYTNWaVpYSnVaWFJsY3pCWk1CTUdCeXFHU000OUFnRUdDQ3FHClNN"
    "NDlBd0VIQTBJQUJCb0kwMGwwbzAwdzBXSEdtM2lLdDdEVEhOangweHpmR28wWHpzWExUeFM5cHBVTU1PY3gKVHZOV0pZbEx1Mkl3"
    "UnpnTzA3STlDa3pocThyb0dESnplVVdqVXpCUk1CMEdBMVVkRGdRV0JCVFdtMW1xTXJsTApmbnhCb1VHUXBpNHo3ZTVjQURBZkJn"
    "TlZIU01FR0RBV2dCVFdtMW1xTXJsTGZueEJvVUdRcGk0ejdlNWNBREFQCkJnTlZIUk1CQWY4RUJUQURBUUgvTUFvR0NDcUdTTTQ5"
    "QkFNQ0EwZ0FNRVVDSUZHZ1FSMHNyVUsrcHc1dGRYN2oKL001SnlWd2o4Qkx4MHc4UGJ2UG40eFVqQWlFQTBUK1IwQnNOVHpaKzRt"
    "S0xDWThRODRIMnpOVVVKVnFLeW5raAowSUdhN2pRPQotLS0tLUVORCBDRVJUSUZJQ0FURS0tLS0tCg==";


// Conformance case 01: a NodeConfig with kubelet.config (including clusterDNS).
json conformance_spec() {
    json spec = json::parse(R"({
        "cluster": {"name": "my-cluster", "apiServerEndpoint": "https://example.com", "cidr": "10.100.0.0/16"},
        "kubelet": {"config": {"logging": {"verbosity": 5}, "clusterDNS": ["0.0.0.0", "1.1.1.1"]}}
    })");
    spec["cluster"]["certificateAuthority"] = conformance_ca_base64;
    return spec;
}

derive::MachineFacts two_cpus() {
    derive::MachineFacts m;
    m.cpu_millicores = 2000;
    m.memory_mib = 15943;
    m.kubelet_version = "1.29.0";
    m.containerd_version = "1.7.20";
    return m;
}

// Runs derive() the way eks-node-config does, with every spec leaf from "user data".
struct Run {
    json spec = conformance_spec();
    json settings = json::object();
    json instance = conformance_instance();
    derive::MachineFacts machine = two_cpus();
    derive::Ec2Lookups ec2;
    Origins origins;

    json operator()() {
        label(spec, "/spec");
        label(settings, "/settings");
        return derive::values(spec, settings, instance, machine, origins, ec2);
    }

private:
    void label(const json& j, const std::string& at) {
        if (j.is_object()) {
            for (auto it = j.begin(); it != j.end(); ++it) label(*it, at + "/" + it.key());
            return;
        }
        origins[at] = at.starts_with("/settings") ? "/etc/eks-node/node.toml.d/10-image.toml" : "user data";
    }
};

// The problem of the ConfigError a run raises, checking its field.
std::string config_error(Run& run, const std::string& field) {
    try {
        run();
    } catch (const ConfigError& e) {
        CHECK(e.field() == field);
        return e.what();
    }
    FAIL("no ConfigError");
    return {};
}

}  // namespace

TEST_CASE("derive on the conformance instance gives nodeadm's values", "[derive][conformance]") {
    Run run;
    json d = run();
    CHECK(d["maxPods"] == 58);
    CHECK(d["kubeReserved"] == json::parse(R"({"cpu": "70m", "ephemeral-storage": "1Gi", "memory": "893Mi"})"));
    CHECK(d["clusterDNS"] == json::array({"10.100.0.10"}));
    CHECK(d["ipFamily"] == "ipv4");
    CHECK(d["nodeIP"] == "172.16.34.43");
    CHECK(d["providerID"] == "aws:///us-west-2f/i-1234567890abcdef0");
    CHECK(d["nodeName"] == "ip-172-16-34-43.ec2.internal");
    CHECK(d["sandboxImage"] == "localhost/kubernetes/pause:latest");
    CHECK_THAT(d["caPEM"].get<std::string>(), Catch::StartsWith("-----BEGIN CERTIFICATE-----\n"));
    CHECK(d["apiServerHost"] == "example.com");

    // The order config.json documents, so `eks-node config dump` reads the same every time.
    std::vector<std::string> keys;
    for (auto it = d.begin(); it != d.end(); ++it) keys.push_back(it.key());
    CHECK(keys == std::vector<std::string>{"maxPods", "kubeReserved", "clusterDNS", "ipFamily", "nodeIP", "providerID",
                                           "nodeName", "sandboxImage", "sociSnapshotter", "caPEM", "apiServerHost"});

    // Every derived value says where it came from.
    for (const std::string& k : keys) CHECK(run.origins.count("/derived/" + k) == 1);
    CHECK(run.origins["/derived/maxPods"] == "ENI table: m4.xlarge, 4 ENIs x 15 IPs");
    CHECK_THAT(run.origins["/derived/clusterDNS"],
               Catch::Contains("10.100.0.0/16 (user data)") &&
                   Catch::Contains("spec.kubelet.config.clusterDNS [\"0.0.0.0\",\"1.1.1.1\"] (user data)"));
    // Sources stay what they were.
    CHECK(run.origins["/spec/cluster/cidr"] == "user data");
}

TEST_CASE("kubelet.config.maxPods wins, and reserved memory follows it", "[derive][max-pods]") {
    Run run;
    run.spec["kubelet"]["config"]["maxPods"] = 110;
    run.spec["kubelet"]["maxPodsExpression"] = "max_pods < 30 ? max_pods : 30";
    json d = run();
    CHECK(d["maxPods"] == 110);
    // 11 * 110 + 255: from the effective value, not the ENI table's 58 (amazon-eks-ami#1698).
    CHECK(d["kubeReserved"]["memory"] == "1465Mi");
    CHECK(run.origins["/derived/maxPods"] == "spec.kubelet.config.maxPods (user data)");
}

TEST_CASE("maxPodsExpression beats the ENI table", "[derive][max-pods]") {
    Run run;
    run.spec["kubelet"]["maxPodsExpression"] = "max_pods < 30 ? max_pods : 30";
    json d = run();
    CHECK(d["maxPods"] == 30);
    CHECK(d["kubeReserved"]["memory"] == "585Mi");
    CHECK(run.origins["/derived/maxPods"] ==
          "spec.kubelet.maxPodsExpression \"max_pods < 30 ? max_pods : 30\" (user data; default_enis=4, "
          "ips_per_eni=15, max_pods=58 from the ENI table)");
}

TEST_CASE("a broken maxPodsExpression is an error even when kubelet.config.maxPods overrides it",
          "[derive][max-pods]") {
    Run run;
    run.spec["kubelet"]["config"]["maxPods"] = 110;
    run.spec["kubelet"]["maxPodsExpression"] = "max_pods +";
    CHECK_THAT(config_error(run, "spec.kubelet.maxPodsExpression"),
               Catch::StartsWith("user data: spec.kubelet.maxPodsExpression: column 11: unexpected end"));

    Run out_of_range;
    out_of_range.spec["kubelet"]["maxPodsExpression"] = "max_pods - 58";
    CHECK_THAT(config_error(out_of_range, "spec.kubelet.maxPodsExpression"), Catch::Contains("gives 0"));
}

TEST_CASE("reservedMemoryPercent lowers a computed maxPods until kubeReserved memory fits", "[derive][max-pods]") {
    CHECK(max_pods_within_memory(1900, 25) == 20);    // 475 MiB: (475 - 255) / 11
    CHECK(max_pods_within_memory(15943, 25) == 339);  // 3985 MiB
    CHECK(max_pods_within_memory(1000, 26) == 0);     // 260 MiB: one pod's 266 do not fit
    CHECK(max_pods_within_memory(1064, 25) == 1);     // 266 MiB: exactly one pod's
    CHECK(max_pods_within_memory(1000, 1) == 0);
    for (int pods : {1, 20, 339})  // the inverse of the reservation rule
        CHECK(memory_mib_to_reserve(pods) <= 15943 * 25 / 100);

    // a small instance with prefix delegation: 110 pods would reserve 1,465 MiB of 1,900
    Run small;
    small.instance["instanceType"] = "m5.large";
    small.machine.memory_mib = 1900;
    small.settings["maxPods"] = {{"prefixDelegation", true}, {"reservedMemoryPercent", 25}};
    json d = small();
    CHECK(d["maxPods"] == 20);
    CHECK(d["kubeReserved"]["memory"] == "475Mi");
    CHECK_THAT(small.origins["/derived/maxPods"],
               Catch::Contains("gave 110, lowered by settings.maxPods.reservedMemoryPercent = 25") &&
                   Catch::Contains("25% of 1900 MiB MemTotal is 475 MiB, room for the reserved memory of 20 pods"));

    Run within;  // 58 pods reserve 893 MiB, within 25% of 15,943
    within.settings["maxPods"]["reservedMemoryPercent"] = 25;
    CHECK(within()["maxPods"] == 58);
    CHECK_THAT(within.origins["/derived/maxPods"], Catch::Contains("; within settings.maxPods.reservedMemoryPercent"));

    Run expression;  // computed values are bounded, whatever computed them
    expression.machine.memory_mib = 1900;
    expression.spec["kubelet"]["maxPodsExpression"] = "max_pods * 2";
    expression.settings["maxPods"]["reservedMemoryPercent"] = 25;
    CHECK(expression()["maxPods"] == 20);

    Run explicit_value;  // a number the user wrote is taken as written
    explicit_value.machine.memory_mib = 1900;
    explicit_value.spec["kubelet"]["config"]["maxPods"] = 110;
    explicit_value.settings["maxPods"]["reservedMemoryPercent"] = 25;
    CHECK(explicit_value()["maxPods"] == 110);

    Run unknown;
    unknown.machine.memory_mib = 0;
    unknown.settings["maxPods"]["reservedMemoryPercent"] = 25;
    CHECK_THAT(config_error(unknown, "settings.maxPods.reservedMemoryPercent"),
               Catch::Contains("this node's memory is unknown"));

    Run tiny;
    tiny.machine.memory_mib = 512;
    tiny.settings["maxPods"]["reservedMemoryPercent"] = 10;
    CHECK_THAT(config_error(tiny, "settings.maxPods.reservedMemoryPercent"),
               Catch::Contains("10% of this node's 512 MiB is 51 MiB, less than the 266 MiB kubelet reserves"));
}

TEST_CASE("settings shape the ENI-based max pods", "[derive][max-pods]") {
    Run pd;
    pd.instance["instanceType"] = "m5.large";
    pd.settings["maxPods"]["prefixDelegation"] = true;
    CHECK(pd()["maxPods"] == 110);
    CHECK_THAT(pd.origins["/derived/maxPods"], Catch::Contains("capped at 110 for 2 vCPUs"));

    Run cn;
    cn.settings["maxPods"] = {{"customNetworking", true}, {"maxEnis", 2}};
    CHECK(cn()["maxPods"] == 1 * 14 + 2);

    Run huge_cap;   // "at most" a number above the instance's ENIs changes nothing
    huge_cap.settings["maxPods"]["maxEnis"] = 1000000000000;
    CHECK(huge_cap()["maxPods"] == 58);

    Run bad;
    bad.settings["maxPods"]["maxEnis"] = "two";
    CHECK(config_error(bad, "settings.maxPods.maxEnis") ==
          "/etc/eks-node/node.toml.d/10-image.toml: settings.maxPods.maxEnis: \"two\" is not an integer");
}

TEST_CASE("an unknown instance type falls back, loudly and visibly", "[derive][max-pods]") {
    Run run;
    run.instance["instanceType"] = "zz9.plural";
    json d = run();
    CHECK(d["maxPods"] == 110);
    CHECK(run.origins["/derived/maxPods"] == "default 110 for an unknown instance type zz9.plural");

    Run with_default;
    with_default.instance["instanceType"] = "zz9.plural";
    with_default.settings["maxPods"]["default"] = 20;
    CHECK(with_default()["maxPods"] == 20);
    CHECK_THAT(with_default.origins["/derived/maxPods"],
               Catch::StartsWith("settings.maxPods.default (/etc/eks-node/node.toml.d/10-image.toml)"));

    // An expression that needs ENI data falls back too; one that does not still applies.
    Run needs_enis;
    needs_enis.instance["instanceType"] = "zz9.plural";
    needs_enis.spec["kubelet"]["maxPodsExpression"] = "max_pods + 2";
    CHECK(needs_enis()["maxPods"] == 110);
    Run constant;
    constant.instance["instanceType"] = "zz9.plural";
    constant.spec["kubelet"]["maxPodsExpression"] = "50";
    CHECK(constant()["maxPods"] == 50);
}

TEST_CASE("the EC2 seam answers for a type the table does not know", "[derive][max-pods]") {
    Run run;
    run.instance["instanceType"] = "zz9.plural";
    std::string asked;
    run.ec2.eni_limits = [&asked](std::string_view type) -> std::optional<derive::EniLimits> {
        asked = std::string(type);
        return derive::EniLimits{3, 10};
    };
    CHECK(run()["maxPods"] == 29);
    CHECK(asked == "zz9.plural");
    CHECK(run.origins["/derived/maxPods"] == "EC2 DescribeInstanceTypes: zz9.plural, 3 ENIs x 10 IPs");

    Run known;   // the table answers first; EC2 is not asked
    known.ec2.eni_limits = [](std::string_view) -> std::optional<derive::EniLimits> {
        FAIL("EC2 asked for a type in the table");
        return std::nullopt;
    };
    CHECK(known()["maxPods"] == 58);
}

TEST_CASE("an IPv6 cluster uses the instance's IPv6 address", "[derive][cluster-dns]") {
    Run run;
    run.spec["cluster"]["cidr"] = "fd00::/108";
    run.instance["ipv6s"] = {"2600:1f14:1234::1", "2600:1f14:1234::2"};
    json d = run();
    CHECK(d["clusterDNS"] == json::array({"fd00::a"}));
    CHECK(d["ipFamily"] == "ipv6");
    CHECK(d["nodeIP"] == "2600:1f14:1234::1");

    Run no_ipv6;
    no_ipv6.spec["cluster"]["cidr"] = "fd00::/108";
    CHECK_THAT(config_error(no_ipv6, "spec.cluster.cidr"), Catch::Contains("this instance has no IPv6 address"));

    Run no_ipv4;
    no_ipv4.instance.erase("localIpv4");
    CHECK_THAT(config_error(no_ipv4, "spec.cluster.cidr"), Catch::Contains("this instance has no IPv4 address"));
}

TEST_CASE("a bad service CIDR names its source", "[derive][cluster-dns]") {
    Run run;
    run.spec["cluster"]["cidr"] = "10.100.0.0/33";
    CHECK(config_error(run, "spec.cluster.cidr") ==
          "user data: spec.cluster.cidr: \"10.100.0.0/33\" is not a CIDR: prefix length above 32");
}

TEST_CASE("node name strategies", "[derive][node-name]") {
    Run gate;
    gate.spec["featureGates"]["InstanceIdNodeName"] = true;
    CHECK(gate()["nodeName"] == "i-1234567890abcdef0");

    Run setting;
    setting.settings["nodeNameStrategy"] = "instance-id";
    CHECK(setting()["nodeName"] == "i-1234567890abcdef0");

    Run setting_wins;
    setting_wins.spec["featureGates"]["InstanceIdNodeName"] = true;
    setting_wins.settings["nodeNameStrategy"] = "private-dns-name";
    CHECK(setting_wins()["nodeName"] == "ip-172-16-34-43.ec2.internal");

    Run from_ec2;
    from_ec2.ec2.private_dns_name = [] {
        return std::optional<std::string>("ip-172-16-34-43.us-west-2.compute.internal");
    };
    CHECK(from_ec2()["nodeName"] == "ip-172-16-34-43.us-west-2.compute.internal");

    Run imds;   // IMDS's answer even when EC2 could be asked
    imds.settings["nodeNameStrategy"] = "imds";
    imds.ec2.private_dns_name = [] { return std::optional<std::string>("from-ec2"); };
    CHECK(imds()["nodeName"] == "ip-172-16-34-43.ec2.internal");

    Run bad;
    bad.settings["nodeNameStrategy"] = "hostname";
    CHECK_THAT(config_error(bad, "settings.nodeNameStrategy"),
               Catch::Contains("\"hostname\" is not instance-id, private-dns-name or imds"));
}

TEST_CASE("FastImagePull: SOCI on 4 CPUs and 7 GiB, refused on an image without the snapshotter", "[derive][soci]") {
    Run off;
    CHECK(off()["sociSnapshotter"] == false);

    // The gate on an image without the snapshotter: exit 6, on every size.
    Run none;
    none.spec["featureGates"]["FastImagePull"] = true;
    CHECK_THAT(config_error(none, "spec.featureGates.FastImagePull"),
               Catch::Contains("/usr/bin/soci-snapshotter-grpc is not installed") && Catch::Contains("user data"));

    Run small;
    small.spec["featureGates"]["FastImagePull"] = true;
    small.machine.soci_snapshotter = true;
    CHECK(small()["sociSnapshotter"] == false);  // 2 CPUs
    CHECK_THAT(small.origins["/derived/sociSnapshotter"], Catch::Contains("ignored on 2 CPUs"));

    Run big = small;
    big.origins.clear();
    big.machine.cpu_millicores = 4000;
    CHECK(big()["sociSnapshotter"] == true);
    CHECK_THAT(big.origins["/derived/sociSnapshotter"], Catch::Contains("on 4 CPUs and 15943 MiB"));

    Run little_memory = big;
    little_memory.origins.clear();
    little_memory.machine.memory_mib = 7000;
    CHECK(little_memory()["sociSnapshotter"] == false);
}

TEST_CASE("sandbox image: the image's cached pause image unless told otherwise", "[derive][sandbox-image]") {
    Run cached;
    CHECK(cached()["sandboxImage"] == "localhost/kubernetes/pause:latest");
    CHECK_THAT(cached.origins["/derived/sandboxImage"], Catch::Contains("the image's cached pause image"));

    // An explicit image wins over every other setting.
    Run setting;
    setting.settings["containerd"]["sandboxImage"] = "registry.example/pause:3.10";
    setting.settings["containerd"]["pauseSource"] = "regional-ecr";
    CHECK(setting()["sandboxImage"] == "registry.example/pause:3.10");

    Run regional;
    regional.settings["containerd"]["pauseSource"] = "regional-ecr";
    CHECK(regional()["sandboxImage"] == "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.10");
    CHECK_THAT(regional.origins["/derived/sandboxImage"], Catch::Contains("pauseSource regional-ecr"));

    // AL2's account and tag name an ECR image, unless pauseSource says cached.
    Run cached_anyway;
    cached_anyway.settings["containerd"]["pauseTag"] = "3.9";
    cached_anyway.settings["containerd"]["pauseSource"] = "cached";
    CHECK(cached_anyway()["sandboxImage"] == "localhost/kubernetes/pause:latest");
}

TEST_CASE("sandbox image: the regional ECR image by region and FIPS", "[derive][sandbox-image]") {
    Run fips;
    fips.settings["containerd"]["pauseSource"] = "regional-ecr";
    fips.instance["region"] = "us-east-1";
    fips.machine.fips_enabled = true;
    CHECK(fips()["sandboxImage"] == "602401143452.dkr.ecr-fips.us-east-1.amazonaws.com/eks/pause:3.10");

    Run china;
    china.settings["containerd"]["pauseSource"] = "regional-ecr";
    china.instance["region"] = "cn-north-1";
    china.instance["domain"] = "amazonaws.com.cn";
    CHECK(china()["sandboxImage"] == "918309763551.dkr.ecr.cn-north-1.amazonaws.com.cn/eks/pause:3.10");

    // AL2's --pause-container-account/-version: the region's registry host, another account and tag
    Run al2;
    al2.instance["region"] = "eu-west-1";
    al2.settings["containerd"]["pauseAccount"] = "123456789012";
    al2.settings["containerd"]["pauseTag"] = "3.9";
    CHECK(al2()["sandboxImage"] == "123456789012.dkr.ecr.eu-west-1.amazonaws.com/eks/pause:3.9");
    Run tag_only;
    tag_only.settings["containerd"]["pauseTag"] = "3.5";
    CHECK(tag_only()["sandboxImage"] == "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.5");
}

TEST_CASE("reserved CPU follows the machine's CPUs", "[derive][reserved]") {
    Run run;
    run.machine.cpu_millicores = 96000;
    CHECK(run()["kubeReserved"]["cpu"] == "310m");
}

TEST_CASE("missing instance facts are errors of instance.json", "[derive]") {
    Run run;
    run.instance.erase("availabilityZone");
    CHECK_THROWS_WITH(run(), "instance.json: availabilityZone is missing");
}

TEST_CASE("settings.swap: the file, its size and kubelet's swap behaviour, from kubelet 1.30 on", "[derive][swap]") {
    Run none;
    none.machine.kubelet_version = "1.31.2";
    CHECK_FALSE(none().contains("swap"));

    Run root = none;
    root.settings["swap"] = {{"size", "4G"}};
    json s = root()["swap"];
    CHECK(s == json{{"file", "/var/lib/eks-node/swapfile"}, {"sizeMiB", 4096}, {"swapBehavior", "LimitedSwap"}});
    CHECK_THAT(root.origins["/derived/swap"], Catch::Contains("kubelet 1.31.2"));

    Run store = none;
    store.settings["swap"] = {{"size", "512M"}, {"location", "instance-store"}, {"swapBehavior", "NoSwap"}};
    store.spec["instance"]["localStorage"] = {{"strategy", "RAID0"}, {"mountPath", "/mnt/disks"}};
    CHECK(store()["swap"] == json{{"file", "/mnt/disks/0/swapfile"}, {"sizeMiB", 512}, {"swapBehavior", "NoSwap"}});

    // KEP-2400: NodeSwap off by default before 1.30, no NoSwap there: refused, saying why
    Run old = root;
    old.origins.clear();
    old.machine.kubelet_version = "1.29.15";
    CHECK_THAT(config_error(old, "settings.swap.size"),
               Catch::Contains("kubelet 1.30 or later") && Catch::Contains("1.29.15") && Catch::Contains("KEP-2400"));
    Run exact = root;
    exact.origins.clear();
    exact.machine.kubelet_version = "1.30.0";
    CHECK(exact()["swap"]["sizeMiB"] == 4096);

    Run no_size = none;
    no_size.settings["swap"] = {{"location", "root"}};
    CHECK_THAT(config_error(no_size, "settings.swap.size"), Catch::Contains("required"));

    Run no_disks = none;
    no_disks.settings["swap"] = {{"size", "1G"}, {"location", "instance-store"}};
    CHECK_THAT(config_error(no_disks, "settings.swap.location"),
               Catch::Contains("spec.instance.localStorage.strategy"));

    Run fail_swap_on = root;
    fail_swap_on.origins.clear();
    fail_swap_on.spec["kubelet"]["config"]["failSwapOn"] = true;
    CHECK_THAT(config_error(fail_swap_on, "spec.kubelet.config.failSwapOn"), Catch::Contains("refuses to start"));
}

// tests/data/kubelet-swap-compat.tsv: what kubelet's source says of swap, row by row,
// against what settings.swap does (derive here; the rendered configuration through the
// kubelet golden 19, which tests/golden renders).
TEST_CASE("kubelet-swap-compat.tsv: settings.swap against kubelet's source", "[derive][swap]") {
    const std::string text = read_file(test::source_path("tests/data/kubelet-swap-compat.tsv"));
    const input::schema::Field* behaviour = input::schema::settings().member("swap");
    REQUIRE(behaviour);
    behaviour = behaviour->member("swapBehavior");
    REQUIRE(behaviour);
    const json rendered =
        test::load_json("tests/golden/kubelet/19-swap-1.31/expected/etc/kubernetes/kubelet/config.json");
    Run base;
    base.settings["swap"] = {{"size", "1G"}};
    int rows = 0;
    for (const eksnode::table::Row& row : eksnode::table::rows(text, "tests/data/kubelet-swap-compat.tsv", 5)) {
        const std::vector<std::string>& col = row.cells;
        const std::string& key = col[0];
        const std::string& eks_node = col[2];
        INFO(key << ": " << eks_node);
        ++rows;
        if (key.starts_with("kubelet ")) {
            Run run = base;
            run.machine.kubelet_version = key.substr(8) + ".0";
            if (eks_node == "accepted") {
                CHECK(run()["swap"]["sizeMiB"] == 1024);
            } else {
                REQUIRE(eks_node == "refused");
                CHECK_THAT(config_error(run, "settings.swap.size"),
                           Catch::Contains("kubelet 1.30 or later") && Catch::Contains(run.machine.kubelet_version));
            }
        } else if (key.starts_with("swapBehavior ") && key != "swapBehavior unset") {
            const std::string name = key.substr(13);
            const bool offered =
                std::find(behaviour->choices.begin(), behaviour->choices.end(), name) != behaviour->choices.end();
            CHECK(offered == eks_node.starts_with("offered"));
            if (offered) {
                Run run = base;
                run.machine.kubelet_version = "1.31.0";
                run.settings["swap"]["swapBehavior"] = name;
                CHECK(run()["swap"]["swapBehavior"] == name);
            }
            if (eks_node.ends_with("the default of settings.swap")) {
                Run run = base;
                run.machine.kubelet_version = "1.31.0";
                CHECK(run()["swap"]["swapBehavior"] == name);
            }
        } else if (key == "swapBehavior unset") {
            CHECK(rendered.at("/memorySwap/swapBehavior"_json_pointer) == "LimitedSwap");
        } else if (key == "failSwapOn unset") {
            CHECK(rendered.at("failSwapOn") == false);
        } else if (key == "failSwapOn true") {
            Run run = base;
            run.machine.kubelet_version = "1.31.0";
            run.spec["kubelet"]["config"]["failSwapOn"] = true;
            CHECK_THAT(config_error(run, "spec.kubelet.config.failSwapOn"), Catch::Contains("refuses to start"));
        } else if (key == "cgroup v1") {
            CHECK(read_file(test::source_path("man/eks-node.toml.5.scd")).find("LimitedSwap needs cgroup v2") !=
                  std::string::npos);
        } else {
            FAIL("a key this test does not know: " << key);
        }
    }
    CHECK(rows >= 15);
}
