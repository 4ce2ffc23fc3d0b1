// SPDX-License-Identifier: Apache-2.0
// eks-node-ecs: an ECS container instance's ecs.config and Docker's default runtime.
// See eks-node-ecs(8).
#include "steps/entries.hpp"

int main(int argc, char** argv) {
    return eksnode::steps::step_main(argc, argv, eksnode::steps::ecs_spec, eksnode::steps::ecs);
}
