// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include "config/merge.hpp"
#include "config/validate.hpp"
#include "input/sources.hpp"
#include "support.hpp"

using namespace eksnode;
using namespace eksnode::config;
using namespace eksnode::format;
using namespace eksnode::input;

namespace {

struct Merged {
    json spec = json::object();
    json settings = json::object();
    Origins origins;

    Merged& add(const input::Fragment& f) {
        merge_fragment(spec, settings, f, origins);
        return *this;
    }
};

input::Fragment fragment(std::string source, std::string_view spec, std::string_view settings = "{}") {
    return {std::move(source), json::parse(spec), json::parse(settings)};
}

}  // namespace

TEST_CASE("kubelet flags append across MIME parts, in order", "[config][merge]") {
    std::string ud =
        "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n\n"
        "--B\nContent-Type: application/node.eks.aws\n\n" +
        test::nodeconfig_yaml("  kubelet:\n    flags: [--v=2, --node-labels=a=b]\n") +
        "--B\nContent-Type: application/node.eks.aws\n\n"
        "apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  kubelet:\n    flags: [--v=5, "
        "--node-labels=c=d]\n"
        "--B--\n";
    Merged m;
    for (const input::Fragment& f : fragments_from_user_data(ud)) {
        validate_fragment(f);
        m.add(f);
    }
    CHECK(m.spec["kubelet"]["flags"] == json({"--v=2", "--node-labels=a=b", "--v=5", "--node-labels=c=d"}));
    CHECK(m.origins.at("/spec/kubelet/flags/1") == "user data (MIME part 1, application/node.eks.aws)");
    CHECK(m.origins.at("/spec/kubelet/flags/2") == "user data (MIME part 2, application/node.eks.aws)");
    CHECK(m.origins.at("/spec/cluster/cidr") == "user data (MIME part 1, application/node.eks.aws)");
    CHECK_NOTHROW(validate_merged(m.spec, m.settings, m.origins));
}

TEST_CASE("later sources win; objects deep-merge; other lists replace", "[config][merge]") {
    Merged m;
    m.add(fragment("a", R"({"cluster": {"name": "one", "cidr": "10.100.0.0/16"},
                            "kubelet": {"config": {"maxPods": 110, "logging": {"verbosity": 2, "format": "text"},
                                                   "clusterDNS": ["10.100.0.10", "10.100.0.11"]}},
                            "instance": {"network": {"nameservers": ["10.0.0.2", "10.0.0.3"]},
                                         "environment": {"default": {"A": "1", "B": "2"}}},
                            "featureGates": {"FastImagePull": true}})",
                   R"({"imds": {"deadline": "90s", "requestTimeout": 5}})"));
    m.add(fragment("b", R"({"cluster": {"name": "two"},
                            "kubelet": {"config": {"logging": {"verbosity": 5}, "clusterDNS": ["1.1.1.1"]}},
                            "instance": {"network": {"nameservers": ["10.0.0.9"]}, "environment": {"default": {"B": "3"}}},
                            "featureGates": {"InstanceIdNodeName": true}})",
                   R"({"imds": {"deadline": "2m"}})"));
    CHECK(m.spec == json::parse(R"({"cluster": {"name": "two", "cidr": "10.100.0.0/16"},
                            "kubelet": {"config": {"maxPods": 110, "logging": {"verbosity": 5, "format": "text"},
                                                   "clusterDNS": ["1.1.1.1"]}},
                            "instance": {"network": {"nameservers": ["10.0.0.9"]},
                                         "environment": {"default": {"A": "1", "B": "3"}}},
                            "featureGates": {"FastImagePull": true, "InstanceIdNodeName": true}})"));
    CHECK(m.settings == json::parse(R"({"imds": {"deadline": "2m", "requestTimeout": 5}})"));
    CHECK(m.origins == Origins{
                           {"/spec/cluster/name", "b"},
                           {"/spec/cluster/cidr", "a"},
                           {"/spec/kubelet/config/maxPods", "a"},
                           {"/spec/kubelet/config/logging/verbosity", "b"},
                           {"/spec/kubelet/config/logging/format", "a"},
                           {"/spec/kubelet/config/clusterDNS/0", "b"},  // the replaced list's second entry is gone
                           {"/spec/instance/network/nameservers/0", "b"},
                           {"/spec/instance/environment/default/A", "a"},
                           {"/spec/instance/environment/default/B", "b"},
                           {"/spec/featureGates/FastImagePull", "a"},
                           {"/spec/featureGates/InstanceIdNodeName", "b"},
                           {"/settings/imds/deadline", "b"},
                           {"/settings/imds/requestTimeout", "a"},
                       });
}

TEST_CASE("containerd config and base runtime spec deep-merge", "[config][merge]") {
    Merged m;
    m.add(
        fragment_from_toml("[containerd.config.plugins.cri]\nenable_cdi = true\nsnapshotter = \"overlayfs\"\n"
                           "[containerd.baseRuntimeSpec.process]\nuser = { uid = 0 }\n",
                           "/usr/lib/eks-node/node.toml.d/10-image.toml"));
    m.add(
        fragments_from_nodeconfig("apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  containerd:\n"
                                  "    config: |\n      [plugins.cri]\n      snapshotter = \"soci\"\n"
                                  "    baseRuntimeSpec: {process: {noNewPrivileges: true}}\n",
                                  "user data")[0]);
    CHECK(m.spec["containerd"] == json::parse(R"({
        "baseRuntimeSpec": {"process": {"user": {"uid": 0}, "noNewPrivileges": true}},
        "config": {"plugins": {"cri": {"enable_cdi": true, "snapshotter": "soci"}}}})"));
    CHECK(m.origins.at("/spec/containerd/config/plugins/cri/enable_cdi") ==
          "/usr/lib/eks-node/node.toml.d/10-image.toml");
    CHECK(m.origins.at("/spec/containerd/config/plugins/cri/snapshotter") == "user data");
}

TEST_CASE("origins: keys are escaped, empty containers recorded, replaced subtrees forgotten", "[config][merge]") {
    Merged m;
    m.add(fragment("a", R"({"kubelet": {"config": {"nodeLabels": {"kubernetes.io/os": "linux", "a~b": "x"},
                                                   "evictionHard": {}}}})"));
    CHECK(m.origins.at("/spec/kubelet/config/nodeLabels/kubernetes.io~1os") == "a");
    CHECK(m.origins.at("/spec/kubelet/config/nodeLabels/a~0b") == "a");
    CHECK(m.origins.at("/spec/kubelet/config/evictionHard") == "a");

    m.add(fragment(
        "b", R"({"kubelet": {"config": {"nodeLabels": "replaced", "evictionHard": {"memory.available": "5%"}}}})"));
    CHECK(m.origins == Origins{{"/spec/kubelet/config/nodeLabels", "b"},
                               {"/spec/kubelet/config/evictionHard/memory.available", "b"}});
}

TEST_CASE("flags appended to an empty list take over its origin", "[config][merge]") {
    Merged m;
    m.add(fragment("a", R"({"kubelet": {"flags": []}})"));
    m.add(fragment("b", R"({"kubelet": {"flags": ["--v=2"]}})"));
    m.add(fragment("c", R"({"kubelet": {"flags": ["--v=3"]}})"));
    CHECK(m.spec["kubelet"]["flags"] == json({"--v=2", "--v=3"}));
    CHECK(m.origins == Origins{{"/spec/kubelet/flags/0", "b"}, {"/spec/kubelet/flags/1", "c"}});
}
