// SPDX-License-Identifier: Apache-2.0
// eks-node-swap: settings.swap's swap file, made or removed. See eks-node-swap(8).
#include "steps/entries.hpp"

int main(int argc, char** argv) {
    return eksnode::steps::step_main(argc, argv, eksnode::steps::swap_spec, eksnode::steps::swap);
}
