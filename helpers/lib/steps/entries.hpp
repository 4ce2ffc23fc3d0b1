// SPDX-License-Identifier: Apache-2.0
// What a step program's main() needs: each step's spec and function, declared over types it
// names only (core/step_fwd.hpp). A main includes this file alone, so its few lines
// compile without nlohmann/json, fmt or the standard library's containers: 19 mains, each
// compiled in three builds (tools/test.sh), took 3.4 CPU-s apiece through steps/steps.hpp.
// steps/steps.hpp includes this file, so the definitions in steps/ are checked against these
// declarations.
#pragma once

#include "core/step_fwd.hpp"

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
StepResult imds(const StepOptions& opts);              // steps/imds.cpp
StepResult config(const StepOptions& opts);            // steps/config.cpp
StepResult system(const StepOptions& opts);            // steps/system.cpp
StepResult ca(const StepOptions& opts);                // steps/ca.cpp
StepResult kubelet(const StepOptions& opts);           // steps/kubelet.cpp
StepResult containerd(const StepOptions& opts);        // steps/containerd.cpp
StepResult containerd_image(const StepOptions& opts);  // steps/containerd.cpp, `eks-node render --image`
StepResult hosts(const StepOptions& opts);             // steps/hosts.cpp
StepResult instance_store(const StepOptions& opts);    // steps/instance_store.cpp
StepResult ebs_volumes(const StepOptions& opts);       // steps/ebs_volumes.cpp
StepResult cloud_init(const StepOptions& opts);        // steps/cloud_init.cpp
StepResult preflight(const StepOptions& opts);         // steps/preflight.cpp
StepResult joined(const StepOptions& opts);            // steps/joined.cpp
StepResult prepull(const StepOptions& opts);           // steps/prepull.cpp
StepResult network(const StepOptions& opts);           // steps/network.cpp, one interface
StepResult ecs(const StepOptions& opts);               // steps/ecs.cpp
StepResult warm_pool(const StepOptions& opts);         // steps/warm_pool.cpp, polls until InService
StepResult swap(const StepOptions& opts);              // steps/swap.cpp

// eks-node-hook NAME: execv()s hook NAME's command (steps/hook.cpp); returns
// only on failure, with the exit status (203 when the command cannot be
// executed, as systemd's own, 6 when its file is missing or not root's).
int hook_main(int argc, char** argv);

// eks-node-readahead [--list=PATH] [--jobs=N]: the list's files read into the
// page cache (steps/readahead.cpp). Its own options, no configuration: it runs
// before any step, from the list the image build wrote.
int readahead_main(int argc, char** argv);

// A step program's main(): core/step.hpp's run_step over `fn` (steps/steps.cpp).
int step_main(int argc, char** argv, const StepSpec& spec, StepEntry fn);

}  // namespace eksnode::steps
