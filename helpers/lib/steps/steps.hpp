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

namespace eksnode::steps {

// Each step's name, --help line and the services that read its outputs.
extern const StepSpec imds_spec;
extern const StepSpec config_spec;
extern const StepSpec system_spec;
extern const StepSpec ca_spec;
extern const StepSpec kubelet_spec;
extern const StepSpec containerd_spec;
extern const StepSpec hosts_spec;
extern const StepSpec instance_store_spec;
extern const StepSpec ebs_volumes_spec;
extern const StepSpec cloud_init_spec;
extern const StepSpec preflight_spec;
extern const StepSpec joined_spec;
extern const StepSpec prepull_spec;
extern const StepSpec network_spec;
extern const StepSpec ecs_spec;
extern const StepSpec warm_pool_spec;
extern const StepSpec swap_spec;

// Each step's work, as main() and `eks-node render` run it.
StepResult imds(const StepOptions& opts);            // steps/imds.cpp
StepResult config(const StepOptions& opts);          // steps/config.cpp
StepResult system(const StepOptions& opts);          // steps/system.cpp
StepResult ca(const StepOptions& opts);              // steps/ca.cpp
StepResult kubelet(const StepOptions& opts);         // steps/kubelet.cpp
StepResult containerd(const StepOptions& opts);      // steps/containerd.cpp
StepResult containerd_image(const StepOptions& opts);  // steps/containerd.cpp, `eks-node render --image`
StepResult hosts(const StepOptions& opts);           // steps/hosts.cpp
StepResult instance_store(const StepOptions& opts);  // steps/instance_store.cpp
StepResult ebs_volumes(const StepOptions& opts);     // steps/ebs_volumes.cpp
StepResult cloud_init(const StepOptions& opts);      // steps/cloud_init.cpp
StepResult preflight(const StepOptions& opts);       // steps/preflight.cpp
// settings.preflight.policy of a config.json: "warn" (the default), "fail" or "off"
// (steps/preflight.cpp; eks-node-config writes the gate's marker by it)
std::string preflight_policy(const json& cfg);
StepResult joined(const StepOptions& opts);          // steps/joined.cpp
StepResult prepull(const StepOptions& opts);         // steps/prepull.cpp
StepResult network(const StepOptions& opts);         // steps/network.cpp, one interface
StepResult ecs(const StepOptions& opts);             // steps/ecs.cpp
StepResult warm_pool(const StepOptions& opts);       // steps/warm_pool.cpp, polls until InService
StepResult swap(const StepOptions& opts);            // steps/swap.cpp

// eks-node-hook NAME: execv()s hook NAME's command (steps/hook.cpp); returns
// only on failure, with the exit status (203 when the command cannot be
// executed, as systemd's own, 6 when its file is missing or not root's).
int hook_main(int argc, char** argv);

// eks-node-readahead [--list=PATH] [--jobs=N]: the list's files read into the
// page cache (steps/readahead.cpp). Its own options, no configuration: it runs
// before any step, from the list the image build wrote.
int readahead_main(int argc, char** argv);

// config.json as eks-node-config wrote it (--config=, else under --root).
// Throws ConfigError (exit 6) when it is missing or not JSON: the steps after
// eks-node-config cannot run without it.
json load_config_json(const StepOptions& opts);

}  // namespace eksnode::steps
