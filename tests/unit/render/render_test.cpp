// SPDX-License-Identifier: Apache-2.0
// Its listener is an "external interface" of Catch2 v2: tests/meson.build enables those
// for every test file (in a unity build, a define before the include here would come after
// the first include of catch.hpp).
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>
#include <fstream>

#include "config/convert.hpp"
#include "config/runtimes.hpp"
#include "config/toml_json.hpp"
#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/log.hpp"
#include "render/containerd.hpp"
#include "render/detail.hpp"
#include "render/hosts.hpp"
#include "render/kubelet.hpp"
#include "render/render.hpp"
#include "render/render_config.hpp"
#include "steps/steps.hpp"
#include "test_support.hpp"

using namespace eksnode;
using namespace eksnode::config;
using namespace eksnode::render;
using namespace eksnode::render::detail;
using render_test::base_config;
using render_test::TempDir;

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

json with_version(json cfg, const std::string& kubelet, const std::string& containerd = "1.7.27") {
    cfg["machine"]["kubeletVersion"] = kubelet;
    cfg["machine"]["containerdVersion"] = containerd;
    return cfg;
}

mode_t mode_of(const fs::path& p) {
    struct stat st {};
    REQUIRE(::stat(p.c_str(), &st) == 0);
    return st.st_mode & 07777;
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

// ---- containerd ------------------------------------------------------------------

TEST_CASE("containerd schema follows the containerd version and the user's TOML", "[render][containerd]") {
    json v3_plugins = json::parse(R"({"plugins": {"io.containerd.cri.v1.images": {"snapshotter": "overlayfs"}}})");
    json v2_plugins = json::parse(R"({"plugins": {"io.containerd.grpc.v1.cri": {"sandbox_image": "x"}}})");

    json c17 = base_config();
    CHECK(containerd_schema(c17) == ConfigSchema::v2);
    c17["spec"]["containerd"]["config"] = v3_plugins;
    CHECK_THROWS_AS(containerd_schema(c17), ConfigError);

    json c20 = with_version(base_config(), "1.32.0", "2.0.5");
    CHECK(containerd_schema(c20) == ConfigSchema::v3);
    c20["spec"]["containerd"]["config"] = v3_plugins;
    CHECK(containerd_schema(c20) == ConfigSchema::v3);
    // A schema 2 snippet is migrated into schema 3, not a reason to write schema 2.
    c20["spec"]["containerd"]["config"] = v2_plugins;
    CHECK(containerd_schema(c20) == ConfigSchema::v3);
    CHECK(containerd_config(c20)["version"] == 3);
    // An explicit version decides, whatever the plugins look like.
    c20["spec"]["containerd"]["config"]["version"] = 3;
    CHECK(containerd_schema(c20) == ConfigSchema::v3);
    c20["spec"]["containerd"]["config"]["version"] = 1;
    CHECK_THROWS_AS(containerd_schema(c20), ConfigError);

    // containerd 2.3 reads version 4, and whatever the user wrote is moved there.
    json c23 = with_version(base_config(), "1.34.1", "2.3.0");
    CHECK(containerd_schema(c23) == ConfigSchema::v4);
    for (int v : {2, 3, 4}) {
        c23["spec"]["containerd"]["config"] = {{"version", v}};
        CHECK(containerd_schema(c23) == ConfigSchema::v4);
        CHECK(containerd_config(c23)["version"] == 4);
    }
    // Version 4 before 2.3: containerd would not start.
    for (const char* older : {"2.2.1", "2.1.9", "1.7.27"}) {
        json c = with_version(base_config(), "1.33.0", older);
        c["spec"]["containerd"]["config"] = {{"version", 4}};
        try {
            containerd_schema(c);
            FAIL("version 4 taken for containerd " << older);
        } catch (const ConfigError& e) {
            CHECK(e.field() == "spec.containerd.config.version");
            CHECK_THAT(e.problem(), Catch::Contains("containerd 2.3's configuration version") &&
                                        Catch::Contains(std::string("containerd ") + older));
        }
    }
}

TEST_CASE("the CNI binary directory key follows containerd's minor version", "[render][containerd]") {
    const json cni20 = containerd_config(
        with_version(base_config(), "1.33.0", "2.0.5"))["plugins"]["io.containerd.cri.v1.runtime"]["cni"];
    CHECK(cni20["bin_dir"] == "/opt/cni/bin");
    CHECK_FALSE(cni20.contains("bin_dirs"));
    const json cni21 = containerd_config(
        with_version(base_config(), "1.33.0", "2.1.9"))["plugins"]["io.containerd.cri.v1.runtime"]["cni"];
    CHECK(cni21["bin_dirs"] == json::array({"/opt/cni/bin"}));
    CHECK_FALSE(cni21.contains("bin_dir"));
}

TEST_CASE("a schema 2 snippet on containerd 2 lands where containerd's migration puts it", "[render][containerd]") {
    json cfg = with_version(base_config(), "1.33.0", "2.1.9");
    cfg["spec"]["containerd"]["config"] = json::parse(R"({"version": 2, "plugins": {"cri": {
        "sandbox_image": "registry.example/pause:1", "max_concurrent_downloads": 9,
        "stream_server_port": "10010", "enable_cdi": false, "cni": {"bin_dir": "/x"},
        "containerd": {"snapshotter": "soci", "default_runtime_name": "kata",
                       "runtimes": {"kata": {"runtime_type": "io.containerd.kata.v2", "sandbox_mode": "shim"}}}}}})");
    const json c = containerd_config(cfg);
    CHECK(c["version"] == 3);
    const json& images = c["plugins"]["io.containerd.cri.v1.images"];
    const json& runtime = c["plugins"]["io.containerd.cri.v1.runtime"];
    CHECK(images["pinned_images"]["sandbox"] == "registry.example/pause:1");
    CHECK(images["max_concurrent_downloads"] == 9);
    CHECK(images["snapshotter"] == "soci");
    CHECK(images["discard_unpacked_layers"] == true);  // ours, untouched
    CHECK(c["plugins"]["io.containerd.grpc.v1.cri"] == json::parse(R"({"stream_server_port": "10010"})"));
    CHECK(runtime["enable_cdi"] == false);
    CHECK(runtime["cni"]["bin_dirs"] == json::array({"/x"}));
    CHECK_FALSE(runtime["cni"].contains("bin_dir"));
    CHECK(runtime["containerd"]["default_runtime_name"] == "kata");
    CHECK(runtime["containerd"]["runtimes"]["kata"]["sandboxer"] == "shim");
    CHECK_FALSE(runtime["containerd"]["runtimes"]["kata"].contains("sandbox_mode"));
    CHECK(runtime["containerd"]["runtimes"]["runc"]["options"]["SystemdCgroup"] == true);  // ours, kept
    CHECK_FALSE(runtime["containerd"].contains("snapshotter"));
    // containerd 2.0 has no bin_dirs: the key stays as written.
    cfg["machine"]["containerdVersion"] = "2.0.5";
    CHECK(containerd_config(cfg)["plugins"]["io.containerd.cri.v1.runtime"]["cni"]["bin_dir"] == "/x");
}

TEST_CASE("schema 2 settings containerd 2 removed are refused, naming the key", "[render][containerd]") {
    auto refused = [](const char* cri) {
        json cfg = with_version(base_config(), "1.33.0", "2.1.9");
        cfg["spec"]["containerd"]["config"] = {{"plugins", {{"io.containerd.grpc.v1.cri", json::parse(cri)}}}};
        try {
            containerd_config(cfg);
        } catch (const ConfigError& e) {
            return e.field() + ": " + e.problem();
        }
        return std::string("accepted");
    };
    CHECK_THAT(refused(R"({"systemd_cgroup": true})"),
               Catch::StartsWith("spec.containerd.config.plugins.\"io.containerd.grpc.v1.cri\".systemd_cgroup: ") &&
                   Catch::Contains("SystemdCgroup"));
    CHECK_THAT(refused(R"({"containerd": {"default_runtime": {"runtime_type": "io.containerd.runc.v2"}}})"),
               Catch::Contains(".containerd.default_runtime: ") && Catch::Contains("default_runtime_name"));
    CHECK_THAT(refused(R"({"containerd": {"untrusted_workload_runtime": {}}})"),
               Catch::Contains(".containerd.untrusted_workload_runtime: "));
    CHECK_THAT(refused(R"({"containerd": {"runtimes": {"old": {"runtime_type": "io.containerd.runtime.v1.linux"}}}})"),
               Catch::Contains(".containerd.runtimes.old.runtime_type: ") && Catch::Contains("io.containerd.runc.v2"));
    // containerd 1.7 still reads them: written as given.
    json cfg17 = with_version(base_config(), "1.33.0", "1.7.27");
    cfg17["spec"]["containerd"]["config"] =
        json::parse(R"({"plugins": {"io.containerd.grpc.v1.cri": {"systemd_cgroup": true}}})");
    CHECK(containerd_config(cfg17)["plugins"]["io.containerd.grpc.v1.cri"]["systemd_cgroup"] == true);
}

TEST_CASE("the NVIDIA runtime is the default only where its binary is installed", "[render][containerd]") {
    json cfg = with_version(base_config(), "1.33.0", "2.1.9");
    auto default_runtime = [&] {
        const json c = containerd_config(cfg)["plugins"]["io.containerd.cri.v1.runtime"]["containerd"];
        return c["default_runtime_name"].get<std::string>() + " " +
               c["runtimes"][c["default_runtime_name"].get<std::string>()]["options"]["BinaryName"].get<std::string>();
    };
    cfg["machine"]["nvidiaGpu"] = true;  // a GPU instance, a standard image
    cfg["machine"]["nvidiaContainerRuntime"] = false;
    CHECK(default_runtime() == "runc /usr/sbin/runc");
    cfg["machine"]["nvidiaContainerRuntime"] = true;
    CHECK(default_runtime() == "nvidia /usr/bin/nvidia-container-runtime");
    cfg["machine"]["nvidiaGpu"] = false;  // as nodeadm: the binary decides
    CHECK(default_runtime() == "nvidia /usr/bin/nvidia-container-runtime");
}

TEST_CASE("the user's containerd TOML merges table by table", "[render][containerd]") {
    json cfg = base_config();
    cfg["spec"]["containerd"]["config"] = json::parse(
        R"({"plugins": {"io.containerd.grpc.v1.cri": {"containerd": {"discard_unpacked_layers": false}}}})");
    json c = containerd_config(cfg);
    const json& ctd = c["plugins"]["io.containerd.grpc.v1.cri"]["containerd"];
    CHECK(ctd["discard_unpacked_layers"] == false);
    CHECK(ctd["default_runtime_name"] == "runc");
    CHECK(ctd["runtimes"]["runc"]["options"]["SystemdCgroup"] == true);
}

TEST_CASE("AL2's SANDBOX_IMAGE placeholder becomes the pause image, as bootstrap.sh made it", "[render][containerd]") {
    json cfg = base_config();
    const std::string pause = cfg["derived"]["sandboxImage"].get<std::string>();
    REQUIRE(pause.find("pause") != std::string::npos);
    // AL2's template (a TOML --containerd-config-file starts from), parsed
    cfg["spec"]["containerd"]["config"] = json::parse(R"({"version": 2, "plugins": {"io.containerd.grpc.v1.cri": {
        "sandbox_image": "SANDBOX_IMAGE",
        "registry": {"config_path": "/etc/containerd/certs.d:/etc/docker/certs.d"}}},
        "proxy_plugins": {"x": {"address": "/run/SANDBOX_IMAGE.sock"}}})");
    json c = containerd_config(cfg);
    CHECK(c["plugins"]["io.containerd.grpc.v1.cri"]["sandbox_image"] == pause);
    CHECK(c["proxy_plugins"]["x"]["address"] == "/run/" + pause + ".sock");  // wherever it appears, as sed did
    CHECK(c["plugins"]["io.containerd.grpc.v1.cri"]["registry"]["config_path"] ==
          "/etc/containerd/certs.d:/etc/docker/certs.d");
    // without the placeholder, the user's image stays
    cfg["spec"]["containerd"]["config"]["plugins"]["io.containerd.grpc.v1.cri"]["sandbox_image"] = "r.example/pause:9";
    CHECK(containerd_config(cfg)["plugins"]["io.containerd.grpc.v1.cri"]["sandbox_image"] == "r.example/pause:9");
}

TEST_CASE("FastImagePull: the SOCI snapshotter as eks-node-config decided, configured for its release",
          "[render][containerd][soci]") {
    json cfg = with_version(base_config(), "1.33.0", "2.1.4");
    cfg["spec"]["featureGates"]["FastImagePull"] = true;  // derive decides; render follows derived
    CHECK_FALSE(use_soci_snapshotter(cfg));
    CHECK_FALSE(kubelet_config(cfg).contains("imageServiceEndpoint"));
    cfg["derived"]["sociSnapshotter"] = true;
    CHECK(use_soci_snapshotter(cfg));
    json c = containerd_config(cfg);
    CHECK(c["plugins"]["io.containerd.cri.v1.images"]["snapshotter"] == "soci");
    CHECK(c["proxy_plugins"]["soci"]["address"] == "/run/soci-snapshotter-grpc/soci-snapshotter-grpc.sock");
    CHECK(kubelet_config(cfg)["imageServiceEndpoint"] ==
          "unix:///run/soci-snapshotter-grpc/soci-snapshotter-grpc.sock");

    // 0.10 and later: nodeadm's file, parallel pull mode over containerd's content store
    cfg["machine"]["sociSnapshotterVersion"] = "0.11.1";
    CHECK(kubelet_config(cfg).contains("imageServiceEndpoint"));
    std::string now = soci_snapshotter_config(cfg);
    CHECK_THAT(now, Catch::Contains("[pull_modes.parallel_pull_unpack]") && Catch::Contains("type = \"containerd\""));
    // before 0.10: no parallel pull mode, and its own content store, so that it starts before containerd
    cfg["machine"]["sociSnapshotterVersion"] = "0.4.1";
    std::string old = soci_snapshotter_config(cfg);
    CHECK_THAT(old, Catch::Contains("type = \"soci\""));
    CHECK_THAT(old,
               !Catch::Contains("pull_modes") && !Catch::Contains("\"containerd\"") && !Catch::Contains("keychain"));
    // its image service is CRI v1alpha2 only: kubelet is not pointed at it
    CHECK_FALSE(kubelet_config(cfg).contains("imageServiceEndpoint"));
}

// ---- containerd drop-ins (/etc/containerd/config.d) ---------------------------------

namespace {

void dropin(const TempDir& root, const std::string& name, const std::string& text) {
    fs::create_directories(root.path / "etc/containerd/config.d");
    write_file_atomic(root.path / "etc/containerd/config.d" / name, text, 0644);
}

const ContainerdDropin* named(const std::vector<ContainerdDropin>& ds, const std::string& name) {
    for (const ContainerdDropin& d : ds)
        if (d.path == "/etc/containerd/config.d/" + name) return &d;
    return nullptr;
}

std::string warnings_of(const ContainerdDropin* d) {
    REQUIRE(d);
    std::string out;
    for (const std::string& w : d->warnings) out += w + "\n";
    return out;
}

}  // namespace

TEST_CASE("config.toml imports AL2's drop-in directory, first, whatever the user imports", "[render][containerd]") {
    json cfg = base_config();
    CHECK(containerd_config(cfg)["imports"] == json::array({"/etc/containerd/config.d/*.toml"}));
    CHECK(containerd_config(with_version(base_config(), "1.32.0", "2.0.5"))["imports"] ==
          json::array({"/etc/containerd/config.d/*.toml"}));
    // a TOML array would replace ours in the merge: the user's join it instead
    cfg["spec"]["containerd"]["config"] =
        json::parse(R"({"imports": ["/etc/containerd/mine.toml", "/etc/containerd/config.d/*.toml"]})");
    CHECK(containerd_config(cfg)["imports"] ==
          json::array({"/etc/containerd/config.d/*.toml", "/etc/containerd/mine.toml"}));
    cfg["spec"]["containerd"]["config"] = json::parse(R"({"imports": "/etc/containerd/mine.toml"})");
    CHECK_THROWS_WITH(containerd_config(cfg), Catch::Contains("spec.containerd.config.imports"));
}

TEST_CASE("the drop-ins containerd will import, in its order, each checked", "[render][containerd]") {
    TempDir root;
    const Paths paths(root.path);
    json cfg = base_config();                       // containerd 1.7: plugin tables are replaced whole
    CHECK(containerd_dropins(cfg, paths).empty());  // no directory: nothing, no warning

    dropin(root, "20-debug.toml", "version = 2\n[debug]\nlevel = \"debug\"\n");
    dropin(root, "10-metrics.toml", "version = 2\n[metrics]\naddress = \"127.0.0.1:1338\"\n");
    dropin(root, "README", "not imported: containerd's glob is *.toml");
    dropin(root, "15-notes.toml.bak", "not imported either");
    std::vector<ContainerdDropin> ds = containerd_dropins(cfg, paths);
    REQUIRE(ds.size() == 2);
    CHECK(ds[0].path == "/etc/containerd/config.d/10-metrics.toml");  // byte order, as Go's Glob sorts
    CHECK(ds[1].path == "/etc/containerd/config.d/20-debug.toml");
    CHECK(ds[0].warnings.empty());
    CHECK(ds[1].warnings.empty());
    CHECK(ds[0].fingerprint == fnv1a64_hex(read_file(root.path / "etc/containerd/config.d/10-metrics.toml")));
    CHECK(ds[0].fingerprint.size() == 16);

    SECTION("not TOML: containerd will not start") {
        dropin(root, "30-broken.toml", "version = = 2\n");
        CHECK_THAT(warnings_of(named(containerd_dropins(cfg, paths), "30-broken.toml")),
                   Catch::Contains("invalid TOML at line 1") && Catch::Contains("containerd will not start"));
    }
    SECTION("nested past the project's TOML limit") {
        std::string deep = "a";
        for (int i = 0; i < 100; ++i) deep += ".a";
        dropin(root, "30-deep.toml", deep + " = 1\n");
        CHECK_THAT(warnings_of(named(containerd_dropins(cfg, paths), "30-deep.toml")),
                   Catch::Contains("nested deeper than 64 levels"));
    }
    SECTION("a version newer than config.toml's") {
        dropin(root, "30-v3.toml", "version = 3\n[plugins.\"io.containerd.cri.v1.images\"]\nsnapshotter = \"x\"\n");
        CHECK_THAT(warnings_of(named(containerd_dropins(cfg, paths), "30-v3.toml")),
                   Catch::Contains("version 3 is newer than config.toml's 2"));
        // containerd 2 (config.toml version 3) takes it, and migrates a version 2 file itself
        json c20 = with_version(base_config(), "1.32.0", "2.0.5");
        CHECK(named(containerd_dropins(c20, paths), "30-v3.toml")->warnings.empty());
        CHECK(named(containerd_dropins(c20, paths), "10-metrics.toml")->warnings.empty());
    }
    SECTION("on containerd 1.x, a plugin table of config.toml's is replaced whole") {
        dropin(root, "40-registry.toml",
               "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".registry]\n"
               "config_path = \"/etc/containerd/mirrors\"\n"
               "[plugins.\"io.containerd.runtime.v1.linux\"]\nshim_debug = true\n");
        std::string w = warnings_of(named(containerd_dropins(cfg, paths), "40-registry.toml"));
        CHECK_THAT(w, Catch::Contains("[plugins.\"io.containerd.grpc.v1.cri\"] replaces config.toml's whole table") &&
                          Catch::Contains("cni, containerd, enable_cdi, registry, sandbox_image") &&
                          Catch::Contains("spec.containerd.config"));
        CHECK_THAT(w, !Catch::Contains("io.containerd.runtime.v1.linux"));  // not one of ours
        // containerd 2 merges key by key (containerd#9982): nothing to say
        json c20 = with_version(base_config(), "1.32.0", "2.0.5");
        CHECK(named(containerd_dropins(c20, paths), "40-registry.toml")->warnings.empty());
    }
    SECTION("not a regular file, a FIFO included, without waiting on it") {
        fs::create_directories(root.path / "etc/containerd/config.d/50-dir.toml");
        REQUIRE(::mkfifo((root.path / "etc/containerd/config.d/60-fifo.toml").c_str(), 0644) == 0);
        std::vector<ContainerdDropin> got = containerd_dropins(cfg, paths);
        CHECK_THAT(warnings_of(named(got, "50-dir.toml")), Catch::Contains("not a regular file"));
        CHECK_THAT(warnings_of(named(got, "60-fifo.toml")), Catch::Contains("not a regular file"));
        CHECK(named(got, "60-fifo.toml")->fingerprint.empty());
    }
    SECTION("larger than eks-node checks") {
        dropin(root, "70-big.toml", "# " + std::string(dropin_check_bytes, 'x') + "\n");
        const std::vector<ContainerdDropin> got = containerd_dropins(cfg, paths);
        const ContainerdDropin* big = named(got, "70-big.toml");
        CHECK_THAT(warnings_of(big), Catch::Contains("not checked"));
        CHECK_FALSE(big->fingerprint.empty());  // its size, so a change still shows
    }
}

TEST_CASE("eks-node-containerd names each drop-in, lists it in config.toml and re-renders when one changes",
          "[render][containerd]") {
    TempDir root;
    const Paths paths(root.path);
    json cfg = base_config();
    const fs::path config_toml = root.path / "etc/containerd/config.toml";
    std::string log = test::logged_at(log::Level::info, [&] { render_containerd(cfg, paths); });
    CHECK_THAT(log, !Catch::Contains("containerd imports"));
    CHECK_THAT(read_file(config_toml),
               Catch::Contains("# containerd loads /etc/containerd/config.d/*.toml over this file (imports), in name "
                               "order; none when rendered\n"));

    // a user data script writes a drop-in after the boot's render
    dropin(root, "10-metrics.toml", "version = 2\n[metrics]\naddress = \"127.0.0.1:1338\"\n");
    StepResult r;
    log = test::logged_at(log::Level::info, [&] { r = render_containerd(cfg, paths); });
    CHECK(r.changed());  // so the step restarts containerd
    CHECK_THAT(log, Catch::Contains("containerd imports /etc/containerd/config.d/10-metrics.toml\n"));
    CHECK_THAT(log, !Catch::Contains("127.0.0.1:1338"));  // the name, not the contents
    const std::string listed = read_file(config_toml);
    CHECK_THAT(listed,
               Catch::Contains("when rendered:\n#   /etc/containerd/config.d/10-metrics.toml " +
                               fnv1a64_hex(read_file(root.path / "etc/containerd/config.d/10-metrics.toml")) + "\n"));
    CHECK(config::parse_toml(listed, "config.toml")["imports"][0].value_or(std::string()) ==
          "/etc/containerd/config.d/*.toml");

    // the same drop-ins: byte-identical, nothing changed
    CHECK_FALSE(render_containerd(cfg, paths).changed());
    CHECK(read_file(config_toml) == listed);

    // its contents changed (same size): config.toml changes with it
    dropin(root, "10-metrics.toml", "version = 2\n[metrics]\naddress = \"127.0.0.1:1339\"\n");
    CHECK(render_containerd(cfg, paths).changed());

    // a broken one is a warning, not a failed step; the step's own files are still written
    dropin(root, "20-broken.toml", "[debug\n");
    log = test::logged_at(log::Level::info, [&] { r = render_containerd(cfg, paths); });
    CHECK(r.changed());
    CHECK_THAT(log, Catch::Contains("warning: /etc/containerd/config.d/20-broken.toml: invalid TOML at line 1"));
}

// ---- /etc/hosts --------------------------------------------------------------------

namespace {

json outposts_config() {
    json cfg = base_config();
    cfg["spec"]["cluster"]["enableOutpost"] = true;
    cfg["spec"]["cluster"]["id"] = "6b7d1c2e-0f5a-4c3b-9e8d-1a2b3c4d5e6f";
    cfg["derived"]["apiServerHost"] = "api.outpost.example.com";
    return cfg;
}

HostResolver answers(const std::vector<std::string>& addresses) {
    return [addresses](const std::string&) { return addresses; };
}

}  // namespace

TEST_CASE("our /etc/hosts block is replaced in place and the rest kept byte for byte", "[render][hosts]") {
    const std::string before = "127.0.0.1 localhost\n";
    const std::string after = "10.9.9.9  kept # comment\n";
    const std::string old_block = hosts_block("api.example.com", {"10.0.0.9"});
    const std::string new_block = hosts_block("api.example.com", {"10.0.0.2", "fd00::1", "10.0.0.1", "10.0.0.2"});
    CHECK(new_block == "# BEGIN eks-node (Outposts API server)\n10.0.0.1\tapi.example.com\n"
                       "10.0.0.2\tapi.example.com\nfd00::1\tapi.example.com\n# END eks-node\n");
    CHECK(with_hosts_block(before + old_block + after, new_block, "hosts") == before + new_block + after);
    CHECK(with_hosts_block(before + old_block + after, "", "hosts") == before + after);
    CHECK(with_hosts_block("no newline", new_block, "hosts") == "no newline\n" + new_block);
    CHECK(with_hosts_block(before, "", "hosts") == before);
}

TEST_CASE("a hand-broken /etc/hosts block is an error, not a guess", "[render][hosts]") {
    const std::string begin = std::string(hosts_begin) + "\n", end = std::string(hosts_end) + "\n";
    CHECK_THROWS_AS(find_hosts_block(begin + "1.2.3.4 x\n", "hosts"), Error);
    CHECK_THROWS_AS(find_hosts_block("1.2.3.4 x\n" + end, "hosts"), Error);
    CHECK_THROWS_AS(find_hosts_block(begin + end + begin + end, "hosts"), Error);
}

TEST_CASE("eks-node-hosts keeps the file's mode and skips address literals", "[render][hosts]") {
    TempDir root;
    Paths paths(root.path);
    const fs::path hosts = root.path / "etc/hosts";
    fs::create_directories(hosts.parent_path());
    write_file_atomic(hosts, "127.0.0.1 localhost\n", 0640);

    CHECK(render_hosts(outposts_config(), paths, answers({"10.0.1.10"})).changed());
    CHECK(mode_of(hosts) == 0640);
    CHECK(read_file(hosts).find("10.0.1.10\tapi.outpost.example.com\n") != std::string::npos);

    json literal = outposts_config();
    literal["derived"]["apiServerHost"] = "10.0.1.10";
    render_hosts(literal, paths, [](const std::string&) -> std::vector<std::string> {
        throw std::logic_error("an address needs no lookup");
    });
    CHECK(read_file(hosts) == "127.0.0.1 localhost\n");
}

TEST_CASE("an unresolvable API server is a temporary failure unless a block exists", "[render][hosts]") {
    TempDir root;
    Paths paths(root.path);
    HostResolver down = [](const std::string& h) -> std::vector<std::string> { throw TempError(h + ": timeout"); };
    try {
        render_hosts(outposts_config(), paths, down);
        FAIL("no error");
    } catch (const TempError& e) {
        CHECK(e.exit_code() == EXIT_TEMPFAIL);
    }
    render_hosts(outposts_config(), paths, answers({"10.0.1.10"}));
    StepResult r = render_hosts(outposts_config(), paths, down);
    CHECK_FALSE(r.changed());
    CHECK(read_file(root.path / "etc/hosts").find("10.0.1.10") != std::string::npos);
}

TEST_CASE("addresses are read from a DNS answer, past CNAMEs and compressed names", "[render][hosts]") {
    const std::vector<unsigned char> msg = {
        0x12, 0x34, 0x81, 0x80, 0, 1, 0, 3, 0, 0, 0, 0,                        // header: 1 question, 3 answers
        3, 'a', 'p', 'i', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,  // api.example.com
        0, 1, 0, 1,                                                               // A, IN
        0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 5, 2, 'l', 'b', 0xc0, 16,          // CNAME lb.example.com
        0xc0, 45, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 1, 10,                   // lb: A 10.0.1.10
        0xc0, 45, 0, 28, 0, 1, 0, 0, 0, 60, 0, 16,                               // lb: AAAA fd00:ec2::10
        0xfd, 0, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    };
    CHECK(addresses_in_dns_answer(msg.data(), msg.size()) == std::vector<std::string>{"10.0.1.10", "fd00:ec2::10"});
    // Cut inside the AAAA record: what came before it still counts.
    CHECK(addresses_in_dns_answer(msg.data(), msg.size() - 3) == std::vector<std::string>{"10.0.1.10"});
    CHECK(addresses_in_dns_answer(msg.data(), 5).empty());
}

// settings.runtimes (eks-node.toml(5), RUNTIME HANDLERS): a handler whose
// binary is missing never reaches config.toml; eks-node-containerd exits 6
// naming the handler, the file and where it was set.
TEST_CASE("a runtime handler whose binary is missing fails closed, naming it", "[render][containerd][runtimes]") {
    TempDir root;
    json cfg = with_version(base_config(), "1.33.0", "2.1.9");
    cfg["settings"]["runtimes"] = {{"crun", {{"binary", "/usr/bin/crun"}}}};
    cfg["origins"] = {{"/settings/runtimes/crun/binary", "/usr/lib/eks-node/node.toml.d/20-crun.toml"}};
    try {
        render_containerd(cfg, Paths(root.path));
        FAIL("rendered a config.toml naming a missing runtime");
    } catch (const ConfigError& e) {
        CHECK(e.exit_code() == EXIT_CONFIG);
        CHECK(e.source() == "/usr/lib/eks-node/node.toml.d/20-crun.toml");
        CHECK(e.field() == "settings.runtimes.crun.binary");
        CHECK(e.problem() == "/usr/bin/crun does not exist on this node");
    }
    CHECK_FALSE(fs::exists(root.path / "etc/containerd/config.toml"));

    fs::create_directories(root.path / "usr/bin");
    write_file_atomic(root.path / "usr/bin/crun", "#!/bin/sh\n", 0644);
    fs::permissions(root.path / "usr/bin/crun", fs::perms(0644));
    CHECK_THROWS_WITH(render_containerd(cfg, Paths(root.path)), Catch::Contains("/usr/bin/crun is not executable"));
    fs::permissions(root.path / "usr/bin/crun", fs::perms(0755));
    render_containerd(cfg, Paths(root.path));
    const json c = containerd_config(cfg)["plugins"]["io.containerd.cri.v1.runtime"]["containerd"];
    CHECK(c["runtimes"]["crun"]["options"]["BinaryName"] == "/usr/bin/crun");
    CHECK(c["default_runtime_name"] == "runc");
}

TEST_CASE("a runtime handler's kernel module must be one the running kernel has", "[render][containerd][runtimes]") {
    TempDir root;
    fs::create_directories(root.path / "usr/bin");
    write_file_atomic(root.path / "usr/bin/crun", "#!/bin/sh\n", 0644);
    fs::permissions(root.path / "usr/bin/crun", fs::perms(0755));
    json cfg = with_version(base_config(), "1.33.0", "2.1.9");
    cfg["settings"]["runtimes"] = {{"crun", {{"binary", "/usr/bin/crun"}, {"kernelModules", {"vhost-vsock"}}}}};
    // no /proc/sys/kernel/osrelease under the root: a render into a test tree, not checked
    CHECK(runtimes::check_module("vhost-vsock", Paths(root.path)).checked == false);
    CHECK_NOTHROW(render_containerd(cfg, Paths(root.path)));

    fs::create_directories(root.path / "proc/sys/kernel");
    write_file_atomic(root.path / "proc/sys/kernel/osrelease", "7.2.0-1-amd64\n", 0644);
    fs::create_directories(root.path / "lib/modules/7.2.0-1-amd64");
    write_file_atomic(root.path / "lib/modules/7.2.0-1-amd64/modules.dep",
                      "kernel/net/vmw_vsock/vsock.ko.xz:\nkernel/drivers/net/dummy.ko.xz:\n", 0644);
    write_file_atomic(root.path / "lib/modules/7.2.0-1-amd64/modules.builtin", "kernel/fs/overlayfs/overlay.ko\n",
                      0644);
    CHECK_THROWS_WITH(render_containerd(cfg, Paths(root.path)),
                      Catch::Contains("settings.runtimes.crun.kernelModules") &&
                          Catch::Contains("\"vhost-vsock\" is neither loaded nor built into kernel 7.2.0-1-amd64"));
    // in modules.dep ('-' and '_' alike, as modprobe takes them), built in, or loaded
    write_file_atomic(root.path / "lib/modules/7.2.0-1-amd64/modules.dep",
                      "kernel/drivers/vhost/vhost_vsock.ko.xz: kernel/net/vmw_vsock/vsock.ko.xz\n", 0644);
    CHECK(runtimes::check_module("vhost-vsock", Paths(root.path)).problem.empty());
    CHECK_NOTHROW(render_containerd(cfg, Paths(root.path)));
    CHECK(runtimes::check_module("overlay", Paths(root.path)).problem.empty());
    // on a machine with a sysfs, a module not loaded yet (user data's, after containerd
    // started at boot) restarts containerd, whose restart job loads it first
    fs::create_directories(root.path / "sys/module/overlay");
    StepResult r = render_containerd(cfg, Paths(root.path));
    REQUIRE(r.restarts.size() == 1);
    CHECK(r.restarts[0].unit == "containerd.service");
    CHECK(r.restarts[0].why == "settings.runtimes.crun: kernel module vhost-vsock is not loaded");
    fs::create_directories(root.path / "sys/module/vhost_vsock");
    CHECK(render_containerd(cfg, Paths(root.path)).restarts.empty());
    CHECK(runtimes::module_loaded("overlay", Paths(root.path)));
    CHECK_FALSE(runtimes::check_module("br_netfilter", Paths(root.path)).problem.empty());
    fs::create_directories(root.path / "sys/module/br_netfilter");
    CHECK(runtimes::check_module("br-netfilter", Paths(root.path)).problem.empty());
}

TEST_CASE("a RuntimeClass per runtime handler, its handler the handler's name", "[runtimes]") {
    runtimes::Handler h;
    h.name = "crun";
    CHECK(runtimes::runtime_class_yaml(h, json::object()) ==
          "apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata:\n  name: crun\nhandler: crun\n");
    CHECK(runtimes::runtime_class_yaml(h, {{"eks-node/runtime", "crun"}, {"gpu", "true"}}) ==
          "apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata:\n  name: crun\nhandler: crun\n"
          "scheduling:\n  nodeSelector:\n    eks-node/runtime: \"crun\"\n    gpu: \"true\"\n");
    // a key YAML would type is quoted, so that it stays the string it is
    CHECK_THAT(runtimes::runtime_class_yaml(h, json::object({{"null", ""}, {"yes", "1"}, {"1", "x"}})),
               Catch::EndsWith("nodeSelector:\n    \"null\": \"\"\n    \"yes\": \"1\"\n    \"1\": \"x\"\n"));
}

TEST_CASE("node selector keys and values are Kubernetes labels", "[runtimes]") {
    for (std::string_view ok :
         {"gpu", "eks-node/runtime", "node.kubernetes.io/instance-type", "a_b.c-D", "x", "example.com/A1"})
        CHECK(runtimes::label_key_problem(ok).empty());
    // a newline, a tab, ": " or a control character would write YAML of its own
    using namespace std::string_view_literals;
    for (std::string_view bad : {"a\nb"sv, "a\tb"sv, "a: b"sv, "a\x01"sv, ""sv, "-a"sv, "a-"sv, "UPPER.io/x"sv,
                                 "a//b"sv, "/x"sv, "x/"sv, "a..b/x"sv, "a\0b"sv})
        CHECK_FALSE(runtimes::label_key_problem(bad).empty());
    CHECK_FALSE(runtimes::label_key_problem(std::string(64, 'a')).empty());
    CHECK(runtimes::label_key_problem(std::string(63, 'a')).empty());
    CHECK_FALSE(runtimes::label_key_problem(std::string(254, 'a') + "/x").empty());
    CHECK(runtimes::label_value_problem("").empty());
    CHECK(runtimes::label_value_problem("true").empty());
    CHECK_FALSE(runtimes::label_value_problem("a\nkind: Pod").empty());
    CHECK_FALSE(runtimes::label_value_problem("a b").empty());
}
