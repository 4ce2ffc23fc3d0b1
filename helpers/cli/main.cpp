// SPDX-License-Identifier: Apache-2.0
// eks-node: the operator CLI. See eks-node(1).
#include "cli/cli.hpp"

int main(int argc, char** argv) { return eksnode::cli::cli_main(argc, argv); }
