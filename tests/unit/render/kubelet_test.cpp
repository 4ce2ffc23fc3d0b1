// SPDX-License-Identifier: Apache-2.0
// The renderers of kubelet's files (config.json, its drop-in, the kubeconfigs, the credential
// provider configuration, AL2's kubelet-config.json) and of the units' environment files,
// against the conformance samples and each other. The containerd and /etc/hosts renderers:
// containerd_test.cpp, hosts_test.cpp.
// Its listener is an "external interface" of Catch2 v2: tests/meson.build enables those
// for every test file (in a unity build, a define before the include here would come after
// the first include of catch.hpp).
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>
#include <fstream>

#include "config/runtimes.hpp"
#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/log.hpp"
#include "format/convert.hpp"
#include "format/toml_json.hpp"
#include "render/containerd.hpp"
#include "render/hosts.hpp"
#include "render/kubelet.hpp"
#include "render/render.hpp"
#include "render/render_config.hpp"
#include "render/shared.hpp"
#include "steps/steps.hpp"
#include "test_support.hpp"

using namespace eksnode;
using namespace eksnode::config;
using namespace eksnode::format;
using namespace eksnode::render;
using namespace eksnode::render::detail;
using render_test::base_config;
using render_test::mode_of;
using render_test::TempDir;
using render_test::with_version;

namespace {

// Renderers log every file they write at info, noise in a test run: [render]
// test cases (here and in golden_test.cpp) log errors only.
struct QuietRenderLogs : Catch::TestEventListenerBase {
    using TestEventListenerBase::TestEventListenerBase;
    log::Level saved = log::Level::info;
    void testCaseStarting(const Catch::TestCaseInfo& info) override {
        saved = log::level();
        if (std::find(info.tags.begin(), info.tags.end(), "render") != info.tags.end())
            log::set_level(log::Level::error);
    }
    void testCaseEnded(const Catch::TestCaseStats&) override { log::set_level(saved); }
};

}  // namespace

CATCH_REGISTER_LISTENER(QuietRenderLogs)

namespace {

// Compared as data: key order and formatting do not matter (nlohmann::json
// keeps objects in sorted maps, unlike our ordered json).
nlohmann::json as_data(const std::string& text) { return nlohmann::json::parse(text); }
nlohmann::json as_data(const json& j) { return nlohmann::json::parse(j.dump()); }

// Both sides read by the one YAML reader: a change of format or key order
// passes, a change of any value does not.
nlohmann::json yaml_as_data(const std::string& text) {
    std::vector<json> docs = yaml_documents(text, "kubeconfig");
    REQUIRE(docs.size() == 1);
    return as_data(docs.front());
}

std::string conformance(const std::string& rel) {
    return read_file(render_test::source_path("tests/conformance/" + rel));
}

bool has_flag(const std::vector<std::string>& flags, const std::string& prefix) {
    return std::any_of(flags.begin(), flags.end(), [&](const std::string& f) { return f.rfind(prefix, 0) == 0; });
}

json user_kubelet_config() {
    return json::parse(R"({"logging": {"verbosity": 5}, "clusterDNS": ["0.0.0.0", "1.1.1.1"]})");
}

// A node rendered with the user's kubelet.config in the drop-in (kubelet 1.29+).
struct DropinNode {
    json cfg = base_config();
    TempDir root;
    Paths paths{root.path};
    fs::path dropin = root.path / "etc/kubernetes/kubelet/config.json.d/40-user.conf";
    DropinNode() {
        cfg["spec"]["kubelet"]["config"] = user_kubelet_config();
        render_kubelet(cfg, paths);
    }
};

}  // namespace

// ---- equivalence with the conformance samples (nodeadm's output) ----------

TEST_CASE("kubelet 1.29 config.json and drop-in equal conformance case 01", "[render][kubelet]") {
    json cfg = base_config();
    cfg["spec"]["kubelet"]["config"] = user_kubelet_config();
    CHECK(as_data(kubelet_config(cfg)) ==
          as_data(conformance("01-kubelet-config-json/expected/etc/kubernetes/kubelet/config.json")));
    CHECK(as_data(kubelet_user_dropin(cfg["spec"]["kubelet"]["config"])) ==
          as_data(conformance("01-kubelet-config-json/expected/etc/kubernetes/kubelet/config.json.d/40-user.conf")));
}

TEST_CASE("kubeconfig with settings.credentialPlugin = aws-cli equals conformance case 03", "[render][kubelet]") {
    json cfg = with_version(base_config(), "1.35.0");
    cfg["settings"]["credentialPlugin"] = "aws-cli";
    TempDir root;
    render_kubelet(cfg, Paths(root.path));
    CHECK(yaml_as_data(read_file(root.path / "var/lib/kubelet/kubeconfig")) ==
          yaml_as_data(conformance("03-kubeconfig/expected/var/lib/kubelet/kubeconfig")));
}

TEST_CASE("kubeconfig runs eks-node get-token by default: conformance case 03 but for the exec command",
          "[render][kubelet]") {
    // nodeadm's kubeconfig runs `aws eks get-token`, which the AMI does not
    // ship (docs/differences-from-nodeadm.md); the rest is nodeadm's
    nlohmann::json want = yaml_as_data(conformance("03-kubeconfig/expected/var/lib/kubelet/kubeconfig"));
    nlohmann::json& exec = want["users"][0]["user"]["exec"];
    exec["command"] = EKS_NODE_CLI;
    exec["args"] = {"get-token", "--cluster-name", "my-cluster", "--region", "us-west-2"};
    for (const char* setting : {"", "eks-node"}) {
        INFO(setting);
        json cfg = with_version(base_config(), "1.35.0");
        if (*setting) cfg["settings"]["credentialPlugin"] = setting;
        TempDir root;
        render_kubelet(cfg, Paths(root.path));
        CHECK(yaml_as_data(read_file(root.path / "var/lib/kubelet/kubeconfig")) == want);
    }
    // the path meson installs the CLI to (render/meson.build), /usr/bin/eks-node by default
    CHECK(std::string_view(EKS_NODE_CLI).starts_with("/"));
    CHECK(std::string_view(EKS_NODE_CLI).ends_with("/bin/eks-node"));
}

TEST_CASE("Outposts: the bootstrap kubeconfig's token names the cluster id", "[render][kubelet]") {
    json cfg = with_version(base_config(), "1.35.0");
    cfg["spec"]["cluster"]["enableOutpost"] = true;
    cfg["spec"]["cluster"]["id"] = "8f0b2d9e-4c1a-4d6b-9e7f-0a1b2c3d4e5f";
    const std::pair<const char*, std::vector<std::string>> cases[] = {
        // eks-node get-token takes the id as what it is
        {"eks-node", {"get-token", "--cluster-id", "8f0b2d9e-4c1a-4d6b-9e7f-0a1b2c3d4e5f", "--region", "us-west-2"}},
        // as nodeadm writes it: the AWS CLI puts --cluster-name's value in the same header
        {"aws-cli",
         {"eks", "get-token", "--cluster-name", "8f0b2d9e-4c1a-4d6b-9e7f-0a1b2c3d4e5f", "--region", "us-west-2"}},
    };
    for (const auto& [plugin, args] : cases) {
        INFO(plugin);
        cfg["settings"]["credentialPlugin"] = plugin;
        TempDir root;
        render_kubelet(cfg, Paths(root.path));
        nlohmann::json kc = yaml_as_data(read_file(root.path / "var/lib/kubelet/bootstrap-kubeconfig"));
        CHECK(kc["users"][0]["user"]["exec"]["args"] == nlohmann::json(args));
        CHECK_FALSE(fs::exists(root.path / "var/lib/kubelet/kubeconfig"));
    }
    cfg["settings"]["credentialPlugin"] = "gcloud";
    TempDir root;
    CHECK_THROWS_AS(render_kubelet(cfg, Paths(root.path)), ConfigError);
}

TEST_CASE("credential provider config for kubelet 1.36 equals conformance case 04", "[render][kubelet]") {
    CHECK(as_data(credential_provider_config(with_version(base_config(), "1.36.0"))) ==
          as_data(conformance("04-credential-provider/expected/etc/eks/image-credential-provider/config.json")));
}

// ---- kubelet version toggles ----------------------------------------------

TEST_CASE("kubelet version toggles switch at nodeadm's thresholds", "[render][kubelet]") {
    struct Row {
        std::string version;
        bool credential_provider_gate, api_qps, dra, provider_id, runtime_flags, pod_infra_flag, external_cloud;
    };
    const Row rows[] = {
        {"1.21.14", true, false, false, false, true, true, false},
        {"1.22.0", true, true, false, false, true, true, false},
        {"1.25.16", true, true, false, false, true, true, false},
        {"1.26.0", true, true, false, true, true, true, true},
        {"1.27.0", true, false, false, true, false, true, true},
        {"1.28.0", false, false, false, true, false, true, true},
        {"1.29.0", false, false, false, true, false, false, true},
        {"1.32.9", false, false, false, true, false, false, true},
        {"1.33.0", false, false, true, true, false, false, true},
        {"v1.36.1-eks-5e0fdde", false, false, true, true, false, false, true},
    };
    for (const Row& r : rows) {
        INFO("kubelet " << r.version);
        json cfg = with_version(base_config(), r.version);
        json k = kubelet_config(cfg);
        std::vector<std::string> flags = kubelet_flags(cfg);
        CHECK(k["featureGates"].contains("KubeletCredentialProviders") == r.credential_provider_gate);
        CHECK(k.contains("kubeAPIQPS") == r.api_qps);
        CHECK(k.contains("kubeAPIBurst") == r.api_qps);
        CHECK(k["featureGates"].contains("DynamicResourceAllocation") == r.dra);
        CHECK(k.contains("providerID") == r.provider_id);
        CHECK(has_flag(flags, "--container-runtime=remote") == r.runtime_flags);
        CHECK(has_flag(flags, "--container-runtime-endpoint=") == r.runtime_flags);
        CHECK(has_flag(flags, "--pod-infra-container-image=") == r.pod_infra_flag);
        CHECK(has_flag(flags, "--cloud-provider=external") == r.external_cloud);
        CHECK(has_flag(flags, "--cloud-provider=aws") == !r.external_cloud);
        CHECK(has_flag(flags, "--hostname-override=") == r.external_cloud);
    }
}

TEST_CASE("credential provider API and ECR Public's second name follow the kubelet version", "[render][kubelet]") {
    json old = credential_provider_config(with_version(base_config(), "1.26.5"));
    CHECK(old["apiVersion"] == "kubelet.config.k8s.io/v1alpha1");
    CHECK(old["providers"][0]["apiVersion"] == "credentialprovider.kubelet.k8s.io/v1alpha1");

    json v131 = credential_provider_config(with_version(base_config(), "1.31.0"));
    json v132 = credential_provider_config(with_version(base_config(), "1.32.0"));
    CHECK(v131["apiVersion"] == "kubelet.config.k8s.io/v1");
    CHECK(v132["providers"][0]["matchImages"].size() == v131["providers"][0]["matchImages"].size() + 1);
    CHECK(v132["providers"][0]["matchImages"].back() == "ecr-public.aws.com");
}

TEST_CASE("kubelet.config is merged into config.json only for kubelets without drop-ins", "[render][kubelet]") {
    json cfg = with_version(base_config(), "1.28.9");
    cfg["spec"]["kubelet"]["config"] = user_kubelet_config();
    json k = kubelet_config(cfg);
    CHECK(k["logging"]["verbosity"] == 5);
    CHECK(k["clusterDNS"] == json::array({"0.0.0.0", "1.1.1.1"}));
    // Merged, not replaced: the neighbours of a merged key stay.
    CHECK(k["authentication"]["x509"]["clientCAFile"] == "/etc/kubernetes/pki/ca.crt");
    CHECK_FALSE(has_flag(kubelet_flags(cfg), "--config-dir="));

    json k129 = kubelet_config(with_version(cfg, "1.29.0"));
    CHECK(k129["logging"]["verbosity"] == 2);
}

TEST_CASE("user kubelet flags come after ours so that they win", "[render][kubelet]") {
    json cfg = base_config();
    cfg["spec"]["kubelet"]["flags"] = json::array({"--node-ip=10.9.9.9", "--v=4"});
    std::vector<std::string> flags = kubelet_flags(cfg);
    REQUIRE(flags.size() >= 3);
    CHECK(flags[flags.size() - 2] == "--node-ip=10.9.9.9");
    CHECK(flags.back() == "--v=4");
    CHECK(has_flag(flags, "--node-ip=172.16.34.43"));
}

TEST_CASE("reserved CPUs leave both reserved cgroups out, as bootstrap.sh did", "[render][kubelet]") {
    // kubelet's own validation refuses reservedSystemCPUs with
    // systemReservedCgroup or kubeReservedCgroup: kubelet would not start.
    auto cgroups = [](const json& cfg) {
        json k = kubelet_config(cfg);
        return std::pair{k.contains("systemReservedCgroup"), k.contains("kubeReservedCgroup")};
    };
    CHECK(cgroups(base_config()) == std::pair{true, true});
    for (const json& flags : {json::array({"--reserved-cpus=0-1"}), json::array({"-reserved-cpus", "0"}),
                              json::array({"--v=2", "--reserved-cpus", "0,2"})}) {
        INFO(flags.dump());
        json cfg = base_config();
        cfg["spec"]["kubelet"]["flags"] = flags;
        CHECK(cgroups(cfg) == std::pair{false, false});
    }
    json cfg = base_config();
    cfg["spec"]["kubelet"]["config"]["reservedSystemCPUs"] = "0-1";
    CHECK(cgroups(cfg) == std::pair{false, false});
    // A flag that only starts alike is not it.
    cfg = base_config();
    cfg["spec"]["kubelet"]["flags"] = json::array({"--reserved-cpus-policy=x", "reserved-cpus=0"});
    CHECK(cgroups(cfg) == std::pair{true, true});
}

// ---- files, modes, re-rendering -------------------------------------------

TEST_CASE("a second render of every step rewrites nothing", "[render]") {
    json cfg = base_config();
    cfg["spec"]["kubelet"]["config"] = user_kubelet_config();
    cfg["spec"]["instance"]["environment"]["default"]["HTTP_PROXY"] = "http://proxy:3128";
    TempDir root;
    Paths paths(root.path);
    auto all = [&] {
        StepResult r = render_system(cfg, paths);
        r.merge(render_ca(cfg, paths));
        r.merge(render_kubelet(cfg, paths));
        r.merge(render_containerd(cfg, paths));
        r.merge(render_hosts(cfg, paths, [](const std::string&) -> std::vector<std::string> {
            throw std::logic_error("not on Outposts: nothing to resolve");
        }));
        return r;
    };
    CHECK(all().changed());
    const auto before = fs::last_write_time(root.path / "etc/kubernetes/kubelet/config.json");
    StepResult again = all();
    CHECK_FALSE(again.changed());
    CHECK(again.restarts.empty());
    for (const auto& [p, w] : again.outputs) CHECK(w == WriteResult::unchanged);
    CHECK(fs::last_write_time(root.path / "etc/kubernetes/kubelet/config.json") == before);
}

TEST_CASE("credentials are written 0600", "[render][kubelet]") {
    json cfg = base_config();
    cfg["spec"]["instance"]["environment"]["kubelet"]["HTTPS_PROXY"] = "http://user:secret@proxy:3128";
    TempDir root;
    render_kubelet(cfg, Paths(root.path));
    render_system(cfg, Paths(root.path));
    CHECK(mode_of(root.path / "var/lib/kubelet/kubeconfig") == 0600);
    CHECK(mode_of(root.path / "run/eks-node/env/kubelet.env") == 0600);
    // spec.kubelet.config may carry staticPodURLHeader, flags --manifest-url-header
    CHECK(mode_of(root.path / "etc/kubernetes/kubelet/config.json") == 0600);
    CHECK(mode_of(root.path / "etc/eks/kubelet/environment") == 0600);
    CHECK(mode_of(root.path / "etc/eks/image-credential-provider/config.json") == 0600);

    cfg["spec"]["cluster"]["enableOutpost"] = true;
    cfg["spec"]["cluster"]["id"] = "6b7d1c2e-0f5a-4c3b-9e8d-1a2b3c4d5e6f";
    render_kubelet(cfg, Paths(root.path));
    CHECK(mode_of(root.path / "var/lib/kubelet/bootstrap-kubeconfig") == 0600);
}

TEST_CASE("removing kubelet.config withdraws the drop-in and its flag", "[render][kubelet]") {
    DropinNode n;
    auto& [cfg, root, paths, dropin] = n;
    REQUIRE(fs::exists(dropin));
    CHECK(read_file(root.path / "etc/eks/kubelet/environment").find("--config-dir=") != std::string::npos);

    cfg["spec"]["kubelet"].erase("config");
    StepResult r = render_kubelet(cfg, paths);
    CHECK(r.changed());
    CHECK_FALSE(fs::exists(dropin));
    const std::string env = read_file(root.path / "etc/eks/kubelet/environment");
    CHECK(env.find("--config-dir=") == std::string::npos);
    CHECK(env.find("KUBELET_CONFIG_DROPIN_DIR_ALPHA") == std::string::npos);
}

TEST_CASE("configMode replace: a merge node switched to replace withdraws the drop-in and keeps the user's values",
          "[render][kubelet]") {
    DropinNode n;
    auto& [cfg, root, paths, dropin] = n;
    REQUIRE(fs::exists(dropin));

    cfg["settings"]["kubelet"]["configMode"] = "replace";
    CHECK(render_kubelet(cfg, paths).changed());
    CHECK_FALSE(fs::exists(dropin));
    CHECK(read_file(root.path / "etc/eks/kubelet/environment").find("--config-dir=") == std::string::npos);
    const nlohmann::json written = as_data(read_file(root.path / "etc/kubernetes/kubelet/config.json"));
    // the user's keys, and eks-node's only where the user is silent
    const nlohmann::json user = as_data(user_kubelet_config());
    for (const auto& [key, value] : user.items()) CHECK(written.at(key) == value);
    CHECK(written.at("maxPods") == as_data(cfg["derived"]["maxPods"]));
    // what the user did not set and eks-node does not own is kubelet's default again
    CHECK_FALSE(written.contains("tlsCipherSuites"));
    CHECK_FALSE(written.contains("featureGates"));
    CHECK(as_data(kubelet_effective_config(cfg)) == written);
}

TEST_CASE("config dump --origins: who decided each kubelet key, in either mode", "[render][kubelet]") {
    json cfg = render_test::load_json("tests/golden/kubelet/15-config-replace-1.35/input/config.json");
    json o = kubelet_config_origins(cfg);
    // exactly the keys of the file
    json effective = kubelet_effective_config(cfg);
    for (const auto& [key, value] : effective.items()) CHECK(o.contains("/" + key));
    CHECK(o.size() == effective.size() + 1);  // + the CA file filled inside the user's table
    CHECK(o["/maxPods"] ==
          "user data (MIME part 1, application/node.eks.aws): spec.kubelet.config.maxPods "
          "(settings.kubelet.configMode = replace)");
    // a table's origin is the one of its fields
    CHECK(o["/authentication"].get<std::string>().starts_with("user data (MIME part 1"));
    CHECK(o["/clusterDNS"] ==
          "eks-node (settings.kubelet.configMode = replace: filled, absent from spec.kubelet.config)");
    CHECK(o["/authentication/x509/clientCAFile"] ==
          "eks-node (settings.kubelet.configMode = replace: filled, absent from spec.kubelet.config)");

    cfg["settings"].erase("kubelet");  // merge, the default: kubelet 1.35 reads the drop-in
    o = kubelet_config_origins(cfg);
    CHECK(o["/maxPods"] ==
          "user data (MIME part 1, application/node.eks.aws): spec.kubelet.config.maxPods "
          "(settings.kubelet.configMode = merge, over eks-node's in the drop-in 40-user.conf)");
    CHECK(o["/tlsCipherSuites"] == "eks-node (settings.kubelet.configMode = merge)");
    CHECK_FALSE(o.contains("/authentication/x509/clientCAFile"));
}

namespace {

// AWS's AL2 guide (amazon-eks-ami doc/usage/al2.md, "Update the kubelet config file"):
// jq ".registryPullQPS=20 | .registryBurst=40" over the file, written back.
void jq_al2_guide_edit(const fs::path& root) {
    const fs::path al2 = root / "etc/kubernetes/kubelet/kubelet-config.json";
    nlohmann::json j = nlohmann::json::parse(read_file(al2));
    j["registryPullQPS"] = 20;
    j["registryBurst"] = 40;
    std::ofstream(al2, std::ios::trunc) << j.dump(2) << "\n";
}

nlohmann::json read_data(const fs::path& p) { return nlohmann::json::parse(read_file(p)); }

}  // namespace

TEST_CASE("AL2's kubelet-config.json is kubelet's merged configuration", "[render][kubelet]") {
    json cfg = base_config();
    cfg["spec"]["kubelet"]["config"] = user_kubelet_config();
    TempDir root;
    render_kubelet(cfg, Paths(root.path));
    const fs::path al2 = root.path / "etc/kubernetes/kubelet/kubelet-config.json";
    CHECK(read_data(al2) == as_data(kubelet_effective_config(cfg)));
    CHECK(mode_of(al2) == 0600);
    CHECK_FALSE(fs::exists(root.path / "etc/kubernetes/kubelet/config.json.d/90-kubelet-config-json.conf"));
}

TEST_CASE("an edit of AL2's kubelet-config.json reaches kubelet and outlives re-renders", "[render][kubelet]") {
    json cfg = base_config();
    TempDir root;
    Paths paths(root.path);
    render_kubelet(cfg, paths);
    jq_al2_guide_edit(root.path);

    // kubelet.service's ExecStartPre= (`eks-node-kubelet harvest`) renders again
    StepResult r = render_kubelet(cfg, paths);
    CHECK(r.changed());
    const fs::path config = root.path / "etc/kubernetes/kubelet/config.json";
    const fs::path dropin = root.path / "etc/kubernetes/kubelet/config.json.d/90-kubelet-config-json.conf";
    const fs::path al2 = root.path / "etc/kubernetes/kubelet/kubelet-config.json";
    CHECK(read_data(config)["registryPullQPS"] == 20);
    CHECK(read_data(config)["registryBurst"] == 40);
    nlohmann::json d = read_data(dropin);
    CHECK(d == nlohmann::json{{"apiVersion", "kubelet.config.k8s.io/v1beta1"},
                              {"kind", "KubeletConfiguration"},
                              {"registryPullQPS", 20},
                              {"registryBurst", 40}});
    CHECK(mode_of(dropin) == 0600);
    CHECK(read_data(al2)["registryBurst"] == 40);

    // a re-run of the chain: nothing changes, the edit stays
    StepResult again = render_kubelet(cfg, paths);
    CHECK_FALSE(again.changed());
    CHECK(read_data(config)["registryPullQPS"] == 20);

    // the step's own change (new user data) is not taken for an edit; the edit stays
    const int max_pods = cfg["derived"]["maxPods"].get<int>() + 7;
    cfg["derived"]["maxPods"] = max_pods;
    render_kubelet(cfg, paths);
    CHECK(read_data(config)["maxPods"] == max_pods);
    CHECK(read_data(al2)["maxPods"] == max_pods);
    CHECK_FALSE(read_data(dropin).contains("maxPods"));
    CHECK(read_data(config)["registryBurst"] == 40);

    // with spec.kubelet.config in 40-user.conf, the edit still wins (90 comes later)
    cfg["spec"]["kubelet"]["config"] = json{{"registryBurst", 7}};
    render_kubelet(cfg, paths);
    CHECK(read_data(root.path / "etc/kubernetes/kubelet/config.json.d/40-user.conf")["registryBurst"] == 7);
    CHECK(read_data(dropin)["registryBurst"] == 40);
    CHECK(read_data(al2)["registryBurst"] == 40);

    // removing the drop-in lets go of the edits
    fs::remove(dropin);
    cfg["spec"]["kubelet"].erase("config");
    render_kubelet(cfg, paths);
    CHECK_FALSE(read_data(config).contains("registryPullQPS"));
    CHECK_FALSE(read_data(al2).contains("registryPullQPS"));
}

TEST_CASE("a kubelet render cut off between its AL2 writes is not taken for an edit", "[render][kubelet]") {
    json a = base_config();
    json b = base_config();
    b["derived"]["maxPods"] = a["derived"]["maxPods"].get<int>() + 7;
    TempDir root;
    Paths paths(root.path);
    const fs::path al2 = root.path / "etc/kubernetes/kubelet/kubelet-config.json";
    const fs::path record = root.path / "var/lib/eks-node/kubelet/kubelet-config.json";
    const fs::path replacing = root.path / "var/lib/eks-node/kubelet/.kubelet-config.json.replacing";
    const fs::path dropin = root.path / "etc/kubernetes/kubelet/config.json.d/90-kubelet-config-json.conf";
    render_kubelet(b, paths);
    const std::string file_b = read_file(al2);
    render_kubelet(a, paths);
    const std::string file_a = read_file(al2);
    // a move from A to B killed after it wrote the file and before the record:
    // the file is B's, the record A's, and .replacing names both
    std::ofstream(al2, std::ios::trunc) << file_b;
    std::ofstream(replacing) << "[" << file_a << "," << file_b << "]";
    for (const json* cfg : {&a, &b, &a}) {
        render_kubelet(*cfg, paths);
        CHECK_FALSE(fs::exists(dropin));
        CHECK_FALSE(fs::exists(replacing));
        // as text: the file is read unordered, config.json's type keeps key order (clang: an ambiguous ==)
        CHECK(read_data(root.path / "etc/kubernetes/kubelet/config.json")["maxPods"].dump() ==
              (*cfg)["derived"]["maxPods"].dump());
        CHECK(read_file(record) == read_file(al2));
    }
}

TEST_CASE("a key removed from AL2's kubelet-config.json is not carried", "[render][kubelet]") {
    json cfg = base_config();
    TempDir root;
    Paths paths(root.path);
    render_kubelet(cfg, paths);
    const fs::path al2 = root.path / "etc/kubernetes/kubelet/kubelet-config.json";
    nlohmann::json j = read_data(al2);
    REQUIRE(j.contains("maxPods"));
    j.erase("maxPods");
    std::ofstream(al2, std::ios::trunc) << j.dump();
    render_kubelet(cfg, paths);
    CHECK(read_data(root.path / "etc/kubernetes/kubelet/config.json").contains("maxPods"));
    CHECK(read_data(al2).contains("maxPods"));
    CHECK_FALSE(fs::exists(root.path / "etc/kubernetes/kubelet/config.json.d/90-kubelet-config-json.conf"));
}

TEST_CASE("an AL2 kubelet-config.json that is no longer JSON is exit 6 naming it", "[render][kubelet]") {
    json cfg = base_config();
    TempDir root;
    Paths paths(root.path);
    render_kubelet(cfg, paths);
    const fs::path config = root.path / "etc/kubernetes/kubelet/config.json";
    const std::string before = read_file(config);
    // what the guide's line leaves behind when jq is missing: echo "" > file
    std::ofstream(root.path / "etc/kubernetes/kubelet/kubelet-config.json", std::ios::trunc) << "\n";
    try {
        render_kubelet(cfg, paths);
        FAIL("rendered over a broken kubelet-config.json");
    } catch (const ConfigError& e) {
        CHECK(e.exit_code() == 6);
        CHECK(std::string(e.what()).find("/etc/kubernetes/kubelet/kubelet-config.json") != std::string::npos);
    }
    CHECK(read_file(config) == before);
}

TEST_CASE("a missing config.json field is a configuration error naming it", "[render]") {
    json cfg = base_config();
    cfg["derived"].erase("caPEM");
    TempDir root;
    try {
        render_ca(cfg, Paths(root.path));
        FAIL("no error");
    } catch (const ConfigError& e) {
        CHECK(e.field() == "derived.caPEM");
        CHECK(e.exit_code() == EXIT_CONFIG);
    }
    StepOptions opts;
    opts.paths = Paths(root.path);
    CHECK_THROWS_AS(steps::load_config_json(opts), ConfigError);
}

// ---- service environment -----------------------------------------------------

TEST_CASE("environment values are quoted the way EnvironmentFile= reads them", "[render][environment]") {
    // Bare where systemd reads the text back as is.
    CHECK(environment_value("--a=b --c=d") == "--a=b --c=d");
    CHECK(environment_value(R"(say "hi" for $5 at 100%)") == R"(say "hi" for $5 at 100%)");
    // Quoted where it would not.
    CHECK(environment_value(R"(C:\dir)") == R"("C:\\dir")");
    CHECK(environment_value(R"("quoted" $HOME `x`)") == R"("\"quoted\" \$HOME \`x\`")");
    CHECK(environment_value(" padded ") == "\" padded \"");
    CHECK(environment_value("two\nlines") == "\"two\nlines\"");
    // unquoted, a carriage return ends the value too, and the rest would be a line of its own
    CHECK(environment_value("x\rLD_PRELOAD=/tmp/evil.so") == "\"x\rLD_PRELOAD=/tmp/evil.so\"");
    CHECK(environment_value("") == "\"\"");
    CHECK(valid_environment_name("HTTP_PROXY"));
    CHECK(valid_environment_name("_x1"));
    CHECK_FALSE(valid_environment_name("1X"));
    CHECK_FALSE(valid_environment_name("A-B"));
    CHECK_FALSE(valid_environment_name(""));
}
