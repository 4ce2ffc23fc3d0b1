// SPDX-License-Identifier: Apache-2.0
// eks-node-prepull: pull settings.prePull.images through containerd's CRI
// image service after kubelet has started. See eks-node-prepull(8).
#include "steps/steps.hpp"

int main(int argc, char** argv) {
    return eksnode::run_step(argc, argv, eksnode::steps::prepull_spec, eksnode::steps::prepull);
}
