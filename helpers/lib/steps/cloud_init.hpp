// SPDX-License-Identifier: Apache-2.0
// eks-node-cloud-init's work once user data scripts have run, shared with
// `eks-node bootstrap-sh`: an AL2 script's call of /etc/eks/bootstrap.sh is
// where kubelet starts, as on AL2, so the shim does it then (eks-node-config(8),
// AL2 BOOTSTRAP.SH USER DATA).
#pragma once

#include "core/paths.hpp"

namespace eksnode::steps {

// Restarts eks-node-config, containerd or eks-node-containerd when a script
// wrote one of their inputs after they started (jobs only, not waited for).
// Under systemd on the host only.
void redo_what_scripts_changed(const Paths& paths);

}  // namespace eksnode::steps
