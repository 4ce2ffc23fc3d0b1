// SPDX-License-Identifier: Apache-2.0
// Renderers: pure functions of config.json (+ files under the root) that write
// a step's outputs atomically and report what changed. The steps that call
// them (steps/ca.cpp, kubelet.cpp, containerd.cpp, hosts.cpp, system.cpp) load config.json.
//
// Owner area: helpers/lib/render/.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/jsonutil.hpp"
#include "core/paths.hpp"
#include "core/step.hpp"

namespace eksnode::render {

// eks-node-ca: /etc/kubernetes/pki/ca.crt (0644).
StepResult render_ca(const json& cfg, const Paths& paths);

// eks-node-kubelet: config.json, config.json.d/40-user.conf, kubelet flags
// environment file, kubeconfig (0600), image credential provider config.
StepResult render_kubelet(const json& cfg, const Paths& paths);

// eks-node-containerd: /etc/containerd/config.toml, base-runtime-spec.json,
// SOCI snapshotter config (FastImagePull).
StepResult render_containerd(const json& cfg, const Paths& paths);

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
StepResult render_hosts(const json& cfg, const Paths& paths);   // resolve_with_dns

}  // namespace eksnode::render
