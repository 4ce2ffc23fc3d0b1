// SPDX-License-Identifier: Apache-2.0
// eks-node-verdict: the join's verdict on the serial console, and
// settings.onFailure. See eks-node-verdict(8).
#include "cli/commands.hpp"

int main(int argc, char** argv) {
    return eksnode::run_step(argc, argv, eksnode::cli::verdict_spec, eksnode::cli::verdict);
}
