// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include <unistd.h>
#include <cstdlib>

#include "../config/support.hpp"
#include "config/merge.hpp"
#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "fixtures.hpp"
#include "format/limits.hpp"
#include "input/fragments.hpp"
#include "resolve/resolve.hpp"

using namespace eksnode;
using namespace eksnode::config;
using namespace eksnode::format;
using namespace eksnode::input;
using eksnode::resolve::resolve_config;

namespace {

using test::conformance_instance;
using test::TempRoot;

// TempRoot::write takes node paths; these tests name files relative to the root.
void put(const TempRoot& r, const std::string& rel, const std::string& text) { r.write("/" + rel, text); }

std::string nodeconfig() { return read_file(test::source_path("tests/conformance/03-kubeconfig/nodeconfig.yaml")); }

}  // namespace

TEST_CASE("fragments sort by name across the three directories; /etc hides /run hides /usr/lib", "[resolve]") {
    TempRoot r;
    put(r, "usr/lib/eks-node/node.toml.d/10-image.toml", "[settings]\nlogLevel = \"info\"\n");
    put(r, "usr/lib/eks-node/node.toml.d/20-same.toml", "[settings]\nlogLevel = \"debug\"\n");
    put(r, "run/eks-node/node.toml.d/20-same.toml", "[settings]\nlogLevel = \"notice\"\n");
    put(r, "etc/eks-node/node.toml.d/20-same.toml", "[settings]\nlogLevel = \"warning\"\n");
    put(r, "etc/eks-node/node.toml.d/90-admin.toml", "[settings]\nenable = true\n");
    put(r, "etc/eks-node/node.toml.d/README", "not a fragment");
    auto files = fragment_files(r.paths());
    REQUIRE(files.size() == 3);
    CHECK(files[0].name == "10-image.toml");
    CHECK(files[1].name == "20-same.toml");
    CHECK(files[1].path == r.dir / "etc/eks-node/node.toml.d/20-same.toml");
    CHECK(files[2].name == "90-admin.toml");
    CHECK(static_settings(r.paths())["logLevel"] == "warning");
}

TEST_CASE("a /dev/null symlink or an empty file masks a fragment", "[resolve]") {
    TempRoot r;
    put(r, "usr/lib/eks-node/node.toml.d/10-image.toml", "[settings]\nlogLevel = \"debug\"\n");
    fs::create_directories(r.dir / "etc/eks-node/node.toml.d");
    fs::create_symlink("/dev/null", r.dir / "etc/eks-node/node.toml.d/10-image.toml");
    CHECK_FALSE(static_settings(r.paths()).contains("logLevel"));
    fs::remove(r.dir / "etc/eks-node/node.toml.d/10-image.toml");
    put(r, "run/eks-node/node.toml.d/10-image.toml", "");
    CHECK_FALSE(static_settings(r.paths()).contains("logLevel"));
}

TEST_CASE("user data sits between image defaults (10-*) and admin overrides (90-*)", "[resolve]") {
    TempRoot r;
    put(r, "sys/devices/system/cpu/online", "0-1\n");
    put(r, "etc/eks/kubelet-version.txt", "v1.29.0\n");
    put(r, "usr/lib/eks-node/node.toml.d/10-image.toml",
        "[cluster]\ncidr = \"10.200.0.0/16\"\n[kubelet.config]\nmaxPods = 20\n");
    put(r, "etc/eks-node/node.toml.d/90-admin.toml", "[kubelet.config]\nmaxPods = 30\n");
    json cfg = resolve_config({r.paths(), conformance_instance(), nodeconfig()});
    // the user data's cidr beats the image default...
    CHECK(cfg["spec"]["cluster"]["cidr"] == "10.100.0.0/16");
    CHECK(cfg["origins"]["/spec/cluster/cidr"] == "user data");
    // ...and the admin's fragment beats the user data
    CHECK(cfg["spec"]["kubelet"]["config"]["maxPods"] == 30);
    CHECK(cfg["derived"]["maxPods"] == 30);
    CHECK(cfg["schemaVersion"] == 1);
    CHECK(cfg["instance"]["instanceId"] == "i-1234567890abcdef0");
}

TEST_CASE("an admin can replace or mask user data by its slot name", "[resolve]") {
    TempRoot r;
    put(r, "sys/devices/system/cpu/online", "0-1\n");
    put(r, "etc/eks/kubelet-version.txt", "v1.29.0\n");
    fs::create_directories(r.dir / "etc/eks-node/node.toml.d");
    fs::create_symlink("/dev/null", r.dir / "etc/eks-node/node.toml.d/50-user-data.toml");
    // user data masked: the required cluster fields are missing now
    CHECK_THROWS_AS(resolve_config({r.paths(), conformance_instance(), nodeconfig()}), ConfigError);
}

TEST_CASE("nodeadm.d NodeConfig files merge after user data, by name, and win over it", "[resolve]") {
    TempRoot r;
    put(r, "sys/devices/system/cpu/online", "0-1\n");
    put(r, "etc/eks/kubelet-version.txt", "v1.29.0\n");
    const std::string head = "apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n";
    put(r, "etc/eks/nodeadm.d/20-pods.yaml", head + "  kubelet:\n    config:\n      maxPods: 42\n");
    put(r, "etc/eks/nodeadm.d/10-first.yml", head + "  kubelet:\n    config:\n      maxPods: 7\n");
    put(r, "etc/eks/nodeadm.d/30-cidr.json",
        R"({"apiVersion": "node.eks.aws/v1alpha1", "kind": "NodeConfig", "spec": {"cluster": {"cidr": "10.44.0.0/16"}}})");
    put(r, "etc/eks/nodeadm.d/40-skipped.txt", "not a NodeConfig file");
    put(r, "etc/eks/nodeadm.d/.50-hidden.yaml", "{");
    put(r, "etc/eks-node/node.toml.d/90-admin.toml", "[cluster]\ncidr = \"10.55.0.0/16\"\n");
    json cfg = resolve_config({r.paths(), conformance_instance(), nodeconfig()});
    // 20-pods.yaml beats 10-first.yml, and both beat user data
    CHECK(cfg["spec"]["kubelet"]["config"]["maxPods"] == 42);
    CHECK(cfg["origins"]["/spec/kubelet/config/maxPods"] == (r.dir / "etc/eks/nodeadm.d/20-pods.yaml").string());
    // user data's other fields stay
    CHECK(cfg["spec"]["cluster"]["name"] == "my-cluster");
    // an admin's 90-* TOML fragment still has the last word
    CHECK(cfg["spec"]["cluster"]["cidr"] == "10.55.0.0/16");
    fs::remove(r.dir / "etc/eks-node/node.toml.d/90-admin.toml");
    cfg = resolve_config({r.paths(), conformance_instance(), nodeconfig()});
    CHECK(cfg["spec"]["cluster"]["cidr"] == "10.44.0.0/16");
    CHECK(cfg["origins"]["/spec/cluster/cidr"] == (r.dir / "etc/eks/nodeadm.d/30-cidr.json").string());

    // a bad file is exit 6 naming that file and the field
    put(r, "etc/eks/nodeadm.d/25-bad.yaml", head + "  kubelet:\n    config:\n      maxPods: many\n");
    try {
        resolve_config({r.paths(), conformance_instance(), nodeconfig()});
        FAIL("no error");
    } catch (const ConfigError& e) {
        CHECK(e.exit_code() == 6);
        CHECK(e.source() == (r.dir / "etc/eks/nodeadm.d/25-bad.yaml").string());
        CHECK(e.field() == "spec.kubelet.config.maxPods");
    }
    // and so is one over the user data limit, read no further than it
    put(r, "etc/eks/nodeadm.d/25-bad.yaml", head + "#" + std::string(limits::user_data_bytes, 'x') + "\n");
    CHECK_THROWS_AS(resolve_config({r.paths(), conformance_instance(), nodeconfig()}), ConfigError);
}

TEST_CASE("invalid user data stops resolution with exit code 6", "[resolve]") {
    TempRoot r;
    put(r, "sys/devices/system/cpu/online", "0-1\n");
    std::string bad = nodeconfig();
    bad.replace(bad.find("10.100.0.0/16"), 13, "10.100.0.0/33");
    try {
        resolve_config({r.paths(), conformance_instance(), bad});
        FAIL("no error");
    } catch (const ConfigError& e) {
        CHECK(e.exit_code() == 6);
        CHECK(e.field() == "spec.cluster.cidr");
        CHECK(e.source() == "user data");
    }
}

TEST_CASE("static_settings_table: one settings table, layered, read with toml++ alone", "[resolve][imds]") {
    test::TempRoot r;
    r.write("/usr/lib/eks-node/node.toml.d/10-image.toml",
            "[settings.imds]\nendpoint = \"http://127.0.0.1:1\"\ndeadline = \"5s\"\n"
            "[spec.cluster]\ncidr = \"not checked here\"\n");
    r.write("/etc/eks-node/node.toml.d/90-admin.toml", "[settings.imds]\ndeadline = \"9s\"\n");
    // user data's slot is not static configuration
    r.write("/run/eks-node/node.toml.d/50-user-data.toml", "[settings.imds]\nendpointMode = \"ipv6\"\n");
    CHECK(static_settings_table(r.paths(), "imds") ==
          json{{"deadline", "9s"}, {"endpoint", "http://127.0.0.1:1"}});  // ordered_json: TOML tables iterate by key

    SECTION("a /dev/null symlink of the same name masks a lower file") {
        fs::create_directories(r.paths().of("/etc/eks-node/node.toml.d"));
        fs::create_symlink("/dev/null", r.paths().of("/etc/eks-node/node.toml.d/10-image.toml"));
        CHECK(static_settings_table(r.paths(), "imds") == json{{"deadline", "9s"}});
    }
    SECTION("a TOML syntax error names the file") {
        r.write("/etc/eks-node/node.toml.d/95-broken.toml", "[settings.imds\n");
        try {
            static_settings_table(r.paths(), "imds");
            FAIL("no error");
        } catch (const ConfigError& e) {
            CHECK_THAT(e.source(), Catch::Contains("95-broken.toml"));
            // the same words eks-node-config and the generator use for it (format/toml_json.cpp)
            CHECK_THAT(e.problem(), Catch::StartsWith("invalid TOML at line 1, column"));
        }
    }
    SECTION("an admin fragment nested past the limit names the file, as user data would") {
        std::string deep = "a";
        for (int i = 0; i < 40000; ++i) deep += ".a";  // overflowed toml++'s stack before the depth scan
        r.write("/etc/eks-node/node.toml.d/95-deep.toml", deep + " = 1\n");
        try {
            static_settings_table(r.paths(), "imds");
            FAIL("no error");
        } catch (const ConfigError& e) {
            CHECK_THAT(e.source(), Catch::Contains("95-deep.toml"));
            CHECK(e.problem() == "invalid TOML at line 1: nested deeper than 64 levels");
        }
    }
    SECTION("settings.imds that is not a table") {
        r.write("/etc/eks-node/node.toml.d/95-flat.toml", "[settings]\nimds = 3\n");
        CHECK_THROWS_AS(static_settings_table(r.paths(), "imds"), ConfigError);
    }
}

// --- the service CIDR of AL2 user data (settings.serviceCidrStrategy) ---------

namespace {

const std::string al2_endpoint = "https://ABCD.gr7.us-west-2.eks.amazonaws.com";

// A node with the machine facts resolve_config reads.
void machine(const TempRoot& r) {
    put(r, "sys/devices/system/cpu/online", "0-1\n");
    put(r, "etc/eks/kubelet-version.txt", "v1.29.0\n");
}

// The commonest AL2 user data: endpoint and CA, no CIDR, no DNS address.
std::string al2_script(const std::string& flags = "") {
    return "#!/bin/bash\nset -ex\n/etc/eks/bootstrap.sh my-cluster --b64-cluster-ca " + test::ca_base64() +
           " --apiserver-endpoint " + al2_endpoint + flags + "\n";
}

json instance_in_vpc(const std::vector<std::string>& cidrs) {
    json i = conformance_instance();
    i["vpcIpv4CidrBlocks"] = cidrs;
    return i;
}

// A DescribeCluster stub: counts its calls, then answers with `answer` or
// throws what `fail` throws. The EC2 lookups stay unset (the node name from
// IMDS, the ENI table).
struct FakeEks {
    int calls = 0;
    std::function<derive::ClusterDetails()> answer = [] {
        return derive::ClusterDetails{al2_endpoint, test::ca_base64(), "10.77.0.0/16", "ACTIVE"};
    };
    derive::ApiFactory factory() {
        return [this](const json&, const json&, const json&, const derive::MachineFacts&) {
            derive::ApiLookups api;
            api.describe_cluster = [this](const std::string&, const Origins&) {
                ++calls;
                return answer();
            };
            return api;
        };
    }
};

}  // namespace

TEST_CASE("AL2 user data with endpoint and CA: the CIDR from the VPC, EKS never asked", "[resolve][al2]") {
    TempRoot r;
    machine(r);
    FakeEks eks;
    SECTION("a VPC in 10.0.0.0/8: 172.20.0.0/16") {
        json cfg =
            resolve_config({r.paths(), instance_in_vpc({"10.0.0.0/16"}), al2_script(), "user data", eks.factory()});
        CHECK(eks.calls == 0);
        CHECK(cfg["spec"]["cluster"]["cidr"] == "172.20.0.0/16");
        CHECK(cfg["derived"]["clusterDNS"] == json::array({"172.20.0.10"}));
        CHECK(cfg["settings"]["serviceCidrStrategy"] == "vpc");
        CHECK(cfg["origins"]["/settings/serviceCidrStrategy"] == "user data (bootstrap.sh, line 3)");
        const std::string origin = cfg["origins"]["/spec/cluster/cidr"];
        CHECK_THAT(origin, Catch::Contains("AL2 bootstrap.sh's rule: VPC CIDR 10.0.0.0/16 lies in 10.0.0.0/8"));
        CHECK_THAT(origin, Catch::Contains("settings.serviceCidrStrategy = vpc from user data (bootstrap.sh, line 3)"));
        // clusterDNS's origin leads back to it
        CHECK_THAT(cfg["origins"]["/derived/clusterDNS"].get<std::string>(),
                   Catch::Contains("spec.cluster.cidr 172.20.0.0/16 (EKS's default service CIDR for this VPC"));
    }
    SECTION("any other VPC: 10.100.0.0/16") {
        json cfg = resolve_config({r.paths(), instance_in_vpc({"192.168.0.0/16", "100.64.0.0/16"}), al2_script(),
                                   "user data", eks.factory()});
        CHECK(eks.calls == 0);
        CHECK(cfg["derived"]["clusterDNS"] == json::array({"10.100.0.10"}));
    }
    SECTION("a CIDR another source sets wins, and EKS is still not asked") {
        put(r, "etc/eks-node/node.toml.d/90-admin.toml", "[cluster]\ncidr = \"10.55.0.0/16\"\n");
        json cfg =
            resolve_config({r.paths(), instance_in_vpc({"10.0.0.0/16"}), al2_script(), "user data", eks.factory()});
        CHECK(eks.calls == 0);
        CHECK(cfg["derived"]["clusterDNS"] == json::array({"10.55.0.10"}));
    }
    SECTION("no VPC CIDR in instance.json: exit 6 naming the strategy and why") {
        try {
            resolve_config({r.paths(), instance_in_vpc({}), al2_script(), "user data", eks.factory()});
            FAIL("no error");
        } catch (const ConfigError& e) {
            CHECK(e.source() == "user data (bootstrap.sh, line 3)");
            CHECK(e.field() == "spec.cluster.cidr");
            CHECK_THAT(e.problem(), Catch::Contains("settings.serviceCidrStrategy = vpc cannot derive it"));
            CHECK_THAT(e.problem(), Catch::Contains("vpc-ipv4-cidr-blocks"));
        }
        CHECK(eks.calls == 0);
    }
    SECTION("resolved offline (no AWS API), the same") {
        json cfg = resolve_config({r.paths(), instance_in_vpc({"10.0.0.0/16"}), al2_script()});
        CHECK(cfg["derived"]["clusterDNS"] == json::array({"172.20.0.10"}));
    }
}

TEST_CASE("AL2 user data that needs DescribeCluster anyway: its CIDR, else the VPC's", "[resolve][al2]") {
    TempRoot r;
    machine(r);
    FakeEks eks;
    // bootstrap.sh my-cluster, with the endpoint and CA baked into the image
    const std::string name_only = "#!/bin/bash\n/etc/eks/bootstrap.sh my-cluster\n";
    put(r, "usr/lib/eks-node/node.toml.d/10-image.toml",
        "[cluster]\napiServerEndpoint = \"" + al2_endpoint + "\"\ncertificateAuthority = \"" + test::ca_base64() +
            "\"\n");
    const json instance = instance_in_vpc({"10.0.0.0/16"});
    SECTION("EKS answers: its CIDR") {
        json cfg = resolve_config({r.paths(), instance, name_only, "user data", eks.factory()});
        CHECK(eks.calls == 1);
        CHECK(cfg["spec"]["cluster"]["cidr"] == "10.77.0.0/16");
        CHECK(cfg["origins"]["/spec/cluster/cidr"] == "eks:DescribeCluster");
    }
    SECTION("the call is refused: AL2's rule, with a warning saying so") {
        eks.answer = []() -> derive::ClusterDetails {
            throw AccessDeniedError("user data (bootstrap.sh, line 2)", "spec.apiServerEndpoint",
                                    "eks:DescribeCluster was refused: AccessDeniedException (HTTP 403)");
        };
        json cfg = resolve_config({r.paths(), instance, name_only, "user data", eks.factory()});
        CHECK(eks.calls == 1);
        CHECK(cfg["derived"]["clusterDNS"] == json::array({"172.20.0.10"}));
        const std::string origin = cfg["origins"]["/spec/cluster/cidr"];
        CHECK_THAT(origin, Catch::Contains("AL2 bootstrap.sh's rule: VPC CIDR 10.0.0.0/16 lies in 10.0.0.0/8"));
        CHECK_THAT(origin, Catch::EndsWith("settings.serviceCidrStrategy = describe-cluster-or-vpc from user data "
                                           "(bootstrap.sh, line 2), as eks:DescribeCluster could not be asked"));
    }
    SECTION("no credentials, or EKS unreachable until the deadline: the same") {
        eks.answer = []() -> derive::ClusterDetails { throw NoCredentialsError("", "", "no AWS credentials"); };
        CHECK(resolve_config({r.paths(), instance, name_only, "user data", eks.factory()})["derived"]["clusterDNS"] ==
              json::array({"172.20.0.10"}));
        eks.answer = []() -> derive::ClusterDetails { throw TempError("gave up at the deadline"); };
        CHECK(resolve_config({r.paths(), instance, name_only, "user data", eks.factory()})["derived"]["clusterDNS"] ==
              json::array({"172.20.0.10"}));
    }
    SECTION("an answer without a CIDR: AL2's rule") {
        eks.answer = [] { return derive::ClusterDetails{al2_endpoint, test::ca_base64(), "", "ACTIVE"}; };
        json cfg = resolve_config({r.paths(), instance, name_only, "user data", eks.factory()});
        CHECK_THAT(cfg["origins"]["/spec/cluster/cidr"].get<std::string>(),
                   Catch::EndsWith("as eks:DescribeCluster gave none"));
    }
    SECTION("no such cluster is not papered over") {
        eks.answer = []() -> derive::ClusterDetails {
            throw ConfigError("user data", "spec.apiServerEndpoint", "ResourceNotFoundException");
        };
        CHECK_THROWS_WITH(resolve_config({r.paths(), instance, name_only, "user data", eks.factory()}),
                          Catch::Contains("ResourceNotFoundException"));
    }
    SECTION("the endpoint itself missing: a refusal stays an error, nothing to fall back on") {
        fs::remove(r.dir / "usr/lib/eks-node/node.toml.d/10-image.toml");
        eks.answer = []() -> derive::ClusterDetails {
            throw AccessDeniedError("user data", "spec.apiServerEndpoint", "eks:DescribeCluster was refused");
        };
        try {
            resolve_config({r.paths(), instance, name_only, "user data", eks.factory()});
            FAIL("no error");
        } catch (const ConfigError& e) {
            CHECK(e.field() == "spec.cluster.apiServerEndpoint");
            CHECK_THAT(e.problem(), Catch::Contains("eks:DescribeCluster could not supply it"));
        }
    }
}

TEST_CASE("NodeConfig and TOML without a CIDR keep asking DescribeCluster, and fail when it cannot tell",
          "[resolve][al2]") {
    TempRoot r;
    machine(r);
    FakeEks eks;
    const std::string toml = "[cluster]\nname = \"my-cluster\"\napiServerEndpoint = \"" + al2_endpoint +
                             "\"\ncertificateAuthority = \"" + test::ca_base64() + "\"\n";
    const json instance = instance_in_vpc({"10.0.0.0/16"});
    json cfg = resolve_config({r.paths(), instance, toml, "user data", eks.factory()});
    CHECK(eks.calls == 1);
    CHECK(cfg["spec"]["cluster"]["cidr"] == "10.77.0.0/16");
    eks.answer = []() -> derive::ClusterDetails {
        throw AccessDeniedError("user data", "spec.apiServerEndpoint", "eks:DescribeCluster was refused");
    };
    CHECK_THROWS_WITH(resolve_config({r.paths(), instance, toml, "user data", eks.factory()}),
                      Catch::Contains("spec.cluster.cidr: required, but no source sets it; eks:DescribeCluster "
                                      "could not supply it"));
    // an admin may choose AL2's rule for it
    put(r, "etc/eks-node/node.toml.d/90-admin.toml", "[settings]\nserviceCidrStrategy = \"describe-cluster-or-vpc\"\n");
    cfg = resolve_config({r.paths(), instance, toml, "user data", eks.factory()});
    CHECK(cfg["derived"]["clusterDNS"] == json::array({"172.20.0.10"}));
}

TEST_CASE("an ECS node resolves no EKS cluster: settings.ecs from user data, derived empty", "[resolve][ecs]") {
    TempRoot r;
    put(r, "sys/devices/system/cpu/online", "0-1\n");
    put(r, "usr/lib/eks-node/node.toml.d/10-ecs.toml", "[settings]\nnode = \"ecs\"\n");
    const std::string user_data = "[settings.ecs]\ncluster = \"batch\"\n[settings.ecs.attributes]\nstack = \"prod\"\n";
    json cfg = resolve_config({r.paths(), conformance_instance(), user_data});
    CHECK(cfg["settings"]["node"] == "ecs");
    CHECK(cfg["settings"]["ecs"]["cluster"] == "batch");
    CHECK(cfg["origins"]["/settings/ecs/cluster"] == "user data");
    CHECK(cfg["derived"] == json::object());
    CHECK_FALSE(cfg["spec"].contains("cluster"));
    // the same user data on an EKS node still needs its cluster
    fs::remove(r.dir / "usr/lib/eks-node/node.toml.d/10-ecs.toml");
    CHECK_THROWS_AS(resolve_config({r.paths(), conformance_instance(), user_data}), ConfigError);
}

TEST_CASE("user data cannot choose the node kind, even to repeat the image's", "[resolve][ecs]") {
    TempRoot r;
    put(r, "usr/lib/eks-node/node.toml.d/10-ecs.toml", "[settings]\nnode = \"ecs\"\n");
    try {
        resolve_config({r.paths(), conformance_instance(), "[settings]\nnode = \"ecs\"\n"});
        FAIL("no error");
    } catch (const ConfigError& e) {
        CHECK(e.field() == "settings.node");
        CHECK(e.source() == "user data");
    }
    // an admin's file in the user data slot is static configuration: accepted
    put(r, "etc/eks-node/node.toml.d/50-user-data.toml", "[settings]\nnode = \"ecs\"\n");
    CHECK(resolve_config({r.paths(), conformance_instance(), "[settings]\nnode = \"ecs\"\n"})["settings"]["node"] ==
          "ecs");
}
