// eks-node-config: merge every configuration source, validate, derive, and
// write /run/eks-node/config.json. See eks-node-config(8).
#include "core/step.hpp"
#include "resolve/config_step.hpp"

int main(int argc, char** argv) {
    return eksnode::run_step(argc, argv, {"config", "resolve the node configuration"}, eksnode::run_config_step);
}
