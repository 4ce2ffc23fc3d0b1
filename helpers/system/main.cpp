// SPDX-License-Identifier: Apache-2.0
// eks-node-system: the service environment and DNS settings of the node
// configuration, applied to the operating system. See eks-node-system(8).
#include "steps/entries.hpp"

int main(int argc, char** argv) {
    return eksnode::steps::step_main(argc, argv, eksnode::steps::system_spec, eksnode::steps::system);
}
