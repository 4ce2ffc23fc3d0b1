// SPDX-License-Identifier: Apache-2.0
// eks-node-prepull: pull settings.prePull.images through containerd's CRI
// image service after kubelet has started. See eks-node-prepull(8).
#include "steps/entries.hpp"

int main(int argc, char** argv) {
    return eksnode::steps::step_main(argc, argv, eksnode::steps::prepull_spec, eksnode::steps::prepull);
}
