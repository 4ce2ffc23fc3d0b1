// SPDX-License-Identifier: Apache-2.0
// eks-node-imds: fetch instance metadata and user data into /run/eks-node/.
// See eks-node-imds(8).
#include "steps/entries.hpp"

int main(int argc, char** argv) {
    return eksnode::steps::step_main(argc, argv, eksnode::steps::imds_spec, eksnode::steps::imds);
}
