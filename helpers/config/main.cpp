// SPDX-License-Identifier: Apache-2.0
// eks-node-config: merge every configuration source, validate, derive, and
// write /run/eks-node/config.json. See eks-node-config(8).
#include "steps/entries.hpp"

int main(int argc, char** argv) {
    return eksnode::steps::step_main(argc, argv, eksnode::steps::config_spec, eksnode::steps::config);
}
