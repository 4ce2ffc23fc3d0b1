// SPDX-License-Identifier: Apache-2.0
// eks-node-kubelet: everything kubelet.service reads, written where nodeadm
// writes it (its environment and the DNS settings are eks-node-system's).
#include <set>

#include <fmt/format.h>

#include "config/credential_providers.hpp"
#include "core/error.hpp"
#include "core/outputs.hpp"
#include "core/paths.hpp"
#include "render/detail.hpp"
#include "render/kubelet.hpp"
#include "render/render.hpp"

namespace eksnode::render {

namespace {

using namespace render::detail;

void render_config(StepResult& r, const json& cfg, const Paths& paths) {
    put(r, paths, path::kubelet_config, dump_pretty(kubelet_config(cfg)));
    // nodeadm names its drop-in 40-nodeadm.conf; 40-user.conf says whose settings it holds.
    if (const json* user = user_dropin_config(cfg))
        put(r, paths, path::kubelet_user_dropin, dump_pretty(kubelet_user_dropin(*user)));
    else withdraw(r, paths, path::kubelet_user_dropin);
}

void render_kubeconfig(StepResult& r, const json& cfg, const Paths& paths) {
    const std::string server = need_string(cfg, "/spec/cluster/apiServerEndpoint");
    const std::string region = need_string(cfg, "/instance/region");
    // 0600 where nodeadm uses 0644: only kubelet (root) reads it, and eks-node
    // keeps everything that grants cluster access to its owner.
    if (flag(cfg, "/spec/cluster/enableOutpost")) {
        // A local cluster on Outposts knows itself by id, not name: the token
        // asked for must name the id (nodeadm's kubeconfig.go does the same).
        put(r, paths, path::bootstrap_kubeconfig,
            kubeconfig_yaml(server, kubelet_credential_plugin(cfg, need_string(cfg, "/spec/cluster/id"), region)));
        // /var/lib/kubelet/kubeconfig is now kubelet's own, from TLS bootstrap.
        return;
    }
    put(r, paths, path::kubeconfig,
        kubeconfig_yaml(server, kubelet_credential_plugin(cfg, need_string(cfg, "/spec/cluster/name"), region)));
    withdraw(r, paths, path::bootstrap_kubeconfig);
}

// settings.staticPods: each manifest verbatim (eks-node-config checked it is
// a Pod), as NAME.yaml. The directory is this step's: a file of a pod that
// is no longer configured is withdrawn, and kubelet then stops the pod.
void render_static_pods(StepResult& r, const json& cfg, const Paths& paths) {
    std::set<std::string> current;
    if (const json* pods = non_empty_object(cfg, "/settings/staticPods")) {
        for (const auto& [name, manifest] : pods->items()) {
            std::string file = static_pod_file(name);
            put(r, paths, file, manifest.get<std::string>());
            current.insert(std::move(file));
        }
    }
    for (const std::string& file : outputs::present(outputs::of(path::static_pod), paths))
        if (!current.count(file)) withdraw(r, paths, file);
}

}  // namespace

std::string detail::static_pod_file(std::string_view name) {
    return fmt::format("{}/{}.yaml", path::static_pod_dir, name);
}

json kubelet_effective_config(const json& cfg) {
    json out = kubelet_config(cfg);
    if (const json* user = user_dropin_config(cfg); user && user->is_object()) deep_merge(out, *user);
    return out;
}

void check_credential_providers(const json& cfg, const Paths& paths) {
    // Fail closed, as for a runtime handler's binary: kubelet would start and
    // every pull the provider serves would go without credentials.
    for (const config::credential_providers::Provider& p : config::credential_providers::of_config(cfg))
        if (std::string problem = config::credential_providers::binary_problem(p, paths); !problem.empty())
            throw ConfigError(p.source, fmt::format("settings.credentialProviders.{}", p.name), problem);
}

StepResult render_kubelet(const json& cfg, const Paths& paths) {
    check_credential_providers(cfg, paths);
    StepResult r;
    render_config(r, cfg, paths);
    render_kubeconfig(r, cfg, paths);
    put(r, paths, path::credential_provider_config, dump_pretty(credential_provider_config(cfg)));
    put(r, paths, path::kubelet_env, kubelet_environment(cfg));
    render_static_pods(r, cfg, paths);
    return r;
}

}  // namespace eksnode::render
