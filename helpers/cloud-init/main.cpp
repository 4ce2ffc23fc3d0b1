// SPDX-License-Identifier: Apache-2.0
// eks-node-cloud-init: kubelet after the user data's cloud-init scripts.
// See eks-node-cloud-init(8).
#include "steps/entries.hpp"

int main(int argc, char** argv) {
    return eksnode::steps::step_main(argc, argv, eksnode::steps::cloud_init_spec, eksnode::steps::cloud_init);
}
