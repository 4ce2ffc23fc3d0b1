// SPDX-License-Identifier: Apache-2.0
// The output registry: every file a step leaves on the node, once. The
// renderers write with its modes, `eks-node validate` checks against it,
// `eks-node collect-logs` collects (and masks) by it, and each step's Landlock
// policy is derived from it. Before, four hand-kept lists said the same thing
// and could drift; a file added here is checked, collected and writable
// everywhere at once (tests/unit/core/test_outputs.cpp holds it to the man pages).
#pragma once

#include <string_view>
#include <sys/types.h>
#include <vector>

#include "core/paths.hpp"

namespace eksnode::outputs {

// How a file is parsed by `eks-node validate` and redacted by collect-logs.
enum class Format { json, toml, yaml, pem, env, text };

struct Output {
    // As seen on the node (Paths::of re-roots it). A "*" makes it a pattern
    // for a family of files, one per name ("/run/eks-node/env/*.env": a
    // unit's environment; "/etc/containerd/certs.d/*/hosts.toml": one per
    // registry), each "*" standing for a part of one path component that is
    // not empty and does not start with "."; a file with an entry of its own
    // (default.env) is not one of them.
    std::string_view path;
    mode_t mode;
    Format format;
    std::string_view step;  // the step that writes it ("kubelet")
    // May hold credentials: 0600, and collect-logs redacts it by its format or,
    // when it has none to redact by (free-form text), leaves it out.
    bool secret = false;
    // Written only in some configurations (and withdrawn in the others).
    bool optional = false;
    // The file is the system's and the step owns only a marked block of it
    // (/etc/hosts): it keeps the file's mode, and `mode` is only for a new file.
    bool block_only = false;
    // Its directory belongs to another package: written only into an existing
    // one, so confinement grants it if present and never creates it.
    bool existing_dir = false;
    // Its consumer reads it at each use, not only at start (containerd reads
    // a registry's hosts.toml and the files it names at each pull): a change
    // restarts nothing (StepResult::read_per_use).
    bool read_per_use = false;
    // A step that writes it at boot ahead of `step`, from the same code: eks-node-config
    // writes containerd's files when user data changes them during the boot's join, so
    // that containerd's early start is restarted on them at once (eks-node-config(8),
    // CONTAINERD). Its confinement grants the file's directory too.
    std::string_view early_step = {};

    bool written_by(std::string_view s) const { return step == s || (!early_step.empty() && early_step == s); }
    bool is_pattern() const { return path.find('*') != std::string_view::npos; }
    // `absolute` is this file, or one of this pattern's.
    bool matches(std::string_view absolute) const;
    // The directory of its files; of a pattern's, the one above the first "*".
    std::string_view directory() const;
};

// In the order collect-logs archives them and validate lists them: the chain's
// order, then each step's files in the order it writes them.
// A table, kept as one: clang-format would give each field a line of its own.
// clang-format off
inline constexpr Output all[] = {
    {.path = path::user_data, .mode = 0600, .format = Format::text, .step = "imds", .secret = true, .optional = true},
    {.path = path::instance_json, .mode = 0644, .format = Format::json, .step = "imds"},
    // only in an Auto Scaling warm pool; eks-node-warm-pool removes it too
    {.path = path::warm_pool_marker, .mode = 0644, .format = Format::text, .step = "imds", .optional = true},
    // may carry proxy URLs with credentials (spec.instance.environment)
    {.path = path::config_json, .mode = 0600, .format = Format::json, .step = "config", .secret = true},
    // only with settings.preflight.policy = "fail": which of the two preflight units runs
    {.path = path::preflight_gate_marker, .mode = 0644, .format = Format::text, .step = "config", .optional = true},
    // only when eks-node-system has work (render::system_due): its unit's condition
    {.path = path::system_due_marker, .mode = 0644, .format = Format::text, .step = "config", .optional = true},
    // only when eks-node-containerd has work at boot (render::containerd_work): its unit's condition
    {.path = path::containerd_due_marker, .mode = 0644, .format = Format::text, .step = "config", .optional = true},
    // spec.instance.environment.default, and one file per other section, named
    // after its unit: proxy URLs with credentials, typically
    {.path = path::default_env, .mode = 0600, .format = Format::env, .step = "system", .secret = true,
     .optional = true},
    {.path = path::unit_env, .mode = 0600, .format = Format::env, .step = "system", .secret = true, .optional = true},
    // spec.instance.network
    {.path = path::resolved_dropin, .mode = 0644, .format = Format::text, .step = "system", .optional = true},
    // settings.profile and settings.sysctls
    {.path = path::sysctl_conf, .mode = 0644, .format = Format::text, .step = "system", .optional = true},
    {.path = path::ca_crt, .mode = 0644, .format = Format::pem, .step = "ca"},
    // settings.trust, in the store of the distribution the node runs
    {.path = path::trust_anchor, .mode = 0644, .format = Format::pem, .step = "ca", .optional = true,
     .existing_dir = true},
    {.path = path::trust_blocklist, .mode = 0644, .format = Format::pem, .step = "ca", .optional = true,
     .existing_dir = true},
    {.path = path::debian_trust_anchor, .mode = 0644, .format = Format::pem, .step = "ca", .optional = true,
     .existing_dir = true},
    // spec.kubelet.config lands in one of the two (the drop-in from kubelet
    // 1.29), and its staticPodURLHeader is a credential (staticPodURL may
    // carry one in its userinfo); spec.kubelet.flags in the environment
    // (--manifest-url-header). Only kubelet (root) reads them: 0600 always,
    // so that no file's mode depends on what the user data holds.
    {.path = path::kubelet_config, .mode = 0600, .format = Format::json, .step = "kubelet", .secret = true},
    {.path = path::kubelet_user_dropin, .mode = 0600, .format = Format::json, .step = "kubelet", .secret = true,
     .optional = true},
    // AL2's kubelet-config.json: the two above merged, with the user's edits
    // of it, which live in the last drop-in; and the step's copy of what it
    // wrote, to tell an edit from its own change. The same values: 0600
    {.path = path::kubelet_edits_dropin, .mode = 0600, .format = Format::json, .step = "kubelet", .secret = true,
     .optional = true},
    {.path = path::kubelet_config_al2, .mode = 0600, .format = Format::json, .step = "kubelet", .secret = true},
    {.path = path::kubelet_config_al2_written, .mode = 0600, .format = Format::json, .step = "kubelet",
     .secret = true},
    // settings.credentialProviders.NAME.env may hold a provider's credential;
    // kubelet and eks-node-prepull (root) alone read it: 0600 always
    {.path = path::credential_provider_config, .mode = 0600, .format = Format::json, .step = "kubelet",
     .secret = true},
    // settings.staticPods, one file per pod: a manifest may carry a credential
    // in a container's env; only kubelet (root) reads it
    {.path = path::static_pod, .mode = 0600, .format = Format::yaml, .step = "kubelet", .secret = true,
     .optional = true},
    {.path = path::kubelet_env, .mode = 0600, .format = Format::env, .step = "kubelet", .secret = true},
    // one of the two kubeconfigs, by enableOutpost: both grant cluster access
    {.path = path::kubeconfig, .mode = 0600, .format = Format::yaml, .step = "kubelet", .secret = true,
     .optional = true},
    {.path = path::bootstrap_kubeconfig, .mode = 0600, .format = Format::yaml, .step = "kubelet", .secret = true,
     .optional = true},
    // spec.containerd.config may hold registry credentials and headers
    // (registry.configs.*.auth, registry.headers), which containerd reads
    // only from here; containerd (root) alone reads it: 0600 always
    {.path = path::containerd_config, .mode = 0600, .format = Format::toml, .step = "containerd", .secret = true,
     .early_step = "config"},
    // spec.containerd.baseRuntimeSpec may set process.env, which a user may
    // fill with a credential for every container; containerd (root) alone
    // reads the file: 0600 always, as config.toml
    {.path = path::base_runtime_spec, .mode = 0600, .format = Format::json, .step = "containerd", .secret = true,
     .early_step = "config"},
    // settings.registries: one directory per registry under containerd's
    // config_path, ours when its hosts.toml carries our header; the TLS files
    // its hosts.toml names beside it, the client keys secret
    {.path = path::registry_hosts_toml, .mode = 0644, .format = Format::toml, .step = "containerd", .optional = true,
     .read_per_use = true, .early_step = "config"},
    {.path = path::registry_certificate, .mode = 0644, .format = Format::pem, .step = "containerd", .optional = true,
     .read_per_use = true, .early_step = "config"},
    {.path = path::registry_key, .mode = 0600, .format = Format::pem, .step = "containerd", .secret = true,
     .optional = true, .read_per_use = true, .early_step = "config"},
    {.path = path::soci_config, .mode = 0644, .format = Format::toml, .step = "containerd", .optional = true,
     .existing_dir = true, .early_step = "config"},
    // our block only on Outposts; a node without /etc/hosts is left without one
    {.path = path::etc_hosts, .mode = 0644, .format = Format::text, .step = "hosts", .optional = true,
     .block_only = true},
    // an ECS node only (settings.node = "ecs"); ecs.config may carry proxy
    // URLs with credentials (ecs.service's spec.instance.environment), and
    // the agent (root) alone reads it; daemon.json only with a default
    // runtime handler, and then only its default-runtime and runtimes keys
    {.path = path::ecs_config, .mode = 0600, .format = Format::env, .step = "ecs", .secret = true, .optional = true},
    {.path = path::docker_daemon_json, .mode = 0644, .format = Format::json, .step = "ecs", .optional = true,
     .block_only = true},
    // one per EC2 interface, by eks-node-network@NAME.service; the drop-in
    // once the primary has its file; the owner decided per MAC
    {.path = path::eni_network, .mode = 0644, .format = Format::text, .step = "network", .optional = true},
    {.path = path::network_fallback_dropin, .mode = 0644, .format = Format::text, .step = "network",
     .optional = true},
    {.path = path::eni_owner, .mode = 0644, .format = Format::text, .step = "network", .optional = true},
    // after the boot (eks-node-telemetry(8)); absent until it has run
    {.path = path::telemetry_textfile, .mode = 0644, .format = Format::text, .step = "telemetry", .optional = true},
    // the verdict line of the last pass (eks-node-verdict(8)); absent until one ended
    {.path = path::verdict_file, .mode = 0644, .format = Format::text, .step = "verdict", .optional = true},
};
// clang-format on

// The entry for `path` (its own, else the pattern it matches), or nullptr
// when no step writes it.
const Output* find(std::string_view path);
// The entry for `path`; throws Error when it is not registered (a renderer
// writing a file the registry does not know is a programming error).
const Output& of(std::string_view path);
// The outputs `step` writes, in registry order.
std::vector<const Output*> of_step(std::string_view step);
// Every step that writes an output, in order of first appearance.
std::vector<std::string_view> steps();
// The files present under the root that `o` stands for: the file itself, or
// every file of the pattern (sorted), as absolute paths on the node.
std::vector<std::string> present(const Output& o, const Paths& paths);
// "json", "toml", ... for messages and tests.
std::string_view format_name(Format format);

}  // namespace eksnode::outputs
