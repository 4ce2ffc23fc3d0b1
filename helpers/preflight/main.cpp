// SPDX-License-Identifier: Apache-2.0
// eks-node-preflight: the API server reachable before kubelet starts.
// See eks-node-preflight(8).
#include "steps/entries.hpp"

int main(int argc, char** argv) {
    return eksnode::steps::step_main(argc, argv, eksnode::steps::preflight_spec, eksnode::steps::preflight);
}
