// SPDX-License-Identifier: Apache-2.0
// eks-node-config on NodeConfig fields it does not know: ignored as nodeadm
// ignores them, in user data (YAML, JSON, MIME) and /etc/eks/nodeadm.d, each
// recorded in config.json's "warnings"; refused with settings.strict from
// any TOML source.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>

#include "../config/support.hpp"
#include "config/merge.hpp"
#include "core/error.hpp"
#include "fixtures.hpp"
#include "input/fragments.hpp"
#include "input/sources.hpp"
#include "resolve/resolve.hpp"

using namespace eksnode;
using eksnode::resolve::resolve_config;

namespace {

using test::conformance_instance;
using test::TempRoot;

const std::string head = "apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n";

// A node root with the machine facts resolve_config() reads.
void node_with_kubelet_1_34(const TempRoot& r) {
    r.write("/sys/devices/system/cpu/online", "0-1\n");
    r.write("/etc/eks/kubelet-version.txt", "v1.34.0\n");
}

std::string mime(const std::vector<std::pair<std::string, std::string>>& parts) {
    std::string out = "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"BOUNDARY\"\n\n";
    for (const auto& [type, body] : parts) out += "--BOUNDARY\nContent-Type: " + type + "\n\n" + body + "\n";
    return out + "--BOUNDARY--\n";
}

std::vector<std::string> fields_of(const json& cfg) {
    std::vector<std::string> out;
    for (const json& w : cfg.value("warnings", json::array())) out.push_back(w["field"].get<std::string>());
    return out;
}

// The ConfigError resolving gives, or "" when it resolves.
std::string refusal(const TempRoot& r, const std::string& user_data) {
    try {
        resolve_config({r.paths(), conformance_instance(), user_data});
    } catch (const ConfigError& e) {
        CHECK(e.exit_code() == 6);
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("a merged MIME user data: part 1's unknown fields are ignored, part 2's values render",
          "[resolve][unknown-fields]") {
    TempRoot r;
    node_with_kubelet_1_34(r);
    // Karpenter's shape: the user's own NodeConfig in front of the generated one
    const std::string user_part = head +
                                  "  cluster:\n    name: placeholder\n    nmae: my-cluster\n"
                                  "  kubelet:\n    maxPodsExpresion: max_pods * 2\n    config:\n      maxPods: 10\n"
                                  "  instance:\n    localStorage:\n      strategey: RAID0\n"
                                  "  featureGates:\n    InstanceIDNodeName: true\n";
    const std::string generated = test::nodeconfig_yaml("  kubelet:\n    config:\n      maxPods: 42\n");
    json cfg =
        resolve_config({r.paths(), conformance_instance(),
                        mime({{"application/node.eks.aws", user_part}, {"application/node.eks.aws", generated}})});
    CHECK(cfg["spec"]["cluster"]["name"] == "my-cluster");
    CHECK(cfg["origins"]["/spec/cluster/name"] == "user data (MIME part 2, application/node.eks.aws)");
    CHECK(cfg["spec"]["kubelet"]["config"]["maxPods"] == 42);
    CHECK(cfg["derived"]["maxPods"] == 42);
    CHECK_FALSE(cfg["spec"]["kubelet"].contains("maxPodsExpresion"));
    CHECK(cfg["spec"]["featureGates"] == json::object());  // its only gate was unknown
    CHECK(cfg["spec"]["instance"]["localStorage"] == json::object());
    // the node name: the unknown gate did not turn InstanceIdNodeName on
    CHECK(cfg["derived"]["nodeName"] != conformance_instance()["instanceId"]);
    CHECK(fields_of(cfg) == std::vector<std::string>{"spec.cluster.nmae", "spec.kubelet.maxPodsExpresion",
                                                     "spec.instance.localStorage.strategey",
                                                     "spec.featureGates.InstanceIDNodeName"});
    for (const json& w : cfg["warnings"]) CHECK(w["source"] == "user data (MIME part 1, application/node.eks.aws)");
    CHECK(cfg["warnings"][0]["nearest"] == "name");
    CHECK(cfg["warnings"][1]["nearest"] == "maxPodsExpression");
    CHECK(cfg["warnings"][2]["nearest"] == "strategy");
    CHECK(cfg["warnings"][3]["nearest"] == "InstanceIdNodeName");
    // no value of an ignored field reaches config.json
    CHECK(cfg.dump().find("max_pods * 2") == std::string::npos);
    // the same user data under settings.strict: the first of them, exit 6
    r.write("/etc/eks-node/node.toml.d/90-strict.toml", "[settings]\nstrict = true\n");
    CHECK(refusal(r, mime({{"application/node.eks.aws", user_part}, {"application/node.eks.aws", generated}})) ==
          "user data (MIME part 1, application/node.eks.aws): spec.cluster.nmae: unknown field (known fields: "
          "name, apiServerEndpoint, certificateAuthority, cidr, enableOutpost, id); settings.strict = true refuses "
          "what nodeadm would ignore");
}

TEST_CASE("unknown fields in YAML, JSON and nodeadm.d are ignored with their source", "[resolve][unknown-fields]") {
    TempRoot r;
    node_with_kubelet_1_34(r);
    const std::string yaml = test::nodeconfig_yaml("  containerd:\n    configs: x\n");
    json cfg = resolve_config({r.paths(), conformance_instance(), yaml});
    CHECK(fields_of(cfg) == std::vector<std::string>{"spec.containerd.configs"});
    CHECK(cfg["warnings"][0]["source"] == "user data");

    json doc = test::nodeconfig_document();
    doc["spec"]["instance"]["network"]["nameserver"] = json::array({"10.0.0.2"});
    doc["metadata"] = {{"name", "n"}};
    doc["kindd"] = "x";
    r.write("/etc/eks/nodeadm.d/20-extra.yaml", head + "  kubelet:\n    flagz: [--v=4]\n");
    cfg = resolve_config({r.paths(), conformance_instance(), doc.dump()});
    CHECK(fields_of(cfg) ==
          std::vector<std::string>{"kindd", "spec.instance.network.nameserver", "spec.kubelet.flagz"});
    CHECK(cfg["warnings"][0]["source"] == "user data");
    CHECK(cfg["warnings"][2]["source"] == (r.dir / "etc/eks/nodeadm.d/20-extra.yaml").string());
    CHECK(cfg["warnings"][2]["nearest"] == "flags");
    // nothing ignored: no "warnings" at all, config.json as it always was
    fs::remove(r.dir / "etc/eks/nodeadm.d/20-extra.yaml");
    CHECK_FALSE(resolve_config({r.paths(), conformance_instance(), test::nodeconfig_yaml()}).contains("warnings"));
}

TEST_CASE("settings.strict from the image, an admin or the user data's TOML refuses them",
          "[resolve][unknown-fields]") {
    const std::string typo = test::nodeconfig_yaml("  featureGates:\n    FastImagePul: true\n");
    const std::string refused =
        "spec.featureGates.FastImagePul: not a feature gate eks-node knows (InstanceIdNodeName, FastImagePull, OSManagedNoManageENIs); "
        "settings.strict = true refuses what nodeadm would ignore";
    SECTION("the image's fragment") {
        TempRoot r;
        node_with_kubelet_1_34(r);
        r.write("/usr/lib/eks-node/node.toml.d/10-image.toml", "[settings]\nstrict = true\n");
        CHECK(refusal(r, typo) == "user data: " + refused);
        // a nodeadm.d file the image bakes in is held to it too
        r.write("/etc/eks/nodeadm.d/10-x.json",
                R"({"apiVersion": "node.eks.aws/v1alpha1", "kind": "NodeConfig", "spec": {"clusterr": {}}})");
        CHECK_THAT(
            refusal(r, test::nodeconfig_yaml()),
            Catch::StartsWith((r.dir / "etc/eks/nodeadm.d/10-x.json").string() + ": spec.clusterr: unknown field"));
    }
    SECTION("an admin's fragment, over the user data's false") {
        TempRoot r;
        node_with_kubelet_1_34(r);
        r.write("/etc/eks-node/node.toml.d/90-admin.toml", "[settings]\nstrict = true\n");
        CHECK(refusal(r, mime({{"application/vnd.eks-node+toml", "[settings]\nstrict = false\n"},
                               {"application/node.eks.aws", typo}})) ==
              "user data (MIME part 2, application/node.eks.aws): " + refused);
    }
    SECTION("the user data's own TOML part, over the image's false") {
        TempRoot r;
        node_with_kubelet_1_34(r);
        r.write("/usr/lib/eks-node/node.toml.d/10-image.toml", "[settings]\nstrict = false\n");
        CHECK(refusal(r, mime({{"application/node.eks.aws", typo},
                               {"application/vnd.eks-node+toml", "[settings]\nstrict = true\n"}})) ==
              "user data (MIME part 1, application/node.eks.aws): " + refused);
        // and false there lets it through, with its warning
        json cfg = resolve_config({r.paths(), conformance_instance(),
                                   mime({{"application/node.eks.aws", typo},
                                         {"application/vnd.eks-node+toml", "[settings]\nstrict = false\n"}})});
        CHECK(fields_of(cfg) == std::vector<std::string>{"spec.featureGates.FastImagePul"});
    }
}

TEST_CASE("an ECS node's config.json records the warnings too", "[resolve][unknown-fields][ecs]") {
    TempRoot r;
    node_with_kubelet_1_34(r);
    r.write("/usr/lib/eks-node/node.toml.d/10-ecs.toml", "[settings]\nnode = \"ecs\"\n");
    json cfg = resolve_config({r.paths(), conformance_instance(), head + "  instance:\n    environmnet: {}\n"});
    CHECK(fields_of(cfg) == std::vector<std::string>{"spec.instance.environmnet"});
}

TEST_CASE("settings_with_user_data: the user data's fragments in the slot, between 10-* and 90-*",
          "[resolve][unknown-fields]") {
    TempRoot r;
    const std::vector<input::Fragment> user_data = {input::fragment_from_toml("[settings]\nstrict = true\n", "ud")};
    r.write("/usr/lib/eks-node/node.toml.d/10-image.toml", "[settings]\nstrict = false\nlogLevel = \"debug\"\n");
    CHECK(input::strict(config::settings_with_user_data(r.paths(), user_data)));
    CHECK(config::settings_with_user_data(r.paths(), user_data)["logLevel"] == "debug");
    r.write("/etc/eks-node/node.toml.d/90-admin.toml", "[settings]\nstrict = false\n");
    CHECK_FALSE(input::strict(config::settings_with_user_data(r.paths(), user_data)));
    CHECK(input::strict(config::settings_with_user_data(r.paths(), {})) == false);
}

// spec.kubelet.config's keys against the node's kubelet (resolve::kubelet_field_warnings,
// derive/kubelet_fields.hpp): passed through as nodeadm passes them, with a warning naming
// the source, or refused under settings.strict.
namespace {

std::vector<json> kubelet_warnings_of(const json& cfg) {
    std::vector<json> out;
    for (const json& w : cfg.value("warnings", json::array()))
        if (w.value("kind", "") == "kubeletField") out.push_back(w);
    return out;
}

}  // namespace

TEST_CASE("a kubelet.config typo is warned with its source and passed through", "[resolve][kubelet-fields]") {
    TempRoot r;
    node_with_kubelet_1_34(r);  // kubelet 1.34
    r.write("/etc/eks-node/node.toml.d/60-admin.toml", "[kubelet.config]\nimageGCHighThresholdPercnt = 85\n");
    json cfg = resolve_config(
        {r.paths(), conformance_instance(),
         test::nodeconfig_yaml("  kubelet:\n    config:\n      evictionHardd:\n        memory.available: 5%\n")});
    std::vector<json> w = kubelet_warnings_of(cfg);
    REQUIRE(w.size() == 2);
    CHECK(w[0]["source"] == "user data");
    CHECK(w[0]["field"] == "spec.kubelet.config.evictionHardd");
    CHECK(w[0]["nearest"] == "evictionHard");
    CHECK(w[0]["message"] == "not a field of kubelet 1.34: did you mean evictionHard?");
    CHECK(w[1]["source"] == (r.dir / "etc/eks-node/node.toml.d/60-admin.toml").string());
    CHECK(w[1]["nearest"] == "imageGCHighThresholdPercent");
    // passed through: kubelet gets what the user wrote, as with nodeadm
    CHECK(cfg["spec"]["kubelet"]["config"]["evictionHardd"]["memory.available"] == "5%");
    // a kubelet.config without a stray key: no warnings at all
    std::filesystem::remove(r.dir / "etc/eks-node/node.toml.d/60-admin.toml");
    CHECK_FALSE(resolve_config({r.paths(), conformance_instance(),
                                test::nodeconfig_yaml("  kubelet:\n    config:\n      evictionHard:\n        "
                                                      "memory.available: 5%\n")})
                    .contains("warnings"));
}

TEST_CASE("a field of a newer kubelet is warned, and settings.strict refuses it naming field and source",
          "[resolve][kubelet-fields]") {
    TempRoot r;
    node_with_kubelet_1_34(r);
    r.write("/etc/eks/kubelet-version.txt", "v1.31.3-eks-abc\n");
    const std::string user_data = test::nodeconfig_yaml(
        "  kubelet:\n    config:\n      maxPods: 20\n      crashLoopBackOff:\n        maxContainerRestartPeriod: 1m\n");
    std::vector<json> w = kubelet_warnings_of(resolve_config({r.paths(), conformance_instance(), user_data}));
    REQUIRE(w.size() == 1);
    CHECK(w[0]["field"] == "spec.kubelet.config.crashLoopBackOff");
    CHECK(w[0]["message"] == "a kubelet 1.32 field; this node's kubelet is 1.31");
    r.write("/etc/eks-node/node.toml.d/90-strict.toml", "[settings]\nstrict = true\n");
    CHECK(refusal(r, user_data) ==
          "user data: spec.kubelet.config.crashLoopBackOff: a kubelet 1.32 field; this node's kubelet is 1.31; "
          "settings.strict = true refuses a field the node's kubelet does not know");
    // the node's kubelet that has it: accepted under strict too
    r.write("/etc/eks/kubelet-version.txt", "v1.32.0\n");
    CHECK(refusal(r, user_data).empty());
}

TEST_CASE("AL2 bootstrap.sh flags and clients' kubelet maps pass clean", "[resolve][kubelet-fields]") {
    TempRoot r;
    node_with_kubelet_1_34(r);
    // the flags bootstrap.sh maps into kubelet.config (maxPods; clusterDNS only where it is not
    // the service CIDR's default, and this call gives no CIDR)
    const std::string al2 = "#!/bin/bash\n/etc/eks/bootstrap.sh my-cluster --b64-cluster-ca " + test::ca_base64() +
                            " --apiserver-endpoint https://example.com --dns-cluster-ip 10.100.0.10 "
                            "--use-max-pods false --kubelet-extra-args '--max-pods=30'\n";
    json cfg = resolve_config({r.paths(), conformance_instance(), al2});
    CHECK(cfg["spec"]["kubelet"]["config"]["maxPods"] == 30);
    INFO(json(kubelet_warnings_of(cfg)).dump());
    CHECK(kubelet_warnings_of(cfg).empty());
    // Karpenter's fields, as its NodeConfig part carries them
    cfg = resolve_config(
        {r.paths(), conformance_instance(),
         test::nodeconfig_yaml("  kubelet:\n    config:\n      maxPods: 110\n      podsPerCore: 2\n"
                               "      systemReserved:\n        cpu: 100m\n      kubeReserved:\n        memory: 1Gi\n"
                               "      evictionHard:\n        memory.available: 5%\n"
                               "      evictionSoft:\n        memory.available: 10%\n"
                               "      evictionSoftGracePeriod:\n        memory.available: 1m\n"
                               "      evictionMaxPodGracePeriod: 60\n      imageGCHighThresholdPercent: 85\n"
                               "      imageGCLowThresholdPercent: 80\n      cpuCFSQuota: true\n"
                               "      clusterDNS: [10.100.0.10]\n")});
    CHECK(cfg["spec"]["kubelet"]["config"].size() == 12);
    CHECK_FALSE(cfg.contains("warnings"));
}

TEST_CASE("a kubelet version only assumed: typos warned, newer fields not", "[resolve][kubelet-fields]") {
    TempRoot r;
    r.write("/sys/devices/system/cpu/online", "0-1\n");  // no kubelet-version.txt: assumed, not known
    json cfg = resolve_config(
        {r.paths(), conformance_instance(),
         test::nodeconfig_yaml("  kubelet:\n    config:\n      tlsCurvePreferences: [23]\n      maxPodz: 3\n")});
    CHECK_THAT(cfg["origins"]["/machine/kubeletVersion"].get<std::string>(), Catch::StartsWith("assumed"));
    std::vector<json> w = kubelet_warnings_of(cfg);
    REQUIRE(w.size() == 1);
    CHECK(w[0]["field"] == "spec.kubelet.config.maxPodz");
    CHECK_THAT(w[0]["message"].get<std::string>(), Catch::StartsWith("not a field of any kubelet from 1."));
}

TEST_CASE("config check: the sources' kubelet.config against a given kubelet, --strict refusing",
          "[resolve][kubelet-fields][config-check]") {
    resolve::CheckInput in;
    in.user_data.push_back(
        {"ud.yaml", test::nodeconfig_yaml("  kubelet:\n    config:\n      podLogsDir: /var/log/pods\n"
                                          "      authentication:\n        webhook:\n          cacheTTl: 2m\n")});
    SECTION("away from a node: a typo warned, a field of some kubelets noted") {
        resolve::CheckResult r = resolve::check_sources(in);
        CHECK(r.errors.empty());
        REQUIRE(r.warnings.size() == 1);
        CHECK(r.warnings[0].kind == input::Warning::Kind::kubelet_field);
        CHECK(r.warnings[0].text() ==
              "ud.yaml: spec.kubelet.config.authentication.webhook.cacheTTl: not a field of any kubelet from 1.29 to "
              "1.36: did you mean cacheTTL?");
        CHECK(std::find(r.notes.begin(), r.notes.end(),
                        "spec.kubelet.config.podLogsDir: a kubelet 1.30 field: a node whose kubelet is older does not "
                        "know it") != r.notes.end());
    }
    SECTION("a node's kubelet 1.29, with --strict: each an error, exit 6") {
        in.kubelet_version = "1.29.10";
        in.strict = true;
        resolve::CheckResult r = resolve::check_sources(in);
        CHECK(r.warnings.empty());
        REQUIRE(r.errors.size() == 2);
        CHECK(std::string(r.errors[0].what()) ==
              "ud.yaml: spec.kubelet.config.podLogsDir: a kubelet 1.30 field; this node's kubelet is 1.29; --strict, "
              "as settings.strict = true, refuses a field the node's kubelet does not know");
        CHECK(r.errors[1].field() == "spec.kubelet.config.authentication.webhook.cacheTTl");
        CHECK(r.errors[1].exit_code() == 6);
    }
}
