// SPDX-License-Identifier: Apache-2.0
// eks-node-joined: done once kubelet answers its health check; the after-join
// hooks follow it. See eks-node-joined(8).
#include "steps/entries.hpp"

int main(int argc, char** argv) {
    return eksnode::steps::step_main(argc, argv, eksnode::steps::joined_spec, eksnode::steps::joined);
}
