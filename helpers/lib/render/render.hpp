// SPDX-License-Identifier: Apache-2.0
// Renderers: pure functions of config.json (+ files under the root) that write
// a step's outputs atomically and report what changed. The steps that call
// them (steps/ca.cpp, kubelet.cpp, containerd.cpp, hosts.cpp, system.cpp) load config.json.
//
// Owner area: helpers/lib/render/.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/jsonutil.hpp"
#include "core/paths.hpp"
#include "core/step.hpp"

namespace eksnode::render {

// eks-node-ecs (settings.node = "ecs"): /etc/ecs/ecs.config from
// settings.ecs, and in /etc/docker/daemon.json the default runtime handler
// of settings.runtimes (its binary checked first), the file's other keys
// kept. Asks for a try-restart of ecs.service and docker.service when their
// file changed, and of docker.service when a kernel module of the default
// handler is not loaded yet. Throws ConfigError (exit 6) for a default
// handler Docker cannot run, a missing or non-executable binary, a kernel
// module this kernel does not have, or a daemon.json that is not a JSON object.
StepResult render_ecs(const json& cfg, const Paths& paths);
// The handler with default = true, as Docker's runtime; nullopt when none.
struct DockerRuntime {
    std::string name;
    std::string binary;
    std::vector<std::string> kernel_modules;  // checked: this kernel has them
};
std::optional<DockerRuntime> docker_default_runtime(const json& cfg, const Paths& paths);

// ---- What the rendered files name ------------------------------------------
// The programs a node must have because a file eks-node renders names them, read from the
// functions that render those files (eks-node validate --image checks an image against them).

// The kubeconfig's exec credential plugin (users[].user.exec), as kubelet runs it for the
// token of its first request: `command` as written there (a name kubelet looks up in its
// PATH, or an absolute path), then `args`. `cluster` is the cluster's name (its id on
// Outposts), `region` the instance's.
struct CredentialPlugin {
    std::string api_version;  // client.authentication.k8s.io/v1beta1
    std::string command;
    std::vector<std::string> args;
};
CredentialPlugin kubelet_credential_plugin(const json& cfg, std::string_view cluster, std::string_view region);

// /etc/eks/image-credential-provider/config.json as eks-node-kubelet writes it for this
// kubelet version: each provider's name is a program in kubelet's
// --image-credential-provider-bin-dir (path::credential_provider_bin_dir).
json image_credential_provider_config(const json& cfg);

// A program containerd's config.toml names, and what names it.
struct NamedProgram {
    std::string path;  // absolute, as written
    std::string what;  // "runtime handler runc (BinaryName)"
    bool oci_runtime;  // an OCI runtime (runc, crun, ...): answers --version
};
// The runtime handlers' programs of containerd_config(cfg) (the built-in handler's runc or
// NVIDIA's wrapper, each settings.runtimes handler's binary or shim, and any a user's
// containerd.config adds), read back from the rendered document.
std::vector<NamedProgram> containerd_programs(const json& cfg);
// The CNI binary directories the rendered config.toml names (bin_dir, or bin_dirs from 2.1).
std::vector<std::string> containerd_cni_dirs(const json& cfg);
// The reference CNI plugins a node needs there besides the VPC CNI's own: loopback, which
// containerd's CRI runs for every pod's lo; portmap and bandwidth, which the VPC CNI's
// configuration chains; host-local, its egress plugin's IPAM. The image installs them
// (packer/provisioners/22-cni-plugins.sh), the VPC CNI only its own.
inline constexpr std::string_view cni_plugins_needed[] = {"loopback", "portmap", "bandwidth", "host-local"};
// The programs the SOCI snapshotter's config (soci_config) names for the snapshotter release
// of machine.sociSnapshotterVersion, as eks-node-containerd writes it when FastImagePull is
// on: from 0.10, its parallel pull's gzip decompressor (/usr/bin/unpigz); before, none.
std::vector<std::string> soci_snapshotter_programs(const json& cfg);

// eks-node-ca: /etc/kubernetes/pki/ca.crt (0644), and settings.trust in the
// system trust store (render_trust).
StepResult render_ca(const json& cfg, const Paths& paths);

// The system trust store under `paths`: p11-kit's (AL2023,
// /etc/pki/ca-trust/source/anchors), Debian's (/usr/local/share/ca-certificates), or none.
enum class TrustStore { none, p11_kit, debian };
TrustStore trust_store(const Paths& paths);
// Runs the store's tool (argv: update-ca-trust extract, update-ca-certificates).
using TrustUpdate = std::function<void(const std::vector<std::string>& argv)>;
// settings.trust as files of that store (0644 eks-node-NAME.pem, or .crt on
// Debian), stale ones removed; when any changed, `update` runs the store's
// tool and containerd is asked to try-restart. Throws ConfigError (exit 6)
// for a bundle the store cannot take (trusted = false on Debian; no store).
void render_trust(StepResult& r, const json& cfg, const Paths& paths, const TrustUpdate& update);
// settings.trust against the store under `paths`, the same ConfigError
// render_trust() would throw, with nothing written: eks-node-ca calls it
// before its first write (ca.crt), `eks-node config check` on the node too.
void check_trust(const json& cfg, const Paths& paths);
// The tool, for real: within four minutes, or Error (exit 1) with its output.
void run_trust_update(const std::vector<std::string>& argv);

// eks-node-kubelet: config.json, config.json.d/40-user.conf, kubelet flags
// environment file, kubeconfig (0600), image credential provider config.
StepResult render_kubelet(const json& cfg, const Paths& paths);

// settings.credentialProviders against the machine under `paths`: each
// provider's program an executable file in kubelet's bin directory. Throws
// ConfigError (exit 6) naming the provider, the file and where it was set.
// render_kubelet() calls it first; `eks-node config check` too.
void check_credential_providers(const json& cfg, const Paths& paths);

// The KubeletConfiguration kubelet ends up with: config.json as
// render_kubelet() writes it, with the user's drop-in keys over it, as
// kubelet merges them (eks-node-joined reads its health port from it).
json kubelet_effective_config(const json& cfg);
// Where each key of kubelet_effective_config() came from, by JSON pointer
// into it: the user's (with the source and the configuration mode) or
// eks-node's. `eks-node config dump --origins` prints it.
json kubelet_config_origins(const json& cfg);

// eks-node-containerd: /etc/containerd/config.toml, base-runtime-spec.json,
// SOCI snapshotter config (FastImagePull).
// With dry_run, nothing is written: the result's outputs say what would change.
StepResult render_containerd(const json& cfg, const Paths& paths, bool dry_run = false);
// What eks-node-containerd's run would do under `paths` as the files are now,
// asked without writing or logging anything, for eks-node-config:
struct ContainerdWork {
    // Why the run has work (eks-node-containerd(8), WHEN IT RUNS), or nullopt
    // when it would write, remove and restart nothing: one of its files would
    // change (config.toml with the fingerprints of the drop-ins it imports, the
    // base runtime spec, the SOCI configuration, a registry's files), a
    // handler's kernel module is not loaded, or it would refuse cfg (it names
    // the field then). The answer for the unit's ConditionPathExists=
    // (path::containerd_due_marker).
    std::optional<std::string> due;
    // Why containerd would restart: config.toml or the base runtime spec would
    // change, or a handler's kernel module is not loaded; nullopt on a refusal.
    // When it is set during the boot's join, eks-node-config writes the files itself and
    // restarts containerd's early start on them (eks-node-config(8), CONTAINERD).
    std::optional<std::string> restart;
};
ContainerdWork containerd_work(const json& cfg, const Paths& paths);
// Part of it: settings.registries as /etc/containerd/certs.d/HOST/hosts.toml
// and the TLS files each names (eks-node-*.crt, client keys 0600); what an
// earlier run wrote for a registry no longer configured is removed (a
// hosts.toml without eks-node's header is never touched). containerd reads
// them at each pull: their changes restart nothing (StepResult::read_per_use).
void render_registries(StepResult& r, const json& cfg, const Paths& paths);
// settings.registries against this node's containerd (machine.containerdVersion):
// throws the ConfigError render_registries() would (_default without mirrors
// needs containerd 2), with nothing written. render_containerd() calls it
// before its first write; `eks-node config check` on the node too.
void check_registries(const json& cfg);
// settings.runtimes against the machine under `paths`: each handler's binary
// an executable file, each kernel module loadable (when the running kernel's
// release can be read there). Throws ConfigError (exit 6) naming the handler,
// the file or module and where it was set. render_containerd() calls it
// first; `eks-node config check` and `validate` too.
void check_runtime_handlers(const json& cfg, const Paths& paths);

// eks-node-system: spec.instance.environment as /run/eks-node/env/default.env
// and one NAME.env per other section (0600; stale ones withdrawn), and
// spec.instance.network as /run/systemd/resolved.conf.d/40-eks.conf. The
// result asks for a try-restart of each unit whose environment changed
// (default.env or its own file; kubelet and containerd always count) and of
// systemd-resolved when its drop-in changed.
StepResult render_system(const json& cfg, const Paths& paths);
// spec.instance.network sets name servers or search domains (render_system()
// writes the drop-in), which only a running systemd-resolved applies.
bool sets_dns(const json& cfg);
// render_system() wrote a new or changed sysctl.d file (path::sysctl_conf),
// which systemd-sysctl has yet to apply.
bool sysctls_changed(const StepResult& r);
// Why eks-node-system has work under `paths`, or nullopt when it has none: the
// configuration sets a service environment, name servers or search domains, or
// sysctls, or a file of its from an earlier run is there to withdraw (all are under
// /run, so at boot only the configuration counts). eks-node-config writes the
// answer for the unit's ConditionPathExists= (path::system_due_marker), so a node
// that asks for none of these starts no process for it. A configuration it would
// refuse counts as work: eks-node-system reports it, naming the field.
std::optional<std::string> system_due(const json& cfg, const Paths& paths);

// What config.toml imports: AL2's drop-in directory, whose files (written by
// the image, by user data scripts, by an admin) containerd itself loads at
// start over config.toml, in name order.
inline constexpr std::string_view containerd_imports = "/etc/containerd/config.d/*.toml";

// One file containerd will import, as eks-node sees it at render time.
struct ContainerdDropin {
    std::string path;                   // node path, "/etc/containerd/config.d/10-metrics.toml"
    std::string fingerprint;            // FNV-1a 64 of its bytes, hex; "" when it could not be read
    std::vector<std::string> warnings;  // what will go wrong with it in containerd, one line each
};
// The files containerd's glob matches (names ending in .toml, sorted byte by
// byte as Go's filepath.Glob sorts them), each read at most
// dropin_check_bytes (1 MiB) and checked: TOML (format::parse_toml, the project's
// nesting limit), a version containerd accepts beside config.toml's, and on
// containerd 1.x, which replaces a whole plugin's table with an imported
// one, the plugin tables config.toml sets too. Never throws for a file:
// they are not eks-node's, and containerd is their judge.
std::vector<ContainerdDropin> containerd_dropins(const json& cfg, const Paths& paths);

inline constexpr size_t dropin_check_bytes = 1u << 20;

// Addresses of a host name as numeric strings. Throws TempError (exit 75)
// when the name cannot be resolved now.
using HostResolver = std::function<std::vector<std::string>(const std::string& host)>;

// The A and AAAA records of `host`, asked of the configured name servers
// directly: going through /etc/hosts would return the entries eks-node-hosts
// wrote last time and never see the API server move.
std::vector<std::string> resolve_with_dns(const std::string& host);

// eks-node-hosts (Outposts): the API server's addresses in a marked block of
// /etc/hosts, replaced on every run, removed when not on Outposts; the rest of
// the file is kept byte for byte. If the name cannot be resolved (an Outpost
// disconnected from its region) an existing block is kept.
StepResult render_hosts(const json& cfg, const Paths& paths, const HostResolver& resolve);
StepResult render_hosts(const json& cfg, const Paths& paths);  // resolve_with_dns

}  // namespace eksnode::render
