// SPDX-License-Identifier: Apache-2.0
// eks-node-kubelet: kubelet's configuration, kubeconfig and flags.
// See eks-node-kubelet(8).
#include "steps/steps.hpp"

int main(int argc, char** argv) {
    return eksnode::run_step(argc, argv, eksnode::steps::kubelet_spec, eksnode::steps::kubelet);
}
