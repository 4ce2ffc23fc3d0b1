// SPDX-License-Identifier: Apache-2.0
// eks-node-imds: fetch instance metadata and user data into /run/eks-node/.
// See eks-node-imds(8).
#include "steps/steps.hpp"

int main(int argc, char** argv) {
    return eksnode::run_step(argc, argv, eksnode::steps::imds_spec, eksnode::steps::imds);
}
