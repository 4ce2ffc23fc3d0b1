// SPDX-License-Identifier: Apache-2.0
// eks-node-warm-pool: hold kubelet back while the instance is in an Auto
// Scaling warm pool; start it once the instance is InService. See
// eks-node-warm-pool(8).
#include "steps/entries.hpp"

int main(int argc, char** argv) {
    return eksnode::steps::step_main(argc, argv, eksnode::steps::warm_pool_spec, eksnode::steps::warm_pool);
}
