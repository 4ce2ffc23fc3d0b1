#include <catch2/catch.hpp>

#include "config/sources.hpp"
#include "core/error.hpp"
#include "support.hpp"

using namespace eksnode;

TEST_CASE("eks-node.toml maps to the NodeConfig spec and [settings]", "[config][toml]") {
    Fragment f = fragment_from_toml(R"(
[cluster]
name = "my-cluster"
apiServerEndpoint = "https://example.com"
cidr = "10.100.0.0/16"
enableOutpost = false

[kubelet]
flags = ["--v=2"]
maxPodsExpression = "default_enis * 2"

[kubelet.config]
maxPods = 110
evictionHard = { "memory.available" = "100Mi" }

[containerd.config.plugins."io.containerd.grpc.v1.cri"]
enable_cdi = true

[containerd.baseRuntimeSpec.process.rlimits]
nofile = 1024

[instance.localStorage]
strategy = "RAID0"
disabledMounts = ["PodLogs"]

[instance.environment.default]
HTTP_PROXY = "http://proxy:3128"

[instance.network]
nameservers = ["10.0.0.2"]

[featureGates]
InstanceIdNodeName = true

[settings]
enable = true
logLevel = "debug"

[settings.imds]
deadline = "90s"
requestTimeout = 5

[settings.maxPods]
default = 110
)",
                                    "/etc/eks-node/node.toml.d/10-image.toml");
    CHECK(f.source == "/etc/eks-node/node.toml.d/10-image.toml");
    CHECK(f.spec == json::parse(R"({
        "cluster": {"apiServerEndpoint": "https://example.com", "cidr": "10.100.0.0/16", "enableOutpost": false,
                    "name": "my-cluster"},
        "containerd": {"baseRuntimeSpec": {"process": {"rlimits": {"nofile": 1024}}},
                       "config": {"plugins": {"io.containerd.grpc.v1.cri": {"enable_cdi": true}}}},
        "featureGates": {"InstanceIdNodeName": true},
        "instance": {"environment": {"default": {"HTTP_PROXY": "http://proxy:3128"}},
                     "localStorage": {"disabledMounts": ["PodLogs"], "strategy": "RAID0"},
                     "network": {"nameservers": ["10.0.0.2"]}},
        "kubelet": {"config": {"evictionHard": {"memory.available": "100Mi"}, "maxPods": 110},
                    "flags": ["--v=2"], "maxPodsExpression": "default_enis * 2"}
    })"));
    CHECK(f.settings == json::parse(R"({
        "enable": true, "imds": {"deadline": "90s", "requestTimeout": 5}, "logLevel": "debug",
        "maxPods": {"default": 110}})"));
    CHECK_NOTHROW(validate_fragment(f));
}

TEST_CASE("containerd.config may be TOML text in eks-node.toml too", "[config][toml]") {
    Fragment table = fragment_from_toml("[containerd.config]\nversion = 2\n", "t");
    Fragment text = fragment_from_toml("[containerd]\nconfig = '''\nversion = 2\n'''\n", "t");
    CHECK(table.spec == text.spec);
    CHECK(text.spec["containerd"]["config"]["version"] == 2);
}

TEST_CASE("TOML values become JSON values", "[config][toml]") {
    Fragment f = fragment_from_toml(R"(
[kubelet.config]
int = -3
float = 2.5
bool = false
date = 2026-11-21
time = 07:32:00
datetime = 2026-11-21T07:32:00Z
local = 2026-11-21T07:32:00
list = [[1, 2], ["a"]]
tables = [{ a = 1 }, { b = 2 }]
)",
                                    "t");
    CHECK(f.spec["kubelet"]["config"] == json::parse(R"({
        "bool": false, "date": "2026-11-21", "datetime": "2026-11-21T07:32:00Z", "float": 2.5, "int": -3,
        "list": [[1, 2], ["a"]], "local": "2026-11-21T07:32:00", "tables": [{"a": 1}, {"b": 2}], "time": "07:32:00"})"));
}

TEST_CASE("TOML errors give the line and column", "[config][toml]") {
    try {
        fragment_from_toml("[cluster]\nname = \n", "/etc/eks-node/node.toml.d/10-x.toml");
        FAIL("accepted");
    } catch (const ConfigError& e) {
        CHECK(e.source() == "/etc/eks-node/node.toml.d/10-x.toml");
        CHECK(e.field().empty());
        CHECK(e.problem() ==
              "invalid TOML at line 2, column 8: Error while parsing key-value pair: expected value, saw '\\n'");
    }
    CHECK_THROWS_WITH(fragment_from_toml("[kubelet.config]\nx = nan\n", "t"),
                      "t: spec.kubelet.config.x: infinite and NaN numbers have no JSON form");
    CHECK_THROWS_WITH(fragment_from_toml("[containerd]\nconfig = \"version = \"\n", "t"),
                      Catch::StartsWith("t: spec.containerd.config: invalid TOML at line 1, column 11"));
}

TEST_CASE("unknown TOML tables are unknown spec fields", "[config][toml]") {
    Fragment f = fragment_from_toml("[clsuter]\nname = \"x\"\n", "t");
    CHECK_THROWS_WITH(validate_fragment(f),
                      Catch::StartsWith("t: spec.clsuter: unknown field (known fields: cluster,"));
    Fragment s = fragment_from_toml("[settings]\nloglevel = \"debug\"\n", "t");
    CHECK_THROWS_WITH(validate_fragment(s), Catch::StartsWith("t: settings.loglevel: unknown field"));
}
