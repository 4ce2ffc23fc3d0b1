#include <catch2/catch.hpp>

#include <cstdlib>
#include <unistd.h>

#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "resolve/resolve.hpp"

using namespace eksnode;

namespace {

struct TempRoot {
    fs::path dir;
    TempRoot() {
        char tmpl[] = "/tmp/eksnode-resolve-XXXXXX";
        dir = ::mkdtemp(tmpl);
    }
    ~TempRoot() { fs::remove_all(dir); }
    void put(const std::string& rel, const std::string& text) const { write_file_atomic(dir / rel, text, 0644); }
    Paths paths() const { return Paths(dir); }
};

std::string source_root() { return EKS_NODE_SOURCE_ROOT; }

json conformance_instance() {
    return json::parse(R"({
      "instanceId": "i-1234567890abcdef0", "instanceType": "m4.xlarge", "region": "us-west-2",
      "availabilityZone": "us-west-2f", "partition": "aws", "domain": "amazonaws.com",
      "mac": "0e:49:61:0f:c3:11", "localIpv4": "172.16.34.43", "ipv6s": [],
      "localHostname": "ip-172-16-34-43.ec2.internal", "hostname": "ip-172-16-34-43.ec2.internal",
      "vpcIpv4CidrBlocks": ["172.16.0.0/16"], "imdsEndpoint": "http://127.0.0.1", "userData": true})");
}

std::string nodeconfig() { return read_file(source_root() + "/tests/conformance/03-kubeconfig/nodeconfig.yaml"); }

}  // namespace

TEST_CASE("fragments sort by name across the three directories; /etc hides /run hides /usr/lib",
          "[resolve]") {
    TempRoot r;
    r.put("usr/lib/eks-node/node.toml.d/10-image.toml", "[settings]\nlogLevel = \"info\"\n");
    r.put("usr/lib/eks-node/node.toml.d/20-same.toml", "[settings]\nlogLevel = \"debug\"\n");
    r.put("run/eks-node/node.toml.d/20-same.toml", "[settings]\nlogLevel = \"notice\"\n");
    r.put("etc/eks-node/node.toml.d/20-same.toml", "[settings]\nlogLevel = \"warning\"\n");
    r.put("etc/eks-node/node.toml.d/90-admin.toml", "[settings]\nenable = true\n");
    r.put("etc/eks-node/node.toml.d/README", "not a fragment");
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
    r.put("usr/lib/eks-node/node.toml.d/10-image.toml", "[settings]\nlogLevel = \"debug\"\n");
    fs::create_directories(r.dir / "etc/eks-node/node.toml.d");
    fs::create_symlink("/dev/null", r.dir / "etc/eks-node/node.toml.d/10-image.toml");
    CHECK_FALSE(static_settings(r.paths()).contains("logLevel"));
    fs::remove(r.dir / "etc/eks-node/node.toml.d/10-image.toml");
    r.put("run/eks-node/node.toml.d/10-image.toml", "");
    CHECK_FALSE(static_settings(r.paths()).contains("logLevel"));
}

TEST_CASE("user data sits between image defaults (10-*) and admin overrides (90-*)", "[resolve]") {
    TempRoot r;
    r.put("sys/devices/system/cpu/online", "0-1\n");
    r.put("etc/eks/kubelet-version.txt", "v1.29.0\n");
    r.put("usr/lib/eks-node/node.toml.d/10-image.toml",
          "[cluster]\ncidr = \"10.200.0.0/16\"\n[kubelet.config]\nmaxPods = 20\n");
    r.put("etc/eks-node/node.toml.d/90-admin.toml", "[kubelet.config]\nmaxPods = 30\n");
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
    r.put("sys/devices/system/cpu/online", "0-1\n");
    r.put("etc/eks/kubelet-version.txt", "v1.29.0\n");
    fs::create_directories(r.dir / "etc/eks-node/node.toml.d");
    fs::create_symlink("/dev/null", r.dir / "etc/eks-node/node.toml.d/50-user-data.toml");
    // user data masked: the required cluster fields are missing now
    CHECK_THROWS_AS(resolve_config({r.paths(), conformance_instance(), nodeconfig()}), ConfigError);
}

TEST_CASE("invalid user data stops resolution with exit code 6", "[resolve]") {
    TempRoot r;
    r.put("sys/devices/system/cpu/online", "0-1\n");
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
