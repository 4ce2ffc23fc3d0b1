// SPDX-License-Identifier: Apache-2.0
// Every path the project reads or writes goes through Paths, so that tests and
// `eks-node render --root=DIR` run the whole chain under a temporary directory.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace eksnode {

namespace fs = std::filesystem;

// Well-known absolute paths (as seen on the node; Paths::of() re-roots them).
namespace path {
inline constexpr std::string_view run_dir = "/run/eks-node";
inline constexpr std::string_view instance_json = "/run/eks-node/instance.json";
inline constexpr std::string_view user_data = "/run/eks-node/user-data";
inline constexpr std::string_view config_json = "/run/eks-node/config.json";
// Present while the instance is in an Auto Scaling warm pool (its target
// lifecycle state, one line): kubelet's ConditionPathExists=! holds it back.
// Written by eks-node-imds, removed by it or by eks-node-warm-pool once the
// instance is InService (eks-node-warm-pool(8)).
inline constexpr std::string_view warm_pool_marker = "/run/eks-node/warm-pool";
// Present while settings.preflight.policy is "fail": eks-node-preflight-gate's
// ConditionPathExists= runs the checks before kubelet; without it
// eks-node-preflight's runs them beside kubelet's start (eks-node-preflight(8)).
// Written and removed by eks-node-config.
inline constexpr std::string_view preflight_gate_marker = "/run/eks-node/preflight-gate";
// eks-node-config's answer to whether eks-node-system has work (its reason, one
// line), read by that unit's ConditionPathExists=
inline constexpr std::string_view system_due_marker = "/run/eks-node/system-due";
// The same for eks-node-containerd (render::containerd_work): at boot its unit
// runs only when this is there, or once the boot's pass is over (verdict_file)
inline constexpr std::string_view containerd_due_marker = "/run/eks-node/containerd-due";
// eks-node-verdict's line of the last pass over the chain: its presence says a
// pass has ended, which lifts the boot's skip of an idle eks-node-containerd
inline constexpr std::string_view verdict_file = "/run/eks-node/verdict";
inline constexpr std::string_view ca_crt = "/etc/kubernetes/pki/ca.crt";
// NVIDIA's runc wrapper, which hands a container the GPUs it asks for; an
// image that has it installed wants containers to run through it.
inline constexpr std::string_view nvidia_container_runtime = "/usr/bin/nvidia-container-runtime";
inline constexpr std::string_view kubelet_config = "/etc/kubernetes/kubelet/config.json";
inline constexpr std::string_view kubelet_config_dir = "/etc/kubernetes/kubelet/config.json.d";
inline constexpr std::string_view kubelet_user_dropin = "/etc/kubernetes/kubelet/config.json.d/40-user.conf";
// AL2's file, which its guide tells users to edit with jq after bootstrap.sh
// (eks-node-kubelet(8), "THE AL2 FILE"): kubelet's effective configuration,
// the user's edits of it, and what the step last wrote there to tell them by.
inline constexpr std::string_view kubelet_config_al2 = "/etc/kubernetes/kubelet/kubelet-config.json";
inline constexpr std::string_view kubelet_edits_dropin =
    "/etc/kubernetes/kubelet/config.json.d/90-kubelet-config-json.conf";
inline constexpr std::string_view kubelet_config_al2_written = "/var/lib/eks-node/kubelet/kubelet-config.json";
inline constexpr std::string_view kubelet_env = "/etc/eks/kubelet/environment";
// settings.staticPods: kubelet's staticPodPath, this step's directory (set in
// kubelet's config only when there is a pod), one NAME.yaml per pod (a pattern)
inline constexpr std::string_view static_pod_dir = "/etc/kubernetes/static-pods";
inline constexpr std::string_view static_pod = "/etc/kubernetes/static-pods/*.yaml";
inline constexpr std::string_view kubeconfig = "/var/lib/kubelet/kubeconfig";
inline constexpr std::string_view credential_provider_config = "/etc/eks/image-credential-provider/config.json";
// kubelet's --image-credential-provider-bin-dir: a flag value, not an output
inline constexpr std::string_view credential_provider_bin_dir = "/etc/eks/image-credential-provider";
inline constexpr std::string_view containerd_config = "/etc/containerd/config.toml";
inline constexpr std::string_view base_runtime_spec = "/etc/containerd/base-runtime-spec.json";
// containerd imports every *.toml here over config.toml (eks-node-containerd(8)); not ours
inline constexpr std::string_view containerd_dropin_dir = "/etc/containerd/config.d";
// settings.registries (eks-node-containerd): containerd's host directories
// (its config_path's first), and in each registry's the files eks-node writes
inline constexpr std::string_view registry_hosts_dir = "/etc/containerd/certs.d";
inline constexpr std::string_view registry_hosts_toml = "/etc/containerd/certs.d/*/hosts.toml";
inline constexpr std::string_view registry_certificate = "/etc/containerd/certs.d/*/eks-node-*.crt";
inline constexpr std::string_view registry_key = "/etc/containerd/certs.d/*/eks-node-*.key";
// settings.trust (eks-node-ca): the system trust store's sources, the
// distribution's way: p11-kit's (AL2023, update-ca-trust) or Debian's
// ca-certificates (update-ca-certificates)
inline constexpr std::string_view trust_anchors_dir = "/etc/pki/ca-trust/source/anchors";
inline constexpr std::string_view trust_anchor = "/etc/pki/ca-trust/source/anchors/eks-node-*.pem";
inline constexpr std::string_view trust_blocklist = "/etc/pki/ca-trust/source/blocklist/eks-node-*.pem";
inline constexpr std::string_view debian_trust_dir = "/usr/local/share/ca-certificates";
inline constexpr std::string_view debian_trust_anchor = "/usr/local/share/ca-certificates/eks-node-*.crt";
// the store's tool's TMPDIR: eks-node-ca's confinement lets it write nowhere
// else outside the store (Debian's update-ca-certificates makes two files with
// mktemp; /tmp would be refused)
inline constexpr std::string_view trust_tool_tmp = "/run/eks-node/ca-tmp";
inline constexpr std::string_view kubelet_version_txt = "/etc/eks/kubelet-version.txt";
inline constexpr std::string_view containerd_version_txt = "/etc/eks/containerd-version.txt";
inline constexpr std::string_view etc_hosts = "/etc/hosts";
// An ECS container instance (eks-node-ecs(8)): the ECS agent's configuration,
// and Docker's, whose default runtime is the one ECS tasks run under.
inline constexpr std::string_view ecs_config = "/etc/ecs/ecs.config";
inline constexpr std::string_view docker_daemon_json = "/etc/docker/daemon.json";
// Outputs of one configuration or another (core/outputs.hpp says which).
inline constexpr std::string_view bootstrap_kubeconfig = "/var/lib/kubelet/bootstrap-kubeconfig";
inline constexpr std::string_view resolved_dropin = "/run/systemd/resolved.conf.d/40-eks.conf";
// settings.profile's and settings.sysctls' kernel parameters (eks-node-system),
// read by systemd-sysctl. Named to sort after the image's own sysctl.d files
// (99-kubelet.conf): its values are the merge of the eks-node sources, where
// user data already beats the image's fragments and an admin's beats both.
inline constexpr std::string_view sysctl_conf = "/run/sysctl.d/99-zz-eks-node.conf";
// The service environment (eks-node-system): default.env for every service,
// and one NAME.env per unit with a section of its own (a pattern: core/outputs.hpp).
inline constexpr std::string_view env_dir = "/run/eks-node/env";
inline constexpr std::string_view default_env = "/run/eks-node/env/default.env";
inline constexpr std::string_view unit_env = "/run/eks-node/env/*.env";
// eks-node-network: one .network file per EC2 interface (a pattern: core/outputs.hpp),
// the drop-in narrowing the image's fallback to the primary, and the owner
// decided for each MAC on this instance (kept across reboots)
inline constexpr std::string_view eni_network = "/run/systemd/network/70-eks-node-*.network";
inline constexpr std::string_view network_fallback_dropin =
    "/run/systemd/network/80-eks-node-ec2.network.d/50-primary-only.conf";
inline constexpr std::string_view eni_owner_dir = "/var/lib/eks-node/network";
// settings.swap's file (eks-node-swap(8)): on the root file system, or this
// name in the instance-store array's (or first disk's) mount, MOUNTPATH/0.
inline constexpr std::string_view swap_file = "/var/lib/eks-node/swapfile";
inline constexpr std::string_view swap_file_name = "swapfile";
// The instance-store swap file eks-node-swap made, one line: what it removes when
// the configuration no longer wants it (wherever the mount path was), and what
// tells the generator, before the instance store is mounted, that the step has
// work at this boot.
inline constexpr std::string_view swap_record = "/var/lib/eks-node/swapfile.instance-store";
inline constexpr std::string_view eni_owner = "/var/lib/eks-node/network/*";
inline constexpr std::string_view soci_config = "/etc/soci-snapshotter-grpc/config.toml";
// The SOCI snapshotter (FastImagePull): its daemon, the version file the image
// build writes (packer/provisioners/85-release.sh), its gRPC socket (containerd's
// proxy plugin and kubelet's image service endpoint), and the cached pause
// image's archive, which is imported into it at containerd's start
inline constexpr std::string_view soci_snapshotter_grpc = "/usr/bin/soci-snapshotter-grpc";
inline constexpr std::string_view soci_version_txt = "/etc/eks/soci-snapshotter-version.txt";
inline constexpr std::string_view soci_socket = "/run/soci-snapshotter-grpc/soci-snapshotter-grpc.sock";
inline constexpr std::string_view pause_archive = "/etc/eks/pause.tar";
// node-exporter's textfile collector reads *.prom in the directory its
// --collector.textfile.directory names; this one is the collector's documented example
inline constexpr std::string_view telemetry_textfile = "/var/lib/node_exporter/textfile_collector/eks-node.prom";
}  // namespace path

class Paths {
public:
    Paths() = default;
    explicit Paths(fs::path root) : root_(std::move(root)) {}

    // "/etc/x" -> "<root>/etc/x"; the root "/" (or empty) is the host itself.
    fs::path of(std::string_view absolute) const;
    const fs::path& root() const noexcept { return root_; }
    bool is_host() const noexcept { return root_.empty() || root_ == "/"; }
    // of()'s inverse: "<root>/etc/x" -> "/etc/x", the path as the node names it
    // (for messages and unit files, which never show a test root)
    std::string on_node(const fs::path& p) const;

private:
    fs::path root_;
};

}  // namespace eksnode
