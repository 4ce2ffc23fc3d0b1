// SPDX-License-Identifier: Apache-2.0
// The KubeletConfiguration nodeadm generates (nodeadm/internal/kubelet/config.go),
// with the values eks-node-config derived instead of nodeadm's own lookups.
#include <map>

#include <fmt/format.h>

#include "core/paths.hpp"
#include "render/containerd.hpp"
#include "render/kubelet.hpp"
#include "render/render.hpp"
#include "render/shared.hpp"

namespace eksnode::render::detail {

namespace {

constexpr std::string_view containerd_endpoint = "unix:///run/containerd/containerd.sock";

json authentication() {
    json a = json::object();
    a["anonymous"] = {{"enabled", false}};
    a["webhook"] = {{"cacheTTL", "2m0s"}, {"enabled", true}};
    a["x509"] = {{"clientCAFile", path::ca_crt}};
    return a;
}

json authorization() {
    json a = json::object();
    a["mode"] = "Webhook";
    a["webhook"] = {{"cacheAuthorizedTTL", "5m0s"}, {"cacheUnauthorizedTTL", "30s"}};
    return a;
}

// Sorted, as Go marshals nodeadm's map[string]bool.
json feature_gates(const json& cfg) {
    std::map<std::string, bool> gates{{"RotateKubeletServerCertificate", true}};
    // The gate was removed in 1.28, where credential providers are GA.
    if (!kubelet_at_least(cfg, "1.28")) gates["KubeletCredentialProviders"] = true;
    // nodeadm's version toggles (nodeadm/internal/kubelet/config.go,
    // withVersionToggles; tests/data/nodeadm-version-toggles.md lists each):
    // EKS enables Dynamic Resource Allocation from 1.33, and from 1.34 lets
    // a CSI driver update the number of volumes a node can attach
    // (CSINode's allocatable count, beta and off by default there), which
    // on EC2 shrinks as ENIs and other volumes take attachment slots.
    if (kubelet_at_least(cfg, "1.33")) gates["DynamicResourceAllocation"] = true;
    if (kubelet_at_least(cfg, "1.34")) gates["MutableCSINodeAllocatableCount"] = true;
    json j = json::object();
    for (const auto& [name, on] : gates) j[name] = on;
    return j;
}

json tls_cipher_suites() {
    return json::array({
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
        "TLS_RSA_WITH_AES_128_GCM_SHA256",
        "TLS_RSA_WITH_AES_256_GCM_SHA384",
    });
}

json type_meta() {
    json j = json::object();
    j["kind"] = "KubeletConfiguration";
    j["apiVersion"] = "kubelet.config.k8s.io/v1beta1";
    return j;
}

// Whether the user reserves CPUs for the system: kubelet.config
// reservedSystemCPUs or a --reserved-cpus flag (Go's flag package takes one
// dash or two, "=VALUE" or the next word).
bool reserves_cpus(const json& cfg) {
    if (const json* c = find(cfg, "/spec/kubelet/config/reservedSystemCPUs"); c && !c->is_null()) return true;
    const json* flags = find(cfg, "/spec/kubelet/flags");
    if (!flags || !flags->is_array()) return false;
    for (const json& f : *flags) {
        if (!f.is_string()) continue;
        std::string_view s = f.get_ref<const std::string&>();
        if (s.starts_with("--")) s.remove_prefix(2);
        else if (s.starts_with("-")) s.remove_prefix(1);
        else continue;
        if (s == "reserved-cpus" || s.starts_with("reserved-cpus=")) return true;
    }
    return false;
}

// Keys in the order of nodeadm's file in the conformance samples; version
// dependent ones next to their kin.
json eks_node_kubelet_config(const json& cfg) {
    json k = type_meta();
    k["address"] = "0.0.0.0";
    k["authentication"] = authentication();
    k["authorization"] = authorization();
    k["clusterDomain"] = "cluster.local";
    k["hairpinMode"] = "hairpin-veth";
    k["readOnlyPort"] = 0;
    k["cgroupDriver"] = "systemd";
    k["cgroupRoot"] = "/";
    k["featureGates"] = feature_gates(cfg);
    k["clusterDNS"] = need(cfg, "/derived/clusterDNS");
    k["containerRuntimeEndpoint"] = containerd_endpoint;
    // FastImagePull: image requests go through the SOCI snapshotter, which
    // passes them on to containerd and so learns the registry credentials
    // kubelet's credential provider gave (its cri_keychain); without them it
    // could fetch no private image's layers. Not to a release before 0.10,
    // whose image service is CRI v1alpha2 only: kubelet 1.26+ would fail
    // every image request (seen in the VM with Debian's 0.4.1).
    if (use_soci_snapshotter(cfg) && !soci_before_0_10(cfg))
        k["imageServiceEndpoint"] = fmt::format("unix://{}", path::soci_socket);
    // Kubelets 1.22-1.26 default to 5/10 QPS/burst; API Priority and Fairness
    // lets nodeadm raise them. 1.27 raised the defaults to 50/100 itself.
    if (kubelet_at_least(cfg, "1.22") && !kubelet_at_least(cfg, "1.27")) {
        k["kubeAPIQPS"] = 10;
        k["kubeAPIBurst"] = 20;
    }
    // With the external cloud provider (1.26+) nothing else sets providerID.
    if (kubelet_at_least(cfg, "1.26")) k["providerID"] = need_string(cfg, "/derived/providerID");
    // kubelet refuses reservedSystemCPUs (--reserved-cpus) together with
    // either reserved cgroup; bootstrap.sh left both out then, and so do we.
    const bool reserved_cgroups = !reserves_cpus(cfg);
    if (reserved_cgroups) k["systemReservedCgroup"] = "/system";
    k["protectKernelDefaults"] = true;
    k["serializeImagePulls"] = false;
    k["serverTLSBootstrap"] = true;
    if (reserved_cgroups) k["kubeReservedCgroup"] = "/runtime";
    k["logging"] = {{"verbosity", 2}};
    k["maxPods"] = need(cfg, "/derived/maxPods");
    k["evictionHard"] = {{"memory.available", "100Mi"}, {"nodefs.available", "10%"}, {"nodefs.inodesFree", "5%"}};
    k["kubeReserved"] = need(cfg, "/derived/kubeReserved");
    k["tlsCipherSuites"] = tls_cipher_suites();
    // Graceful node shutdown from 1.34, as nodeadm's (amazon-eks-ami #2390):
    // EC2 gives an instance "several minutes" to shut down, read as 3; kubelet
    // takes 2m30s of them (30 s for critical pods) and leaves the rest to the
    // OS's own orderly shutdown. kubelet holds the shutdown with a logind
    // inhibitor lock for that long.
    if (kubelet_at_least(cfg, "1.34")) {
        k["shutdownGracePeriod"] = "2m30s";
        k["shutdownGracePeriodCriticalPods"] = "30s";
    }
    // Only with a pod to run (settings.staticPods): kubelet then watches the
    // directory, which eks-node-kubelet owns; without, kubelet runs no file's pod.
    if (non_empty_object(cfg, "/settings/staticPods")) k["staticPodPath"] = path::static_pod_dir;
    // settings.swap (eks-node-swap(8)): kubelet starts on a node with swap on
    // only with failSwapOn false, and lets pods use it as swapBehavior says
    // (KEP-2400; derive/ refused kubelets before 1.30). Without the setting,
    // kubelet's defaults: failSwapOn true, as on every node without swap.
    if (const json* swap = find(cfg, "/derived/swap"); swap && swap->is_object()) {
        k["failSwapOn"] = false;
        k["memorySwap"] = {{"swapBehavior", need_string(cfg, "/derived/swap/swapBehavior")}};
    }

    return k;
}

// settings.kubelet.configMode = "replace": the user's KubeletConfiguration is
// the file, and these of eks-node's values fill it where it has none: without
// them the node does not join (CA, cluster DNS, provider ID), or kubelet
// disagrees with what eks-node set up (containerd's socket and cgroup driver)
// or runs on kubelet's defaults, which are wrong for this instance (110 pods,
// nothing reserved). eks-node.toml(5) KUBELET CONFIGURATION lists them;
// config/validate.cpp refuses the values that cannot work.
constexpr std::string_view filled_when_absent[] = {
    "/authentication/x509/clientCAFile",
    "/clusterDNS",
    "/providerID",
    "/containerRuntimeEndpoint",
    "/imageServiceEndpoint",
    "/cgroupDriver",
    "/maxPods",
    "/kubeReserved",
    "/staticPodPath",  // only with settings.staticPods, which refuses a user's own
    "/failSwapOn",     // only with settings.swap: kubelet's default (true) would not start
    "/memorySwap",     // only with settings.swap
};

bool absent(const json& k, const json::json_pointer& p) { return !k.contains(p) || k.at(p).is_null(); }

json replaced_kubelet_config(const json& cfg, const json& ours) {
    json k = type_meta();
    if (const json* user = non_empty_object(cfg, "/spec/kubelet/config")) deep_merge(k, *user);
    for (std::string_view key : filled_when_absent) {
        json::json_pointer p{std::string(key)};
        if (ours.contains(p) && absent(k, p)) k[p] = ours.at(p);
    }
    return k;
}

std::string user_key_origin(const json& cfg, const std::string& key) {
    const json* o = find(cfg, "/origins");
    if (o && o->is_object()) {
        // the key's own origin, or the one of the first of its fields
        std::string pointer = "/spec/kubelet/config" + key;
        if (auto it = o->find(pointer); it != o->end() && it->is_string()) return it->get<std::string>();
        for (const auto& [field, origin] : o->items())
            if (field.starts_with(pointer + "/") && origin.is_string()) return origin.get<std::string>();
    }
    return "configuration";
}

}  // namespace

bool kubelet_replaces_config(const json& cfg) {
    const json* mode = find(cfg, "/settings/kubelet/configMode");
    return mode && mode->is_string() && *mode == "replace";
}

bool kubelet_uses_dropin(const json& cfg) { return kubelet_at_least(cfg, "1.29") && !kubelet_replaces_config(cfg); }

const json* user_dropin_config(const json& cfg) {
    return kubelet_uses_dropin(cfg) ? non_empty_object(cfg, "/spec/kubelet/config") : nullptr;
}

json kubelet_config(const json& cfg) {
    json k = eks_node_kubelet_config(cfg);
    if (kubelet_replaces_config(cfg)) return replaced_kubelet_config(cfg, k);
    // Without drop-in support the user's settings can only live in this file.
    if (!kubelet_uses_dropin(cfg))
        if (const json* user = non_empty_object(cfg, "/spec/kubelet/config")) deep_merge(k, *user);
    return k;
}

json kubelet_user_dropin(const json& user_config) {
    json d = type_meta();
    deep_merge(d, user_config);
    return d;
}

}  // namespace eksnode::render::detail

namespace eksnode::render {

using namespace detail;

json kubelet_config_origins(const json& cfg) {
    const bool replace = kubelet_replaces_config(cfg);
    const std::string mode = fmt::format("settings.kubelet.configMode = {}", replace ? "replace" : "merge");
    const json* user = non_empty_object(cfg, "/spec/kubelet/config");
    const json ours = eks_node_kubelet_config(cfg);
    const json effective = kubelet_effective_config(cfg);
    json out = json::object();
    for (const auto& [key, value] : effective.items()) {
        const std::string pointer = "/" + key;
        if (key == "kind" || key == "apiVersion") {
            out[pointer] = "eks-node (the document's type)";
        } else if (user && user->contains(key)) {
            out[pointer] = fmt::format("{}: spec.kubelet.config.{} ({}{})", user_key_origin(cfg, pointer), key, mode,
                                       replace                    ? ""
                                       : kubelet_uses_dropin(cfg) ? ", over eks-node's in the drop-in 40-user.conf"
                                                                  : ", merged over eks-node's");
        } else {
            out[pointer] =
                fmt::format("eks-node ({}{})", mode, replace ? ": filled, absent from spec.kubelet.config" : "");
        }
    }
    // the nested value replace mode fills inside the user's own table
    if (replace && user) {
        const json::json_pointer ca{"/authentication/x509/clientCAFile"};
        if (absent(*user, ca) && ours.contains(ca))
            out[ca.to_string()] = fmt::format("eks-node ({}: filled, absent from spec.kubelet.config)", mode);
    }
    return out;
}

}  // namespace eksnode::render
