// Renderers: pure functions of config.json (+ files under the root) that write
// a step's outputs atomically and report what changed.
//
// Owner area: helpers/lib/render/.
#pragma once

#include "core/jsonutil.hpp"
#include "core/paths.hpp"
#include "core/step.hpp"

namespace eksnode {

// eks-node-ca: /etc/kubernetes/pki/ca.crt (0644).
StepResult render_ca(const json& cfg, const Paths& paths);

// eks-node-kubelet: config.json, config.json.d/40-user.conf, kubelet flags
// environment file, kubeconfig (0600), image credential provider config,
// service environment files.
StepResult render_kubelet(const json& cfg, const Paths& paths);

// eks-node-containerd: /etc/containerd/config.toml, base-runtime-spec.json.
StepResult render_containerd(const json& cfg, const Paths& paths);

// eks-node-hosts (Outposts): API server addresses in /etc/hosts, idempotently.
StepResult render_hosts(const json& cfg, const Paths& paths);

}  // namespace eksnode
