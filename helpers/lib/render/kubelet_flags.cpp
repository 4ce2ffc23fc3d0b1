// SPDX-License-Identifier: Apache-2.0
// Kubelet command line and the environment file that carries it
// (nodeadm/internal/kubelet/config.go, kubeconfig.go, image-credential-provider.go,
// environment.go).
#include <map>

#include <fmt/format.h>

#include "config/credential_providers.hpp"
#include "core/error.hpp"
#include "core/paths.hpp"
#include "core/syntax.hpp"
#include "imds/values.hpp"
#include "render/kubelet.hpp"
#include "render/render_config.hpp"
#include "render/shared.hpp"

namespace eksnode::render::detail {

namespace {

using FlagMap = std::map<std::string, std::string>;

// The operator CLI as meson installs it (render/meson.build): kubelet's credential plugin.
constexpr std::string_view eks_node_cli = EKS_NODE_CLI;

void version_flags(const json& cfg, FlagMap& f) {
    // --container-runtime is gone in 1.27, where the endpoint moved into the config file.
    if (!kubelet_at_least(cfg, "1.27")) {
        f["container-runtime"] = "remote";
        f["container-runtime-endpoint"] = "unix:///run/containerd/containerd.sock";
    }
    // From 1.29 kubelet pins the CRI sandbox image itself and ignores this flag.
    if (!kubelet_at_least(cfg, "1.29")) f["pod-infra-container-image"] = need_string(cfg, "/derived/sandboxImage");
    if (kubelet_at_least(cfg, "1.26")) {
        f["cloud-provider"] = "external";
        // The external provider does not name the node: the private DNS name,
        // or the instance id with the InstanceIdNodeName feature gate.
        f["hostname-override"] = need_string(cfg, "/derived/nodeName");
    } else {
        f["cloud-provider"] = "aws";
    }
    // nodeadm labels GPU nodes for the NVIDIA device plugin's node affinity from 1.35.
    if (kubelet_at_least(cfg, "1.35") && flag(cfg, "/machine/nvidiaGpu"))
        f["node-labels"] = "nvidia.com/gpu.present=true";
}

void file_flags(const json& cfg, FlagMap& f) {
    f["config"] = path::kubelet_config;
    if (user_dropin_config(cfg)) f["config-dir"] = path::kubelet_config_dir;
    f["kubeconfig"] = path::kubeconfig;
    // On Outposts kubelet TLS-bootstraps from the bootstrap kubeconfig and
    // writes --kubeconfig itself; both flags are needed for that.
    if (flag(cfg, "/spec/cluster/enableOutpost")) f["bootstrap-kubeconfig"] = path::bootstrap_kubeconfig;
    f["image-credential-provider-bin-dir"] = credential_provider_bin_dir;
    f["image-credential-provider-config"] = path::credential_provider_config;
}

}  // namespace

std::vector<std::string> kubelet_flags(const json& cfg) {
    FlagMap f;
    f["node-ip"] = need_string(cfg, "/derived/nodeIP");
    // containerd's cgroup, which nodeadm names on every kubelet: kubelet
    // reports the runtime's resource use (summary API) from it, and the AL2023
    // image runs containerd in runtime.slice, beside kubelet.
    f["runtime-cgroups"] = "/runtime.slice/containerd.service";
    version_flags(cfg, f);
    file_flags(cfg, f);

    std::vector<std::string> out;
    for (const auto& [name, value] : f) out.push_back(fmt::format("--{}={}", name, value));
    if (const json* user = find(cfg, "/spec/kubelet/flags")) {
        if (!user->is_array()) throw ConfigError("config.json", "spec.kubelet.flags", "expected a list of strings");
        for (const json& flag : *user) {
            if (!flag.is_string()) throw ConfigError("config.json", "spec.kubelet.flags", "expected a list of strings");
            out.push_back(flag.get<std::string>());
        }
    }
    return out;
}

std::string kubelet_environment(const json& cfg) {
    // ExecStart=/usr/bin/kubelet $NODEADM_KUBELET_ARGS splits the value at
    // whitespace into arguments, so a flag cannot carry a space (as with
    // nodeadm). Values are checked where they enter (IMDS, EC2, user data);
    // this is the last line of defence: a flag that would split, or that
    // systemd would drop, stops here rather than reaching kubelet.
    std::string args;
    for (const std::string& f : kubelet_flags(cfg)) {
        if (std::string problem = imds::value::command_word(f); !problem.empty())
            throw ConfigError("config.json", "kubelet flags", problem);
        args.append(args.empty() ? "" : " ").append(f);
    }

    std::map<std::string, std::string> vars{{"NODEADM_KUBELET_ARGS", args}};
    // Kubelets before 1.30 read --config-dir only with this set (the feature
    // was alpha); nodeadm sets it with the flag on those kubelets only
    // (writeKubeletConfig in nodeadm/internal/kubelet/config.go), and so do we.
    if (user_dropin_config(cfg) && !kubelet_at_least(cfg, "1.30")) vars["KUBELET_CONFIG_DROPIN_DIR_ALPHA"] = "on";
    return environment_file(generated_header("eks-node-kubelet", path::config_json), vars);
}

std::string kubeconfig_yaml(std::string_view server, const CredentialPlugin& plugin) {
    auto q = [](std::string_view s) { return syntax::yaml::string(s); };
    std::string args;
    for (const std::string& a : plugin.args) args += fmt::format("          - {}\n", q(a));
    return fmt::format(
        "---\n"
        "apiVersion: v1\n"
        "kind: Config\n"
        "clusters:\n"
        "  - name: kubernetes\n"
        "    cluster:\n"
        "      certificate-authority: {ca}\n"
        "      server: {server}\n"
        "current-context: kubelet\n"
        "contexts:\n"
        "  - name: kubelet\n"
        "    context:\n"
        "      cluster: kubernetes\n"
        "      user: kubelet\n"
        "users:\n"
        "  - name: kubelet\n"
        "    user:\n"
        "      exec:\n"
        "        apiVersion: {api}\n"
        "        command: {command}\n"
        "        args:\n"
        "{args}",
        fmt::arg("ca", path::ca_crt), fmt::arg("server", q(server)), fmt::arg("api", plugin.api_version),
        fmt::arg("command", plugin.command), fmt::arg("args", args));
}

json credential_provider_config(const json& cfg) {
    // The v1 APIs are GA from 1.27; older kubelets only know v1alpha1.
    const bool v1 = kubelet_at_least(cfg, "1.27");
    json images = json::array({
        "*.dkr.ecr.*.amazonaws.com",
        "*.dkr-ecr.*.on.aws",
        "*.dkr.ecr.*.amazonaws.com.cn",
        "*.dkr-ecr.*.on.amazonwebservices.com.cn",
        "*.dkr.ecr-fips.*.amazonaws.com",
        "*.dkr-ecr-fips.*.on.aws",
        "*.dkr.ecr.*.c2s.ic.gov",
        "*.dkr.ecr.*.sc2s.sgov.gov",
        "*.dkr.ecr.*.cloud.adc-e.uk",
        "*.dkr.ecr.*.csp.hci.ic.gov",
        "*.dkr.ecr.*.amazonaws.eu",
        "public.ecr.aws",
    });
    // ecr-credential-provider serves ECR Public's second name from 1.32
    // (kubernetes/cloud-provider-aws#1332); matching it earlier only adds latency.
    if (kubelet_at_least(cfg, "1.32")) images.push_back("ecr-public.aws.com");

    json provider = json::object();
    provider["name"] = "ecr-credential-provider";
    provider["matchImages"] = std::move(images);
    provider["defaultCacheDuration"] = "12h0m0s";
    const std::string provider_api =
        v1 ? "credentialprovider.kubelet.k8s.io/v1" : "credentialprovider.kubelet.k8s.io/v1alpha1";
    provider["apiVersion"] = provider_api;

    json c = json::object();
    c["apiVersion"] = v1 ? "kubelet.config.k8s.io/v1" : "kubelet.config.k8s.io/v1alpha1";
    c["kind"] = "CredentialProviderConfig";
    c["providers"] = json::array({std::move(provider)});
    // settings.credentialProviders after ECR's, in name order: kubelet asks
    // every provider whose matchImages match and merges their answers, so
    // the order changes nothing but the file's bytes
    for (const config::credential_providers::Provider& p : config::credential_providers::of_config(cfg)) {
        json one = json::object();
        one["name"] = p.name;
        one["matchImages"] = p.match_images;
        one["defaultCacheDuration"] = p.default_cache_duration;
        one["apiVersion"] = p.api_version.empty() ? provider_api : p.api_version;
        if (!p.args.empty()) one["args"] = p.args;
        if (!p.env.empty()) {
            one["env"] = json::array();
            for (const auto& [name, value] : p.env) one["env"].push_back({{"name", name}, {"value", value}});
        }
        c["providers"].push_back(std::move(one));
    }
    return c;
}

}  // namespace eksnode::render::detail

namespace eksnode::render {

// The one place the plugin is chosen (settings.credentialPlugin): the kubeconfig is
// rendered from it, and `eks-node validate --image` checks that the image has the command
// it names. `eks-node get-token` by default; `aws eks get-token`, nodeadm's kubeconfig
// template, for images that ship the AWS CLI. On an Outposts local cluster `cluster` is the
// cluster's id: eks-node get-token takes it as --cluster-id; the AWS CLI is given it as
// --cluster-name, as nodeadm does (the token is the same).
CredentialPlugin kubelet_credential_plugin(const json& cfg, std::string_view cluster, std::string_view region) {
    const json* v = detail::find(cfg, "/settings/credentialPlugin");
    const std::string api = "client.authentication.k8s.io/v1beta1";
    if (!v || *v == "eks-node") {
        const bool by_id = detail::flag(cfg, "/spec/cluster/enableOutpost");
        return {api,
                std::string(detail::eks_node_cli),
                {"get-token", by_id ? "--cluster-id" : "--cluster-name", std::string(cluster), "--region",
                 std::string(region)}};
    }
    if (*v == "aws-cli")
        return {
            api, "aws", {"eks", "get-token", "--cluster-name", std::string(cluster), "--region", std::string(region)}};
    throw ConfigError("config.json", "settings.credentialPlugin", "expected \"eks-node\" or \"aws-cli\"");
}

json image_credential_provider_config(const json& cfg) { return detail::credential_provider_config(cfg); }

}  // namespace eksnode::render
