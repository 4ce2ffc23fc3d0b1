// SPDX-License-Identifier: Apache-2.0
// eks-node-kubelet: kubelet's configuration, kubeconfig and flags.
// See eks-node-kubelet(8).
#include "steps/entries.hpp"

int main(int argc, char** argv) {
    return eksnode::steps::step_main(argc, argv, eksnode::steps::kubelet_spec, eksnode::steps::kubelet);
}
