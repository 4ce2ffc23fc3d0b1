// SPDX-License-Identifier: Apache-2.0
// The steps layer: one file per step, named as its binary, unit and man page
// (steps/kubelet.cpp is eks-node-kubelet, eks-node-kubelet.service,
// eks-node-kubelet(8), tests/golden/kubelet/). Each holds the step's glue:
// what it reads, which domain module does the work, what it writes. Domain
// modules (config/, imds/, derive/, render/, storage/, aws/) never include
// this layer; the step binaries and the CLI do.
#pragma once

#include "core/jsonutil.hpp"
#include "core/paths.hpp"
#include "core/step.hpp"
// Each step's spec and function, generated from units/steps.tsv (tools/gen-steps.py)
#include "steps/entries.hpp"

namespace eksnode::steps {

// containerd's files from what the image fixes alone, as `eks-node render --image` writes
// them at image build (steps/containerd.cpp)
StepResult containerd_image(const StepOptions& opts);

// settings.preflight.policy of a config.json: "warn" (the default), "fail" or "off"
// (steps/preflight.cpp; eks-node-config writes the gate's marker by it)
std::string preflight_policy(const json& cfg);

// config.json as eks-node-config wrote it (--config=, else under --root).
// Throws ConfigError (exit 6) when it is missing or not JSON: the steps after
// eks-node-config cannot run without it.
json load_config_json(const StepOptions& opts);

}  // namespace eksnode::steps
