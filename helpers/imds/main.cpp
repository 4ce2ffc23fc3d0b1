// eks-node-imds: fetch instance metadata and user data into /run/eks-node/.
// See eks-node-imds(8).
#include "core/step.hpp"
#include "imds/imds_step.hpp"

int main(int argc, char** argv) {
    const eksnode::StepSpec spec{"imds", "fetch instance metadata and user data"};
    return eksnode::run_step(argc, argv, spec, eksnode::run_imds_step);
}
